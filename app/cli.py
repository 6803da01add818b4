"""Flask CLI: `flask --app wsgi <command>`."""
from __future__ import annotations

import click
from flask import Flask, current_app
from sqlalchemy import select

from app.accounts.models import Organization
from app.errors import DomainError
from app.security.models import API_SCOPES


def _db():
    return current_app.extensions["db"].session()


def register_cli(app: Flask) -> None:
    @app.cli.group("db")
    def db_group():
        """Database schema (Alembic)."""

    @db_group.command("upgrade")
    @click.argument("revision", default="head")
    def db_upgrade(revision: str):
        """Apply migrations up to REVISION (default: head)."""
        from app.migrate import upgrade

        upgrade(current_app.config["DATABASE_URL"], revision)
        click.echo(f"Database at {revision}.")

    @app.cli.command("seed-demo")
    def seed_demo_command():
        """Create (or bring back) the demo organizations, users and instances. Idempotent."""
        from app.demo import DEMO_PASSWORD, seed_demo

        with _db() as session:
            summary = seed_demo(session)
            session.commit()
        click.echo(f"Demo data ready ({summary}). Password for every demo user: {DEMO_PASSWORD}")

    @app.cli.command("create-admin")
    @click.argument("email")
    @click.password_option("--password", help="Prompted for (twice) when omitted.")
    def create_admin(email: str, password: str):
        """Create a platform admin who signs in with EMAIL."""
        from app.accounts.service import create_user

        with _db() as session:
            try:
                user = create_user(session, email, password, is_admin=True)
            except DomainError as error:
                raise click.ClickException(error.message) from None
            from app.audit.service import record

            record(session, "admin.created", actor_label="cli", target=user.public_id)
            session.commit()
            click.echo(f"Admin {user.email} created.")

    @app.cli.command("create-api-key")
    @click.argument("org_slug")
    @click.argument("name")
    @click.option("--scope", "scopes", multiple=True, type=click.Choice(API_SCOPES),
                  default=("read",), show_default=True, help="Repeat for several scopes.")
    def create_api_key(org_slug: str, name: str, scopes: tuple[str, ...]):
        """Create an API key for ORG_SLUG; the secret is printed once, alone on the last line."""
        from app.security.api_keys import create

        with _db() as session:
            org = session.scalars(select(Organization).where(Organization.slug == org_slug)).first()
            if org is None:
                raise click.ClickException(f"No organization with slug {org_slug!r}.")
            try:
                created = create(session, org.id, name, scopes, actor_label="cli")
            except DomainError as error:
                raise click.ClickException(error.message) from None
            session.commit()
            click.echo(f"API key {created.key.public_id} ({created.key.scopes}) for {org.slug}. "
                       "Store the secret now: it is not shown again.")
            click.echo(created.secret)

    @app.cli.command("worker")
    @click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
    @click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
    def worker(burst: bool, queues: tuple[str, ...]):
        """Run an RQ worker for the portal's queues."""
        from sqlalchemy.exc import OperationalError

        from app.jobs import run_worker

        try:
            run_worker(current_app._get_current_object(), burst=burst, queues=list(queues) or None)
        except OperationalError as error:
            url = current_app.extensions["db"].engine.url.render_as_string(hide_password=True)
            raise click.ClickException(f"Cannot reach the database at {url}: {error.orig}") from None

    @app.cli.command("scheduler")
    def scheduler():
        """Run RQ's cron scheduler with the periodic jobs of app.schedule."""
        import os
        import time

        from app.jobs import SchedulerAlreadyRunning, build_scheduler

        # RQ reads cron fields in the process's local time; app.schedule's are UTC.
        os.environ["TZ"] = "UTC"
        time.tzset()
        try:
            scheduler = build_scheduler(current_app._get_current_object())
        except SchedulerAlreadyRunning as error:
            raise click.ClickException(str(error)) from None
        scheduler.start()

    @app.cli.command("recompute-advice")
    def recompute_advice_command():
        """Recompute every customer's cost advice now (the daily `cost-advice` job's work); idempotent."""
        from app import clock
        from app.advice.service import recompute_all

        with _db() as session:
            result = recompute_all(session, clock.utcnow())
        click.echo(f"Cost advice for {result.organizations} organizations: {result.opened} opened, "
                   f"{result.updated} updated, {result.reopened} reopened, {result.closed} closed.")
        if result.failed:
            raise click.ClickException(f"Failed for: {', '.join(result.failed)} (see the log).")

    @app.cli.command("simulate-metrics")
    @click.option("--days", default=30, show_default=True, type=int, help="How many days back to write samples for.")
    @click.option("--org", "orgs", multiple=True, help="A customer organization's slug (repeat; default: all).")
    @click.option("--outage-minutes", default=45, show_default=True, type=int, help="Length of the outage (0: none).")
    @click.option("--outage-ago", default=90, show_default=True, type=int,
                  help="Minutes between the outage's end and now.")
    @click.option("--outage-org", default=None, help="Whose instances go down (default: the first organization).")
    @click.option("--if-empty", is_flag=True, help="Do nothing when any samples exist (make run uses this, so a "
                                                   "restart does not add another outage).")
    def simulate_metrics_command(days: int, orgs: tuple[str, ...], outage_minutes: int, outage_ago: int,
                                 outage_org: str | None, if_empty: bool):
        """Write demo SLA samples (one per running instance and minute, with an outage). Idempotent."""
        from sqlalchemy import select

        from app import clock
        from app.sla.models import SlaSample
        from app.sla.simulate import Options, simulate_metrics, summary_lines

        options = Options(days, orgs, outage_minutes, outage_ago, outage_org)
        with _db() as session:
            if if_empty and session.scalar(select(SlaSample.id).limit(1)) is not None:
                click.echo("SLA samples exist already: nothing written (--if-empty).")
                return
            try:
                result = simulate_metrics(session, clock.utcnow(), options)
            except DomainError as error:
                raise click.ClickException(error.message) from None
            session.commit()
        for line in summary_lines(result):
            click.echo(line)
