"""API keys (and, later, 2FA, allowlists and geo rules)."""
