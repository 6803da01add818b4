"""Security settings: API keys, two-factor credentials, IP allowlists, geo rules."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, created_at_column, public_id_column

API_SCOPES = ("read", "write", "webhooks")
GEO_ACTIONS = ("allow", "block", "verify")


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("key")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    display_prefix: Mapped[str] = mapped_column(String(20), comment="first characters, so owners can tell keys apart")
    secret_hash: Mapped[str] = mapped_column(
        String(64), unique=True,
        comment="sha256 hex: keys are 240-bit random, so a fast hash is safe and lookups stay O(1)",
    )
    scopes: Mapped[str] = mapped_column(String(100), comment="space-separated subset of API_SCOPES")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = created_at_column()
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_ip: Mapped[str | None] = mapped_column(String(45))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(self.scopes.split())


class TotpCredential(Base):
    """A user's authenticator-app secret. One per user; `enabled_at` is null
    while the user is still setting it up (2FA is off until a code is confirmed)."""

    __tablename__ = "totp_credentials"
    __table_args__ = (CheckConstraint("failed_attempts >= 0", name="failed_attempts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    secret_ciphertext: Mapped[str] = mapped_column(Text, comment="Fernet: the secret is needed to check codes")
    created_at: Mapped[datetime] = created_at_column()
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_step: Mapped[int | None] = mapped_column(
        BigInteger, comment="30-second step of the last accepted code: that code and older ones are refused",
    )
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="after 5 wrong codes the 2FA step refuses everything until then",
    )


class RecoveryCode(Base):
    """One single-use recovery code, stored as a keyed hash (HMAC-SHA256)."""

    __tablename__ = "recovery_codes"
    __table_args__ = (Index("ix_recovery_codes_user_id_used_at", "user_id", "used_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = created_at_column()
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class IpAllowlistEntry(Base):
    """A network an organization's portal sessions and API keys may come from."""

    __tablename__ = "ip_allowlist_entries"
    __table_args__ = (UniqueConstraint("org_id", "cidr"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("ipa")
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    cidr: Mapped[str] = mapped_column(String(49), comment="normalised network, e.g. 203.0.113.0/24 or 2001:db8::/32")
    label: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = created_at_column()


class GeoRule(Base):
    """What to do with requests from one country; the rest follow
    Organization.geo_default_action."""

    __tablename__ = "geo_rules"
    __table_args__ = (
        UniqueConstraint("org_id", "country"),
        CheckConstraint("action IN ('allow', 'block', 'verify')", name="action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    country: Mapped[str] = mapped_column(String(2), comment="ISO 3166-1 alpha-2, upper case")
    action: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = created_at_column()
