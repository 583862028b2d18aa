# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test venv lint speed clean

venv: $(STAMP)

# torch is pinned in pyproject (extra `rl`) to the CPU build on this disk.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[rl,ray,test,bench]'
	touch $(STAMP)

demo: venv
	$(BIN)/python -m experiments.demo

test: venv
	$(BIN)/python -m pytest -n 2 --durations=15

lint: venv
	$(BIN)/ruff check sim agents experiments benchmarks tests

speed: venv
	$(BIN)/routelab speed

clean:
	rm -rf $(VENV) results/runs .pytest_cache
