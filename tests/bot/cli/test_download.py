"""``signaltracker download`` and ``--exchange`` of backtest/sweep/signals against the local exchange server."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import bot.cli._exchange as exchange_cli
from bot.cli import main
from market.files import read_candles, read_funding
from tests.conftest import SAMPLE
from tests.market.exchange_http_server import ServerThread
from tests.market.recorded_market import RecordedMarket

NOW = pd.Timestamp("2025-05-20 12:00:30", tz="UTC")
PAIRS = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]


@pytest.fixture
def market() -> RecordedMarket:
    return RecordedMarket(SAMPLE, PAIRS, NOW)


@pytest.fixture
def server(market, monkeypatch, tmp_path):
    with ServerThread(market) as running:
        for name in ("BYBIT_REST_URL", "BINANCE_REST_URL"):
            monkeypatch.setenv(name, running.url)
        monkeypatch.setenv("CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setattr(exchange_cli, "current_time", lambda: market.now)
        yield running


def real(pair: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    frame = read_candles(SAMPLE, pair, "1m")
    return frame[(frame["timestamp"] >= start) & (frame["timestamp"] < end)].reset_index(drop=True)


@pytest.mark.parametrize("exchange_id", ["bybit", "binanceusdm"])
def test_download_writes_the_data_format_and_one_summary_line(server, tmp_path, capsys, exchange_id):
    dest = tmp_path / "data"
    assert main(["download", "--exchange", exchange_id, "--pairs", "BTCUSDT,SOLUSDT", "--days", "2",
                 "--dest", str(dest)]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(rf"{exchange_id}: 2 pairs, 5,760 new 1m candles, 12 funding events in \d+\.\d s -> {dest}\n",
                        out)
    start = NOW.floor("min") - pd.Timedelta(days=2)
    for pair in ("BTCUSDT", "SOLUSDT"):
        pd.testing.assert_frame_equal(read_candles(dest, pair, "1m"), real(pair, start, NOW.floor("min")))
        assert list(read_funding(dest, pair)["timestamp"].dt.hour) == [16, 0, 8, 16, 0, 8]


def test_download_defaults_to_the_bots_cache_and_the_top_pairs_by_turnover(server, market, tmp_path, capsys):
    assert main(["download", "--exchange", "bybit", "--top", "2", "--days", "0.5", "--no-funding"]) == 0
    folder = tmp_path / "cache" / "bybit"
    top = sorted(PAIRS, key=market.turnover_24h, reverse=True)[:2]
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{p}_1m.parquet" for p in top)
    assert "2 pairs, 1,440 new 1m candles, 0 funding events" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["--exchange", "kraken", "--days", "1"], "signaltracker: argument --exchange: invalid choice: 'kraken' "
                                              "(choose from "),  # quoting of the choices varies with Python
    (["--exchange", "bybit", "--days", "0"], "signaltracker download: --days: a number of days > 0, got 0"),
    (["--exchange", "bybit", "--days", "nan"], "signaltracker download: --days: a number of days > 0, got nan"),
    (["--exchange", "bybit", "--days", "inf"], "signaltracker download: --days: a number of days > 0, got inf"),
    (["--exchange", "bybit", "--days", "3000"], "signaltracker download: --days: bybit serves 1m history from "
                                                "2020-03-30 (at most 1877 days), got 3000"),
    (["--exchange", "binanceusdm", "--pairs", "SOLUSDC,BTCUSDT", "--days", "1"],
     "signaltracker download: binanceusdm has no USDT perpetual SOLUSDC (nearest: SOLUSDT)"),
    (["--exchange", "bybit", "--pairs", "BTCUSDT", "--top", "3", "--days", "1"],
     "signaltracker: argument --top: not allowed with argument --pairs"),
])
def test_bad_input_is_one_line_and_exit_2(server, tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) if message.startswith("signaltracker:") else _no_exit() as exited:
        code = main(["download", *argv, "--dest", str(tmp_path / "d")])
    err = capsys.readouterr().err
    assert (exited.value.code if exited else code) == 2
    assert err.startswith(message) and err.endswith("\n") and err.count("\n") == 1
    assert err == message + "\n" or message.endswith("(choose from ")
    assert not (tmp_path / "d").exists()


class _no_exit:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_signals_on_the_exchange_equal_signals_on_the_same_real_data(server, capsys):
    window = ["--start", "2025-05-18T00:00Z", "--end", "2025-05-20T11:45Z"]
    assert main(["signals", "--exchange", "bybit", "--pairs", "SOLUSDT,ETHUSDT", *window]) == 0
    from_exchange = capsys.readouterr().out
    assert main(["signals", "--data", str(SAMPLE), "--pairs", "SOLUSDT,ETHUSDT", *window]) == 0
    assert from_exchange == capsys.readouterr().out
    assert len(from_exchange.splitlines()) > 0


def test_backtest_on_the_exchange_downloads_the_window_and_warm_up_once(server, tmp_path, capsys):
    argv = ["backtest", "--exchange", "binanceusdm", "--pairs", "SOLUSDT", "--days", "2", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["data"]["pairs"] == ["SOLUSDT"]
    stored = read_candles(tmp_path / "cache" / "binanceusdm", "SOLUSDT", "1m")
    warm_up = pd.Timedelta(hours=200 + 1)  # trend_lookback 200 1h candles, + the decision hour
    assert stored["timestamp"].iloc[0] == NOW.floor("min") - pd.Timedelta(days=2) - warm_up
    assert stored["timestamp"].iloc[-1] == NOW.floor("min") - pd.Timedelta(minutes=1)
    before = len(server.requests)
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out) == report
    assert len(server.requests) - before <= 3  # markets, and at most one funding page: no candle was missing


def test_sweep_on_the_exchange_downloads_the_warm_up_of_its_widest_lookback(server, tmp_path, capsys):
    argv = ["sweep", "--exchange", "bybit", "--pairs", "ETHUSDT", "--days", "2", "--grid", "trend_lookback=150,250",
            "--min-trades", "0", "--json"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["grid"] == {"trend_lookback": [150, 250]}
    stored = read_candles(tmp_path / "cache" / "bybit", "ETHUSDT", "1m")
    assert stored["timestamp"].iloc[0] == NOW.floor("min") - pd.Timedelta(days=2) - pd.Timedelta(hours=251)


def test_data_and_exchange_exclude_each_other(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["backtest", "--data", str(SAMPLE), "--exchange", "bybit"])
    assert exited.value.code == 2
    assert capsys.readouterr().err == "signaltracker: argument --exchange: not allowed with argument --data\n"


def test_a_corrupt_file_or_a_dest_that_is_a_file_is_one_line(server, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    assert main(["download", "--exchange", "bybit", "--pairs", "SOLUSDT", "--days", "1",
                 "--dest", str(tmp_path / "file")]) == 2
    assert capsys.readouterr().err == f"signaltracker download: --dest: {tmp_path / 'file'} exists and is not a folder\n"
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "SOLUSDT_1m.parquet").write_bytes(b"PAR1 truncated")
    assert main(["download", "--exchange", "bybit", "--pairs", "SOLUSDT", "--days", "1", "--dest", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"signaltracker download: {tmp_path / 'd' / 'SOLUSDT_1m.parquet'} is not a readable candle "
                          f"file (") and err.endswith("; delete it to download it again\n") and err.count("\n") == 1
