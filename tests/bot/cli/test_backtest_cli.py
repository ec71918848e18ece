"""``signaltracker backtest`` and ``sweep`` from the command line, on the bundled real sample data."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main
from market.files import SAMPLE_DATA_DIR
from tests.conftest import FUNDING, M1_2025

WINDOW = ["--start", "2025-05-30T00:00Z", "--end", "2025-06-02T00:00Z"]
REQUIRED_KEYS = {"trades", "win_rate", "profit_factor", "net_pnl", "daily_pnl", "max_drawdown_pct", "max_drawdown_usd",
                 "trades_per_pair_per_day", "fees", "funding", "same_candle_tp_sl", "macro_conflict", "baseline",
                 "targets", "params", "data"}


def test_json_output_is_one_object_with_the_report_keys(capsys):
    assert main(["backtest", "--data", str(SAMPLE_DATA_DIR), "--pairs", "BTCUSDT,SOLUSDT", *WINDOW, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert REQUIRED_KEYS <= set(report)
    assert report["data"]["pairs"] == ["BTCUSDT", "SOLUSDT"]
    assert report["data"]["real_funding_pairs"] == ["BTCUSDT", "SOLUSDT"]
    assert list(report["daily_pnl"]) == ["2025-05-30", "2025-05-31", "2025-06-01"]


def test_out_writes_report_trades_csv_and_equity_png(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["backtest", "--data", str(SAMPLE_DATA_DIR), "--pairs", "SOLUSDT", *WINDOW,
                 "--param", "tolerance=0.3", "--out", str(out)]) == 0
    assert "Plan targets" in capsys.readouterr().out
    report = json.loads((out / "report.json").read_text())
    assert report["params"]["tolerance"] == 0.3
    with (out / "trades.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == ["pair", "engine", "side", "signal_time", "entry_time", "entry", "exit_time", "exit",
                             "reason", "size", "fees", "funding", "pnl"]
    assert len(rows) == report["trades"]
    assert round(sum(float(r["pnl"]) for r in rows), 0) == round(report["net_pnl"], 0)
    assert (out / "equity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_funding_folder_option_and_assumed_rates_for_pairs_without_data(tmp_path, capsys):
    funding = tmp_path / "funding"  # a funding folder that has BTCUSDT's rates only
    funding.mkdir()
    (funding / "BTCUSDT_funding.parquet").symlink_to(FUNDING / "BTCUSDT_funding.parquet")
    assert main(["backtest", "--data", str(M1_2025), "--funding", str(funding), "--pairs", "ETHUSDT,BTCUSDT",
                 "--start", "2025-05-27T00:00Z", "--end", "2025-05-29T00:00Z", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)["data"]
    assert (data["real_funding_pairs"], data["assumed_funding_pairs"]) == (["BTCUSDT"], ["ETHUSDT"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--data", "/nonexistent"], "--data: /nonexistent is not a folder"),
    (["--pairs", "FOOUSDT"], "--pairs: no 1m data for FOOUSDT"),
    (["--days", "0"], "argument --days: expected a number of days above 0 and at most 3650, got '0'"),
    (["--days", "nan"], "argument --days: expected a number of days above 0 and at most 3650, got 'nan'"),
    (["--days", "inf"], "argument --days: expected a number of days above 0 and at most 3650, got 'inf'"),
    (["--days", "1e9"], "argument --days: expected a number of days above 0 and at most 3650, got '1e9'"),
    (["--days=-inf"], "argument --days: expected a number of days above 0 and at most 3650, got '-inf'"),
    (["--days", "٣"], "argument --days: expected a number of days above 0 and at most 3650, got '٣'"),
    (["--days", "400"], "--days 400: data only cover"),
    (["--days", "2", "--start", "2025-05-30"], "--days cannot be combined with --start/--end"),
    (["--start", "2025-05-30"], "--start and --end go together"),
    (["--start", "yesterday", "--end", "2025-06-01"], "--start: expected an ISO time"),
    (["--start", "nan", "--end", "2025-06-01"], "--start: expected an ISO time like 2025-05-27T00:00Z, got 'nan'"),
    (["--start", "2025-05-30", "--end", "NaT"], "--end: expected an ISO time like 2025-05-27T00:00Z, got 'NaT'"),
    (["--start", "2025-05-01", "--end", "2025-05-08"], "--start/--end: window 2025-05-01T00:00:00+00:00..2025-05-08"),
    (["--start", "2025-05-20", "--end", "2025-05-19"], "--end (2025-05-19T00:00:00+00:00) must be after --start"),
    (["--param", "tolerance=0.9"], "tolerance: a number from 0.2 to 0.3, got 0.9"),
    (["--param", "speed=3"], "unknown parameter 'speed'"),
])
def test_bad_input_exits_2_with_one_line_naming_the_problem(argv, message, capsys):
    data = [] if argv[:1] == ["--data"] else ["--data", str(SAMPLE_DATA_DIR)]
    try:
        status = main(["backtest", *data, *argv])
    except SystemExit as e:  # argparse refuses a bad --days before the command runs
        status = e.code
    assert status == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_sweep_json_reports_in_and_out_of_sample(capsys):
    assert main(["sweep", "--data", str(SAMPLE_DATA_DIR), "--pairs", "SOLUSDT", *WINDOW, "--grid", "tolerance=0.2,0.3",
                 "--min-trades", "0", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [c["changes"] for c in report["combos"]] == [{"tolerance": 0.2}, {"tolerance": 0.3}]
    assert report["split_time"] == "2025-06-01T02:15:00+00:00"  # 70 % of 3 days = 50.4 h, floored to 15 min
    assert {"in_sample", "out_of_sample"} <= set(report["base"])


@pytest.mark.parametrize(("argv", "message"), [
    (["--grid", "tolerance"], "--grid: expected key=v1,v2"),
    (["--grid", "tolerance=0.2,0.9"], "tolerance: a number from 0.2 to 0.3, got 0.9"),
    (["--split", "1.5"], "--split: a fraction from 0.1 to 0.9"),
])
def test_bad_sweep_input_exits_2(argv, message, capsys):
    assert main(["sweep", "--data", str(SAMPLE_DATA_DIR), *argv]) == 2
    assert message in capsys.readouterr().err


def test_unknown_executor_is_an_argument_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["sweep", "--data", str(SAMPLE_DATA_DIR), "--executor", "spark"])
    assert exit_.value.code == 2
    assert "argument --executor: invalid choice: 'spark'" in capsys.readouterr().err


def test_console_entry_point_runs():
    done = subprocess.run([str(Path(sys.executable).parent / "signaltracker"), "backtest", "--data", str(SAMPLE_DATA_DIR), "--pairs",
                           "BTCUSDT", *WINDOW, "--json"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["data"]["pairs"] == ["BTCUSDT"]


def test_json_and_text_carry_the_edge_verdict(capsys):
    args = ["backtest", "--data", str(SAMPLE_DATA_DIR), "--days", "7", "--runs", "100", "--seed", "3"]
    assert main([*args, "--json"]) == 0
    edge = json.loads(capsys.readouterr().out)["edge"]
    assert set(edge) == {"verdict", "line", "trades", "runs", "percentile", "profit_factor_percentile", "p_value",
                         "interval", "per_engine"}
    assert (edge["verdict"], edge["trades"], edge["runs"], edge["p_value"]) == ("worse", 40, 100, 1.0)
    assert set(edge["interval"]) == {"trades", "mean", "low", "high"} and set(edge["per_engine"]) == {"MACRO", "SCALP"}
    assert main(args) == 0
    assert edge["line"] in capsys.readouterr().out.splitlines()
