"""`flask --app bench.worker_app worker`, used only with `--timing`: the portal
exactly as `wsgi` builds it, with the delivery job's steps timed (bench/timing.py).
Without --timing the benchmark runs `flask --app wsgi worker` itself.
"""
from __future__ import annotations

from bench import timing
from wsgi import app  # noqa: F401 — what `flask --app` looks for

timing.install()
