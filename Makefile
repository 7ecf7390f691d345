# HostPulse: `make demo` runs it, `make test` tests it. Every step is a file target, so a second
# run on a set-up machine only checks timestamps and goes straight to the work.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
FRONTEND_SOURCES := $(shell find frontend/src -type f 2>/dev/null) frontend/build.mjs frontend/favicon.mjs frontend/package.json

.PHONY: demo test setup build dist chromium alertmanager lint bench clean

demo: setup ## Set up, then run hub + local agent on an embedded SQLite and print the dashboard URL
	$(BIN)/hostpulse demo

test: setup chromium alertmanager ## Set up, then run the whole test suite, browser tests included
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed build

# The package maps hostpulse.hub.dashboard onto frontend/dist, so pip needs the built dashboard
# first (order-only: a rebuilt dashboard does not reinstall the venv).
$(VENV)/.installed: pyproject.toml | frontend/dist/index.html
	[ -x $(BIN)/python ] || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[hub,test,bench]'
	touch $@

frontend/node_modules/.installed: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund
	touch $@

build: frontend/dist/index.html

frontend/dist/index.html: frontend/node_modules/.installed $(FRONTEND_SOURCES)
	cd frontend && npm run build
	touch $@

# sdist and wheel in dist/, the wheel carrying the freshly built dashboard (hostpulse.hub.dashboard).
dist: $(VENV)/.installed build
	rm -rf dist
	$(BIN)/python -m build --sdist --wheel --outdir dist .

# Debian's chromium for the Playwright tests (Playwright's own browser download cannot work here).
chromium:
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }

# Debian's Alertmanager: tests/hub/alerts/test_notifiers.py posts alerts to a real one.
alertmanager:
	@command -v prometheus-alertmanager >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq prometheus-alertmanager; }

# ruff, then mypy --strict on the package under its installed names (.ci/typecheck.py says why).
lint: $(VENV)/.installed
	$(BIN)/ruff check agent hub plugins tests bench
	$(BIN)/python .ci/typecheck.py

clean:
	rm -rf $(VENV) frontend/node_modules frontend/dist
