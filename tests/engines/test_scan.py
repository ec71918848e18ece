"""The batch scan against the live, one-candle-at-a-time decisions, and against lookahead."""

import pandas as pd
import pytest

from engines.candles import resample
from engines.errors import InvalidInput
from engines.macro import evaluate_macro
from engines.micro import evaluate_scalp
from engines.params import DEFAULT_PARAMS
from engines.scan import scan_signals
from market.files import read_candles
from tests.conftest import M1_2023, M1_2025, M1_2026

CASES = [(M1_2025, "SOLUSDT", "2025-05-20"), (M1_2025, "BTCUSDT", "2025-05-27"),
         (M1_2023, "XRPUSDT", "2023-08-01"), (M1_2026, "DOGEUSDT", "2026-01-25")]


@pytest.mark.parametrize("folder, pair, cut", CASES)
def test_signals_up_to_t_do_not_depend_on_later_data(folder, pair, cut):
    candles = read_candles(folder, pair, "1m")
    t = pd.Timestamp(cut, tz="UTC")
    short = scan_signals(candles[candles["timestamp"] < t], pair, DEFAULT_PARAMS)
    longer = scan_signals(candles[candles["timestamp"] < t + pd.Timedelta(days=7)], pair, DEFAULT_PARAMS, end=t)
    full = scan_signals(candles, pair, DEFAULT_PARAMS)
    assert short == longer == [s for s in full if s.timestamp <= t.to_pydatetime()]
    assert len(short) > 5


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["SOLUSDT", "ETHUSDT", "XRPUSDT"])
def test_scan_equals_live_decisions_candle_by_candle(pair):
    """Feed closed candles one at a time to the live entry points for 7 days: same signals as the scan."""
    m1 = read_candles(M1_2025, pair, "1m")
    m15, h1 = resample(m1, "15m"), resample(m1, "1h")
    start, end = pd.Timestamp("2025-05-17", tz="UTC"), pd.Timestamp("2025-05-24", tz="UTC")
    live = []
    for frame, evaluate in ((m15, evaluate_scalp), (h1, evaluate_macro)):
        step = frame["timestamp"].iloc[1] - frame["timestamp"].iloc[0]
        for i in frame.index[(frame["timestamp"] + step >= start) & (frame["timestamp"] + step <= end)]:
            decision = evaluate(frame.iloc[: i + 1], pair, DEFAULT_PARAMS, 0.0001 if pair == "XRPUSDT" else 0.01)
            live += [decision.signal] if decision.signal else []
    batch = scan_signals(m1, pair, DEFAULT_PARAMS, start=start, end=end)
    assert sorted(live, key=lambda s: (s.timestamp, s.type)) == batch
    assert len(batch) >= 3


def test_scan_needs_candles_and_a_known_engine(sol_1m):
    with pytest.raises(InvalidInput, match="engine must be one of micro, macro, all, got 'both'"):
        scan_signals(sol_1m, "SOLUSDT", DEFAULT_PARAMS, engine="both")  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="needs 1m candles, or both 15m and 1h candles"):
        scan_signals(None, "SOLUSDT", DEFAULT_PARAMS)
