"""Benchmarks (not tests): `.venv/bin/python bench/webhooks.py`."""
