# Two commands set everything up on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench clean

# Python's own cache of compiled modules, even where the environment turns it off (some
# machines set PYTHONDONTWRITEBYTECODE=1): without it every process compiles each module it
# imports again, about 3 s of CPU per process here, and the suite, the demo and the daily
# run's helpers start hundreds of processes. The cache is written in .venv and in the
# source tree's __pycache__ folders, which git ignores.
unexport PYTHONDONTWRITEBYTECODE

$(STAMP): pyproject.toml
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "fairdue needs Python 3.11 or newer"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	# --no-compile: Python compiles what is imported, when it is; compiling every file of
	# every package here took half of the install.
	$(BIN)/python -m pip install --quiet --no-compile -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fairdue demo $(DEMO_ARGS)

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	# worksteal: a worker that runs out of tests takes some of the other's, so the slow ones
	# at the end do not leave a core idle.
	$(BIN)/python -m pytest -n 2 --dist worksteal -q --durations=15

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy

bench: $(STAMP)
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) fairdue.db demo-data outbox
