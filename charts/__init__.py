"""PNG charts of candles, levels, signals, positions and equity (pure: data in, bytes out).

The Agg backend is selected here, before anything imports pyplot; the charts themselves never
touch pyplot's global figure registry, so they can be rendered from worker threads.
"""

import matplotlib

matplotlib.use("Agg")

from charts.equity_chart import render_equity_chart  # noqa: E402
from charts.levels_chart import render_levels_chart  # noqa: E402
from charts.position_chart import render_position_chart  # noqa: E402
from charts.signal_chart import render_signal_chart  # noqa: E402

__all__ = ["render_equity_chart", "render_levels_chart", "render_position_chart", "render_signal_chart"]
