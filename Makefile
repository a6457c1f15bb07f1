# Two commands set everything up on a fresh machine that has python3 and make:
#
#   make demo    a venv in .venv with the package and gunicorn, then the demo (example/run_demo.py)
#   make test    the full matrix of noxfile.py (lint, typecheck, package, tests): what CI runs
#
# Helpers: make lint | typecheck | bench | clean. Variables: PYTHON (the python3 that makes .venv),
# NOXFLAGS (extra nox options, e.g. NOXFLAGS='-s tests -- -k fast_ack').

SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
NOX_VERSION := 2026.10.20
# Locally, reuse the nox venvs (their installs still run, so dependency changes apply);
# CI works in a fresh clone, where there is nothing to reuse.
NOXFLAGS ?=
NOX := $(BIN)/nox --reuse-venv=yes $(NOXFLAGS)
TEST_LOG := .nox/make-test.log

DEMO_STAMP := $(VENV)/.demo-installed
NOX_STAMP := $(VENV)/.nox-installed
# Optional extra requirements of the demo and the benchmark, when their authors add them.
DEMO_REQS := $(wildcard example/requirements.txt)
BENCH_REQS := $(wildcard bench/requirements.txt)

.PHONY: help demo demo-async test lint typecheck bench clean

help:
	@echo "make demo       run the demo (fake Slack -> gunicorn -> Django -> Bolt) and print its transcript"
	@echo "make demo-async the same demo with the async app (fake Slack -> uvicorn -> Django -> AsyncApp)"
	@echo "make test       lint, typecheck, package and the Python x Django test matrix (what CI runs)"
	@echo "make lint       ruff check and ruff format --check"
	@echo "make typecheck  mypy"
	@echo "make bench      the benchmark (bench/run.py)"
	@echo "make clean      remove .venv, .nox, build outputs and caches"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DEMO_STAMP): $(BIN)/python pyproject.toml $(DEMO_REQS) $(BENCH_REQS)
	$(BIN)/python -m pip install --quiet -e . gunicorn $(addprefix -r ,$(DEMO_REQS) $(BENCH_REQS))
	@touch $@

$(NOX_STAMP): $(BIN)/python Makefile
	$(BIN)/python -m pip install --quiet "nox==$(NOX_VERSION)"
	@touch $@

demo: $(DEMO_STAMP)
	@test -f example/run_demo.py || { echo "example/run_demo.py does not exist yet" >&2; exit 1; }
	$(BIN)/python example/run_demo.py

# uvicorn and aiohttp come from example/requirements.txt, which $(DEMO_STAMP) installs.
demo-async: $(DEMO_STAMP)
	@test -f example/run_demo.py || { echo "example/run_demo.py does not exist yet" >&2; exit 1; }
	$(BIN)/python example/run_demo.py --async

# The output ends with pytest's own summary line of every test session (CI reads them); the exit
# status is nox's.
test: $(NOX_STAMP)
	@mkdir -p $(dir $(TEST_LOG))
	@status=0; $(NOX) 2>&1 | tee $(TEST_LOG) || status=$$?; \
	echo; echo "==== pytest summaries ===="; \
	awk '/^nox > Running session /{session=$$NF} \
	     /^=+ .* in [0-9.]+s( \([0-9:]+\))? =+$$/{print "nox > " session ":"; print}' $(TEST_LOG); \
	exit $$status

lint: $(NOX_STAMP)
	$(NOX) -s lint

typecheck: $(NOX_STAMP)
	$(NOX) -s typecheck

bench: $(DEMO_STAMP)
	@test -f bench/run.py || { echo "bench/run.py does not exist yet" >&2; exit 1; }
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) .nox build dist .mypy_cache .ruff_cache .pytest_cache .hypothesis
	find . -path ./.git -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	rm -rf src/*.egg-info
