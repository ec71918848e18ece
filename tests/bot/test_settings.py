"""Settings from the environment: comma lists, console mode, one clear line for a bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import DEFAULT_CACHE_DIR, DEFAULT_REPLAY_DIR, REPO_ROOT, SettingsError, load_settings

SECRET = "987654321:AAsecret-value"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    for name in ("TELEGRAM_BOT_TOKEN", "ADMIN_IDS", "BROADCAST_CHAT_IDS", "PAIRS", "REPLAY_SPEED", "MARKET_SOURCE"):
        monkeypatch.delenv(name, raising=False)


def test_defaults_are_console_mode_on_the_bundled_replay() -> None:
    settings = load_settings()
    assert settings.console_mode and settings.market_source == "replay"
    assert settings.replay_data_dir == DEFAULT_REPLAY_DIR and (DEFAULT_REPLAY_DIR / "SOLUSDT_1m.parquet").exists()


def test_comma_separated_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ADMIN_IDS", "11, 22")
    monkeypatch.setenv("BROADCAST_CHAT_IDS", "-100123,@signals")
    monkeypatch.setenv("PAIRS", "solusdt,ETHUSDT")
    settings = load_settings()
    assert (settings.admin_ids, settings.broadcast_chat_ids, settings.pairs) == \
        ((11, 22), (-100123, "@signals"), ("SOLUSDT", "ETHUSDT"))


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(f"TELEGRAM_BOT_TOKEN={SECRET}\nREPLAY_SPEED=5\n")
    settings = load_settings()
    assert not settings.console_mode and settings.token() == SECRET and settings.replay_speed == 5


@pytest.mark.parametrize(("name", "value", "message"), [
    ("ADMIN_IDS", "alice", "invalid setting ADMIN_IDS: Input should be a valid integer, unable to parse string as an integer"),
    ("REPLAY_SPEED", "0", "invalid setting REPLAY_SPEED: Input should be greater than 0"),
    ("MARKET_SOURCE", "kraken", "invalid setting MARKET_SOURCE: Input should be 'replay' or 'bybit'"),
    ("PAIRS", "SOL-USD", "invalid setting PAIRS: pairs are USDT perpetual symbols like SOLUSDT, got 'SOL-USD'"),
    ("BROADCAST_CHAT_IDS", "channel", "invalid setting BROADCAST_CHAT_IDS: chat ids are integers or @channelname, "
                                      "got 'channel'"),
])
def test_a_bad_value_is_one_line_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str,
                                                     message: str) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", SECRET)
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert str(caught.value) == message and SECRET not in str(caught.value)


def test_the_token_is_hidden_in_the_settings_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", SECRET)
    assert SECRET not in repr(load_settings())


def test_the_candle_cache_defaults_to_var_cache_in_the_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("CACHE_DIR", raising=False)
    assert load_settings().cache_dir == DEFAULT_CACHE_DIR == REPO_ROOT / "var" / "cache"
    monkeypatch.setenv("CACHE_DIR", str(tmp_path / "candles"))
    assert load_settings().cache_dir == tmp_path / "candles"


def test_flood_pacing_is_on_unless_switched_off_for_a_local_bot_api(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().telegram_rate_limit is True
    monkeypatch.setenv("TELEGRAM_RATE_LIMIT", "false")
    assert load_settings().telegram_rate_limit is False
