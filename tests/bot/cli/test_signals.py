import json

import pytest

from bot.cli import main
from tests.conftest import M1_2025


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_one_json_signal_per_line(capsys):
    code, out, err = run(capsys, "signals", "--data", str(M1_2025), "--pairs", "SOLUSDT,ETHUSDT", "--engine", "micro",
                         "--start", "2025-05-18T00:00Z", "--end", "2025-05-19T00:00Z")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0 and err == ""
    assert [(s["pair"], s["timestamp"], s["entry"]) for s in lines] == [
        ("ETHUSDT", "2025-05-18T18:45:00Z", 2470.69), ("SOLUSDT", "2025-05-18T19:00:00Z", 170.15)]
    assert set(lines[0]) == {"type", "pair", "side", "entry", "tp", "sl", "support", "resistance", "trend",
                             "timestamp", "confidence", "exhaustion_checks"}


def test_params_change_the_signals(capsys):
    _, default, _ = run(capsys, "signals", "--data", str(M1_2025), "--pairs", "SOLUSDT", "--engine", "micro")
    _, loose, _ = run(capsys, "signals", "--data", str(M1_2025), "--pairs", "SOLUSDT", "--engine", "micro",
                      "--param", "min_checks=1")
    assert len(default.splitlines()) == 6 and len(loose.splitlines()) > 6


@pytest.mark.parametrize("argv, message", [
    (["--pairs", "FOOUSDT"], "signaltracker signals: --pairs: no data for FOOUSDT; available: BNBUSDT, BTCUSDT"),
    (["--param", "tolerance=0.5"], "signaltracker signals: tolerance: a number from 0.2 to 0.3, got 0.5"),
    (["--start", "soon"], "signaltracker signals: --start: expected an ISO time like 2025-05-27T00:00Z, got 'soon'"),
    (["--start", "2020-01-01", "--end", "2020-02-01"], "signaltracker signals: no candles of"),
    (["--start", "2025-05-20", "--end", "2025-05-19"], "signaltracker signals: --end (2025-05-19T00:00:00+00:00) must be after"),
    (["--engine", "both"], "signaltracker: argument --engine: invalid choice: 'both'"),
])
def test_bad_arguments_exit_2_with_one_line(capsys, argv, message):
    try:
        code = main(["signals", "--data", str(M1_2025), *argv])
    except SystemExit as e:  # argparse's own errors
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith(message) and err.count("\n") == 1


def test_missing_folder(capsys, tmp_path):
    code, out, err = run(capsys, "signals", "--data", str(tmp_path / "nope"))
    assert code == 2 and err == f"signaltracker signals: --data: {tmp_path / 'nope'} is not a folder\n"
