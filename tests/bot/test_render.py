"""Message text: long reports are cut at a line, never inside a tag or entity, and stay valid HTML."""

from __future__ import annotations

import re

from bot.render import TEXT_LIMIT, clip, preformatted


def test_a_long_preformatted_report_fits_and_keeps_its_closing_tag() -> None:
    text = preformatted("\n".join(f"row {n:04d}: a & b < c" for n in range(400)))
    assert len(text) <= TEXT_LIMIT
    assert text.startswith("<pre>") and text.endswith("\n…</pre>")
    assert not re.search(r"&[a-z]*\n", text)  # no entity cut in half


def test_nested_tags_are_closed_in_order() -> None:
    text = clip("<b>head</b>\n<i><code>" + "x\n" * 3000 + "</code></i>", 100)
    assert text.endswith("…</code></i>") and len(text) <= 100


def test_short_text_is_untouched() -> None:
    assert clip("<b>ok</b>") == "<b>ok</b>"
