"""Inbound webhooks from payment providers: /api/webhooks/..."""
from flask import Blueprint

bp = Blueprint("hooks", __name__)
