"""Webhook endpoints, the events emitted to them, one message per (event,
endpoint), and every delivery attempt. The message table is the outbox: a row
with status `pending` and a due `next_attempt_at` is work that must happen,
whatever Redis remembers.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import (JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, created_at_column, public_id_column

MESSAGE_STATUSES = ("pending", "succeeded", "failed")
DISABLED_REASONS = ("manual", "gone", "failing")
REPLAY_STATUSES = ("queued", "running", "done")


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"
    __table_args__ = (
        CheckConstraint("disabled_reason IS NULL OR disabled_reason IN ('manual', 'gone', 'failing')",
                        name="disabled_reason_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("ep")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str] = mapped_column(String(500), default="")
    event_types: Mapped[list[str] | None] = mapped_column(
        JSON, comment="null means every type, including ones added to the catalog later")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(20))
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    secret_ciphertext: Mapped[str] = mapped_column(Text, comment="Fernet; the secret must be readable to sign")
    previous_secret_ciphertext: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="after rotation both secrets sign until then, so receivers can switch")
    failing_since: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="first failed attempt since the last success; 5 days of it disables")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (Index("ix_webhook_events_org_id_id", "org_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("evt")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(
        Text, comment="the exact JSON sent: serialised once so every retry signs the same bytes")
    is_test: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = created_at_column()


class WebhookMessage(Base):
    __tablename__ = "webhook_messages"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status_known"),
        CheckConstraint("status = 'pending' OR next_attempt_at IS NULL", name="only_pending_is_due"),
        CheckConstraint("attempt_count >= cycle_start", name="cycle_within_attempts"),
        Index("ix_webhook_messages_due", "status", "next_attempt_at"),
        # The claim: one endpoint's pending messages in due order, without scanning other endpoints'.
        Index("ix_webhook_messages_claim", "endpoint_id", "status", "next_attempt_at", "id"),
        Index("ix_webhook_messages_endpoint_log", "endpoint_id", "id"),
        UniqueConstraint("event_id", "endpoint_id", name="one_message_per_endpoint"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("msg")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_type: Mapped[str] = mapped_column(String(64), comment="copied from the event to filter the log")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    cycle_start: Mapped[int] = mapped_column(
        Integer, default=0, comment="attempt_count when the current retry schedule began (resend restarts it)")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    leased_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="a worker is sending it until then; after that the sweeper may retake it")
    lease_token: Mapped[str | None] = mapped_column(String(32))
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    replay_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_replays.id", ondelete="SET NULL"),
                                                  index=True)
    created_at: Mapped[datetime] = created_at_column()
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[WebhookEvent] = relationship(lazy="joined")


class DeliveryAttempt(Base):
    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_endpoint_time", "endpoint_id", "attempted_at"),
                      Index("ix_webhook_attempts_time", "attempted_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("att")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    message_id: Mapped[int] = mapped_column(ForeignKey("webhook_messages.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    duration_ms: Mapped[int] = mapped_column(Integer)
    succeeded: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error_kind: Mapped[str | None] = mapped_column(
        String(20), comment="dns, blocked, connect, timeout, tls, reset, redirect, http_status")
    error_detail: Mapped[str | None] = mapped_column(String(300))
    request_headers: Mapped[dict] = mapped_column(JSON, default=dict)
    response_body: Mapped[str | None] = mapped_column(Text, comment="first 4 KB, decoded leniently")


class WebhookReplay(Base):
    """'Replay all failed since …': recorded first, then run by a job."""

    __tablename__ = "webhook_replays"
    __table_args__ = (CheckConstraint("status IN ('queued', 'running', 'done')", name="status_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("rpl")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    since: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="queued")
    requeued: Mapped[int] = mapped_column(Integer, default=0)
    requested_by: Mapped[str] = mapped_column(String(254))
    created_at: Mapped[datetime] = created_at_column()
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
