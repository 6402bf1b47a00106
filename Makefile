# Two commands on a fresh machine: `make demo` and `make test`. Both bootstrap the virtual environment first.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test lint bench train-deps system-deps clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Runs the whole journey on the bundled simulated patients and writes the reports (no network, SQLite).
demo: $(STAMP)
	$(BIN)/fusionwatch demo

## Installs what the tests need from Debian (PostgreSQL server) when missing, then runs every test.
test: $(STAMP) system-deps
	$(BIN)/python -m pytest -n 2 -q

system-deps:
	bash scripts/system-deps.sh

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

bench: $(STAMP)
	$(BIN)/python -m benchmarks

## Optional: the training extra (CPU torch 2.13.0, onnx export).
train-deps: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,train]'

clean:
	rm -rf $(VENV) build *.egg-info
