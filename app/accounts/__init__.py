"""Organizations, users, passwords and login sessions."""
