"""Settings read from the environment, with documented defaults.

Every name here is listed in the README's configuration table. `load_config`
returns a plain dict so tests can build an app from explicit values.
"""
from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"


class ConfigError(RuntimeError):
    """Raised when the environment cannot produce a safe configuration."""


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}") from exc


def approval_thresholds(major_units: str) -> dict[str, int]:
    """"500" → {"USD": 50000, "JPY": 500, "BTC": 50000000000, …}: one figure in every currency's minor units."""
    from decimal import Decimal, InvalidOperation

    from app.money import EXPONENTS

    try:
        value = Decimal(major_units.strip())
    except InvalidOperation as exc:
        raise ConfigError(f"REFUND_APPROVAL_THRESHOLD must be a number, got {major_units!r}") from exc
    if not value.is_finite() or value < 0:
        raise ConfigError(f"REFUND_APPROVAL_THRESHOLD must be 0 or more, got {major_units!r}")
    return {code: int(value.scaleb(digits)) for code, digits in EXPONENTS.items()}


def normalise_database_url(url: str) -> str:
    """Use the psycopg 3 driver for plain `postgres://` / `postgresql://` URLs."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _development_secret_key(instance_dir: Path) -> str:
    """Generate a key once and keep it in instance/ so restarts keep sessions.

    O_EXCL makes the first writer win when web, worker and scheduler start together.
    """
    instance_dir.mkdir(parents=True, exist_ok=True)
    path = instance_dir / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def load_config(overrides: dict | None = None) -> dict:
    """Build the settings dict from the environment, then apply `overrides`."""
    overrides = dict(overrides or {})
    env = overrides.get("APP_ENV") or os.environ.get("APP_ENV", "development")
    if env not in ("development", "production", "testing"):
        raise ConfigError(f"APP_ENV must be development, production or testing, got {env!r}")
    instance_dir = Path(overrides.get("INSTANCE_DIR") or os.environ.get("INSTANCE_DIR") or INSTANCE_DIR)

    secret_key = overrides.get("SECRET_KEY") or os.environ.get("SECRET_KEY", "")
    if not secret_key:
        if env == "production":
            raise ConfigError(
                "SECRET_KEY is not set. In production (APP_ENV=production) the portal will not "
                "start without it: set SECRET_KEY to a long random string, e.g. the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        secret_key = _development_secret_key(instance_dir)

    production = env == "production"
    config = {
        "APP_ENV": env,
        "INSTANCE_DIR": str(instance_dir),
        "SECRET_KEY": secret_key,
        "DATABASE_URL": normalise_database_url(
            os.environ.get("DATABASE_URL") or f"sqlite:///{instance_dir / 'matrix.db'}"
        ),
        "REDIS_URL": os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0",
        "PORT": _int_env("PORT", 5000),
        "TRUSTED_PROXY_HOPS": _int_env("TRUSTED_PROXY_HOPS", 0),
        # Used by later features (payments, webhooks, geo rules); read here so the
        # README table has one source.
        "STRIPE_API_BASE": os.environ.get("STRIPE_API_BASE", ""),
        "STRIPE_SECRET_KEY": os.environ.get("STRIPE_SECRET_KEY", ""),
        "STRIPE_WEBHOOK_SECRET": os.environ.get("STRIPE_WEBHOOK_SECRET", ""),
        "WEBHOOK_ALLOW_PRIVATE": os.environ.get("WEBHOOK_ALLOW_PRIVATE", ""),
        # Inbound Stripe webhooks: signatures older than this are refused (Stripe's default).
        "STRIPE_WEBHOOK_TOLERANCE": _int_env("STRIPE_WEBHOOK_TOLERANCE", 300),
        # What Stripe charges us per payment: basis points + fixed minor units (2.9% + 30).
        "GATEWAY_FEE_BPS": _int_env("GATEWAY_FEE_BPS", 290),
        "GATEWAY_FEE_FIXED": _int_env("GATEWAY_FEE_FIXED", 30),
        # Refunds above this many major units (in the payment's currency) wait for an admin.
        "REFUND_APPROVAL_THRESHOLD": approval_thresholds(os.environ.get("REFUND_APPROVAL_THRESHOLD") or "500"),
        # Dispute evidence uploads: size limit per file and the accepted types (Stripe's).
        "DISPUTE_EVIDENCE_MAX_BYTES": _int_env("DISPUTE_EVIDENCE_MAX_BYTES", 5 * 1024 * 1024),
        "DISPUTE_EVIDENCE_DAYS": _int_env("DISPUTE_EVIDENCE_DAYS", 7),
        # Webhook delivery limits: success is a 2xx within WEBHOOK_TIMEOUT seconds.
        "WEBHOOK_TIMEOUT": float(os.environ.get("WEBHOOK_TIMEOUT") or 15),
        "WEBHOOK_CONNECT_TIMEOUT": float(os.environ.get("WEBHOOK_CONNECT_TIMEOUT") or 5),
        # An instance's health check is up on a 2xx within this many seconds (app/sla/probe.py).
        "SLA_PROBE_TIMEOUT": float(os.environ.get("SLA_PROBE_TIMEOUT") or 3),
        "WEBHOOK_CA_BUNDLE": os.environ.get("WEBHOOK_CA_BUNDLE", ""),
        "WEBHOOK_LEASE_SECONDS": _int_env("WEBHOOK_LEASE_SECONDS", 300),
        # Messages one delivery job claims at a time, and how many it sends at once.
        "WEBHOOK_BATCH_SIZE": _int_env("WEBHOOK_BATCH_SIZE", 100),
        "WEBHOOK_CONCURRENCY": _int_env("WEBHOOK_CONCURRENCY", 8),
        # Fernet keys for secrets stored encrypted (comma-separated, first one
        # encrypts); empty derives one from SECRET_KEY.
        "DATA_ENCRYPTION_KEYS": os.environ.get("DATA_ENCRYPTION_KEYS", ""),
        "GEOIP_DATABASE": os.environ.get("GEOIP_DATABASE", ""),
        # Exchange rates: "file" reads EXCHANGE_RATES_FILE; "package.module:callable" returns another provider.
        "EXCHANGE_RATE_PROVIDER": os.environ.get("EXCHANGE_RATE_PROVIDER") or "file",
        "EXCHANGE_RATES_FILE": (os.environ.get("EXCHANGE_RATES_FILE")
                                or str(PROJECT_ROOT / "app" / "currency" / "rates.json")),
        # Sessions: the server-side record decides; the cookie only carries a token.
        "SESSION_IDLE_TIMEOUT": timedelta(minutes=_int_env("SESSION_IDLE_MINUTES", 30)),
        "SESSION_ABSOLUTE_TIMEOUT": timedelta(hours=_int_env("SESSION_ABSOLUTE_HOURS", 12)),
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=_int_env("SESSION_ABSOLUTE_HOURS", 12)),
        "SESSION_COOKIE_NAME": "matrix_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # CSRF tokens live as long as the session, not Flask-WTF's default hour,
        # so a portal tab left open still submits.
        "WTF_CSRF_TIME_LIMIT": None,
        # Login throttling (Flask-Limiter syntax); failures only count.
        "LOGIN_LIMIT_PER_ACCOUNT": os.environ.get("LOGIN_LIMIT_PER_ACCOUNT", "5 per 15 minutes"),
        "LOGIN_LIMIT_PER_IP": os.environ.get("LOGIN_LIMIT_PER_IP", "20 per 15 minutes"),
        # The 2FA step, geo step-up and sudo page (failures only); on top of the
        # account lockout after 5 wrong codes.
        "TWO_FACTOR_LIMIT_PER_ACCOUNT": os.environ.get("TWO_FACTOR_LIMIT_PER_ACCOUNT", "10 per 15 minutes"),
        "TWO_FACTOR_LIMIT_PER_IP": os.environ.get("TWO_FACTOR_LIMIT_PER_IP", "30 per 15 minutes"),
        # API requests per key, by the organization's tier (partners: "partner").
        "API_RATE_LIMITS": {
            "free": os.environ.get("API_RATE_LIMIT_FREE", "60 per minute"),
            "pro": os.environ.get("API_RATE_LIMIT_PRO", "600 per minute"),
            "enterprise": os.environ.get("API_RATE_LIMIT_ENTERPRISE", "3000 per minute"),
            "partner": os.environ.get("API_RATE_LIMIT_PARTNER", "600 per minute"),
        },
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_KEY_PREFIX": "matrix-limits",
        # argon2id cost; tests lower it, production keeps the library's RFC 9106 profile.
        "ARGON2_TIME_COST": _int_env("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _int_env("ARGON2_MEMORY_COST", 65536),
        "API_PAGE_LIMIT_MAX": 100,
        "RQ_QUEUES": ("high", "default", "low"),
    }
    config.update(overrides)
    # The largest body the portal reads is one dispute evidence file and its form;
    # anything bigger is refused with 413 before it is parsed or spooled to disk.
    config.setdefault("MAX_CONTENT_LENGTH", config["DISPUTE_EVIDENCE_MAX_BYTES"] + 1024 * 1024)
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"])
    config["DATABASE_URL"] = normalise_database_url(config["DATABASE_URL"])
    return config
