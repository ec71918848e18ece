"""Figure to PNG bytes: the same figure always gives the same bytes."""

from __future__ import annotations

import io

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from charts.style import DPI


def figure_png(figure: Figure) -> bytes:
    """Encode ``figure`` at its own size (no tight bbox, so the pixel size is exact)."""
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None},
                   pil_kwargs={"compress_level": 3})
    return buffer.getvalue()
