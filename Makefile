# The two commands a new user runs: `make demo` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: test lint fmt bench demo soak clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
	$(BIN)/pytest -q

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python -m bench

# -s: the kill test prints how many of its kills landed in the middle of a write.
soak: $(STAMP)
	BATON_CRASH_KILLS=100 $(BIN)/pytest -q -s -m "soak or not soak" tests/orchestrator/test_crash.py -k sigkill
	BATON_WRITER_SAVES=2000 $(BIN)/pytest -q -m "soak or not soak" tests/orchestrator/test_lost_update.py

demo: $(STAMP)
	$(BIN)/baton demo

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis build *.egg-info
