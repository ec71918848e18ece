"""Sweeps: chosen on in-sample time only, reported out-of-sample beside the base parameters."""

from __future__ import annotations

import contextlib
import math
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from engines.backtest.history import History
from engines.backtest.run import prepare
from engines.backtest.sweep import SignalCache, SweepRequest, choose, run_sweep
from engines.errors import InvalidInput, ParamError
from engines.params import DEFAULT_PARAMS
from tests.engines.backtest.conftest import pair_history, sample_history

START, END = pd.Timestamp("2025-05-24", tz="UTC"), pd.Timestamp("2025-06-03", tz="UTC")
GRID = {"tolerance": (0.2, 0.3), "trend_lookback": (150, 250)}


@pytest.fixture(scope="module")
def history() -> History:
    return History((pair_history("SOLUSDT"), pair_history("XRPUSDT")))


@pytest.fixture(scope="module")
def report(history):
    return run_sweep(SweepRequest(history, START, END, GRID, split=0.7, folds=2, min_trades=5))


def test_split_and_fold_windows_are_cut_in_time(history):
    request = SweepRequest(history, START, END, GRID, split=0.7, folds=2)
    assert request.split_time() == pd.Timestamp("2025-05-31", tz="UTC")
    # test length L = 10 days / (2 + 0.7/0.3) = 2.3077 days, training 10 - 2L = 5.3846 days
    assert [(a.isoformat(), b.isoformat(), c.isoformat(), d.isoformat()) for (a, b), (c, d) in request.fold_windows()] == [
        ("2025-05-24T00:00:00+00:00", "2025-05-29T09:13:00+00:00", "2025-05-29T09:13:00+00:00", "2025-05-31T16:36:00+00:00"),
        ("2025-05-26T07:23:00+00:00", "2025-05-31T16:36:00+00:00", "2025-05-31T16:36:00+00:00", "2025-06-03T00:00:00+00:00"),
    ]


def test_best_is_chosen_on_in_sample_only(report):
    eligible = [c for c in report.combos if c.in_sample.trades >= 5]
    top = max(eligible, key=lambda c: (math.inf if c.in_sample.profit_factor is None else c.in_sample.profit_factor,
                                       c.in_sample.net_pnl))
    assert report.best is not None and report.best.changes == top.changes
    assert len(report.combos) == 4 and report.base.changes == {}
    assert report.best.out_of_sample.start == report.split_time


def test_walk_forward_chooses_per_fold_on_its_training_span(report):
    assert len(report.walk_forward) == 2
    for i, fold in enumerate(report.walk_forward):
        best = choose(report.combos, lambda c: c.folds[i][0], 5)
        assert fold.best == (best.changes if best else None)
    pooled = report.walk_forward_out_of_sample
    assert pooled["base_trades"] == sum(f.base_test.trades for f in report.walk_forward)


def test_nothing_is_chosen_when_no_combination_has_enough_trades(history):
    report = run_sweep(SweepRequest(history, START, END, {"tolerance": (0.2,)}, min_trades=10_000))
    assert report.best is None
    assert "No combination" in report.to_text()


def test_cached_signals_and_exits_equal_a_fresh_run(history):
    cache = SignalCache(history, START, END)
    for changes in ({"tolerance": 0.2, "trend_lookback": 150}, {"tolerance": 0.3, "trend_lookback": 150},
                    {"tolerance": 0.3, "trend_lookback": 250}):
        params = DEFAULT_PARAMS.with_changes(**changes)
        cached, fresh = cache.prepared(params), prepare(history, params, START, END)
        assert {p: [s.key for s in v] for p, v in cached.signals.items()} == {p: [s.key for s in v] for p, v in fresh.signals.items()}
        assert cached.views == fresh.views
        assert sorted(cached.candidates, key=lambda c: c.sort_key) == sorted(fresh.candidates, key=lambda c: c.sort_key)


