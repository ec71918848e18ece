"""Console chat: the real Application served by :class:`~bot.local_api.LocalBotApi`, typed on stdin.

Lines typed become ``getUpdates`` results from the console user (an admin); what the bot sends is
printed; photos and documents are written under ``CONSOLE_DIR`` (``var/console/``) and their paths printed; inline
buttons are printed as ``[b1] label`` and pressed by typing ``b1``. End of input (Ctrl-D, or
stdin closed) shuts the bot down cleanly.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path
from typing import TextIO

from bot.local_api import BotMessage, LocalBotApi

CONSOLE_USER_ID = 1
_BUTTON = re.compile(r"^b(\d+)$")
QUIET_SECONDS = 1.5
DRAIN_LIMIT_SECONDS = 60.0


class ConsoleChat:
    """Bridges a text stream pair and the local Bot API."""

    def __init__(self, api: LocalBotApi, *, stdin: TextIO, stdout: TextIO, output_dir: Path) -> None:
        self.api, self.stdin, self.stdout, self.output_dir = api, stdin, stdout, output_dir
        self._buttons: dict[int, tuple[BotMessage, str]] = {}
        self._button_numbers = itertools.count(1)
        self._files = itertools.count(1)
        api.add_chat(CONSOLE_USER_ID, "private", first_name="Console")
        api.on_event = self.show

    def _write(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _save(self, message: BotMessage) -> Path:
        self.output_dir.mkdir(parents=True, exist_ok=True)
        path = self.output_dir / f"{next(self._files):04d}_{message.file.filename}"
        path.write_bytes(message.file.data)
        return path

    def show(self, kind: str, message: BotMessage) -> None:
        where = "" if message.chat_id == CONSOLE_USER_ID else f"[to chat {message.chat_id}] "
        prefix = f"bot> {where}" + ("(edited) " if kind == "edited" else "")
        if message.file is not None:
            label = "photo" if message.method == "sendPhoto" else "document"
            self._write(f"{prefix}[{label}] {self._save(message)}")
        if message.text:
            self._write(prefix + message.text.replace("\n", "\n     "))
        if message.buttons:
            shown = []
            for label, data in message.buttons:
                number = next(self._button_numbers)
                self._buttons[number] = (message, data)
                shown.append(f"[b{number}] {label}")
            self._write("     " + "  ".join(shown))

    def handle_line(self, line: str) -> None:
        text = line.strip()
        if not text:
            return
        button = _BUTTON.match(text)
        if button and int(button.group(1)) in self._buttons:
            message, data = self._buttons[int(button.group(1))]
            self.api.click(message, data, user_id=CONSOLE_USER_ID)
            return
        self.api.send_text(text, user_id=CONSOLE_USER_ID)

    async def run(self) -> None:
        """Read lines until end of input, then let the bot finish answering."""
        self._write("SignalTracker console. Type /help; /subscribe to see signals live; Ctrl-D quits.")
        while True:
            line = await asyncio.to_thread(self.stdin.readline)
            if not line:
                break
            self.handle_line(line)
        await self._finish_answers()

    async def _finish_answers(self) -> None:
        """Wait (at most :data:`DRAIN_LIMIT_SECONDS`) until every typed line was picked up and the bot is quiet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + DRAIN_LIMIT_SECONDS
        quiet_since, seen = loop.time(), self.api.activity
        while loop.time() < deadline:
            await asyncio.sleep(0.1)
            if self.api.activity != seen or self.api.pending_updates:
                quiet_since, seen = loop.time(), self.api.activity
            elif loop.time() - quiet_since >= QUIET_SECONDS:
                return
