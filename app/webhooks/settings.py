"""Delivery settings, set once by create_app from the configuration.

Services and jobs read them here so they stay free of Flask; tests build apps
with shorter timeouts and leases.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from app.webhooks.targets import AllowPrivate


@dataclass(frozen=True)
class WebhookSettings:
    allow_private: AllowPrivate = field(default_factory=AllowPrivate)
    connect_timeout: float = 5.0
    total_timeout: float = 15.0
    ca_bundle: str | None = None
    # A claimed batch is someone's until the lease ends; a killed worker's
    # batch is retaken by the sweeper after that.
    lease: timedelta = timedelta(minutes=5)
    batch_size: int = 100
    concurrency: int = 8


_current = WebhookSettings()


def configure(config: dict) -> None:
    global _current
    _current = WebhookSettings(
        allow_private=AllowPrivate.parse(config.get("WEBHOOK_ALLOW_PRIVATE", "")),
        connect_timeout=float(config.get("WEBHOOK_CONNECT_TIMEOUT", 5)),
        total_timeout=float(config.get("WEBHOOK_TIMEOUT", 15)),
        ca_bundle=config.get("WEBHOOK_CA_BUNDLE") or None,
        lease=timedelta(seconds=float(config.get("WEBHOOK_LEASE_SECONDS", 300))),
        batch_size=int(config.get("WEBHOOK_BATCH_SIZE", 100)),
        concurrency=int(config.get("WEBHOOK_CONCURRENCY", 8)),
    )


def current() -> WebhookSettings:
    return _current
