"""(being written)"""
from __future__ import annotations

from flask import Blueprint


def register(bp: Blueprint) -> None:
    """Register this module's pages on the client portal."""
