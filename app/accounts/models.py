"""Who can sign in, and to which organization they belong."""
from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, UTCDateTime, created_at_column, public_id_column

class Organization(Base):
    """A customer (renting compute) or a partner (reselling or referring)."""

    __tablename__ = "organizations"
    __table_args__ = (
        CheckConstraint("kind IN ('customer', 'partner')", name="kind"),
        # Only customers have a tier: it decides their SLA and plan limits.
        CheckConstraint(
            "(kind = 'customer' AND tier IN ('free', 'pro', 'enterprise'))"
            " OR (kind = 'partner' AND tier IS NULL)",
            name="tier_for_customers",
        ),
        CheckConstraint("geo_default_action IN ('allow', 'block', 'verify')", name="geo_default_action"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("org")
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))
    tier: Mapped[str | None] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2), comment="ISO 3166-1 alpha-2; drives tax region")
    preferred_currency: Mapped[str] = mapped_column(
        String(4), default="USD", comment="invoices and advice are shown in this currency"
    )
    require_two_factor: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default="0",
        comment="set by an owner: members without 2FA must enrol before using the portal",
    )
    geo_default_action: Mapped[str] = mapped_column(
        String(8), default="allow", server_default="allow",
        comment="what geo rules do for countries without a rule of their own",
    )
    referred_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"),
        comment="the partner that brought this customer; commissions follow it",
    )
    created_at: Mapped[datetime] = created_at_column()

    referred_by: Mapped["Organization | None"] = relationship(remote_side=[id])
    users: Mapped[list["User"]] = relationship(back_populates="organization")


class User(UserMixin, Base):
    """A person who signs in: a member of one organization, or a platform admin."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("role IS NULL OR role IN ('owner', 'member')", name="role"),
        # Platform admins belong to no organization; everyone else to exactly one.
        CheckConstraint(
            "(is_admin AND org_id IS NULL AND role IS NULL)"
            " OR (NOT is_admin AND org_id IS NOT NULL AND role IS NOT NULL)",
            name="admin_or_member",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("usr")
    email: Mapped[str] = mapped_column(String(254), unique=True, comment="stored lower-cased")
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str] = mapped_column(String(255), comment="argon2id encoded hash")
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str | None] = mapped_column(String(16))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = created_at_column()

    organization: Mapped[Organization | None] = relationship(back_populates="users")

    @property
    def portal(self) -> str:
        """Which portal this user belongs in: admin, client or partner."""
        if self.is_admin:
            return "admin"
        return "client" if self.organization.kind == "customer" else "partner"


class UserSession(Base):
    """A signed-in browser. The cookie carries a random token; we keep its hash.

    Deleting or revoking the row ends the session on the server, so a copied
    cookie stops working at logout or password change.
    """

    __tablename__ = "user_sessions"
    __table_args__ = (Index("ix_user_sessions_user_id_revoked_at", "user_id", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = public_id_column("ses")
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, comment="sha256 hex of the cookie token")
    created_at: Mapped[datetime] = created_at_column()
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ip_address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
    sudo_until: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), comment="sensitive actions are allowed without re-authenticating until then",
    )
    verified_ip: Mapped[str | None] = mapped_column(
        String(45), comment="address from which this session last passed a 2FA check (geo step-up)",
    )

    user: Mapped[User] = relationship()
