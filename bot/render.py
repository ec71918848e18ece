"""Text for chat messages (Telegram HTML): short lines that read on a phone.

Prices keep the tick's decimals; money is shown in USDT with two decimals; percentages with two.
Every function returns a string of at most 4096 characters (captions: 1024).
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from html import escape

import pandas as pd

from bot.commands import CATALOG, Command
from bot.params_book import ParamChange, ParamsVersion
from bot.paper import PaperPosition
from bot.signal_journal import JournalEntry
from bot.subscriptions import Subscription
from bot.views import EngineScore, LevelsView, PositionView, Scorecard, ScoreRow, SignalView, StatusView, TunePreview
from engines.backtest.drift import DriftReport
from engines.backtest.edge import MIN_TRADES
from engines.backtest.report import BacktestReport
from engines.backtest.preview import TuneImpact
from engines.models import CHECK_NAMES, ExhaustionChecks, Signal
from engines.params import PARAM_SPECS, StrategyParams, describe_range
from engines.risk import LEVERAGE
from market.feed import SourceState

TEXT_LIMIT = 4096
CLIP_MARGIN = 32
_TAG = re.compile(r"<(/?)(\w+)[^>]*>")
CAPTION_LIMIT = 1024
MARK = {True: "✅", False: "▫️"}
STALE_MINUTES = 2  # a 1m close older than this means at least one candle is late
SOURCE_NOTE_CHARS = 160
COMMAND_NAME_LIMIT = 32  # Telegram's longest command name


def _open_tags(html_text: str) -> list[str]:
    stack: list[str] = []
    for closing, name in _TAG.findall(html_text):
        if not closing:
            stack.append(name)
        elif stack and stack[-1] == name:
            stack.pop()
    return stack


def clip(text: str, limit: int = TEXT_LIMIT) -> str:
    """``text`` cut to ``limit`` at a line end, never inside a tag or entity, open tags closed."""
    if len(text) <= limit:
        return text
    cut = text[: limit - CLIP_MARGIN]
    cut = cut[: cut.rfind("\n")] if "\n" in cut else cut
    cut = re.sub(r"<[^>]*$", "", re.sub(r"&[#a-zA-Z0-9]*$", "", cut))
    return cut + "\n…" + "".join(f"</{name}>" for name in reversed(_open_tags(cut)))


def preformatted(text: str) -> str:
    """Plain ``text`` as a monospaced block that fits one message."""
    return clip(f"<pre>{escape(text)}</pre>")


def when(value: object) -> str:
    return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M UTC") if value is not None else "—"


def code_block(data: object) -> str:
    return f"<pre>{escape(json.dumps(data, indent=2) if not isinstance(data, str) else data)}</pre>"


def welcome() -> str:
    return ("<b>SignalTracker</b> watches USDT perpetuals with two engines:\n"
            "• <b>MICRO-SCALP</b> — 15m support/resistance taps with exhaustion checks\n"
            "• <b>MACRO</b> — 1h trend pullbacks\n"
            "New signals open paper positions under shared risk rules and are posted to subscribed chats.\n\n"
            + help_text())


def help_text(is_admin: bool = True) -> str:
    lines = ["<b>Commands</b>"]
    for command in CATALOG:
        if command.admin and not is_admin:
            continue
        lines.append(f"/{command.name} {escape(command.usage)} — {escape(command.summary)}\n"
                     f"   e.g. <code>{escape(command.example)}</code>")
    return "\n".join(lines)


def usage_error(problem: str, command: Command) -> str:
    usage = escape(command.usage_line)
    return clip(f"⚠️ {escape(problem)}", TEXT_LIMIT - len(usage) - 1) + f"\n{usage}"


def unknown_command(name: str) -> str:
    shown = name if len(name) <= COMMAND_NAME_LIMIT else name[:COMMAND_NAME_LIMIT] + "…"
    return f"⚠️ Unknown command /{escape(shown)}. Try /help — e.g. <code>/levels SOLUSDT</code>"


def refused(name: str) -> str:
    return f"⛔ /{escape(name)} is for admins only. Nothing was changed."


def failure(message: str) -> str:
    return clip(f"⚠️ {escape(message)}")


def levels_caption(view: LevelsView) -> str:
    return clip(f"<b>{view.pair} {view.timeframe}</b> · close {view.close:g} · {when(view.time)}\n"
                f"{len([lv for lv in view.levels if lv.kind == 'support'])} support, "
                f"{len([lv for lv in view.levels if lv.kind == 'resistance'])} resistance", CAPTION_LIMIT)


def levels_json(view: LevelsView) -> str:
    return clip(code_block(view.as_json()))


def _checks(checks: ExhaustionChecks, need: int) -> str:
    marks = " ".join(f"{MARK[checks.as_dict()[name]]}{name}" for name in CHECK_NAMES)
    return f"{marks} ({checks.passed}/4, need {need})"


def signal_view(view: SignalView) -> str:
    scalp, macro = view.scalp, view.macro
    lines = [f"<b>{view.pair}</b> at {when(scalp.time)} · close {scalp.close:g}",
             "", "<b>MICRO-SCALP (15m)</b>",
             f"LONG  {_checks(scalp.long_checks, view.min_checks)}",
             f"SHORT {_checks(scalp.short_checks, view.min_checks)}",
             f"→ {escape(scalp.reason)}", "", "<b>MACRO (1h)</b>",
             f"trend {'slope %+g/h' % macro.trend.slope if macro.trend else 'n/a'} · confidence {macro.confidence}",
             f"→ {escape(macro.reason)}"]
    for decision in (scalp, macro):
        if decision.signal is not None:
            lines += ["", code_block(decision.signal.to_pretty_json())]
    return clip("\n".join(lines))


def signal_caption(signal: Signal, late_fill_from: datetime | None = None) -> str:
    """The photo's caption; a late decision (``late_fill_from``: its first possible fill) says so."""
    arrow = "🟢 LONG" if signal.side == "LONG" else "🔴 SHORT"
    engine = "MICRO-SCALP" if signal.type == "SCALP" else "MACRO"
    checks = ", ".join(name for name, ok in signal.exhaustion_checks.as_dict().items() if ok) or "none"
    late = "" if late_fill_from is None else (
        f"\n⏰ <b>late</b>: decided after a delay; the paper position enters at the first price from "
        f"{late_fill_from:%H:%M} UTC, not at the entry above")
    return clip(f"<b>{signal.pair} {arrow}</b> · {engine} · confidence {signal.confidence}\n"
                f"entry {signal.entry:g} · TP {signal.tp:g} · SL {signal.sl:g}\n"
                f"checks: {checks}\n{when(signal.timestamp)}{late}", CAPTION_LIMIT)


