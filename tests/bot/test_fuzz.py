"""10,000 fuzzed commands and button presses through the real Updater and handlers (seeded, time-bounded):
unicode digits, HTML, forged callback data, 4,000-character arguments, from admins, traders and a channel.

Goal (issue 10): 0 internal errors (nothing reaches the global error handler, no "Something went wrong"),
0 replies over Telegram's 4,096 characters, every command answered and every button press answered.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from pathlib import Path

import pytest

from bot.commands import CATALOG
from bot.local_api import CAPTION_LIMIT, TEXT_LIMIT, BotMessage
from engines.params import PARAM_SPECS
from tests.bot.conftest import ADMIN, CHANNEL, TRADER, Harness, bot_harness

pytestmark = pytest.mark.slow
SEED = 20261201
ITEMS = 10_000
BATCH = 200
TIME_LIMIT_SECONDS = 900
MESSAGE_LIMIT = 4096  # what a user can send
CALLBACK_DATA_BYTES = 64  # what a button can carry
SENDS = ("sendMessage", "sendPhoto", "sendDocument")
CHANNEL_SHARE = 0.0015

DIGITS = ["²", "①", "٣", "７", "𝟕", "Ⅻ", "½", "१", "0", "1", "5", "50", "51", "100", "101", "-1", "1e9", "nan", "inf",
          "0x10", "1_000", "3.5", "０"]
WORDS = ["SOLUSDT", "sol", "ETH", "ethusdt", "DOGEUSDT", "SOL/USDT", "15m", "1h", "4h", "1H", "7d", "0d", "61d", "٧d",
         "micro", "macro", "MACRO", "swing", "halve", "stand_aside", "pairs=SOL,ETH", "pairs=", "engine=micro",
         "engine=", "min_confidence=①", "min_confidence=50", "min_confidence=", "=", "==", "a=b=c", "key=value",
         "<b>", "</code>", "&amp;", "<script>alert(1)</script>", "\u200b", "\u202e", "🚀", "ß", "ﬀ", "'", '"', "\\",
         "%s", "{}", "${x}", "None", "null", "true", "-", "--days", "/start", "@signaltracker_bot"]
KEYS = list(PARAM_SPECS) + ["rsi", "bogus", "", "TOLERANCE", "tolerance ", "__class__"]
OTHER_BOT = "@other_bot"
NAMES = [c.name for c in CATALOG] + ["moon", "Levels", "levels@signaltracker_bot", "levels" + OTHER_BOT, "x" * 40, "",
                                     "старт", "help_me", "tune_"]
CALLBACK_PREFIXES = ["tk:", "tv:", "ta:", "tc", "pc:", "", "zz:", "TK:"]


def long_token(rng: random.Random) -> str:
    unit = rng.choice(["x", "9", "٣", "<b>", "&amp;", "🚀", "SOL,", "tolerance=0.2 "])
    return (unit * (4000 // len(unit) + 1))[:rng.choice([300, 1000, 4000])]


def token(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.05:
        return long_token(rng)
    if roll < 0.35:
        return rng.choice(DIGITS)
    if roll < 0.55:
        key = rng.choice(KEYS)
        return f"{key}={rng.choice(DIGITS + WORDS)}" if rng.random() < 0.7 else key
    return rng.choice(WORDS)


def command_text(rng: random.Random) -> str:
    name = rng.choice(NAMES)
    if name == "backtest" and rng.random() < 0.97:  # a valid backtest runs for seconds: keep them rare
        args = [rng.choice(["week", "٧d", "0d", "61d", "99999999999d", "-7d", "7", "d", long_token(rng)])]
    else:
        args = []
    args += [token(rng) for _ in range(rng.choice([0, 1, 1, 2, 2, 3, 5]))]
    text = " ".join([f"/{name}", *args]) if rng.random() > 0.02 else rng.choice(WORDS)  # some plain text
    return text[:MESSAGE_LIMIT]


def callback_data(rng: random.Random) -> str:
    data = rng.choice(CALLBACK_PREFIXES)
    if data.endswith(":"):
        parts = [rng.choice(KEYS + WORDS + DIGITS) for _ in range(rng.choice([0, 1, 2, 3]))]
        data += ":".join(parts)
    raw = data.encode()[:CALLBACK_DATA_BYTES].decode(errors="ignore")
    return raw or "tc"


async def settle(bot: Harness, deadline: float) -> None:
    """Wait until every update was fetched and the bot has sent nothing for a moment."""
    quiet_since, last = time.monotonic(), bot.api.activity
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError("the fuzz run did not finish in time")
        if bot.api.activity != last:
            quiet_since, last = time.monotonic(), bot.api.activity
        elif bot.api.pending_updates == 0 and time.monotonic() - quiet_since > 0.3:
            return
        await asyncio.sleep(0.05)


async def test_10000_fuzzed_commands_and_callbacks(replay_dir: Path, tmp_path: Path,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    rng = random.Random(SEED)
    sent: list[BotMessage] = []
    too_long: list[BotMessage] = []
    refused_sends: set[tuple[str, float, int]] = set()  # Telegram refused a message (too long, empty, bad HTML)

    def watch(kind: str, message: BotMessage) -> None:
        sent.append(message)
        if len(message.text) > (TEXT_LIMIT if message.method == "sendMessage" else CAPTION_LIMIT):
            too_long.append(message)

    deadline = time.monotonic() + TIME_LIMIT_SECONDS
    started = time.monotonic()
    # the fake Bot API imposes no flood limits, so PTB's pacing (30 messages/s) would only add minutes
    async with bot_harness(replay_dir, tmp_path / "state.json", telegram_rate_limit=False) as bot:
        bot.api.on_event = watch
        [menu] = await bot.ask("/tune")  # a message with buttons to press
        counts = {"commands": 0, "clicks": 0, "plain": 0, "other bot": 0}
        answers_before = len(bot.api.callback_answers)
        for start in range(0, ITEMS, BATCH):
            for _ in range(min(BATCH, ITEMS - start)):
                user = rng.choice([ADMIN, ADMIN, TRADER, TRADER, 3003])
                if rng.random() < 0.3:
                    bot.api.click(menu, callback_data(rng), user_id=user)
                    counts["clicks"] += 1
                    continue
                text = command_text(rng)
                kind = "plain" if not text.startswith("/") else "other bot" if OTHER_BOT in text.split()[0] else "commands"
                counts[kind] += 1  # a command addressed to another bot gets no reply
                if rng.random() < CHANNEL_SHARE:  # few: replies in a channel are limited to 20 a minute
                    bot.api.send_channel_post(CHANNEL, text)
                else:
                    bot.api.send_text(text, user_id=user)
            await settle(bot, deadline)
            refused_sends.update((c.method, c.at, c.status) for c in bot.api.calls if c.status >= 400 and c.method in SENDS)
        await bot.until(lambda: len(bot.api.callback_answers) - answers_before >= counts["clicks"]
                        and len(sent) >= counts["commands"], timeout=max(deadline - time.monotonic(), 1))
        answers = len(bot.api.callback_answers) - answers_before
        errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    elapsed = time.monotonic() - started
    print(f"fuzz: {sum(counts.values())} items ({counts}) in {elapsed:.0f} s; {len(sent)} messages sent or edited, "
          f"{answers} button answers, longest reply {max(len(m.text) for m in sent)} characters")
    assert sum(counts.values()) == ITEMS
    assert errors == []
    assert not [m.text[:80] for m in sent if "Something went wrong" in m.text]
    assert too_long == [] and refused_sends == set()
    assert answers == counts["clicks"]  # every button press was answered
    assert len(sent) >= counts["commands"]  # every command got at least one reply
