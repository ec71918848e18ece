"""Tag placement and price text."""

from __future__ import annotations

import pytest

from charts.price_lines import format_price, spread


def test_tags_far_apart_stay_at_their_prices() -> None:
    assert spread([0.1, 0.5, 0.9], 0.05) == [0.1, 0.5, 0.9]


def test_two_close_tags_are_pushed_apart_around_their_middle() -> None:
    assert spread([0.50, 0.52], 0.1) == pytest.approx([0.46, 0.56])


def test_a_pushed_group_that_reaches_the_next_tag_takes_it_in() -> None:
    assert spread([0.40, 0.42, 0.53], 0.1) == pytest.approx([0.35, 0.45, 0.55])


def test_tags_at_the_top_edge_stay_inside_the_panel() -> None:
    assert spread([0.98, 1.0], 0.1) == pytest.approx([0.9, 1.0])


@pytest.mark.parametrize("price, text", [(166.76, "166.76"), (0.1 + 0.2, "0.3"), (104250.5, "104250.5"),
                                         (0.012345, "0.012345"), (165.2, "165.2")])
def test_prices_print_without_float_noise(price: float, text: str) -> None:
    assert format_price(price) == text
