"""Bot settings from the environment and ``.env`` (pydantic-settings).

Everything that is not strategy lives here: the token, admins, where market data come from,
where state is kept. :func:`load_settings` turns any invalid value into one
:class:`SettingsError` line that names the variable and never echoes its value.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from engines.errors import InvalidInput

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REPLAY_DIR = REPO_ROOT / "data" / "sample"
DEFAULT_STORAGE_PATH = REPO_ROOT / "var" / "state.json"
DEFAULT_CACHE_DIR = REPO_ROOT / "var" / "cache"
DEFAULT_CONSOLE_DIR = REPO_ROOT / "var" / "console"
TELEGRAM_BASE_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
URL_SCHEMES = {"telegram_base_url": ("http", "https"), "bybit_ws_url": ("ws", "wss"),
               "bybit_rest_url": ("http", "https"), "binance_rest_url": ("http", "https"),
               "kraken_rest_url": ("http", "https")}


class SettingsError(InvalidInput):
    """A setting is missing or invalid; the message is one line naming the variable."""


def _split(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class BotSettings(BaseSettings):
    """The bot's deployment settings; ``TELEGRAM_BOT_TOKEN`` absent means console mode."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore",
                                      frozen=True)

    telegram_bot_token: SecretStr | None = None
    telegram_base_url: str = TELEGRAM_BASE_URL
    telegram_rate_limit: bool = Field(True, description="pace sends to Telegram's flood limits (PTB's AIORateLimiter); "
                                                        "off only for a local Bot API")
    admin_ids: Annotated[tuple[int, ...], NoDecode] = ()
    broadcast_chat_ids: Annotated[tuple[int | str, ...], NoDecode] = ()
    market_source: Literal["replay", "bybit"] = "replay"
    replay_data_dir: Path = DEFAULT_REPLAY_DIR
    replay_speed: float = Field(60.0, gt=0, le=100_000, allow_inf_nan=False, description="replayed minutes per second")
    storage_path: Path = DEFAULT_STORAGE_PATH
    cache_dir: Path = Field(DEFAULT_CACHE_DIR, description="Parquet cache of exchange candle history")
    console_dir: Path = DEFAULT_CONSOLE_DIR
    bybit_ws_url: str = "wss://stream.bybit.com/v5/public/linear"
    bybit_rest_url: str = "https://api.bybit.com"
    binance_rest_url: str = Field("https://fapi.binance.com", description="Binance USDT-M REST, for downloads")
    kraken_rest_url: str = "https://api.kraken.com"
    pairs: Annotated[tuple[str, ...], NoDecode] = ()
    log_level: str = Field("", description="DEBUG, INFO, WARNING, ERROR or CRITICAL; "
                                           "empty: INFO (WARNING in console mode)")

    @field_validator("log_level", mode="after")
    @classmethod
    def _log_level(cls, value: str) -> str:
        if value.strip() and value.strip().upper() not in LOG_LEVELS:
            raise ValueError(f"expected one of {', '.join(LOG_LEVELS)} (or nothing)")
        return value.strip().upper()

    @field_validator(*URL_SCHEMES, mode="after")
    @classmethod
    def _url(cls, value: str, info: ValidationInfo) -> str:
        schemes = URL_SCHEMES[info.field_name]
        try:
            parts = urlsplit(value)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            parts, port_ok = None, False
        if parts is None or parts.scheme not in schemes or not parts.hostname or not port_ok:
            raise ValueError(f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}, with a host")
        return value

    @field_validator("admin_ids", "broadcast_chat_ids", "pairs", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return _split(value)

    @field_validator("broadcast_chat_ids", mode="after")
    @classmethod
    def _chat_ids(cls, value: tuple[int | str, ...]) -> tuple[int | str, ...]:
        out: list[int | str] = []
        for item in value:
            text = str(item)
            if text.lstrip("-").isdigit():
                out.append(int(text))
            elif text.startswith("@") and len(text) > 1:
                out.append(text)
            else:
                raise ValueError(f"chat ids are integers or @channelname, got {text!r}")
        return tuple(out)

    @field_validator("pairs", mode="after")
    @classmethod
    def _pair_names(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        upper = tuple(item.upper() for item in value)
        for item in upper:
            if not item.isalnum() or not item.endswith("USDT"):
                raise ValueError(f"pairs are USDT perpetual symbols like SOLUSDT, got {item!r}")
        return upper

    def logging_level(self) -> int:
        """The ``LOG_LEVEL`` to log at; by default INFO, WARNING in console mode (the chat is on the terminal)."""
        if self.log_level:
            return logging.getLevelName(self.log_level)
        return logging.WARNING if self.console_mode else logging.INFO

    @property
    def console_mode(self) -> bool:
        return self.telegram_bot_token is None or not self.telegram_bot_token.get_secret_value()

    def token(self) -> str:
        return self.telegram_bot_token.get_secret_value() if self.telegram_bot_token else ""


def load_settings(**overrides: object) -> BotSettings:
    """Settings from the environment, ``.env`` and ``overrides``; raises :class:`SettingsError`."""
    try:
        return BotSettings(**overrides)
    except ValidationError as e:
        first = e.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        reason = first["msg"].removeprefix("Value error, ")
        raise SettingsError(f"invalid setting {name}: {reason}") from e
