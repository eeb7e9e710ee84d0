import re
from pathlib import Path

import pytest

from boomerang.config import Environment, Settings, load_settings
from boomerang.errors import ConfigError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_put_every_embedded_file_under_the_data_dir(tmp_path: Path) -> None:
    s = Settings(data_dir=tmp_path)
    assert s.sqlalchemy_url == f"sqlite:///{(tmp_path / 'boomerang.sqlite3').resolve()}"
    assert s.events_dir == tmp_path / "events"
    assert Settings.model_fields["data_dir"].default == Path("./var")


def test_secret_key_is_generated_once_and_kept(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path).resolved_secret_key()
    second = Settings(data_dir=tmp_path).resolved_secret_key()
    assert first == second and len(first) >= 32
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_configured_secret_key_wins(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, secret_key="k" * 40).resolved_secret_key() == "k" * 40
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize("key", [None, "changeme", "short-but-random", "a" * 64])
def test_production_refuses_missing_or_weak_secret(key: str | None, monkeypatch) -> None:
    monkeypatch.setenv("BOOMERANG_ENV", "production")
    if key:
        monkeypatch.setenv("BOOMERANG_SECRET_KEY", key)
    with pytest.raises(ConfigError, match="BOOMERANG_SECRET_KEY"):
        load_settings()


def test_production_accepts_strong_secret(monkeypatch) -> None:
    monkeypatch.setenv("BOOMERANG_ENV", "production")
    monkeypatch.setenv("BOOMERANG_SECRET_KEY", "q8Zr2vLx0pW7nT4kYb6sHc1mJf3dGa9e")
    assert load_settings().env is Environment.production


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("BOOMERANG_PORT", "eighty", "BOOMERANG_PORT"),
        ("BOOMERANG_PORT", "70000", "BOOMERANG_PORT"),
        ("BOOMERANG_DATABASE_URL", "mysql://x", "BOOMERANG_DATABASE_URL"),
        ("BOOMERANG_ENV", "staging", "BOOMERANG_ENV"),
        ("BOOMERANG_LOG_LEVEL", "loud", "BOOMERANG_LOG_LEVEL"),
        ("BOOMERANG_EVENTS_SOURCE", "warehouse.internal:5432", "BOOMERANG_EVENTS_SOURCE"),
        ("BOOMERANG_EVENTS_SOURCE", "duckdb://", "duckdb:// needs a file path"),
        ("BOOMERANG_EVENTS_TABLE", "events; DROP TABLE x", "BOOMERANG_EVENTS_TABLE"),
        ("BOOMERANG_EVENTS_COLUMNS", "account_id", "'account_id' is not field=column"),
        ("BOOMERANG_EVENTS_COLUMNS", "org=org_id", "'org' is not one of account_id"),
        ("BOOMERANG_EVENTS_COLUMNS", "event=name;x", "'name;x' is not a column name"),
    ],
)
def test_bad_values_name_the_setting(monkeypatch, name: str, value: str, complaint: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=complaint):
        load_settings()


def test_every_setting_is_documented_in_the_readme() -> None:
    documented = set(re.findall(r"`(BOOMERANG_[A-Z_]+)`", README.read_text()))
    declared = {f"BOOMERANG_{name.upper()}" for name in Settings.model_fields}
    assert declared - documented == set(), "settings missing from the README"
    test_only = {"BOOMERANG_TEST_POSTGRES_URL"}
    assert documented - declared - test_only == set(), "README documents unknown settings"


def test_warehouse_settings_are_read(monkeypatch) -> None:
    monkeypatch.setenv("BOOMERANG_EVENTS_SOURCE", " postgresql://ana@db:5432/wh ")
    monkeypatch.setenv("BOOMERANG_EVENTS_TABLE", "segment.tracks")
    monkeypatch.setenv("BOOMERANG_EVENTS_COLUMNS", "account_id=org_id, timestamp=received_at")
    settings = load_settings()
    assert settings.events_source == "postgresql://ana@db:5432/wh"
    assert settings.events_table == "segment.tracks"
    assert settings.event_columns == {
        "account_id": "org_id",
        "user_id": "user_id",
        "event": "event",
        "timestamp": "received_at",
        "properties": "properties",
    }
    monkeypatch.setenv("BOOMERANG_EVENTS_SOURCE", "")
    assert load_settings().events_source is None


@pytest.mark.parametrize("env", ["development", "test"])
@pytest.mark.parametrize("key", ["", "x", "k" * 31, "é" * 15])
def test_a_short_secret_key_is_refused_in_every_environment(
    key: str, env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOOMERANG_ENV", env)
    monkeypatch.setenv("BOOMERANG_SECRET_KEY", key)
    length = len(key.encode())
    with pytest.raises(ConfigError, match=rf"BOOMERANG_SECRET_KEY is too short \({length} bytes\)"):
        load_settings()
    monkeypatch.setenv("BOOMERANG_SECRET_KEY", "k" * 32)  # 32 bytes are enough
    assert load_settings().resolved_secret_key() == "k" * 32


@pytest.mark.parametrize("content", ["", "\n", "abc\n", "k" * 31 + "\n"])
def test_a_short_secret_key_file_is_refused_and_left_alone(tmp_path: Path, content: str) -> None:
    path = tmp_path / "secret_key"
    path.write_text(content)
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ConfigError, match=f"the secret key in {re.escape(str(path))} is too short"):
        settings.resolved_secret_key()
    assert path.read_text() == content  # not replaced: what signed it may matter to someone
    from boomerang.app import create_app

    with pytest.raises(ConfigError, match="32\\+ random characters"):
        create_app(settings)
