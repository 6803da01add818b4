"""Cost advice: recommendations with savings estimates from real usage (rules, the daily job, apply)."""
