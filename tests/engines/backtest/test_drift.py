"""Drift between sent signals and the backtester's replay, on real candles (data/sample, SOL + XRP)."""

from __future__ import annotations

import pandas as pd
import pytest

from engines.backtest.drift import ACCEPTED, DriftRequest, ParamsPeriod, SentSignal, measure_drift, replay
from engines.backtest.history import History, PairHistory
from engines.backtest.signals import pair_signals
from engines.errors import InvalidInput
from engines.params import DEFAULT_PARAMS
from market.files import read_candles, read_funding
from tests.conftest import SAMPLE

START, END = pd.Timestamp("2025-05-26T00:00Z"), pd.Timestamp("2025-06-02T00:00Z")
CHANGE = pd.Timestamp("2025-05-29T12:00Z")
V2 = DEFAULT_PARAMS.with_changes(tolerance=0.2)
DAWN = pd.Timestamp("1970-01-01", tz="UTC")


@pytest.fixture(scope="module")
def history() -> History:
    return History(tuple(PairHistory.from_candles(p, read_candles(SAMPLE, p, "1m"), read_funding(SAMPLE, p))
                         for p in ("SOLUSDT", "XRPUSDT")))


@pytest.fixture(scope="module")
def periods() -> tuple[ParamsPeriod, ...]:
    return ParamsPeriod(1, DEFAULT_PARAMS, DAWN), ParamsPeriod(2, V2, CHANGE)


@pytest.fixture(scope="module")
def replayed(history: History, periods):
    return replay(DriftRequest(history, START, END, periods, (), {}))


def _traded(done) -> list:
    return sorted((s for s in done.signals.values() if done.verdicts.get(s.key) in ACCEPTED),
                  key=lambda s: (s.timestamp, s.pair))


def test_each_version_decides_its_own_part_of_the_window(history: History, replayed) -> None:
    for pair in history.pairs:
        expected = pair_signals(pair, DEFAULT_PARAMS, START + pd.Timedelta(minutes=1), CHANGE) + \
            pair_signals(pair, V2, CHANGE + pd.Timedelta(minutes=1), END)
        mine = sorted((s for s in replayed.signals.values() if s.pair == pair.pair), key=lambda s: (s.timestamp, s.type))
        assert [s.key for s in mine] == [s.key for s in expected]
    assert (len(replayed.signals), len(_traded(replayed)), len(replayed.trades)) == (22, 14, 14)


def test_sending_exactly_what_the_replay_trades_is_no_drift(history: History, periods, replayed) -> None:
    sent = tuple(SentSignal(s) for s in _traded(replayed))
    report = measure_drift(DriftRequest(history, START, END, periods, sent, {}))
    assert (report.sent, report.matched, report.missed, report.extra) == (len(sent), len(sent), 0, 0)
    assert report.verdict.startswith(f"No drift: all {len(sent)} sent signals match the replay")
    assert report.versions == (1, 2)


def test_mismatches_name_their_reasons(history: History, periods, replayed) -> None:
    traded = _traded(replayed)
    tick = history.pairs[0].tick if traded[1].pair == history.pairs[0].pair else history.pairs[1].tick
    moved = traded[1].model_copy(update={"entry": traded[1].entry + 2 * tick})
    late = traded[2].model_copy(update={"timestamp": traded[2].timestamp + pd.Timedelta(minutes=5)})
    sent = (SentSignal(moved), SentSignal(late), *(SentSignal(s) for s in traded[4:]))
    report = measure_drift(DriftRequest(history, START, END, periods, sent, {traded[3].key: "paused"}))
    reasons = [(m.kind, m.pair, m.reason) for m in report.mismatches]
    assert reasons == [  # traded[0] not sent, [1] entry 2 ticks off, [2] 5 minutes late, [3] paused
        ("missed", "XRPUSDT", "the bot has no record of this decision"),
        ("extra", "SOLUSDT", "entry 167.21 vs replay 167.19 (more than one tick, 0.01)"),
        ("missed", "SOLUSDT", "bot's entry 167.21 vs replay 167.19 (more than one tick)"),
        ("missed", "SOLUSDT", "the bot has no record of this decision"),
        ("extra", "SOLUSDT", "the engines give no such signal on these candles with that parameter version"),
        ("missed", "XRPUSDT", "the bot decided it but did not trade it (paused)")]
    assert (report.matched, report.extra, report.missed) == (len(traded) - 4, 2, 4)


def test_the_version_in_force_at_the_start_is_required(history: History) -> None:
    with pytest.raises(InvalidInput, match="in force at the start"):
        DriftRequest(history, START, END, (ParamsPeriod(2, V2, CHANGE),), (), {})


def test_only_one_version_gives_another_replay(history: History, replayed) -> None:
    one = replay(DriftRequest(history, START, END, (ParamsPeriod(1, DEFAULT_PARAMS, DAWN),), (), {}))
    assert {s.key for s in one.signals.values()} != {s.key for s in replayed.signals.values()}


def test_positions_open_at_the_start_block_the_same_signals_in_the_replay(history: History, periods) -> None:
    later = pd.Timestamp("2025-05-29T05:00Z")  # an XRPUSDT MACRO position is open until 23:49
    full = replay(DriftRequest(history, START, END, periods, (), {}))
    before = [s for s in _traded(full) if pd.Timestamp(s.timestamp) <= later]
    after = [s for s in _traded(full) if pd.Timestamp(s.timestamp) > later]
    sent = tuple(SentSignal(s) for s in after)
    cold = measure_drift(DriftRequest(history, later, END, periods, sent, {}))
    warm = measure_drift(DriftRequest(history, later, END, periods, sent, {}, carried=tuple(before)))
    assert (warm.matched, warm.missed, warm.extra, warm.replayed) == (len(after), 0, 0, len(after))
    # without the positions carried in, the replay trades what the open position blocked
    assert [(m.kind, m.pair, str(m.decided_at), m.reason) for m in cold.mismatches] == [
        ("missed", "XRPUSDT", "2025-05-29 13:00:00+00:00", "the bot has no record of this decision")]
