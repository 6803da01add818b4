"""Plans, subscriptions and GPU instances: what customers rent."""
