"""Level tags: price and touch count."""

from __future__ import annotations

import pandas as pd

from charts.level_lines import level_tag_text
from engines.models import Level

TIMES = tuple(pd.Timestamp(t, tz="UTC") for t in ("2025-05-19 03:15", "2025-05-19 07:00", "2025-05-19 21:30"))


def test_a_level_tag_shows_price_and_touches() -> None:
    assert level_tag_text(Level(166.69, "support", TIMES)) == "166.69 ×3"


def test_a_level_without_known_touches_shows_only_its_price() -> None:
    assert level_tag_text(Level(168.84, "resistance", ())) == "168.84"
