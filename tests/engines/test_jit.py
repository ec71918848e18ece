"""Kernels give the same bits interpreted (the live bot) and compiled (backtests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from engines import indicators, levels, macro, trend
from engines.candles import CandleArrays, resample
from engines.jit import interpreted, kernel, kernels_compiled
from engines.params import DEFAULT_PARAMS
from market.files import read_candles
from tests.conftest import SAMPLE


@pytest.fixture(scope="module")
def sol_15m() -> CandleArrays:
    return CandleArrays.of(resample(read_candles(SAMPLE, "SOLUSDT", "1m"), "15m"))


def both_ways(call):
    """(compiled result, interpreted result) of ``call()``."""
    assert kernels_compiled()  # tests/conftest.py compiles them, as a backtest does
    compiled = call()
    with interpreted():
        return compiled, call()


def test_level_kernels_agree_on_every_window_of_a_real_month(sol_15m):
    h, l, c = sol_15m.high, sol_15m.low, sol_15m.close
    for start in range(0, len(c) - 120, 37):
        compiled, interpreted_ = both_ways(lambda: levels.window_levels(h, l, c, start, start + 120, 0.0025, 3))
        assert np.array_equal(compiled[0], interpreted_[0]) and np.array_equal(compiled[1], interpreted_[1])
    compiled, interpreted_ = both_ways(lambda: levels.all_pivots(h, l))
    assert all(np.array_equal(a, b) for a, b in zip(compiled, interpreted_))
    assert len(compiled[0]) == 741  # pivots of SOLUSDT's May 2025 15m candles


def test_trend_fit_and_macro_scan_agree_bit_for_bit(sol_15m):
    compiled, interpreted_ = both_ways(lambda: trend.linear_fit(sol_15m.close, 500, 700))
    assert compiled == interpreted_
    compiled, interpreted_ = both_ways(lambda: macro.scan_arrays(sol_15m, DEFAULT_PARAMS, 2000))
    for field in ("slope", "value", "confidence", "long_level", "short_level"):
        assert np.array_equal(getattr(compiled, field), getattr(interpreted_, field), equal_nan=True), field


def test_rsi_of_flat_closes_is_nan_both_ways():
    flat = np.full(30, 2.5)
    compiled, interpreted_ = both_ways(lambda: indicators.rsi(flat, 7))
    assert np.isnan(compiled).all() and np.isnan(interpreted_).all()  # no ZeroDivisionError in the interpreter


@kernel
def doubled_sum(values):  # defined when this module is imported: after tests/conftest.py compiled the kernels
    return 2.0 * values.sum()


@kernel
def caller(values):
    return doubled_sum(values) + 1.0


def test_a_kernel_defined_after_compilation_is_compiled_and_callable_from_kernels():
    compiled, interpreted_ = both_ways(lambda: caller(np.arange(4.0)))
    assert compiled == interpreted_ == 13.0
    assert type(compiled) is float and isinstance(interpreted_, np.floating)  # numba's float vs numpy's scalar


def test_interpreted_restores_the_mode_after_an_error():
    with pytest.raises(ZeroDivisionError), interpreted():
        assert not kernels_compiled()
        raise ZeroDivisionError
    assert kernels_compiled()


def test_the_kernel_cache_folder_changes_with_any_kernel_source(tmp_path, monkeypatch):
    """numba checks only a compiled function's own file; an edit to a kernel it calls in another file must
    still recompile it, so the cache folder is named after every kernel source."""
    import importlib.util

    import numba

    from engines import jit

    def kernels_of(text: str) -> list:
        path = tmp_path / "callee.py"
        path.write_text(text)
        spec = importlib.util.spec_from_file_location("callee", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return [jit._Kernel(module.f), jit._Kernel(caller)]

    monkeypatch.delenv("NUMBA_CACHE_DIR", raising=False)
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)
    jit._use_cache_dir(kernels_of("def f(x):\n    return x + 1\n"))
    first = numba.config.CACHE_DIR
    jit._use_cache_dir(kernels_of("def f(x):\n    return x + 2\n"))
    assert first != numba.config.CACHE_DIR
    assert Path(first).parent == Path(jit.__file__).parent / "__pycache__" and Path(first).name.startswith("kernels-")
