"""API keys: shown once, stored as a hash, scoped, revocable."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, UTCDateTime, created_at_column, public_id_column

API_SCOPES = ("read", "write", "webhooks")


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
