# Every target creates what it needs; `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
EVENT ?= events/schedule.json
FUNCTION ?= PollerFunction
export SAM_CLI_TELEMETRY := 0

.PHONY: venv dynalite test lint lint-python lint-template build bench chaos mutate demo invoke local-stack clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml layers/shared/requirements.txt
	@test -x $(PY) || "$$(local/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r layers/shared/requirements.txt -e '.[dev]'
	@touch $@

$(SAM_VENV)/.installed: local/tools/sam.txt
	@test -x $(SAM_VENV)/bin/python || "$$(local/find-python.sh)" -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r local/tools/sam.txt
	@touch $@

$(CHECKOV_VENV)/.installed: local/tools/checkov.txt
	@test -x $(CHECKOV_VENV)/bin/python || "$$(local/find-python.sh)" -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r local/tools/checkov.txt
	@touch $@

# dynalite (npm, pinned in local/dynalite/package-lock.json) for make bench and the store's integration tests
DYNALITE := local/dynalite/node_modules/.installed
dynalite: $(DYNALITE)

$(DYNALITE): local/dynalite/package-lock.json
	@if command -v npm >/dev/null; then cd local/dynalite && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed; \
	else echo "dynalite: no npm here; the store tests run on moto only and make bench stops" >&2; fi

lint: lint-python lint-template

lint-python: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(VENV)/bin/bandit --quiet --severity-level medium --recursive layers/shared/profile_poller functions

# the four checks a platform team runs on the template; each must be clean (warnings fail cfn-lint too)
lint-template: venv $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed
	$(VENV)/bin/cfn-lint template.yaml
	$(SAM_VENV)/bin/sam validate --lint --template template.yaml --region eu-west-1
	$(CHECKOV_VENV)/bin/checkov --file template.yaml --framework cloudformation --compact --quiet --skip-download

# pytest-xdist: TEST_WORKERS processes, each with its own servers on free ports (tests/README.md); the suite mostly
# waits on servers, so more workers than cores pays. The 15 slowest tests are listed at the end of every run
# (--durations=15 in pyproject.toml).
TEST_WORKERS ?= 3
test: lint dynalite
	$(VENV)/bin/pytest -n $(TEST_WORKERS) tests

# sam build needs the Lambda runtime's Python (3.13) on PATH; the layer is built for arm64
build: $(SAM_VENV)/.installed venv
	@PY313="$$(local/find-python.sh --exact)" || { echo "make build: no python3.13 found; install one (e.g. pyenv install 3.13) and retry" >&2; exit 1; }; \
	PATH="$$(dirname "$$PY313"):$$PATH" $(SAM_VENV)/bin/sam build --template template.yaml
	$(PY) -m local.check_build .aws-sam/build

# figures, not pass/fail: see docs/performance.md (the table on dynalite: needs Node.js)
bench: venv dynalite
	$(PY) -m bench.run

# 1,000 requests under randomised faults, overlapping and killed sweeps; `make test` runs a smaller one
chaos: venv
	$(PY) -m tests.chaos --requests $${CHAOS_REQUESTS:-1000}

# mutation scores of core, adapters and entry, each module against its own tests (a figure, not part of make test;
# the store's tests also run on dynalite): docs/reliability.md
mutate: venv dynalite
	$(PY) -m local.mutate

demo: venv
	$(PY) -m local.demo

invoke: venv
	$(PY) -m local.invoke $(EVENT) --function $(FUNCTION)

local-stack: venv
	$(PY) -m local.serve

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .demo .mutate
