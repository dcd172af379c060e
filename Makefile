# optout developer commands. CI runs `make test` (see .ci/run).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: run test lint typecheck unit bench corpus install services clean bytecode

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $@

# the classifier's modules compiled with mypyc (scripts/build_native.py), rebuilt when a
# source changes; should it fail, everything runs as plain Python (a CI test fails then)
NATIVE := worker/core/_native.json
$(NATIVE): $(STAMP) $(wildcard worker/core/*.py) scripts/build_native.py
	@echo "compiling the classifier with mypyc (about a minute)"
	@$(BIN)/python scripts/build_native.py >$(VENV)/native-build.log 2>&1 \
	  || { rm -f $@; echo "mypyc build failed (see $(VENV)/native-build.log): plain Python" >&2; }

# the classifier's regular expressions compiled ahead (worker/regex_cache.py): half of
# its import's CPU in each classifier process; without the file they compile as always
REGEX := worker/core/_regex_cache.marshal
$(REGEX): $(NATIVE) $(wildcard worker/core/*.py) worker/regex_cache.py
	@$(BIN)/python -m worker.regex_cache --build >/dev/null \
	  || { rm -f $@; echo "recording the classifier's patterns failed: compiled at start" >&2; }

# worker's own modules byte-compiled, as pip does for an installed package: an editable
# install leaves them to the first import, and with PYTHONDONTWRITEBYTECODE set (as on
# this project's machines) every `optout` command compiled ~70 modules again on start,
# 45 ms of an `optout poll`. compileall skips the files whose .pyc is current.
bytecode: $(STAMP)
	@$(BIN)/python -m compileall -q -j 0 worker >/dev/null

install: $(STAMP) $(NATIVE) $(REGEX) bytecode

## the daemon on the embedded default: SQLite and a Maildir inbox under ./var, HTTP on :8025
run: install
	mkdir -p var/inbox/{new,cur,tmp}
	$(BIN)/optout run $(if $(CONFIG),--config $(CONFIG),)

## services the integration tests start themselves (Dovecot from Debian when missing)
services:
	@command -v dovecot >/dev/null 2>&1 || { \
	  echo "installing dovecot-imapd (needed by the IMAP integration tests)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd; }

lint: install
	$(BIN)/ruff check worker tests scripts
	$(BIN)/ruff format --check worker tests scripts

typecheck: install
	$(BIN)/mypy --strict worker

test: install services lint typecheck
	$(BIN)/pytest -q -p no:cacheprovider tests --ignore=tests/bench

unit: install
	$(BIN)/pytest -q tests/unit

bench: install services
	@command -v wrk >/dev/null 2>&1 || { \
	  echo "installing wrk (load generator of the HTTP benchmarks)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }
	mkdir -p var/bench
	$(BIN)/python -m tests.bench

corpus: install
	$(BIN)/python scripts/corpus_report.py

clean:
	rm -f worker/core/*.so $(NATIVE)
	find worker -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf $(VENV) var/bench .mypy_cache .ruff_cache .pytest_cache