def signal_cornix(signal: Signal, leverage: float = LEVERAGE) -> str:
    """Plain text in the free-text layout Cornix parses (help.cornix.io "Signal Posting"): a full pair name
    (``ETH/USDT``), the keyword ``Entry``, the take-profit as ``Target``, the stop typed out as ``Stop``,
    ``Leverage`` for a leveraged signal; no emojis and no other numbers a parser could take for a price.
    """
    return (f"{signal.pair.removesuffix('USDT')}/USDT {signal.side}\n"
            f"Leverage: {leverage:g}x\n"
            f"Entry: {signal.entry:g}\n"
            f"Target: {signal.tp:g}\n"
            f"Stop: {signal.sl:g}")


def signal_json(signal: Signal) -> str:
    return clip(code_block(signal.to_pretty_json()))


def recent_signals(entries: list[JournalEntry]) -> str:
    if not entries:
        return "No signals yet. They appear here as the engines find them."
    lines = [f"<b>Last {len(entries)} signals</b>"]
    for entry in entries:
        s = entry.signal
        result = f"{entry.outcome} {entry.pnl_pct:+.2f}%" if entry.outcome else "open"
        lines.append(f"{when(s.timestamp)} {s.type} {s.pair} {s.side} @{s.entry:g} "
                     f"TP {s.tp:g} SL {s.sl:g} c{s.confidence} → {result}")
    return clip("\n".join(lines))


