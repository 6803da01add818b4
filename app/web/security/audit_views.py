"""(placeholder: filled in by the security settings work)"""
from __future__ import annotations

ROUTES: list = []
