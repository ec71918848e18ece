"""Per-pair engine state for the live bot, updated with each closed candle instead of recomputed.

:class:`PairEngines` keeps, for one pair:

* the last candles of each timeframe in a compact ring of numpy arrays, as many as the longest
  lookback allowed by :class:`~engines.params.StrategyParams` needs (levels, wicks, trend fit), and
* the recursive indicators (RSI, volume EWMA, ATR) carried forward one candle at a time with the same
  step functions the batch kernels use (:mod:`engines.indicators`).

A decision then runs the engines' array kernels on the ring only (``decide_scalp`` / ``decide_macro``),
with the carried indicator values: the verdict equals :func:`engines.micro.evaluate_scalp` /
:func:`engines.macro.evaluate_macro` on the whole history (tested at every candle of real data).
The RSI depends on ``rsi_period``; :meth:`PairEngines.matches` tells when a parameter change needs a
rebuild from a candle history.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from engines.candles import CandleRing
from engines.exhaustion import BookFlip
from engines.indicators import (ATR_LENGTH, VOLUME_EWMA_LENGTH, ewm_alpha_from_alpha, ewm_alpha_from_span, ewm_step,
                                rsi_step, seed_mean, true_range)
from engines.macro import MacroDecision, decide_macro
from engines.micro import ScalpDecision, decide_scalp
from engines.params import PARAM_SPECS, StrategyParams

SCALP_WINDOW = int(PARAM_SPECS["sr_lookback"].maximum) + 1
MACRO_WINDOW = int(PARAM_SPECS["trend_lookback"].maximum) + 1


class SeededEwm:
    """An SMA-seeded exponential average (pandas-ta ``ema`` / the RMA of ``atr``), one value at a time."""

    def __init__(self, length: int, alpha: float) -> None:
        self.length, self.alpha = length, alpha
        self._seed: list[float] = []
        self.value = math.nan

    def update(self, x: float) -> float:
        if len(self._seed) < self.length:
            self._seed.append(x)
            if len(self._seed) == self.length:
                self.value = seed_mean(np.array(self._seed))
            return self.value
        self.value = ewm_step(self.value, x, self.alpha)
        return self.value


class Rsi:
    """Wilder RSI, one close at a time; NaN for the first ``period`` closes."""

    def __init__(self, period: int) -> None:
        self.period, self.alpha = period, ewm_alpha_from_alpha(1.0 / period)
        self._gain, self._loss, self._previous = math.nan, math.nan, math.nan
        self._count = 0
        self.value = math.nan

    def update(self, close: float) -> float:
        self._count += 1
        if not math.isnan(self._previous):
            self._gain, self._loss, value = rsi_step(self._gain, self._loss, close - self._previous, self.alpha)
            self.value = value if self._count > self.period else math.nan
        self._previous = close
        return self.value


class Atr:
    """Wilder ATR of the true range, one candle at a time; NaN for the first ``length`` candles."""

    def __init__(self, length: int = ATR_LENGTH) -> None:
        self._average = SeededEwm(length, ewm_alpha_from_alpha(1.0 / length))
        self._previous_close = math.nan
        self._count = 0
        self.value = math.nan

    def update(self, high: float, low: float, close: float) -> float:
        self._count += 1
        average = self._average.update(true_range(high, low, self._previous_close))
        self._previous_close = close
        self.value = average if self._count > self._average.length else math.nan
        return self.value


def _last_two(n: int, previous: float, current: float) -> np.ndarray:
    """An indicator array aligned with a window of ``n`` candles: only the last two values are known."""
    out = np.full(n, np.nan)
    out[-1] = current
    if n > 1:
        out[-2] = previous
    return out


class PairEngines:
    """One pair's rolling engine state; feed it every closed 15m and 1h candle in order."""

    def __init__(self, pair: str, rsi_period: int) -> None:
        self.pair = pair
        self.m15, self.h1 = CandleRing(SCALP_WINDOW), CandleRing(MACRO_WINDOW)
        self.rsi = Rsi(rsi_period)
        self.volume_ewma = SeededEwm(VOLUME_EWMA_LENGTH, ewm_alpha_from_span(VOLUME_EWMA_LENGTH))
        self.atr = Atr()
        self._ewma_before = math.nan
        self._atr_before = math.nan

    @classmethod
    def from_candles(cls, pair: str, rsi_period: int, m15: pd.DataFrame, h1: pd.DataFrame) -> "PairEngines":
        """State after every candle of two candle frames (e.g. a feed's buffers at start-up)."""
        state = cls(pair, rsi_period)
        for frame, add in ((m15, state.add_15m), (h1, state.add_1h)):
            times = pd.DatetimeIndex(frame["timestamp"]).as_unit("ns").asi8
            values = frame[["open", "high", "low", "close", "volume"]].to_numpy(dtype=float)
            for stamp, row in zip(times, values):
                add(int(stamp), *row)
        return state

    def matches(self, params: StrategyParams) -> bool:
        """Whether this state can decide under ``params`` (the RSI length is part of the state)."""
        return self.rsi.period == params.rsi_period

    def add_15m(self, open_ns: int, o: float, h: float, l: float, c: float, v: float) -> bool:
        """Take one closed 15m candle; False (and nothing changes) if it is not newer than the last."""
        if self.m15.last_time is not None and open_ns <= self.m15.last_time:
            return False
        self.m15.append(open_ns, (o, h, l, c, v))
        self.rsi.update(c)
        self._ewma_before = self.volume_ewma.value
        self.volume_ewma.update(v)
        return True

    def add_1h(self, open_ns: int, o: float, h: float, l: float, c: float, v: float) -> bool:
        """Take one closed 1h candle; False (and nothing changes) if it is not newer than the last."""
        if self.h1.last_time is not None and open_ns <= self.h1.last_time:
            return False
        self.h1.append(open_ns, (o, h, l, c, v))
        self._atr_before = self.atr.value
        self.atr.update(h, l, c)
        return True

    def scalp(self, params: StrategyParams, tick: float, book: BookFlip | None = None) -> ScalpDecision:
        """The MICRO-SCALP verdict on the last 15m candle taken."""
        window = self.m15.window()
        n = len(window)
        rsi_values = np.full(n, np.nan)
        if n:
            rsi_values[-1] = self.rsi.value
        return decide_scalp(window, self.pair, params, tick, book, rsi_values=rsi_values,
                            volume_ewma=_last_two(n, self._ewma_before, self.volume_ewma.value) if n else None,
                            count=self.m15.count)

    def macro(self, params: StrategyParams, tick: float) -> MacroDecision:
        """The MACRO verdict on the last 1h candle taken."""
        window = self.h1.window()
        n = len(window)
        return decide_macro(window, self.pair, params, tick,
                            atr=_last_two(n, self._atr_before, self.atr.value) if n else None, count=self.h1.count)
