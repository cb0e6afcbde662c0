# Apollo Observatory. Every target is safe to run again.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SYSTEM_PACKAGES := prometheus prometheus-alertmanager redis-server chromium postgresql-15

.PHONY: demo test lint bench system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[chdb]"
	touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[chdb,browser,dev]"
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	$(BIN)/apollo demo

# The real servers the tests start: installed only when one of them is missing.
system-deps:
	@missing=""; \
	for b in prometheus prometheus-alertmanager promtool redis-server chromium; do \
		command -v $$b >/dev/null 2>&1 || missing="$$missing $$b"; done; \
	[ -x /usr/lib/postgresql/15/bin/initdb ] || missing="$$missing postgresql-15"; \
	if [ -n "$$missing" ]; then \
		echo "installing system packages (missing:$$missing)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			$(SYSTEM_PACKAGES) >/dev/null; \
	fi

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .

test: system-deps $(VENV)/.test-installed lint
	$(BIN)/pytest

bench: system-deps $(VENV)/.test-installed
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/store_write.py
	$(BIN)/python bench/slo_engine.py --skip-per-slo
	$(BIN)/python bench/collect.py
	$(BIN)/python bench/backtest.py
	$(BIN)/python bench/api.py
	$(BIN)/python bench/soak.py
	$(BIN)/python bench/dashboard.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
