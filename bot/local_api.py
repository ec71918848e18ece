"""A local Bot API served at PTB's request seam: the console chat's server and the tests' Telegram.

:class:`LocalBotApi` is a :class:`telegram.request.BaseRequest`. Handed to
``ApplicationBuilder().request(...).get_updates_request(...)``, it answers the Bot API methods the
bot uses with real Bot API JSON (``getMe`` with ``is_bot``, dates in seconds, ``callback_query``
with ``chat_instance``, multipart ``sendPhoto``/``sendDocument``), long-polls ``getUpdates`` with
``offset``/``timeout``, and reports errors the way Telegram does (429 with ``retry_after``,
400 "chat not found", 403 "bot was blocked by the user"). The user side (``send_text``,
``send_channel_post``, ``click``) queues updates; everything the bot sends is kept in
``messages`` and handed to ``on_event``.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import json
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from telegram.request import BaseRequest, RequestData

BOT_USER = {"id": 7000000001, "is_bot": True, "first_name": "SignalTracker", "username": "signaltracker_bot",
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}
TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
KEEP_MESSAGES = 500  # the newest messages are kept (editable, inspectable); older ones are dropped
KEEP_CALLS = 5000
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class UploadedFile:
    """A file the bot uploaded (multipart)."""

    filename: str
    data: bytes
    mime: str


@dataclass
class BotMessage:
    """A message the bot sent; ``text`` is what the user sees (HTML tags removed)."""

    chat_id: int
    message_id: int
    method: str
    text: str
    date: int
    file: UploadedFile | None = None
    reply_markup: dict[str, Any] | None = None
    reply_to: int | None = None
    edits: int = 0

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """``(label, callback_data)`` of every inline button, row by row."""
        rows = (self.reply_markup or {}).get("inline_keyboard", [])
        return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


@dataclass(frozen=True)
class ApiCall:
    """One Bot API request as the server saw it (``at`` is ``time.monotonic()``)."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200


@dataclass(frozen=True)
class ApiError(Exception):
    """An error answer, shaped like Telegram's."""

    status: int
    description: str
    retry_after: int | None = None

    def payload(self) -> bytes:
        body: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return json.dumps(body).encode()


@dataclass
class _Chat:
    data: dict[str, Any]
    failure: ApiError | None = None
    throttled: list[int] = field(default_factory=list)
    refusals: list[ApiError] = field(default_factory=list)


def _plain(text: str, parse_mode: object) -> str:
    return html.unescape(_TAG.sub("", text)) if parse_mode == "HTML" else text


def _command_entities(text: str) -> list[dict[str, Any]]:
    if not text.startswith("/"):
        return []
    return [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]