def positions(views: list[PositionView], equity: float) -> str:
    if not views:
        return f"No open paper positions. Equity {equity:,.2f} USDT."
    lines = [f"<b>{len(views)} open paper position(s)</b> · equity {equity:,.2f} USDT"]
    for view in views:
        lines.append(position_line(view))
    return clip("\n\n".join(lines))


def position_line(view: PositionView) -> str:
    p, s = view.position, view.position.signal
    entry = f"{p.entry_price:g}" if p.entry_price is not None else "pending (next 1m open)"
    price = f"{view.last_price:g}" if view.last_price is not None else "—"
    return (f"<b>{s.pair} {s.side}</b> {s.type}{' (half size)' if p.halved else ''}\n"
            f"entry {entry} · TP {s.tp:g} · SL {s.sl:g} · now {price}\n"
            f"P&amp;L {view.unrealized:+,.2f} USDT ({view.unrealized_pct:+.2f}% of margin) · "
            f"funding {p.funding_paid:+.2f} · {view.minutes_left:.0f} min left"
            + ("" if view.waiting_for is None else
               f"\n⏳ waiting for the {view.waiting_for:%H:%M} UTC candle the feed missed: TP/SL are checked on it first"))


def position_closed(position: PaperPosition) -> str:
    s = position.signal
    reason = {"tp": "🎯 take-profit", "sl": "🛑 stop-loss", "time_stop": "⏱ time stop",
              "manual": "✋ closed by admin"}.get(position.exit_reason or "", position.exit_reason or "")
    note = " (TP and SL in the same minute: counted as SL)" if position.same_candle else ""
    return (f"<b>{s.pair} {s.side} closed</b> — {reason}{note}\n"
            f"entry {position.entry_price:g} → exit {position.exit_price:g} at {when(position.exit_time)}\n"
            f"P&amp;L {position.realized:+,.2f} USDT ({position.pnl_pct(position.exit_price):+.2f}% of margin, "
            f"funding {position.funding_paid:+.2f})")


def params_table(version: ParamsVersion) -> str:
    origin = "the defaults" if version.parent is None else \
        f"by {escape(version.changed_by)}, {when(version.changed_at)}"
    lines = [f"<b>Parameters v{version.version}</b> ({origin})"]
    values = version.params.model_dump()
    for key, spec in PARAM_SPECS.items():
        lines.append(f"<code>{key}</code> = {values[key]} <i>({escape(describe_range(key))})</i>")
    return clip("\n".join(lines))


def changes(found: tuple[ParamChange, ...]) -> str:
    return "\n".join(f"<code>{c.key}</code>: {c.old} → <b>{c.new}</b>" for c in found)


def tune_preview(preview: TunePreview) -> str:
    return f"Change parameters (v{preview.version} → new version)?\n{changes(preview.changes)}"


def tune_applied(version: ParamsVersion, found: tuple[ParamChange, ...]) -> str:
    return f"✅ Parameters v{version.version} in force (by {escape(version.changed_by)}).\n{changes(found)}"


def rolled_back(version: ParamsVersion, found: tuple[ParamChange, ...]) -> str:
    return f"↩️ Back to parameters v{version.version}.\n{changes(found)}"


def tune_pick_value(key: str, params: StrategyParams) -> str:
    return (f"<code>{key}</code> is {getattr(params, key)} ({escape(describe_range(key))}).\n"
            f"Pick a value, or type <code>/tune {key} VALUE</code>.")


def backtest_done(title: str, report: BacktestReport) -> str:
    """The first reply line of a finished /backtest: the edge verdict on top, then the trade count."""
    return clip(f"<b>{escape(report.edge.line)}</b>\n✅ {escape(title)}: {report.metrics.trades} trades")


