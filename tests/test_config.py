"""Configuration: production refuses to start without SECRET_KEY; development keeps one."""
import pytest

from app.config import ConfigError, load_config, normalise_database_url


def test_production_without_secret_key_stops_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        load_config({"APP_ENV": "production", "INSTANCE_DIR": str(tmp_path)})


def test_production_cookies_are_secure(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    config = load_config({"APP_ENV": "production", "INSTANCE_DIR": str(tmp_path)})
    assert config["SESSION_COOKIE_SECURE"] is True
    assert config["SESSION_COOKIE_HTTPONLY"] is True
    assert config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_development_generates_a_key_once_and_keeps_it(monkeypatch, tmp_path):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = load_config({"APP_ENV": "development", "INSTANCE_DIR": str(tmp_path)})["SECRET_KEY"]
    second = load_config({"APP_ENV": "development", "INSTANCE_DIR": str(tmp_path)})["SECRET_KEY"]
    assert len(first) >= 40 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0  # readable by the owner only


def test_unknown_app_env_and_bad_numbers_are_refused(monkeypatch, tmp_path):
    with pytest.raises(ConfigError, match="APP_ENV"):
        load_config({"APP_ENV": "staging", "INSTANCE_DIR": str(tmp_path)})
    monkeypatch.setenv("PORT", "eighty")
    with pytest.raises(ConfigError, match="PORT must be a whole number"):
        load_config({"INSTANCE_DIR": str(tmp_path)})


def test_default_database_is_sqlite_under_instance(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    config = load_config({"INSTANCE_DIR": str(tmp_path)})
    assert config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'matrix.db'}"


def test_postgres_urls_use_psycopg3():
    assert normalise_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert normalise_database_url("sqlite:///x.db") == "sqlite:///x.db"
