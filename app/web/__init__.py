"""Portals, API and hooks: thin routes over the domain services."""