def subscribed(sub: Subscription, is_new: bool) -> str:
    pairs = ", ".join(sub.pairs) or "all pairs"
    engine = sub.engine or "both engines"
    verb = "Subscribed" if is_new else "Subscription updated"
    layout = ", Cornix text format" if sub.format == "cornix" else ""
    return f"🔔 {verb}: {pairs}, {engine}, confidence ≥ {sub.min_confidence}{layout}. /unsubscribe to stop."


def source_line(source: SourceState) -> str:
    """One data source's health: green when it works, red (since when, how often) when it fails."""
    note = escape(source.note[:SOURCE_NOTE_CHARS] + ("…" if len(source.note) > SOURCE_NOTE_CHARS else ""))
    if source.ok is None:
        return f"⚪ {escape(source.name)}: {note}"
    since = f" since {source.since:%H:%M:%S} UTC" if source.since is not None else ""
    if source.ok:
        return f"🟢 {escape(source.name)}: {note}{since}"
    return f"🔴 {escape(source.name)}: failing{since} ({source.failures} attempt(s)): {note}"


def status(view: StatusView) -> str:
    lines = [f"<b>Status</b> · {escape(view.source)} · market time {when(view.now)} · v{escape(view.version)}",
             f"{'⏸ paused' if view.paused else '▶️ running'} · params v{view.params_version} · "
             f"{view.open_positions} open position(s) · equity {view.equity:,.2f} USDT"]
    lines += [f"⚠️ {escape(problem)}" for problem in view.state_problems]
    if view.starting:
        lines.append(f"⏳ {escape(view.starting)}")
    if view.sources:
        lines += ["", "<b>Sources</b>", *(source_line(source) for source in view.sources)]
    lines += ["", "<b>Data</b>"]
    for row in view.pairs:
        lag = f"{row.lag_minutes:.0f} min ago" if row.lag_minutes is not None else "no data"
        healthy = row.connected and row.lag_minutes is not None and row.lag_minutes < STALE_MINUTES
        note = "" if healthy else f" — {escape(row.note)}"
        if row.gaps:
            healthy = False
            note += f" — {escape('; '.join(row.gaps[-3:]))} (REST could not fill them yet)"
        lines.append(f"{'🟢' if healthy else '🟠'} {row.pair}: last 1m close {when(row.last_closed)} ({lag}){note}")
    lines += ["", "<b>Jobs</b>"]
    lines += [f"{job.name}: {when(job.market_time)} in {job.seconds * 1000:.0f} ms — {escape(job.summary)}"
              for job in view.jobs] or ["no job has run yet"]
    return clip("\n".join(lines))


def _score_line(row: ScoreRow) -> str:
    win = f"{100 * row.tp / row.closed:.0f}%" if row.closed else "—"
    label = "All signals" if row.engine == "all" else f"{row.engine} {row.pair}"
    return (f"{label}: {row.sent} sent · TP {row.tp} · SL {row.sl} · timeout {row.timeout}"
            f"{f' · other {row.other}' if row.other else ''} · open {row.open} · TP rate {win} · "
            f"Σ {row.pnl_pct:+.2f}%")


def _engine_score_line(score: EngineScore) -> str:
    if score.closed < MIN_TRADES:
        verdict = f"too few to judge ({MIN_TRADES} needed)"
    else:
        verdict = "above zero" if score.low > 0 else "below zero" if score.high < 0 else "not distinguishable from zero"
    return (f"{score.engine}: {score.mean:+.2f}% ({score.low:+.2f}% … {score.high:+.2f}%) over {score.closed} closed"
            f" — {verdict}")


def book_flip_lines(card: Scorecard) -> list[str]:
    """The live order-book flip's fire rate per pair: the check the backtest cannot have."""
    if not card.book_flips:
        return []
    rates = ", ".join(f"{r.pair} {r.fired}/{r.decisions} ({100 * r.rate:.0f}%)" for r in card.book_flips)
    return ["", f"<b>order_book_flip</b> (live only, band ±{card.book_flip_threshold:g}): fired at {rates} "
                "15m decisions since start"]


