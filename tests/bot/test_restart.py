"""What the bot does when it starts again: positions catch up on the candles it missed.

Real data: the ETHUSDT MACRO LONG decided at 2025-05-15 03:00 UTC fills at 2590.07; the SL
(2564.18) is reached in the 05:47 minute. The first bot stops at 03:02, the second one starts at
07:00: the stop-loss happened while no bot was running.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from tests.bot.conftest import CHANNEL, bot_harness

pytestmark = pytest.mark.slow
ETH_KEY = "MACRO:ETHUSDT:LONG:2025-05-15T03:00:00Z"
SL_RESULT = ("ETHUSDT LONG closed — 🛑 stop-loss\nentry 2590.07 → exit 2564.18 at 2025-05-15 05:48 UTC\n"
             "P&L -2,237.97 USDT (-11.19% of margin, funding +0.00)")


async def test_a_stop_loss_reached_while_the_bot_was_down_closes_at_the_stop(replay_dir: Path, tmp_path: Path) -> None:
    storage = tmp_path / "state.json"
    async with bot_harness(replay_dir, storage) as first:
        await first.advance(62)
        photo = first.in_chat(CHANNEL)[0]
        assert first.service.paper.get(ETH_KEY).entry_price == 2590.07
    async with bot_harness(replay_dir, storage, start="2025-05-15 07:00") as second:
        closed = second.service.paper.get(ETH_KEY)
        assert (closed.status, closed.exit_reason, closed.exit_price, closed.exit_time) == \
            ("closed", "sl", 2564.18, pd.Timestamp("2025-05-15 05:48", tz="UTC"))
        await second.until(lambda: len(second.in_chat(CHANNEL)) == 1, timeout=10)
        [result] = second.in_chat(CHANNEL)
        assert (result.text, result.reply_to) == (SL_RESULT, photo.message_id)
        assert second.service.journal.get(ETH_KEY).outcome == "sl"
