# Two commands: `make demo` and `make test`. Both create .venv and install on first use.
PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Every pip call is constrained to the CPU build of torch 2.13.0 (see constraints.txt).
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export SDL_VIDEODRIVER := dummy
export MPLBACKEND := Agg

.PHONY: setup demo test lint typecheck bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q -e '.[all,dev]'
	touch $(STAMP)

demo: setup
	rm -rf runs/demo  # a tour trains afresh, never resumes an older version's checkpoints
	$(BIN)/contrastkit demo --run-dir runs/demo

test: setup
	$(BIN)/python -m pytest -q tests
	$(BIN)/ruff check contrastkit tests benchmarks
	$(BIN)/mypy

lint: setup
	$(BIN)/ruff check contrastkit tests benchmarks

typecheck: setup
	$(BIN)/mypy

bench: setup
	$(BIN)/python -m benchmarks.core

clean:
	rm -rf $(VENV) runs .pytest_cache .mypy_cache .ruff_cache
