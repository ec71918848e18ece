"""Signals from the JobQueue to chats: channel broadcast, subscriber filters, flood control, gone chats,
position monitor results as replies, /positions with its chart button, /close.

The replay starts at 2025-05-15 02:00 UTC. The real ETHUSDT 1h candle closing at 03:00 gives a MACRO
LONG (confidence 82, entry 2590.08, TP 2641.88, SL 2564.18); it fills at the 03:00 1m open 2590.07 and
the SL is reached in the 05:47 minute.
"""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from market.feed import FundingUpdate

from tests.bot.conftest import ADMIN, CHANNEL, TRADER, Harness, bot_harness

pytestmark = pytest.mark.slow
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
ETH_KEY = "MACRO:ETHUSDT:LONG:2025-05-15T03:00:00Z"


async def test_a_new_signal_goes_to_the_channel_as_chart_then_json(harness: Harness) -> None:
    await harness.advance(61)
    photo, data = harness.in_chat(CHANNEL)
    assert photo.method == "sendPhoto" and photo.file.data.startswith(PNG_MAGIC)
    assert photo.text == ("ETHUSDT 🟢 LONG · MACRO · confidence 82\nentry 2590.08 · TP 2641.88 · SL 2564.18\n"
                          "checks: none\n2025-05-15 03:00 UTC")
    signal = json.loads(data.text)
    assert (signal["type"], signal["pair"], signal["side"], signal["timestamp"]) == \
        ("MACRO", "ETHUSDT", "LONG", "2025-05-15T03:00:00Z")
    assert data.reply_to == photo.message_id


async def test_subscribers_get_only_what_their_filters_allow(harness: Harness) -> None:
    await harness.ask("/subscribe pairs=ETHUSDT", user=ADMIN)
    await harness.ask("/subscribe engine=micro", user=TRADER)
    await harness.advance(61)
    assert [m.method for m in harness.in_chat(ADMIN)][-2:] == ["sendPhoto", "sendMessage"]
    assert harness.in_chat(ADMIN)[-2].text.startswith("ETHUSDT 🟢 LONG · MACRO")
    assert [m.text for m in harness.in_chat(TRADER)] == [
        "🔔 Subscribed: all pairs, micro, confidence ≥ 0. /unsubscribe to stop."]


async def test_a_cornix_subscriber_gets_one_plain_text_message_and_the_result_under_it(harness: Harness) -> None:
    [reply] = await harness.ask("/subscribe pairs=ETHUSDT format=cornix", user=TRADER)
    assert reply.text == ("🔔 Subscribed: ETHUSDT, both engines, confidence ≥ 0, Cornix text format. "
                          "/unsubscribe to stop.")
    assert harness.service.subscriptions.get(TRADER).format == "cornix"  # stored with the subscription
    await harness.advance(61)
    signal = harness.in_chat(TRADER)[1]
    assert (signal.method, len(harness.in_chat(TRADER))) == ("sendMessage", 2)
    assert signal.text == "ETH/USDT LONG\nLeverage: 10x\nEntry: 2590.08\nTarget: 2641.88\nStop: 2564.18"
    assert [m.method for m in harness.in_chat(CHANNEL)] == ["sendPhoto", "sendMessage"]  # the default is unchanged
    await harness.advance(3 * 60)
    result = harness.in_chat(TRADER)[-1]
    assert result.text.startswith("ETHUSDT LONG closed — 🛑 stop-loss") and result.reply_to == signal.message_id


async def test_flood_control_retry_after_is_honoured(harness: Harness) -> None:
    harness.api.throttle_next_send(CHANNEL, retry_after=1)
    await harness.advance(61)
    sends = [c for c in harness.api.calls if c.method == "sendPhoto" and c.params["chat_id"] == CHANNEL]
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1.0
    assert len(harness.in_chat(CHANNEL)) == 2


@pytest.mark.parametrize("forget", [False, True], ids=["bot was blocked", "chat not found"])
async def test_a_gone_subscriber_is_removed_and_others_still_get_the_signal(harness: Harness, forget: bool) -> None:
    await harness.ask("/subscribe", user=TRADER)
    harness.api.block_chat(TRADER, forget=forget)
    await harness.advance(61)
    assert harness.service.subscriptions.get(TRADER) is None
    assert len(harness.in_chat(CHANNEL)) == 2


async def test_paused_bot_opens_and_sends_nothing(harness: Harness) -> None:
    await harness.ask("/pause")
    await harness.advance(61)
    assert harness.in_chat(CHANNEL) == []
    assert harness.service.paper.open_positions() == []


async def test_positions_show_entry_tp_sl_and_a_chart_button(harness: Harness) -> None:
    await harness.advance(62)
    [reply] = await harness.ask("/positions")
    lines = reply.text.splitlines()
    assert lines[0] == "1 open paper position(s) · equity 200,000.00 USDT"
    assert lines[2] == "ETHUSDT LONG MACRO"
    assert lines[3].startswith("entry 2590.07 · TP 2641.88 · SL 2564.18 · now ")
    assert reply.buttons == [("📈 ETHUSDT LONG", f"pc:{ETH_KEY}")]
    await harness.click(reply, f"pc:{ETH_KEY}")
    chart = harness.in_chat(ADMIN)[-1]
    assert chart.method == "sendPhoto" and chart.file.data.startswith(PNG_MAGIC)


