# voiceline: `make run` serves the hotline on http://127.0.0.1:5000, `make test` runs every test.
# Both bootstrap .venv themselves; nothing needs to be installed by hand.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 5000

.PHONY: run test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# The scheduler runs as its own process beside the dev server (never inside web workers).
run: $(VENV)/.installed
	$(BIN)/voiceline db upgrade
	$(BIN)/voiceline import --if-empty fixtures/demo.yaml
	$(BIN)/voiceline users ensure-admin
	$(BIN)/voiceline scheduler & scheduler=$$!; \
	trap 'kill $$scheduler 2>/dev/null; wait $$scheduler 2>/dev/null' EXIT INT TERM; \
	$(BIN)/voiceline run --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	scripts/with-test-services $(BIN)/pytest $(PYTEST_ARGS)

# Every bench/ script, one after another, then bench/REPORT.md (PostgreSQL started as for tests).
# BENCH_ARGS=--quick for smaller sizes.
bench: $(VENV)/.installed-dev
	scripts/with-test-services $(BIN)/python bench/run_all.py $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check voiceline tests bench
	$(BIN)/mypy voiceline

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
