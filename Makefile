# The two commands of the README. Each creates the virtual environment it needs.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test venv bench

$(BIN)/townhall: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/townhall

venv: $(BIN)/townhall

demo: venv
	$(BIN)/townhall demo

test: venv
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q

bench: venv
	$(BIN)/python -m bench
