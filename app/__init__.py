"""Application factory: config, extensions, blueprints, error pages, CLI."""
from __future__ import annotations

import logging

from flask import Flask
from redis import Redis
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import PROJECT_ROOT, load_config
from app.db import Database


def create_app(config: dict | None = None) -> Flask:
    """Build the portal. `config` overrides values read from the environment."""
    settings = load_config(config)
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=settings["INSTANCE_DIR"],
    )
    app.config.update(settings)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    if app.config["TRUSTED_PROXY_HOPS"] > 0:
        hops = app.config["TRUSTED_PROXY_HOPS"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    app.extensions["db"] = Database(app.config["DATABASE_URL"])
    app.extensions["redis"] = Redis.from_url(
        app.config["REDIS_URL"], socket_connect_timeout=2, socket_timeout=5
    )

    from app import models as _models  # noqa: F401  (every table on Base.metadata)
    from app.security.geoip import open_lookup

    app.extensions["geoip"] = open_lookup(app.config["GEOIP_DATABASE"])
    from app.accounts import passwords

    passwords.configure(app.config["ARGON2_TIME_COST"], app.config["ARGON2_MEMORY_COST"])
    _init_webhooks(app)

    _init_extensions(app)
    _register_blueprints(app)

    from app.web import errors, request_context, templating

    request_context.init_app(app)
    templating.init_app(app)
    errors.init_app(app)

    from app.cli import register_cli

    register_cli(app)
    return app


def _init_webhooks(app: Flask) -> None:
    from app import crypto
    from app.webhooks import jobs as webhook_jobs
    from app.webhooks import settings as webhook_settings

    crypto.configure(app.config["SECRET_KEY"], app.config["DATA_ENCRYPTION_KEYS"])
    webhook_settings.configure(app.config)
    webhook_jobs.install_outbox(app)


def _init_extensions(app: Flask) -> None:
    from app.extensions import csrf, htmx, limiter, login_manager
    from app.web.auth.session_loader import init_login_manager

    csrf.init_app(app)
    htmx.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    init_login_manager(app)


def _register_blueprints(app: Flask) -> None:
    from app.extensions import csrf
    from app.web.admin import bp as admin_bp
    from app.web.api import bp as api_bp
    from app.web.auth import bp as auth_bp
    from app.web.client import bp as client_bp
    from app.web.health import bp as health_bp
    from app.web.hooks import bp as hooks_bp
    from app.web.partner import bp as partner_bp

    for module in ("admin", "api", "auth", "client", "health", "hooks", "partner"):
        __import__(f"app.web.{module}.routes")

    app.register_blueprint(auth_bp)
    app.register_blueprint(client_bp, url_prefix="/client")
    app.register_blueprint(partner_bp, url_prefix="/partner")
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(health_bp)
    # Bearer-token API: no cookies, so no CSRF; authentication is per request.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    # Signed by the provider (Stripe-Signature), not by a browser session: no CSRF.
    csrf.exempt(hooks_bp)
    app.register_blueprint(hooks_bp, url_prefix="/api/webhooks")
