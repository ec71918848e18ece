"""Plain-text rendering of a backtest report (console and chat, monospace)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from engines.backtest.edge import interval_text, ordinal
from engines.backtest.stats import break_even_win_rate

if TYPE_CHECKING:
    from engines.backtest.report import BacktestReport


def _money(value: float) -> str:
    return f"-${-value:,.0f}" if value < 0 else f"${value:,.0f}"


def _pf(value: float | None) -> str:
    return "n/a (no losing trades)" if value is None else f"{value:.2f}"


def _rows(rows: list[tuple[str, str]]) -> list[str]:
    width = max(len(k) for k, _ in rows)
    return [f"  {k:<{width}}  {v}" for k, v in rows]


def _summary(r: "BacktestReport") -> list[str]:
    m, b = r.metrics, r.baseline
    rows = [
        ("trades", f"{m.trades}   (each random run: the same {b.trades})"),
        ("win rate", f"{m.win_rate:.1f} %   (break-even {r.break_even_win_rate:.1f} %, PF 1.5 needs "
                     f"{r.pf_1_5_win_rate:.1f} %; random median {b.win_rate:.1f} %)"),
        ("profit factor", f"{_pf(m.profit_factor)}   (random median {_pf(b.profit_factor)})"),
        ("net P&L", f"{_money(m.net_pnl)}   (random median {_money(b.net_pnl)}, 5-95 %: {_money(b.net_pnl_p5)} "
                    f"… {_money(b.net_pnl_p95)})"),
        ("P&L per day", f"{_money(m.avg_daily_pnl)}   (random median {_money(b.avg_daily_pnl)})"),
        ("max drawdown", f"{_money(m.max_drawdown_usd)} = {m.max_drawdown_pct:.2f} % of peak, marked to market "
                         f"(closed trades only: {m.closed_trade_drawdown_pct:.2f} %)"),
        ("trades/pair/day", f"{m.trades_per_pair_per_day:.2f}"),
        ("average hold", f"{m.avg_hold_minutes:.0f} min"),
        ("fees paid", _money(m.fees)),
        ("funding", f"paid {_money(m.funding['paid'])}, received {_money(m.funding['received'])}"),
        ("TP+SL same candle", f"{m.same_candle_tp_sl} (counted as SL)"),
        ("exposure", f"{m.exposure_pct:.1f} % of the time a position was open"),
        ("exits", ", ".join(f"{k} {v}" for k, v in m.exits.items()) or "none"),
        ("daily cap", f"{r.daily_cap['limit']}/day bound on {r.daily_cap['days_bound']} days, "
                      f"{r.daily_cap['signals_skipped']} signals skipped"),
        ("margin skips", str(r.margin_skips)),
        ("rejections", ", ".join(f"{k} {v}" for k, v in r.rejections.items()) or "none"),
    ]
    return ["Result", *_rows(rows)]


def _edge(r: "BacktestReport") -> list[str]:
    e, b = r.edge, r.baseline
    lines = [e.line,
             f"  vs {e.runs} random-entry runs (seed {b.seed}; the strategy's trades at random times, same sizes, "
             f"TP/SL distances, exits and costs): net P&L {ordinal(round(e.percentile))} percentile, "
             f"PF {ordinal(round(e.profit_factor_percentile))} percentile, p-value {e.p_value:.3f}"]
    lines += [f"  {engine:<6} {i.trades:>4} trades, mean per trade {interval_text(i)}"
              for engine, i in e.per_engine.items()]
    return lines


def _targets(r: "BacktestReport") -> list[str]:
    lines = ["Plan targets"]
    for t in r.targets:
        shown = "n/a" if t.measured is None else f"{t.measured:,.2f}"
        lines.append(f"  {'MET ' if t.met else 'miss'}  {t.name:<14} goal {t.goal:<32} measured {shown}")
    return lines


def _conflict(r: "BacktestReport") -> list[str]:
    c = r.macro_conflict
    lines = [f"MACRO conflict (rule: {c.rule}; {c.halved} halved, {c.stood_aside} stood aside)"]
    for name, side in (("with rule", c.with_rule), ("without rule", c.without_rule)):
        lines.append(f"  {name:<12} scalps {side.scalps}, overlapping an open MACRO {side.overlapped} "
                     f"({side.overlapped_pct:.1f} %), avg size {_money(side.overlapped_avg_size)}, "
                     f"win {side.overlapped_win_rate:.1f} %, P&L {_money(side.overlapped_net_pnl)}; "
                     f"run P&L {_money(side.net_pnl)}, DD {side.max_drawdown_pct:.2f} %")
    return lines


def _engine_break_even(r: "BacktestReport", engine: str) -> float:
    p, fee = r.params, r.data["fee_rate"]
    if engine == "MACRO":
        return break_even_win_rate(p["macro_tp"], p["macro_sl"], fee)
    return break_even_win_rate(p["tp"], p["sl"], fee)


def _engines(r: "BacktestReport") -> list[str]:
    lines = ["Per engine (break-even win rate from that engine's TP/SL and fees)",
             f"  {'engine':<8}{'trades':>7}{'win %':>8}{'break-even %':>14}{'PF':>7}{'P&L':>12}"]
    lines += [f"  {k:<8}{g.trades:>7}{g.win_rate:>8.1f}{_engine_break_even(r, k):>14.1f}{_pf(g.profit_factor):>7}"
              f"{_money(g.net_pnl):>12}" for k, g in r.metrics.per_engine.items()]
    return lines


def _tables(r: "BacktestReport") -> list[str]:
    m = r.metrics
    lines = ["Per pair", f"  {'pair':<14}{'trades':>7}{'win %':>8}{'P&L':>12}"]
    lines += [f"  {k:<14}{g.trades:>7}{g.win_rate:>8.1f}{_money(g.net_pnl):>12}" for k, g in m.per_pair.items()]
    lines += ["Exhaustion checks (scalps where the check fired)", f"  {'check':<16}{'fired':>7}{'win %':>8}"]
    for name, c in m.checks.items():
        if c.fired is None:
            lines.append(f"  {name:<16}{c.note:>15}")
        else:
            lines.append(f"  {name:<16}{c.fired:>7}{'' if c.win_rate is None else f'{c.win_rate:.1f}':>8}")
    lines += ["P&L per day (UTC, by exit)"]
    lines += [f"  {day}  {_money(pnl):>10}" for day, pnl in m.daily_pnl.items()]
    return lines


def render_text(r: "BacktestReport") -> str:
    d = r.data
    head = [f"Backtest {d['start']} -> {d['end']} ({d['days']:g} days), {len(d['pairs'])} pairs, engine {d['engine']}",
            f"  capital {_money(d['capital'])}, leverage {d['leverage']:g}x, margin {d['margin_fraction'] * 100:g} % "
            f"of equity, fees {d['fee_rate'] * 100:g} % per side",
            f"  signals {r.signals['candidates']} (scalp {r.signals['scalp']}, macro {r.signals['macro']}), "
            f"{r.signals['no_entry_candle']} without an entry candle",
            f"  funding real: {', '.join(d['real_funding_pairs']) or 'none'}; "
            f"assumed (00/08/16 UTC +0.01 %, longs pay): {', '.join(d['assumed_funding_pairs']) or 'none'}"]
    sections = [head, _edge(r), _summary(r), _targets(r), _conflict(r), _engines(r), _tables(r)]
    return "\n\n".join("\n".join(s) for s in sections) + "\n"


def _percentile(value: float | None) -> str:
    return "no trades" if value is None else f"{ordinal(round(value))} percentile of random entries"


def _stats_line(s) -> str:
    return (f"{s.trades:>4} trades  win {s.win_rate:5.1f} %  PF {_pf(s.profit_factor):>5}  P&L {_money(s.net_pnl):>10}"
            f"  closed-trade DD {s.max_drawdown_pct:5.2f} %")


def render_sweep(r) -> str:
    """Plain text of a :class:`engines.backtest.sweep.SweepReport`."""
    lines = [f"Sweep of {len(r.combos)} combinations; in-sample before {r.split_time} ({r.split:.0%}), "
             f"out-of-sample after", f"Objective: {r.objective}", ""]
    if r.best is None:
        lines.append("No combination reached the minimum in-sample trade count; nothing chosen.")
    else:
        lines += [f"Chosen on in-sample: {r.best.changes}",
                  f"  in-sample      {_stats_line(r.best.in_sample)}",
                  f"  out-of-sample  {_stats_line(r.best.out_of_sample)}  ({_percentile(r.best.oos_percentile)})",
                  f"  random entries {_stats_line(r.baseline_out_of_sample['best'])}"]
    lines += ["Base parameters", f"  in-sample      {_stats_line(r.base.in_sample)}",
              f"  out-of-sample  {_stats_line(r.base.out_of_sample)}  ({_percentile(r.base.oos_percentile)})",
              f"  random entries {_stats_line(r.baseline_out_of_sample['base'])}",
              "", f"Luck: {r.beat_95} of {len(r.combos)} combinations beat 95 % of their {r.random_runs} random-entry "
              f"runs out-of-sample; luck alone would give about {r.expected_by_luck:.1f} (5 % of those with trades, "
              f"were they independent)",
              "", "All combinations (in-sample | out-of-sample, its percentile among random entries)"]
    for c in r.combos:
        lines.append(f"  {c.changes}\n    IS  {_stats_line(c.in_sample)}\n    OOS {_stats_line(c.out_of_sample)}"
                     f"  ({_percentile(c.oos_percentile)})")
    if r.walk_forward:
        lines += ["", "Walk-forward"]
        for f in r.walk_forward:
            chosen = "nothing chosen" if f.best_test is None else f"{f.best} -> {_stats_line(f.best_test)}"
            lines += [f"  test {f.test[0]} .. {f.test[1]}: {chosen}", f"    base -> {_stats_line(f.base_test)}"]
        p = r.walk_forward_out_of_sample
        lines.append(f"  pooled out-of-sample: chosen {p['chosen_trades']} trades {_money(p['chosen_net_pnl'])}; "
                     f"base {p['base_trades']} trades {_money(p['base_net_pnl'])}")
    return "\n".join(lines) + "\n"
