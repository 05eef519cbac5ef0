# Every target creates what it needs; `make demo` and `make test` work on a fresh clone.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
EVENT ?= events/schedule.json

.PHONY: venv test lint demo invoke local-stack clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml layers/shared/requirements.txt
	@test -x $(PY) || "$$(local/find-python.sh)" -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r layers/shared/requirements.txt -e '.[dev]'
	@touch $@

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/cfn-lint template.yaml

test: lint
	$(VENV)/bin/pytest tests

demo: venv
	$(PY) -m local.demo

invoke: venv
	$(PY) -m local.invoke $(EVENT)

local-stack: venv
	$(PY) -m local.serve

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .demo
