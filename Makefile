# Two commands: `make run` serves the demo portal; `make test` runs the whole suite.
# Only Python 3.11 and make are needed; everything else goes into .venv.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app portal
HOST ?= 127.0.0.1
PORT ?= 5000
# The address the demo is served at is the one its SMS links, cards and wall screens name (docs/DEPLOY.md).
PORTAL_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
PO_FILES := $(wildcard portal/translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test test-quick bench bench-import bench-volume install translations messages screenshots clean

run: install
	$(FLASK) db upgrade
	$(FLASK) demo-data --if-empty
	PORTAL_DEMO_MODE=true PORTAL_PUBLIC_BASE_URL=$(PORTAL_PUBLIC_BASE_URL) $(FLASK) run --host $(HOST) --port $(PORT)

# Three workers on two cores: much of the suite waits on PostgreSQL, Chromium and the servers it starts. Each
# worker takes the next test when it is free (worksteal), so that no worker is left with a queue of slow ones.
test: $(VENV)/.installed-dev translations
	$(BIN)/ruff check portal tests bench docs
	$(BIN)/python -m pytest -n 3 --dist worksteal $(PYTEST_ARGS)

# The edit-test loop: no browsers, no slow tests (servers, concurrency), SQLite only. `make test` is the truth.
test-quick: $(VENV)/.installed-dev translations
	$(BIN)/ruff check portal tests bench docs
	$(BIN)/python -m pytest -n 2 -m "not e2e and not slow" -k "not postgresql" $(PYTEST_ARGS)

# District-scale benchmark (docs/PERFORMANCE.md): builds the data once under bench/data/, then runs wrk.
# BENCH_CASES, BENCH_HOUSEHOLDS, BENCH_SECONDS and BENCH_DATABASES=sqlite,postgresql change what it does.
bench: $(VENV)/.installed-dev translations
	@command -v wrk >/dev/null || apt-get install -y -qq wrk || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

# How long importing a 150,000-row roster takes (docs/PERFORMANCE.md, "Importing rosters").
bench-import: $(VENV)/.installed-dev translations
	$(BIN)/python bench/imports.py

# A city's volume (docs/PERFORMANCE.md): each page's SQL at 1,000,000 cases and at 5,000,000 in a city of five
# districts on PostgreSQL, on the databases bench/run.py builds (the city: BENCH_CASES=5000000
# BENCH_HOUSEHOLDS=750000 BENCH_DISTRICTS=5 BENCH_DATABASES=postgresql BENCH_BUILD_ONLY=1); BENCH_VOLUMES chooses.
bench-volume: $(VENV)/.installed-dev translations
	$(BIN)/python bench/volume.py

install: $(VENV)/.installed translations

$(VENV)/.installed: requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

translations: $(MO_FILES)

%.mo: %.po $(VENV)/.installed
	$(BIN)/pybabel compile --domain messages --input-file $< --output-file $@

# After adding user-visible strings: extract them, merge them into the catalogs, translate.
messages: $(VENV)/.installed
	$(BIN)/pybabel extract --mapping-file babel.cfg --keywords _l --keywords _ln:1,2 --ignore-dirs ".* __pycache__" --no-location --sort-output \
		--project portal --width 120 --output-file portal/translations/messages.pot .
	$(BIN)/pybabel update --input-file portal/translations/messages.pot --output-dir portal/translations \
		--no-fuzzy-matching --ignore-obsolete --width 120

# Refresh the screenshots under docs/ (needs Chromium, as the browser tests do).
screenshots: $(VENV)/.installed-dev translations
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache
