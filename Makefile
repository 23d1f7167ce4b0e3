PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo bench lint fmt clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff format --check daemon adapters sandboxes tests bench
	$(BIN)/ruff check daemon adapters sandboxes tests bench
	$(BIN)/mypy
	# Three workers on two cores: most of the suite's time is spent waiting on sandboxes and daemon processes.
	$(BIN)/pytest -q -n 3

demo: $(STAMP)
	$(BIN)/ffn-sync demo $(ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

fmt: $(STAMP)
	$(BIN)/ruff format daemon adapters sandboxes tests bench
	$(BIN)/ruff check --fix daemon adapters sandboxes tests bench

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build *.egg-info
