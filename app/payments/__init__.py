"""Payments, refunds, disputes and inbound Stripe events (see models.py for the invariants)."""
