"""The candlestick panel (with volume below) every price chart starts from, and its time axis."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import mplfinance as mpf
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from charts.style import CANDLE_DOWN, CANDLE_STYLE, CANDLE_UP, LABEL_PT, TEXT, new_figure, style_axes
from engines.candles import TIMEFRAMES, validate_candles
from engines.errors import CandleError, InvalidInput

MPF_COLUMNS = ("Open", "High", "Low", "Close", "Volume")
PRICE_SCALE_LEFT = 0.075  # of the width: room for the price scale on the left (6-7 digit prices at 14 pt)


@dataclass(frozen=True)
class CandlePanel:
    """A figure with candles drawn at x = 0, 1, ... (one per candle, gaps not shown)."""

    figure: Figure
    price: Axes
    volume: Axes
    candles: pd.DataFrame
    step: pd.Timedelta
    open_ns: np.ndarray  # candle open times, int64 ns since the epoch

    @property
    def opens(self) -> pd.Series:
        return self.candles["timestamp"]

    @property
    def decision_time(self) -> pd.Timestamp:
        """Close time of the last candle: the moment the chart describes."""
        return self.opens.iloc[-1] + self.step

    @property
    def price_span(self) -> float:
        return float(self.candles["high"].max() - self.candles["low"].min())

    @property
    def timeframe(self) -> str:
        for name, delta in TIMEFRAMES.items():
            if delta == self.step:
                return name
        return f"{int(self.step / pd.Timedelta(minutes=1))}m"

    def x_of_candles(self, times: Sequence[pd.Timestamp] | pd.Series) -> np.ndarray:
        """Centre x of the candle containing each time; NaN for times outside the chart."""
        values = _nanoseconds(times)
        index = np.searchsorted(self.open_ns, values, side="right") - 1
        inside = (index >= 0) & (values < self.open_ns[np.clip(index, 0, None)] + self.step.value)
        return np.where(inside, index, np.nan).astype(float)

    def x_of_candle(self, time: pd.Timestamp) -> float | None:
        """Centre of the candle that contains ``time``; ``None`` if it is outside the chart."""
        x = float(self.x_of_candles([time])[0])
        return None if np.isnan(x) else x

    def x_of_times(self, times: Sequence[pd.Timestamp] | pd.Series) -> np.ndarray:
        """Continuous x of each time: a candle spans x - 0.5 (open) to x + 0.5 (close)."""
        values = _nanoseconds(times)
        index = np.clip(np.searchsorted(self.open_ns, values, side="right") - 1, 0, len(self.open_ns) - 1)
        return index - 0.5 + (values - self.open_ns[index]) / self.step.value


def draw_candle_panel(candles: pd.DataFrame) -> CandlePanel:
    """Candles and volume of ``candles`` (the engines' frame) on a new 1280x720 figure."""
    frame = validate_candles(candles)
    if len(frame) < 2:
        raise CandleError(f"a chart needs at least 2 candles, got {len(frame)}")
    step = pd.Timedelta(frame["timestamp"].diff().min())
    figure, (price, volume) = new_figure((4, 1))
    mpf.plot(_mpf_frame(frame), type="candle", ax=price, style=CANDLE_STYLE, xrotation=0,
             datetime_format="%d %b %H:%M", ylabel="", warn_too_much_data=len(frame) + 1)
    _draw_volume(volume, frame)
    for ax in (price, volume):
        style_axes(ax)
    price.yaxis.set_major_locator(MaxNLocator(nbins=7))
    price.yaxis.tick_left()  # the right margin holds the price tags (charts.price_lines), which would hide it
    figure.subplots_adjust(left=PRICE_SCALE_LEFT)
    price.tick_params(labelbottom=False)
    volume.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    return CandlePanel(figure, price, volume, frame, step, _nanoseconds(frame["timestamp"]))


def _draw_volume(ax: Axes, frame: pd.DataFrame) -> None:
    """Volume bars as one collection (much faster than one patch per bar), coloured like candles."""
    volume = frame["volume"].to_numpy()
    x = np.arange(len(frame), dtype=float)
    corners = np.stack([np.column_stack([x - 0.35, np.zeros_like(x)]), np.column_stack([x - 0.35, volume]),
                        np.column_stack([x + 0.35, volume]), np.column_stack([x + 0.35, np.zeros_like(x)])],
                       axis=1)
    rising = frame["close"].to_numpy() >= frame["open"].to_numpy()
    ax.add_collection(PolyCollection(list(corners), facecolors=np.where(rising, CANDLE_UP, CANDLE_DOWN),
                                     linewidths=0))
    ax.set_ylim(0, max(float(volume.max()), 1e-12) * 1.1)
    ax.set_yticks([])
    ax.set_ylabel("volume", fontsize=LABEL_PT, color=TEXT)


def _mpf_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """mplfinance's input: capitalised OHLCV indexed by naive UTC time."""
    index = pd.DatetimeIndex(frame["timestamp"]).tz_convert("UTC").tz_localize(None)
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy()
    return pd.DataFrame(values, index=index, columns=list(MPF_COLUMNS))


def utc(time: pd.Timestamp) -> pd.Timestamp:
    """``time`` as a UTC timestamp; a naive time is refused rather than guessed."""
    stamp = pd.Timestamp(time)
    if stamp.tzinfo is None:
        raise InvalidInput(f"chart times must be timezone-aware UTC, got {stamp}")
    return stamp.tz_convert("UTC")


def _nanoseconds(times: Sequence[pd.Timestamp] | pd.Series) -> np.ndarray:
    """int64 ns since the epoch of timezone-aware ``times``; naive times are refused."""
    stamps = pd.DatetimeIndex(times) if isinstance(times, pd.Series | pd.DatetimeIndex) else None
    if stamps is None:
        stamps = pd.DatetimeIndex([utc(time) for time in times], dtype="datetime64[ns, UTC]")
    elif stamps.tz is None:
        raise InvalidInput("chart times must be timezone-aware UTC")
    return stamps.tz_convert("UTC").as_unit("ns").asi8
