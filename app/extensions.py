"""Flask extensions, created here and bound to the app in create_app()."""
from __future__ import annotations

from flask import current_app, request
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_wtf import CSRFProtect
from htmx_flask import Htmx
from redis import Redis


def client_ip() -> str:
    """The caller's address: the socket's, or the one ProxyFix took from
    TRUSTED_PROXY_HOPS trusted proxies. A forged X-Forwarded-For never counts
    unless proxies are configured."""
    return request.remote_addr or "unknown"


login_manager = LoginManager()
csrf = CSRFProtect()
htmx = Htmx()
limiter = Limiter(key_func=client_ip, default_limits=[])


def get_redis() -> Redis:
    """The app's Redis connection (one pool per app)."""
    return current_app.extensions["redis"]
