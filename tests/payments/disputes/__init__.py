"""Disputes: the state machine, customers opening them, Stripe events, evidence, the desk."""