async def test_stop_loss_result_is_posted_as_a_reply_to_the_signal(harness: Harness) -> None:
    await harness.advance(61)
    photo = harness.in_chat(CHANNEL)[0]
    await harness.advance(3 * 60)
    result = next(m for m in harness.in_chat(CHANNEL) if "ETHUSDT LONG closed" in m.text)
    assert result.reply_to == photo.message_id
    assert result.text == ("ETHUSDT LONG closed — 🛑 stop-loss\n"
                           "entry 2590.07 → exit 2564.18 at 2025-05-15 05:48 UTC\n"
                           "P&L -2,237.97 USDT (-11.19% of margin, funding +0.00)")  # fees on entry + exit notional
    [stats] = await harness.ask("/stats")
    assert "MACRO ETHUSDT: 1 sent · TP 0 · SL 1 · timeout 0 · open 0 · TP rate 0% · Σ -11.19%" in stats.text
    lines = stats.text.splitlines()
    at = lines.index("Mean P&L per closed signal (95 % bootstrap interval)")
    assert lines[at: at + 2] == [
        "Mean P&L per closed signal (95 % bootstrap interval)",
        "MACRO: -11.17% (-11.19% … -11.14%) over 2 closed — too few to judge (30 needed)"]  # fees on entry + exit notional


async def test_admin_close_posts_the_result_under_the_signal(harness: Harness) -> None:
    await harness.advance(62)
    photo = harness.in_chat(CHANNEL)[0]
    [reply] = await harness.ask("/close ETHUSDT")
    assert reply.text.startswith("ETHUSDT LONG closed — ✋ closed by admin\nentry 2590.07 → exit ")
    await harness.until(lambda: any("closed by admin" in m.text for m in harness.in_chat(CHANNEL)))
    assert harness.in_chat(CHANNEL)[-1].reply_to == photo.message_id
    assert harness.service.paper.open_positions() == []


async def test_signals_lists_what_was_sent(harness: Harness) -> None:
    await harness.advance(61)
    [reply] = await harness.ask("/signals 3")
    assert reply.text == ("Last 1 signals\n2025-05-15 03:00 UTC MACRO ETHUSDT LONG @2590.08 TP 2641.88 "
                          "SL 2564.18 c82 → open")


async def test_job_runs_show_in_status(harness: Harness) -> None:
    started = time.monotonic()
    await harness.advance(61)
    assert time.monotonic() - started < 30
    [status] = await harness.ask("/status")
    assert "MACRO ETHUSDT: 2025-05-15 03:00 UTC in" in status.text
    assert f"{ETH_KEY}: position opened, broadcast queued" in status.text


async def test_funding_announced_by_the_feed_is_charged_when_its_time_passes(harness: Harness) -> None:
    await harness.advance(62)
    settles = pd.Timestamp("2025-05-15 03:30", tz="UTC")
    await harness.jobs.on_event(FundingUpdate("ETHUSDT", 0.0001, settles, 8.0))
    await harness.advance(28)  # the replay clock is at 03:30: the instant has come
    assert harness.service.paper.get(ETH_KEY).funding_paid == 0.0
    # ... but the position pays only if it is still open across it, i.e. did not exit at the 03:30 open
    # (the backtester's entry < instant < exit); that is known when the 03:30 minute has closed
    await harness.advance(1)
    position = harness.service.paper.get(ETH_KEY)
    assert (position.funding_paid, position.funded_until) == (pytest.approx(20.0), settles.to_pydatetime())


async def test_subscribe_in_a_group_chat(harness: Harness) -> None:
    harness.api.add_chat(-4242, "group", title="Traders")
    [reply] = await harness.ask("/subscribe engine=macro", user=TRADER, chat=-4242)
    assert reply.text == "🔔 Subscribed: all pairs, macro, confidence ≥ 0. /unsubscribe to stop."
    await harness.advance(61)
    assert [m.method for m in harness.in_chat(-4242)] == ["sendMessage", "sendPhoto", "sendMessage"]


async def test_a_micro_scalp_signal_is_broadcast_with_its_levels(replay_dir, tmp_path) -> None:
    async with bot_harness(replay_dir, tmp_path / "state.json", start="2025-05-18 18:30") as bot:
        await bot.advance(16)
        photo, data = bot.in_chat(CHANNEL)
        signal = json.loads(data.text)
        assert (signal["type"], signal["pair"], signal["side"], signal["timestamp"]) == \
            ("SCALP", "ETHUSDT", "LONG", "2025-05-18T18:45:00Z")
        assert photo.text.startswith("ETHUSDT 🟢 LONG · MICRO-SCALP · confidence ")
        assert photo.file.data.startswith(PNG_MAGIC)
