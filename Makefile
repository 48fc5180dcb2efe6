# Two commands for a newcomer: `make run` (set up and run the app) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1:8000

.PHONY: run test test-fast check install fonts browser messages bench bench-1m mutate clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

install: $(VENV)/.installed

## Set up (virtualenv, packages, database, demo data) and run web + worker + beat on http://$(HOST)/
run: install fonts
	mkdir -p var
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	@echo ""
	@echo "  SME portal: http://$(HOST)/         (sme_demo, password demo-pass-2026)"
	@echo "  TTO admin:  http://$(HOST)/admin/   (admin / tto_jinghua / tto_hailan / tto_nanling, password demo-pass-2026)"
	@echo "  Broker:     $${REDIS_URL:-embedded (var/broker)}; emails: $${EMAIL_HOST:-printed by the worker}"
	@echo ""
	HOST=$(HOST) SITE_URL=$${SITE_URL:-http://$(HOST)} $(BIN)/honcho start -f Procfile

## The CJK font embedded in contract PDFs, and Pango, which WeasyPrint renders with (apt)
fonts:
	@fc-list | grep -qi wqy && ldconfig -p | grep -q libpangoft2 || { \
	  echo "Installing fonts-wqy-microhei and Pango (apt)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q \
	    fonts-wqy-microhei libpango-1.0-0 libpangoft2-1.0-0; }

## Debian's Chromium for the browser tests (Playwright never downloads a browser)
browser: fonts
	@command -v chromium >/dev/null || { \
	  echo "Installing chromium (apt)"; \
	  $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q chromium; }

## Run the test suite (SQLite by default; set DATABASE_URL for PostgreSQL, as CI does), one
## process per core (pytest-xdist; each has its own test database and Redis database)
test: install browser
	$(BIN)/python -m pytest -n auto $(PYTEST_ARGS)

## The suite without the slow tests (browsers, worker processes, races, URL walks): while editing
test-fast: install fonts
	$(BIN)/python -m pytest -n auto -m "not slow" $(PYTEST_ARGS)

## Lint, formatting, the import contract and types (pyproject.toml), migrations in sync with the models
check: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python manage.py makemigrations --check --dry-run

## Mutation testing of domain/ and the money services against their tests ([tool.mutmut] in
## pyproject.toml; not in CI). Prints the score and lists the survivors (README, Mutation testing)
## One child: the mutants' test runs share one reused PostgreSQL test database (a fresh SQLite one
## per mutant would cost 12 s of migrations each)
MUTATE_DB ?= postgres://postgres@127.0.0.1:5432/tto_mutate
mutate: install
	$(BIN)/pip install -q mutmut==3.8.1
	rm -rf mutants
	DATABASE_URL=$(MUTATE_DB) $(BIN)/mutmut run --max-children 1
	$(BIN)/python bench/mutation_score.py $(BIN)

## Regenerate and compile the zh_Hans translation catalogue (needs gettext)
messages: install
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --add-location file --ignore=.venv --ignore=tests --ignore=bench --ignore=mutants
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv --ignore=mutants

## Benchmarks on PostgreSQL with books of 10k and 100k licenses (generated once, ~2.5 min for 100k)
BENCH_DB ?= postgres://postgres@127.0.0.1:5432/tto_bench
bench: install
	@command -v wrk >/dev/null || { $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $$( [ "$$(id -u)" = 0 ] || echo sudo ) apt-get install -y -q wrk; }
	for n in 10000 100000; do \
	  DATABASE_URL=$(BENCH_DB)_$$((n / 1000))k $(BIN)/python bench/dashboard_bench.py --licenses $$n && \
	  DATABASE_URL=$(BENCH_DB)_$$((n / 1000))k $(BIN)/python bench/load_bench.py --licenses $$n && \
	  DATABASE_URL=$(BENCH_DB)_$$((n / 1000))k $(BIN)/python bench/admin_bench.py --licenses $$n || exit 1; \
	done
	DATABASE_URL=$(BENCH_DB)_10k $(BIN)/python bench/transitions_bench.py --licenses 10000
	DATABASE_URL=$(BENCH_DB)_100k $(BIN)/python bench/sweep_bench.py --licenses 100000
	DATABASE_URL=$(BENCH_DB)_10k $(BIN)/python bench/contract_bench.py --licenses 10000

## The national scale (issue 25): a book of 1,000,000 licenses (~10 min to load, ~4 GB of
## disk), loaded once and resumed if stopped, then the dashboard, sweep and admin on it.
bench-1m: install
	DATABASE_URL=$(BENCH_DB)_1000k $(BIN)/python bench/book_bench.py --licenses 1000000
	DATABASE_URL=$(BENCH_DB)_1000k $(BIN)/python bench/dashboard_bench.py --licenses 1000000
	DATABASE_URL=$(BENCH_DB)_1000k $(BIN)/python bench/sweep_bench.py --licenses 1000000
	DATABASE_URL=$(BENCH_DB)_1000k $(BIN)/python bench/admin_bench.py --licenses 1000000
	DATABASE_URL=$(BENCH_DB)_1000k $(BIN)/python bench/export_bench.py --licenses 1000000

clean:
	rm -rf $(VENV) db.sqlite3 mutants
