"""Client portal pages for payments, refunds and disputes."""
