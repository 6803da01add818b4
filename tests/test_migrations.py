"""The Alembic migrations build exactly the schema the models describe."""
from __future__ import annotations

import pprint

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

import app.models  # noqa: F401  (every table on Base.metadata)
from app.db import Base, make_engine
from app.migrate import alembic_config, upgrade


def script_head(url: str) -> str:
    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def current_revision(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_models_and_migrations_agree(database_url):
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert diff == [], "models and migrations differ; write a migration:\n" + pprint.pformat(diff)


def test_database_is_at_head(database_url):
    assert current_revision(database_url) == script_head(database_url)


def test_migrating_an_empty_database_from_scratch(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    assert current_revision(url) is None

    upgrade(url)

    assert current_revision(url) == script_head(url)
    engine = make_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert set(Base.metadata.tables) <= tables


def test_single_head():
    # Two heads mean two branches nobody merged; `upgrade head` would refuse.
    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert len(script.get_heads()) == 1, script.get_heads()
