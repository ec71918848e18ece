"""Message text: long reports are cut at a line, never inside a tag or entity, and stay valid HTML; the scorecard;
/status."""

from __future__ import annotations

import re

import pandas as pd

from bot import render
from bot.cli.backtest import load_history
from bot.render import TEXT_LIMIT, clip, preformatted, status
from bot.service import engine_scores
from bot.views import PairFreshness, Scorecard, ScoreRow, StatusView
from engines.backtest.run import BacktestRequest, run_backtest
from market.feed import SourceState
from tests.conftest import SAMPLE
from bot.render import drift_report
from engines.backtest.drift import DriftReport, Mismatch


def test_a_long_preformatted_report_fits_and_keeps_its_closing_tag() -> None:
    text = preformatted("\n".join(f"row {n:04d}: a & b < c" for n in range(400)))
    assert len(text) <= TEXT_LIMIT
    assert text.startswith("<pre>") and text.endswith("\n…</pre>")
    assert not re.search(r"&[a-z]*\n", text)  # no entity cut in half


def test_nested_tags_are_closed_in_order() -> None:
    text = clip("<b>head</b>\n<i><code>" + "x\n" * 3000 + "</code></i>", 100)
    assert text.endswith("…</code></i>") and len(text) <= 100


def test_short_text_is_untouched() -> None:
    assert clip("<b>ok</b>") == "<b>ok</b>"


def test_scorecard_shows_each_engines_mean_per_closed_signal_with_its_interval() -> None:
    """Closed signals = the trades of a 20-day backtest on data/sample, as % of their margin."""
    history = load_history(SAMPLE)
    start, end = history.last_days(20)
    trades = run_backtest(BacktestRequest(history, start, end, baseline_runs=1)).trades
    scores = engine_scores([(t.engine, 100 * t.pnl / t.margin) for t in trades])
    assert [(s.engine, s.closed, round(s.mean, 2), round(s.low, 2), round(s.high, 2)) for s in scores] == [
        ("MACRO", 97, -6.84, -8.89, -4.71), ("SCALP", 38, -1.37, -2.47, -0.25)]
    few = engine_scores([("SCALP", 1.5), ("SCALP", -0.5)])
    text = render.scorecard(Scorecard((ScoreRow("SCALP", "BTCUSDT", sent=2, tp=1, sl=1),),
                                      ScoreRow("all", "all", sent=2, tp=1, sl=1), {}, scores + few))
    assert text.splitlines()[-4:] == [
        "<b>Mean P&amp;L per closed signal</b> (95 % bootstrap interval)",
        "MACRO: -6.84% (-8.89% … -4.71%) over 97 closed — below zero",
        "SCALP: -1.37% (-2.47% … -0.25%) over 38 closed — below zero",
        "SCALP: +0.50% (-0.50% … +1.50%) over 2 closed — too few to judge (30 needed)"]


def test_status_shows_each_source_and_names_the_candles_rest_could_not_fill() -> None:
    at = pd.Timestamp("2025-05-20 12:10:00", tz="UTC")
    sources = (SourceState("Bybit WebSocket", True, at - pd.Timedelta(minutes=9), at, 0, "connected"),
               SourceState("Bybit REST", False, at - pd.Timedelta(minutes=8, seconds=30), None, 14,
                           "SOLUSDT 1m backfill from bybit: 503 Service Unavailable"),
               SourceState("Kraken REST", None, None, None, 0, "not used yet"))
    rows = (PairFreshness("SOLUSDT", at, 0.0, True, "SOLUSDT stream live",
                          ("1 1m candle(s) missing at 05-20 12:02 UTC",)),
            PairFreshness("BTCUSDT", at, 0.0, True, "BTCUSDT stream live"))
    text = status(StatusView(at, "bybit", rows, (), 0, 200_000.0, 1, False, "dev", sources=sources))
    assert text.splitlines()[3:7] == [
        "<b>Sources</b>", "🟢 Bybit WebSocket: connected since 12:01:00 UTC",
        "🔴 Bybit REST: failing since 12:01:30 UTC (14 attempt(s)): SOLUSDT 1m backfill from bybit: 503 Service "
        "Unavailable", "⚪ Kraken REST: not used yet"]
    assert text.splitlines()[9:11] == [
        "🟠 SOLUSDT: last 1m close 2025-05-20 12:10 UTC (0 min ago) — 1 1m candle(s) missing at 05-20 12:02 UTC "
        "(REST could not fill them yet)", "🟢 BTCUSDT: last 1m close 2025-05-20 12:10 UTC (0 min ago)"]
def test_drift_report_lists_the_first_five_mismatches_with_reasons() -> None:
    at = pd.Timestamp("2025-05-29T21:00Z")
    mismatches = tuple(Mismatch("missed" if k % 2 else "extra", "SCALP", "SOLUSDT", "SHORT", at + pd.Timedelta(hours=k),
                                167.19, "the bot has no record of this decision" if k % 2 else "entry <a> & b")
                       for k in range(7))
    report = DriftReport(at - pd.Timedelta(days=2), at + pd.Timedelta(days=1), 5, 6, 2, mismatches, -10.0, 1, -12.5,
                         (1, 2))
    text = drift_report(report)
    lines = text.splitlines()
    assert lines[:3] == [
        "<b>Drift</b> 2025-05-27 21:00 UTC → 2025-05-30 21:00 UTC · parameters v1, v2",
        "Drift: 2 of 5 sent signals match the replay (40 %), 4 sent but not replayed, 3 replayed but not sent; "
        "paper P&amp;L -10.00 vs replay -12.50 USDT",
        "matched 2 · sent but not replayed 4 · replayed but not sent 3 · replayed trades 6 · sent still open 1"]
    assert lines[4] == "<b>First 5 of 7 mismatches</b>"
    assert lines[5] == "• 2025-05-29 21:00 UTC SCALP SOLUSDT SHORT @167.19 — sent, not replayed: entry &lt;a&gt; &amp; b"
    assert lines[6] == ("• 2025-05-29 22:00 UTC SCALP SOLUSDT SHORT @167.19 — replayed, not sent: "
                        "the bot has no record of this decision")
    assert len(lines) == 10
