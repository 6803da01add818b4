"""Platform-wide views for staff."""
