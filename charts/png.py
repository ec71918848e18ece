"""Figure to PNG bytes (the same figure always gives the same bytes), one render at a time.

Every chart is its own ``Figure`` on an Agg canvas, never registered with pyplot. Matplotlib does
not promise thread safety beyond that (mplfinance saves and restores the global rcParams around
each plot, fonts are shared), so :func:`one_render_at_a_time` serialises renders: the bot may call
the chart functions from any worker thread.
"""

from __future__ import annotations

import functools
import gc
import io
import threading
from collections.abc import Callable
from typing import ParamSpec

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from charts.style import DPI

P = ParamSpec("P")
_RENDER_LOCK = threading.Lock()


def figure_png(figure: Figure) -> bytes:
    """Encode ``figure`` at its own size (no tight bbox, so the pixel size is exact)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None},
                   pil_kwargs={"compress_level": 3})
    return buffer.getvalue()


def one_render_at_a_time(render: Callable[P, bytes]) -> Callable[P, bytes]:
    """Decorate a chart function so concurrent calls from several threads run one after another."""

    @functools.wraps(render)
    def serialised(*args: P.args, **kwargs: P.kwargs) -> bytes:
        with _RENDER_LOCK:
            # A figure is a web of reference cycles (~7,000 objects): left to the collector they reach the
            # oldest generation and stay until a rare full collection (~5 MB more RSS per chart). Keeping
            # them young and collecting that generation when the figure is gone frees them at once, cheaply.
            enabled = gc.isenabled()
            gc.disable()
            try:
                return render(*args, **kwargs)
            finally:
                if enabled:
                    gc.enable()
                gc.collect(0)

    return serialised