def scorecard(card: Scorecard) -> str:
    if not card.rows:
        return clip("\n".join(["No signals sent yet, so no scorecard."] + book_flip_lines(card)))
    lines = ["<b>Scorecard</b> (P&amp;L as % of margin)"] + [_score_line(row) for row in card.rows]
    lines += ["", f"<b>{_score_line(card.total)}</b>"]
    if card.engines:
        lines += ["", "<b>Mean P&amp;L per closed signal</b> (95 % bootstrap interval)"]
        lines += [_engine_score_line(score) for score in card.engines]
    if card.rejections:
        lines.append("skipped by risk rules: " + ", ".join(f"{k} {v}" for k, v in card.rejections.items()))
    return clip("\n".join(lines + book_flip_lines(card)))


# ---- /tune preview with its effect on recent data -------------------------------------------------------
IMPACT_WINDOWS = {"previous": "prev 7d", "last": "last 7d"}
TUNE_COMPUTING = "⏳ computing its effect on the last 14 days…"


def _kilo(value: float) -> str:
    return f"{value / 1000:+.1f}k"


def impact_table(impact: TuneImpact) -> str:
    """Old vs new on each week, one row per parameter set (monospaced, fits a phone)."""
    lines = [f"{'':11} trades  win%    PF     P&L pctl"]
    for window, label in IMPACT_WINDOWS.items():
        for params in ("old", "new"):
            row = impact.row(params, window)
            pf = "—" if row.trades == 0 else ("∞" if row.profit_factor is None else f"{row.profit_factor:.2f}")
            pctl = "—" if row.percentile is None else f"{row.percentile:.0f}"
            lines.append(f"{label if params == 'old' else '':7} {params} {row.trades:6d} {row.win_rate:5.1f} "
                         f"{pf:>5} {_kilo(row.net_pnl):>7} {pctl:>4}")
    return "\n".join(lines)


def tune_impact_text(impact: TuneImpact) -> str:
    last = impact.row("old", "last")
    return (f"Effect on the bot's last 14 days ({impact.pairs} pairs, up to {when(last.end)}; each week on fresh "
            f"capital; P&amp;L in USDT; pctl = percentile of net P&amp;L among {impact.random_runs} "
            f"random-entry runs):\n<pre>{escape(impact_table(impact))}</pre>")


def tune_preview_effect(preview: TunePreview, impact: TuneImpact | None = None, problem: str | None = None) -> str:
    """The /tune confirmation: the change, then its effect (or "computing…", or why it is unavailable)."""
    head = tune_preview(preview)
    if impact is not None:
        body = tune_impact_text(impact)
    elif problem is not None:
        body = f"Effect on recent data unavailable: {escape(problem)}"
    else:
        body = TUNE_COMPUTING
    return clip(f"{head}\n\n{body}")


# ---- /drift ---------------------------------------------------------------------------------------------
SHOWN_MISMATCHES = 5
MISMATCH_LABEL = {"extra": "sent, not replayed", "missed": "replayed, not sent"}


def drift_report(report: DriftReport) -> str:
    """The /drift reply: window, verdict, counts, and the first few mismatches with their reasons."""
    versions = ", ".join(f"v{v}" for v in report.versions)
    lines = [f"<b>Drift</b> {when(report.start)} → {when(report.end)} · parameters {versions}",
             escape(report.verdict),
             f"matched {report.matched} · sent but not replayed {report.extra} · replayed but not sent "
             f"{report.missed} · replayed trades {report.replayed} · sent still open {report.paper_open}"]
    if report.mismatches:
        lines += ["", f"<b>First {min(SHOWN_MISMATCHES, len(report.mismatches))} of "
                      f"{len(report.mismatches)} mismatches</b>"]
        lines += [f"• {when(m.decided_at)} {m.engine} {m.pair} {m.side} @{m.entry:g} — "
                  f"{MISMATCH_LABEL[m.kind]}: {escape(m.reason)}" for m in report.mismatches[:SHOWN_MISMATCHES]]
    return clip("\n".join(lines))
