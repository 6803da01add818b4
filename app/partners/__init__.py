"""Resellers and referral partners."""
