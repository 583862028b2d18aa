# `make demo` and `make test` set everything up on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-go venv lint speed clean learning

venv: $(STAMP)

# torch is pinned in pyproject (extra `rl`) to the CPU build on this disk.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[rl,ray,test,bench]'
	touch $(STAMP)

demo: venv
	$(BIN)/python -m experiments.demo

# The learners' table (results/learning/, docs/learning.md): its runs took 79 min in all
# of training on 2 cores.
learning: venv
	$(BIN)/python -m experiments.learning_table \
	    --train fintech_day,retail_bank_day,n_model,keep_free,w_model \
	    --scratch n_model,keep_free,w_model

test: venv
	$(BIN)/python -m pytest -n 2 --durations=15
	@$(MAKE) --no-print-directory test-go

# The Go reader of lookup tables (clients/go): every test vector and shipped table.
test-go:
	@if command -v go >/dev/null 2>&1; then \
		cd clients/go && go vet ./... && go test -count=1 ./...; \
	else echo "go not found: skipped the Go reader tests (clients/go)"; fi

lint: venv
	$(BIN)/ruff check sim agents experiments benchmarks tests
	@if command -v gofmt >/dev/null 2>&1; then test -z "$$(gofmt -l clients/go)" \
		|| { echo "gofmt: reformat $$(gofmt -l clients/go)"; exit 1; }; fi

speed: venv
	$(BIN)/routelab speed

clean:
	rm -rf $(VENV) results/runs .pytest_cache
