# Set-up and the two top-level jobs. Both create .venv if missing and install torch==2.13.0
# *first*, so no later package can pull another torch build.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q
TORCH  := torch==2.13.0

.PHONY: demo test lint install install-dev bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.torch: | $(PY)
	$(PIP) $(TORCH)
	touch $@

$(VENV)/.installed: pyproject.toml $(VENV)/.torch
	$(PIP) -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.torch
	$(PIP) -e '.[dev,ray,postgres,sphere]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make demo: install, then run the main job on the built-in default
demo: $(VENV)/.installed
	$(VENV)/bin/muop demo

## make test: install (with the dev, ray and postgres extras), then run the test suite, which
## includes the layer contract (lint-imports), ruff check and ruff format --check
## (tests/test_architecture.py). The PostgreSQL tests start a server from Debian's postgresql
## package (skipped if it is absent, a failure in CI).
test: $(VENV)/.installed-dev
	$(PY) -m pytest -q

## make lint: only the layer contract and ruff (what tests/test_architecture.py runs)
lint: $(VENV)/.installed-dev
	$(VENV)/bin/lint-imports
	$(VENV)/bin/ruff check src tests benchmarks experiments docs
	$(VENV)/bin/ruff format --check src tests benchmarks experiments docs

## make bench: the speed benchmark against neuraloperator (writes results/bench/fno_step.json)
bench: $(VENV)/.installed-dev
	$(PY) benchmarks/fno_step.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache demo_out
