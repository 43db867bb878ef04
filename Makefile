# The two commands: `make run` (everything up with demo data, its volunteers answering) and `make test` (the suite).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := web/node_modules/.package-lock.json
WEB_STAMP := web/dist/signin.js

.PHONY: run test lint typecheck pytest db-stop lock clean browser pdftotext kubectl messages formation-packages

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || { \
	  rm -rf $(VENV); [ "$$(id -u)" = 0 ] || { echo "install python3-venv"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq python3-venv && $(PYTHON) -m venv $(VENV); }
	@# weasyprint (a report as PDF) draws text with Debian's pango
	ldconfig -p | grep -q libpangoft2-1.0.so.0 || { [ "$$(id -u)" = 0 ] || { \
	  echo "install libpango-1.0-0 libpangoft2-1.0-0"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0; }
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade "pip>=24" "setuptools>=77"
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

# The map page's JavaScript from the npm registry, pinned by package-lock.json: Leaflet as
# installed, and the Firebase Auth sign-in bundled by esbuild into web/dist (npm run build).
$(NODE_STAMP): web/package.json web/package-lock.json
	command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install npm"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq npm; }
	cd web && npm ci --no-audit --no-fund --loglevel=error

$(WEB_STAMP): $(NODE_STAMP) web/src/signin.js web/src/console-signin.js web/src/firebase-app.js
	cd web && npm run build --silent
	touch $(WEB_STAMP)

# Debian's Chromium for the map page test (driven by playwright, never downloaded by it).
browser:
	command -v chromium >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install chromium"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq chromium; }

# Poppler's pdftotext, with which the tests read a report's PDF back.
pdftotext:
	command -v pdftotext >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install poppler-utils"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq poppler-utils; }

# kubectl, with which the tests render the Kubernetes manifests (its built-in kustomize).
kubectl:
	command -v kubectl >/dev/null || { [ "$$(id -u)" = 0 ] || { echo "install kubernetes-client"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq kubernetes-client; }

# The HA formation's servers (tests/formation, `codeliver formation`): PgBouncer, and
# pg_auto_failover and PostGIS for the PostgreSQL 15 that infra/localdb.py installs.
formation-packages:
	command -v pgbouncer >/dev/null && command -v pg_autoctl >/dev/null && \
	  test -f /usr/share/postgresql/15/extension/postgis.control || { \
	  [ "$$(id -u)" = 0 ] || { echo "install pgbouncer postgresql-15-auto-failover postgresql-15-postgis-3"; exit 1; }; \
	  apt-get update -qq && apt-get install -y -qq pgbouncer postgresql-15-auto-failover postgresql-15-postgis-3; }

run: $(STAMP) $(WEB_STAMP)
	$(BIN)/codeliver db start
	$(BIN)/codeliver migrate
	$(BIN)/codeliver seed
	CODELIVER_DEMO_RESPONDERS=$${CODELIVER_DEMO_RESPONDERS:-true} \
	  CODELIVER_GEOCODER=$${CODELIVER_GEOCODER:-gazetteer} $(BIN)/codeliver serve

test: lint typecheck pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) $(WEB_STAMP) browser pdftotext kubectl formation-packages
	$(BIN)/pytest $(PYTEST_ARGS)

db-stop: $(STAMP)
	$(BIN)/codeliver db stop

# The console's catalogues after changing its words: extract every message (babel.cfg) into
# app/console/locale/console.pot and merge it into each language's .po (translate the new
# and changed entries there; tests/unit/test_console_catalogues.py names any left).
messages: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k N_ --no-location --sort-output \
	  --project=Codeliver --copyright-holder="Codeliver contributors" \
	  -o app/console/locale/console.pot .
	test -f app/console/locale/cy/LC_MESSAGES/console.po || \
	  $(BIN)/pybabel init -D console -l cy -i app/console/locale/console.pot -d app/console/locale
	$(BIN)/pybabel update -D console -i app/console/locale/console.pot -d app/console/locale \
	  --no-fuzzy-matching --ignore-obsolete

# Re-pin every dependency (runtime and dev) after editing pyproject.toml.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install -q --disable-pip-version-check ".[dev]"
	.lockvenv/bin/pip freeze --exclude codeliver | sort -f > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache web/node_modules web/dist
