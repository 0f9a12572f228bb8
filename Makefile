# The two set-up commands (see README): `make demo` and `make test`.
# Each creates or reuses a local virtual environment in .venv.
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint typecheck unit bench mutation clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "make: $(PYTHON) not found (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/nurture demo

test: $(VENV)/.installed lint typecheck
	$(BIN)/python -m pytest -n auto  # pytest-xdist: every tier is safe to run in parallel

lint: $(VENV)/.installed
	$(BIN)/ruff check src tests flows bench
	$(BIN)/ruff format --check src tests flows bench
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed
	$(BIN)/mypy

unit: $(VENV)/.installed
	$(BIN)/python -m pytest tests/unit

bench: $(VENV)/.installed
	$(BIN)/python bench/run.py $(ARGS)
	$(BIN)/python bench/scale_out.py $(SCALE_ARGS)
	$(BIN)/python bench/webhook_load.py --seconds 15 --batch 1000 --senders 4 --workers 1
	$(BIN)/python bench/webhook_load.py --seconds 15 --batch 1000 --senders 4 --workers 2

# Mutation testing of the domain core (cadence, lifecycle, scoring, expressions) under
# the unit tier; configuration in pyproject.toml [tool.mutmut]. About 7 minutes here.
mutation: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet 'mutmut==3.8.1'
	rm -rf mutants
	$(BIN)/mutmut run --max-children 2 > mutants.log 2>&1 || (tail -c 2000 mutants.log; exit 1)
	$(BIN)/mutmut export-cicd-stats
	$(BIN)/python tests/support/mutation_score.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants mutants.log