def test_signals_computed_pair_by_pair_equal_a_fresh_run(history):
    """``warm`` (all parameter sets pair by pair, sharing each pair's level scan) gives what ``prepare`` gives."""
    cache = SignalCache(history, START, END)
    sets = [DEFAULT_PARAMS.with_changes(tolerance=t, volume_multiplier=v) for t in (0.2, 0.3) for v in (0.3, 0.5)]
    sets += [DEFAULT_PARAMS.with_changes(time_stop=30), DEFAULT_PARAMS.with_changes(time_stop=30, volume_multiplier=0.5)]
    cache.warm(sets)
    for params in sets:
        cached, fresh = cache.prepared(params), prepare(history, params, START, END)
        assert cached.signals == fresh.signals
        assert sorted(cached.candidates, key=lambda c: c.sort_key) == sorted(fresh.candidates, key=lambda c: c.sort_key)
        assert (cached.no_entry_candle, cached.funding_sources) == (fresh.no_entry_candle, fresh.funding_sources)


def test_bad_sweep_input_names_the_problem(history):
    with pytest.raises(InvalidInput, match="--split"):
        SweepRequest(history, START, END, GRID, split=0.95)
    with pytest.raises(ParamError, match="tolerance: a number from 0.2 to 0.3"):
        SweepRequest(history, START, END, {"tolerance": (0.2, 0.5)})


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory: pytest.TempPathFactory):
    """A Ray cluster running on its own (``ray start --head --block`` on loopback), as a user's cluster would
    be; stopped by ending that process group, so no other Ray on the machine is touched."""
    pytest.importorskip("ray")
    ray_cli = Path(sys.executable).with_name("ray")
    port = free_port()
    home = tmp_path_factory.mktemp("home")  # no ~/.ray/auth_token of this machine's on either side
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "HOME": str(home)}
    head = subprocess.Popen([str(ray_cli), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
                             f"--port={port}", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={tmp_path_factory.mktemp('ray')}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port, head)
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("HOME", str(home))
            yield f"127.0.0.1:{port}"
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(5)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(head.pid, signal.SIGKILL)  # what a graceful stop left (raylet, GCS): a throwaway cluster
        head.wait(10)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, "ray start --head exited"
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"no Ray head on port {port} after {timeout:g} s")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow
def test_ray_executor_on_a_running_cluster_matches_local(history, ray_cluster):
    grid = {"tolerance": (0.2, 0.3)}
    local = run_sweep(SweepRequest(history, START, END, grid))
    remote = run_sweep(SweepRequest(history, START, END, grid, executor="ray", address=ray_cluster))
    assert remote.combos == local.combos


def test_an_address_needs_the_ray_executor(history):
    with pytest.raises(InvalidInput, match="--address: only with --executor ray"):
        SweepRequest(history, START, END, {"tolerance": (0.2,)}, address="127.0.0.1:6379")


def test_random_baseline_sits_beside_the_out_of_sample_results(report):
    base = report.baseline_out_of_sample["base"]
    assert set(report.baseline_out_of_sample) == {"base", "best"}
    assert (base.start, base.end) == (report.split_time, END.isoformat())
    assert "random entries" in report.to_text()


def test_each_combination_gets_its_out_of_sample_percentile_and_the_luck_count():
    """data/sample, SOL/XRP/BNB, last 10 days: no combination beats 95 % of its random runs; luck would give 0.2."""
    sample = sample_history(("SOLUSDT", "XRPUSDT", "BNBUSDT"))
    start, end = sample.last_days(10)
    report = run_sweep(SweepRequest(sample, start, end, GRID, min_trades=5, runs=100))
    assert [(c.out_of_sample.trades, c.oos_percentile) for c in report.combos] == [
        (22, 59.0), (18, 40.0), (22, 57.0), (18, 34.0)]
    assert (report.base.oos_percentile, report.beat_95, report.random_runs) == (31.0, 0, 100)
    assert report.expected_by_luck == 0.05 * 4
    text = report.to_text()
    assert ("Luck: 0 of 4 combinations beat 95 % of their 100 random-entry runs out-of-sample; luck alone would give "
            "about 0.2") in text
    assert "(40th percentile of random entries)" in text


def test_random_runs_must_be_a_sensible_count(history):
    with pytest.raises(InvalidInput, match="--runs: a whole number from 1 to 10000, got 0"):
        SweepRequest(history, START, END, GRID, runs=0)
