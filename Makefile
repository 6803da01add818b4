# The README's two commands: `make run` and `make test`. Both work on a fresh
# machine: they install what is missing (Python deps into .venv, htmx from the
# npm registry, redis-server, Chromium and oathtool from the OS packages) first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DEPS_STAMP := $(VENV)/.deps-installed
HTMX := static/vendor/htmx.min.js
PYTEST_ARGS ?=

.PHONY: run test deps assets lock clean

run: deps assets
	@if [ -z "$$REDIS_URL" ]; then scripts/ensure-system-packages.sh redis; fi
	$(PY) scripts/run.py

test: deps assets
	@scripts/ensure-system-packages.sh redis chromium oathtool
	$(PY) -m pytest $(PYTEST_ARGS)

deps: $(DEPS_STAMP)

$(DEPS_STAMP): requirements.lock
	@scripts/ensure-system-packages.sh venv
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $@

assets: $(HTMX)

$(HTMX): package.json package-lock.json
	@scripts/ensure-system-packages.sh npm
	npm ci --no-audit --no-fund --loglevel=error
	@mkdir -p static/vendor
	cp node_modules/htmx.org/dist/htmx.min.js $@

# Re-pin Python dependencies after editing pyproject.toml.
lock: deps
	$(VENV)/bin/pip-compile --quiet --no-emit-index-url --no-emit-find-links --extra dev --strip-extras -o requirements.lock pyproject.toml

clean:
	rm -rf $(VENV) node_modules static/vendor .pytest_cache
