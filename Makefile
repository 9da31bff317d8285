# The two commands a newcomer runs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CATALOGS := $(wildcard locales/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGS:.po=.mo)
DEMO_DB ?= demo/demo.db

.PHONY: test soak demo bench install catalogs lint typecheck pytest extract update-catalogs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --use-fuzzy -d locales -D messages -l $* >/dev/null

catalogs: $(COMPILED)

lint: $(STAMP)
	$(BIN)/ruff check bot domain tests bench

typecheck: $(STAMP)
	$(BIN)/mypy domain

# Every storage test runs on SQLite and on PostgreSQL (tests/pgtest.py finds or starts a
# server: DEPOSIT_TEST_PG, else 127.0.0.1:5432, else a throwaway embedded one); two workers.
PYTEST_WORKERS ?= 2
pytest: $(STAMP) catalogs
	$(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

test: lint typecheck pytest

# The reliability suite (tests marked `reliability`) run long: DEPOSIT_SOAK scales every one
# of them (2000 = 2,000 state-machine examples); DEPOSIT_SEED=S replays a failure exactly.
DEPOSIT_SOAK ?= 2000
soak: $(STAMP) catalogs
	DEPOSIT_SOAK=$(DEPOSIT_SOAK) $(BIN)/python -m pytest -q -m reliability \
		--durations=15

demo: $(STAMP) catalogs
	$(BIN)/deposit-bot chat --demo --db $(DEMO_DB)

# Benchmarks (not tests): prints the table and writes docs/benchmarks.md.
bench: $(STAMP) catalogs
	$(BIN)/python -m bench

# Maintainers: pull new strings into the catalogs after changing the code.
extract: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 -k npgettext:1c,2,3 \
		--sort-by-file --omit-header -o locales/messages.pot bot
update-catalogs: extract
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-fuzzy-matching --omit-header

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(COMPILED)
