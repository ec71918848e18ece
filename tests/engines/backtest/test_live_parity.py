"""Live parity: the backtester's signals and MACRO decisions equal the live path's, candle by candle.

The live bot calls ``evaluate_scalp`` on each closed 15m candle and ``evaluate_macro`` on each closed
1h candle with the frame of candles closed so far. Here that is replayed on a growing frame over three
days of real candles and compared with what the backtester feeds its portfolio (``prepare``).
"""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.history import History
from engines.backtest.run import prepare
from engines.macro import evaluate_macro
from engines.micro import evaluate_scalp
from engines.params import DEFAULT_PARAMS
from engines.risk import MacroView
from engines.scan import scan_signals
from tests.engines.backtest.conftest import pair_history

START, END = pd.Timestamp("2025-05-29", tz="UTC"), pd.Timestamp("2025-06-01", tz="UTC")
PAIRS = ("SOLUSDT", "XRPUSDT")


@pytest.fixture(scope="module")
def prepared():
    history = History(tuple(pair_history(p) for p in PAIRS))
    return history, prepare(history, DEFAULT_PARAMS, START, END)


def _growing(frame: pd.DataFrame, step: pd.Timedelta):
    closes = frame["timestamp"] + step
    for k in range(len(frame)):
        if START <= closes.iloc[k] <= END:
            yield frame.iloc[: k + 1]


@pytest.mark.slow
def test_backtest_signals_equal_live_evaluation_candle_by_candle(prepared):
    history, ready = prepared
    for pair in history.pairs:
        live = [d.signal for f in _growing(pair.m15, pd.Timedelta(minutes=15))
                if (d := evaluate_scalp(f, pair.pair, DEFAULT_PARAMS, pair.tick)).signal is not None]
        live += [d.signal for f in _growing(pair.h1, pd.Timedelta(hours=1))
                 if (d := evaluate_macro(f, pair.pair, DEFAULT_PARAMS, pair.tick)).signal is not None]
        live.sort(key=lambda s: (s.timestamp, s.type))
        assert [s.to_json() for s in ready.signals[pair.pair]] == [s.to_json() for s in live]
    assert sum(len(v) for v in ready.signals.values()) >= 10


@pytest.mark.slow
def test_macro_bias_inputs_equal_live_macro_decisions(prepared):
    history, ready = prepared
    live = []
    for pair in history.pairs:
        for f in _growing(pair.h1, pd.Timedelta(hours=1)):
            d = evaluate_macro(f, pair.pair, DEFAULT_PARAMS, pair.tick)
            live.append(MacroView(pair=pair.pair, side=d.bias, confidence=d.confidence, time=d.time.to_pydatetime()))
    assert ready.views == live
    assert len(live) == 2 * 72 + 2


@pytest.mark.slow
def test_backtest_signals_equal_scan_signals(prepared):
    history, ready = prepared
    for pair in history.pairs:
        scanned = scan_signals(pair.m1, pair.pair, DEFAULT_PARAMS, start=START, end=END)
        assert [s.to_json() for s in ready.signals[pair.pair]] == [s.to_json() for s in scanned]


# ---- the bot's jobs on a replayed week = run_backtest on the same candles, to the cent -------------------

WEEK_START = pd.Timestamp("2025-05-20", tz="UTC")
WEEK_END = WEEK_START + pd.Timedelta(days=7)
WEEK_PAIRS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT", "LINKUSDT")


def _cents(x: float) -> float:
    return round(x, 2)


def _bot_trade(position) -> tuple:
    return (position.signal.pair, position.signal.type, position.signal.side,
            pd.Timestamp(position.signal.timestamp), pd.Timestamp(position.entry_time), position.entry_price,
            pd.Timestamp(position.exit_time), position.exit_price, position.exit_reason, _cents(position.notional),
            _cents(position.margin), _cents(position.funding_paid), _cents(position.realized))


def _backtest_trade(trade) -> tuple:
    return (trade.pair, trade.engine, trade.side, trade.signal_time, trade.entry_time, trade.entry, trade.exit_time,
            trade.exit, trade.reason, _cents(trade.size), _cents(trade.margin), _cents(trade.funding),
            _cents(trade.pnl))


@pytest.fixture(scope="module")
def week_backtest():
    from engines.backtest.run import BacktestRequest, run_backtest
    from market.files import read_candles, read_funding
    from tests.conftest import SAMPLE

    from engines.backtest.history import PairHistory
    history = History(tuple(PairHistory.from_candles(p, read_candles(SAMPLE, p, "1m"), read_funding(SAMPLE, p))
                            for p in WEEK_PAIRS))
    # the replay starts with the candles closed at WEEK_START buffered: its first decision is the next close
    return run_backtest(BacktestRequest(history, WEEK_START + pd.Timedelta(minutes=1), WEEK_END))


@pytest.mark.slow
async def test_a_replayed_week_through_the_bots_jobs_trades_as_run_backtest(week_backtest, tmp_path):
    from tests.bot.conftest import bot_harness
    from tests.conftest import SAMPLE

    # nobody to broadcast to: trading is the same, and no chart is drawn for a channel
    async with bot_harness(SAMPLE, tmp_path / "state.json", start=WEEK_START.isoformat(),
                           broadcast_chat_ids="") as bot:
        # one minute more: the signals of the last close are admitted when its first minute has closed
        await bot.feed.advance(7 * 24 * 60 + 1)
        await bot.until(lambda: bot.jobs.backlog == 0)
        paper = bot.service.paper
        closed = sorted((_bot_trade(p) for p in paper.positions() if p.status == "closed"), key=lambda t: (t[4], t[0], t[1]))
        still_open = sorted((p.signal.pair, p.signal.type, pd.Timestamp(p.signal.timestamp)) for p in paper.open_positions())
        rejections = paper.rejections
    done = WEEK_END + pd.Timedelta(minutes=1)
    expected = sorted((_backtest_trade(t) for t in week_backtest.trades if t.exit_time <= done),
                      key=lambda t: (t[4], t[0], t[1]))
    assert closed == expected
    assert len(closed) >= 20
    assert still_open == sorted((t.pair, t.engine, t.signal_time) for t in week_backtest.trades if t.exit_time > done)
    assert rejections == week_backtest.rejections
