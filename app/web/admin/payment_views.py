"""Admin pages for payments: fee tiers and overrides (fee_views.py), and the
refund approval queue (refund_approval_views.py)."""
from __future__ import annotations

from flask import Blueprint

from app.web.admin import fee_views, refund_approval_views


def register(bp: Blueprint) -> None:
    """`admin.fees` (/admin/fees) and `admin.refund_approvals` (/admin/refunds), with their actions."""
    fee_views.register(bp)
    refund_approval_views.register(bp)