class LocalBotApi(BaseRequest):
    """An in-process Bot API server for one bot; see the module docstring."""

    def __init__(self, *, clock: Callable[[], float] = time.time,
                 on_event: Callable[[str, BotMessage], None] | None = None) -> None:
        self._clock = clock
        self.on_event = on_event
        self._chats: dict[int, _Chat] = {}
        self._usernames: dict[str, int] = {}
        self._updates: list[dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self._arrived = asyncio.Event()
        self.messages: deque[BotMessage] = deque(maxlen=KEEP_MESSAGES)
        self.calls: deque[ApiCall] = deque(maxlen=KEEP_CALLS)
        self._activity = 0
        self.commands: list[dict[str, Any]] = []
        self.callback_answers: list[dict[str, Any]] = []

    # ---- BaseRequest -------------------------------------------------------------------------
    @property
    def read_timeout(self) -> float | None:
        return 5.0

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_request(self, url: str, method: str, request_data: RequestData | None = None,
                         read_timeout: Any = None, write_timeout: Any = None,
                         connect_timeout: Any = None, pool_timeout: Any = None) -> tuple[int, bytes]:
        api_method = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        files = dict(request_data.multipart_data) if request_data and request_data.contains_files else {}
        self._activity += api_method != "getUpdates"
        handler = getattr(self, f"_api_{api_method}", None)
        if handler is None:
            self.calls.append(ApiCall(api_method, params, time.monotonic(), 404))
            return 404, ApiError(404, "Not Found").payload()
        try:
            result = await handler(params, files) if api_method == "getUpdates" else handler(params, files)
        except ApiError as e:
            self.calls.append(ApiCall(api_method, params, time.monotonic(), e.status))
            return e.status, e.payload()
        self.calls.append(ApiCall(api_method, params, time.monotonic()))
        return 200, json.dumps({"ok": True, "result": result}).encode()

    # ---- chats and the user side -----------------------------------------------------------
    def add_chat(self, chat_id: int, kind: str = "private", *, title: str = "", username: str = "",
                 first_name: str = "") -> None:
        """Make ``chat_id`` known (private, group, supergroup or channel)."""
        data: dict[str, Any] = {"id": chat_id, "type": kind}
        if kind == "private":
            data["first_name"] = first_name or f"User{chat_id}"
        else:
            data["title"] = title or f"chat {chat_id}"
        if username:
            data["username"] = username
            self._usernames[f"@{username}"] = chat_id
        self._chats[chat_id] = _Chat(data)

    def block_chat(self, chat_id: int, *, forget: bool = False) -> None:
        """Later sends to ``chat_id`` fail: "bot was blocked" (403) or, with ``forget``, "chat not found"."""
        error = ApiError(400, "Bad Request: chat not found") if forget else \
            ApiError(403, "Forbidden: bot was blocked by the user")
        self._chat(chat_id).failure = error

    def throttle_next_send(self, chat_id: int, retry_after: int) -> None:
        """The next send to ``chat_id`` is refused with 429 and ``retry_after`` seconds."""
        self._chat(chat_id).throttled.append(retry_after)

    def refuse_next_send(self, chat_id: int, status: int, description: str) -> None:
        """The next send to ``chat_id`` is refused with ``status`` and ``description`` (once)."""
        self._chat(chat_id).refusals.append(ApiError(status, description))

    def _user(self, user_id: int) -> dict[str, Any]:
        chat = self._chats.get(user_id)
        name = chat.data.get("first_name") if chat and chat.data["type"] == "private" else None
        return {"id": user_id, "is_bot": False, "first_name": name or f"User{user_id}", "language_code": "en"}

    def _push(self, update: dict[str, Any]) -> int:
        update_id = next(self._update_ids)
        self._updates.append({"update_id": update_id, **update})
        self._arrived.set()
        return update_id

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    def send_text(self, text: str, *, user_id: int, chat_id: int | None = None) -> int:
        """A user writes ``text`` in a private chat (default) or in the group ``chat_id``."""
        chat_id = user_id if chat_id is None else chat_id
        if chat_id not in self._chats:
            self.add_chat(chat_id)
        message = {"message_id": self._next_message_id(chat_id), "date": int(self._clock()),
                   "chat": self._chats[chat_id].data, "from": self._user(user_id), "text": text}
        if entities := _command_entities(text):
            message["entities"] = entities
        return self._push({"message": message})

    def send_channel_post(self, chat_id: int, text: str) -> int:
        """An admin posts ``text`` in the channel ``chat_id`` (arrives as ``channel_post``)."""
        chat = self._chat(chat_id).data
        post = {"message_id": self._next_message_id(chat_id), "date": int(self._clock()), "chat": chat,
                "sender_chat": chat, "text": text}
        if entities := _command_entities(text):
            post["entities"] = entities
        return self._push({"channel_post": post})

    def click(self, message: BotMessage, callback_data: str, *, user_id: int) -> int:
        """A user presses the inline button carrying ``callback_data`` under ``message``."""
        query = {"id": str(next(self._callback_ids)), "from": self._user(user_id),
                 "message": self._message_json(message), "chat_instance": f"ci{message.chat_id}",
                 "data": callback_data}
        return self._push({"callback_query": query})

    @property
    def pending_updates(self) -> int:
        """Updates not yet confirmed by a ``getUpdates`` offset."""
        return len(self._updates)

    @property
    def activity(self) -> int:
        """A counter that moves with every request other than ``getUpdates``."""
        return self._activity

    async def wait_for(self, predicate: Callable[[BotMessage], bool], timeout: float = 10.0) -> BotMessage:
        """The first sent message matching ``predicate``, waiting up to ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            found = next((m for m in self.messages if predicate(m)), None)
            if found is not None:
                return found
            if time.monotonic() > deadline:
                raise TimeoutError("no matching message; sent: " + repr([m.text[:60] for m in self.messages]))
            await asyncio.sleep(0.01)

    # ---- helpers -----------------------------------------------------------------------------
    def _chat(self, chat_id: object) -> _Chat:
        key = self._usernames.get(chat_id, chat_id) if isinstance(chat_id, str) else chat_id
        try:
            key = int(key)  # type: ignore[arg-type]
        except (TypeError, ValueError) as e:
            raise ApiError(400, "Bad Request: chat not found") from e
        if key not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self._chats[key]

    def _message_json(self, message: BotMessage) -> dict[str, Any]:
        chat = self._chats[message.chat_id].data
        data: dict[str, Any] = {"message_id": message.message_id, "date": message.date, "chat": chat}
        if chat["type"] == "channel":
            data["sender_chat"] = chat
        else:
            data["from"] = BOT_USER
        if message.method == "sendMessage":
            data["text"] = message.text
        elif message.text:
            data["caption"] = message.text
        if message.file and message.method == "sendPhoto":
            data["photo"] = [{"file_id": f"photo{message.chat_id}_{message.message_id}",
                              "file_unique_id": f"p{message.chat_id}_{message.message_id}",
                              "width": 1280, "height": 720, "file_size": len(message.file.data)}]
        if message.file and message.method == "sendDocument":
            data["document"] = {"file_id": f"doc{message.chat_id}_{message.message_id}",
                                "file_unique_id": f"d{message.chat_id}_{message.message_id}",
                                "file_name": message.file.filename, "mime_type": message.file.mime,
                                "file_size": len(message.file.data)}
        if message.reply_markup:
            data["reply_markup"] = message.reply_markup
        return data

    def _emit(self, kind: str, message: BotMessage) -> None:
        if self.on_event is not None:
            self.on_event(kind, message)

    def _send(self, method: str, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        chat = self._chat(params.get("chat_id"))
        if chat.failure is not None:
            raise chat.failure
        if chat.refusals:
            raise chat.refusals.pop(0)
        if chat.throttled:
            wait = chat.throttled.pop(0)
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        raw = str(params.get("text" if method == "sendMessage" else "caption", ""))
        limit = TEXT_LIMIT if method == "sendMessage" else CAPTION_LIMIT
        text = _plain(raw, params.get("parse_mode"))
        if method == "sendMessage" and not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text) > limit:
            raise ApiError(400, "Bad Request: message is too long" if method == "sendMessage"
                           else "Bad Request: message caption is too long")
        upload = None
        if files:
            filename, data, mime = next(iter(files.values()))
            upload = UploadedFile(filename, data, mime)
        chat_id = int(chat.data["id"])
        reply = params.get("reply_parameters") or {}
        message = BotMessage(chat_id, self._next_message_id(chat_id), method, text, int(self._clock()), upload,
                             params.get("reply_markup"), reply.get("message_id") or params.get("reply_to_message_id"))
        self.messages.append(message)
        self._emit("sent", message)
        return self._message_json(message)

    def _stored(self, params: dict[str, Any]) -> BotMessage:
        chat_id = int(self._chat(params.get("chat_id")).data["id"])
        message_id = int(params.get("message_id", 0))
        found = next((m for m in self.messages if m.chat_id == chat_id and m.message_id == message_id), None)
        if found is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        return found

    # ---- Bot API methods ---------------------------------------------------------------------
    def _api_getMe(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return BOT_USER

    def _api_deleteWebhook(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        return True

    def _api_setMyCommands(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self.commands = list(params.get("commands", []))
        return True

    def _api_getMyCommands(self, params: dict[str, Any], files: dict[str, Any]) -> list[dict[str, Any]]:
        return self.commands

    def _api_sendChatAction(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self._chat(params.get("chat_id"))
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self.callback_answers.append(params)
        return True

    def _api_sendMessage(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        return self._send("sendMessage", params, files)

    def _api_sendPhoto(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        if not files:
            raise ApiError(400, "Bad Request: there is no photo in the request")
        return self._send("sendPhoto", params, files)

    def _api_sendDocument(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        if not files:
            raise ApiError(400, "Bad Request: there is no document in the request")
        return self._send("sendDocument", params, files)

    def _api_editMessageText(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        message = self._stored(params)
        text = _plain(str(params.get("text", "")), params.get("parse_mode"))
        markup = params.get("reply_markup")
        if text == message.text and markup == message.reply_markup:
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup "
                                "of the message")
        message.text, message.reply_markup = text, markup
        message.edits += 1
        self._emit("edited", message)
        return self._message_json(message)

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], files: dict[str, Any]) -> dict[str, Any]:
        message = self._stored(params)
        message.reply_markup = params.get("reply_markup")
        message.edits += 1
        self._emit("edited", message)
        return self._message_json(message)

    def _api_deleteMessage(self, params: dict[str, Any], files: dict[str, Any]) -> bool:
        self._stored(params)
        return True

    async def _api_getUpdates(self, params: dict[str, Any], files: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset", 0) or 0)
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        if not self._updates and float(params.get("timeout", 0) or 0) > 0:
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), float(params["timeout"]))
            except TimeoutError:
                return []
        limit = int(params.get("limit", 100) or 100)
        return self._updates[:limit]
