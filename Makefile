# The two commands of the README. Both set everything up on a machine that has only Python.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint bench bench-parts bench-scale bench-seed soak

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

run: $(STAMP)
	DEBUG=$${DEBUG:-true} $(BIN)/python manage.py run_stack

# Production: gunicorn + RQ workers against the PostgreSQL, Redis and S3 of the environment
# (docs/deploying.md). E.g. SERVE_ARGS="--role web" or "--role worker --workers 4".
serve: $(STAMP)
	DJANGO_ENV=production $(BIN)/python manage.py serve $(SERVE_ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/lint-imports

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
