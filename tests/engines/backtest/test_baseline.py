"""The random-entry baseline: same count, sides, pairs and TP/SL distances; seeded."""

from __future__ import annotations

import numpy as np
import pandas as pd

from engines.backtest.baseline import random_signals
from tests.engines.backtest.conftest import make_signal

START, END = pd.Timestamp("2025-05-20", tz="UTC"), pd.Timestamp("2025-05-27", tz="UTC")


def _signals(btc):
    return [make_signal(btc, "2025-05-20 10:00"), make_signal(btc, "2025-05-21 12:45", "SHORT"),
            make_signal(btc, "2025-05-22 15:00", "LONG", "MACRO", tp_pct=2.0, sl_pct=1.0)]


def test_twins_keep_count_side_engine_and_distances_at_random_grid_times(btc):
    originals = _signals(btc)
    twins = random_signals(btc, originals, START, END, np.random.default_rng(7))
    assert [(t.type, t.side, t.pair) for t in twins] == [(s.type, s.side, s.pair) for s in originals]
    closes = btc.m1.set_index("timestamp")["close"]
    for original, twin in zip(originals, twins):
        when = pd.Timestamp(twin.timestamp)
        assert START <= when <= END and when.minute % 15 == 0
        assert twin.entry == closes.loc[when - pd.Timedelta(minutes=1)]
        assert abs(twin.tp / twin.entry - original.tp / original.entry) < 1e-5  # tick rounding
        assert abs(twin.sl / twin.entry - original.sl / original.entry) < 1e-5
    assert pd.Timestamp(twins[2].timestamp).minute == 0  # MACRO decides on 1h closes


def test_same_seed_same_twins_other_seed_other_times(btc):
    draw = lambda seed: [t.timestamp for t in random_signals(btc, _signals(btc), START, END, np.random.default_rng(seed))]
    assert draw(7) == draw(7)
    assert draw(7) != draw(8)
