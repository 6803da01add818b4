"""Engine, sessions, the declarative Base and shared column types.

No Flask-SQLAlchemy: services take a plain `Session`, and each app keeps its own
engine in `app.extensions["db"]`, so tests can run SQLite and PostgreSQL apps
side by side.
"""
from __future__ import annotations

import secrets
import string
from datetime import timezone
from decimal import Decimal

from sqlalchemy import DateTime, MetaData, String, create_engine, event, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from app import clock

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on PostgreSQL and SQLite alike.

    SQLite has no time zones, so values are stored as naive UTC and given their
    zone back on load; a naive value on the way in is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime refuses naive datetimes; use app.clock.utcnow()")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class DecimalText(TypeDecorator):
    """An exact `Decimal` stored as its canonical text, on PostgreSQL and SQLite alike.

    SQLite has no decimal type (NUMERIC there is a float), and exchange and tax
    rates must survive the round trip digit for digit. CHECK constraints
    compare `CAST(col AS NUMERIC)`, which both databases understand.
    """

    impl = String(50)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if isinstance(value, float):
            raise ValueError("DecimalText refuses floats; pass a Decimal or a string")
        number = Decimal(value)
        if not number.is_finite():
            raise ValueError(f"DecimalText needs a finite number, got {value!r}")
        return format(number.normalize(), "f")

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value)


_ALPHABET = string.ascii_letters + string.digits


def new_public_id(prefix: str, length: int = 20) -> str:
    """A prefixed random id (`ins_3fK…`): what users and the API see, never row numbers.

    Base62 digits of one 128-bit random number (20 digits hold ~119 bits): one
    urandom call, not one per character, since events are created in bulk.
    """
    number = int.from_bytes(secrets.token_bytes(16), "big")
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(_ALPHABET[digit])
    return f"{prefix}_" + "".join(digits)


def public_id_column(prefix: str):
    """The `public_id` column for a model whose ids start with `prefix`."""
    return mapped_column(
        String(40), unique=True, nullable=False, default=lambda: new_public_id(prefix)
    )


def created_at_column():
    return mapped_column(UTCDateTime(), nullable=False, default=clock.utcnow)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that `column` holds one of `values`: the model's tuple is the one list."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def dialect_insert(session: Session, table):
    """INSERT in the dialect that knows ON CONFLICT (both PostgreSQL and SQLite do): the building block of
    write-once rows (idempotency keys, one alert open per metric) enforced by the database, not by a read."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise RuntimeError(f"ON CONFLICT is needed here, and {dialect} lacks it")


def lock_row(session: Session, row) -> None:
    """Hold the row's write lock until commit and read it afresh.

    Two actors on the same row at the same moment (our own Stripe call and
    Stripe's webhook about the payment; two jobs closing one billing period)
    are serialised here: whichever comes second waits, then sees the first
    one's result instead of acting again. A no-op UPDATE of `updated_at`
    locks on PostgreSQL and SQLite alike (FOR UPDATE does nothing on SQLite).
    """
    table = type(row).__table__
    session.execute(update(table).where(table.c.id == row.id).values(updated_at=table.c.updated_at))
    session.refresh(row)


def _sqlite_pragmas(dbapi_connection, _record):
    # Foreign keys are off by default in SQLite; WAL lets the worker and the web
    # server read while the other writes; busy_timeout waits instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create the engine for `url`, with SQLite made safe for several processes."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(bind=self.engine, expire_on_commit=False)

    def session(self) -> Session:
        return self.sessionmaker()

