# The two commands of the README: `make run` and `make test`. Each creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint typecheck pytest smoke bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("ispbills needs Python 3.11 or newer") if sys.version_info < (3, 11) else None'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

## Start the panel with demo data: embedded PostgreSQL, web, worker, scheduler.
run: $(STAMP)
	$(BIN)/ispbills run $(ARGS)

## The whole test suite with every quality gate.
test: $(STAMP) lint typecheck check pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

check: $(STAMP)
	$(BIN)/ispbills makemigrations --check --dry-run
	$(BIN)/ispbills check --fail-level WARNING
	$(BIN)/ispbills spectacular --fail-on-warn --validate --file /dev/null

PYTEST_ARGS ?= -n auto
pytest: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## The embedded-database smoke part CI runs besides the full suite.
smoke: $(STAMP)
	$(BIN)/pytest -m smoke

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
