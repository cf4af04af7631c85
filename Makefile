# Two commands on a fresh machine: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
VENV_STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed

.PHONY: setup demo test contract lint bench mutate stack-up stack-down clean lab

setup: $(VENV_STAMP) $(NODE_STAMP)

# The virtual environment is rebuilt when requirements.txt or pyproject.toml change.
$(VENV_STAMP): requirements.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 10))' || { echo "Python 3.10+ is needed"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

# npm tools (Azurite) are reinstalled when the lock file changes.
$(NODE_STAMP): package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed (Node.js 18+): install Node.js, then retry"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

demo: setup
	$(VENV)/bin/iglu demo

test: setup
	@bash scripts/ensure-chromium.sh
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(VENV)/bin/python -m pytest

# The requester contract (tests/contract) against MTurk's requester sandbox (profile: sandbox; no money
# moves): skipped, with one line saying why, without AWS credentials. `make test` runs the same
# tests against the local MTurk server. Exit 5 (no test collected) is not a failure here.
contract: setup
	@IGLU_CONTRACT_TARGET=sandbox $(VENV)/bin/python -m pytest tests/contract -q -rN -p no:cacheprovider; \
	status=$$?; if [ $$status -eq 5 ]; then echo "make contract: no contract test was collected"; exit 0; fi; exit $$status

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: setup
	$(PY) -m benchmarks

# Mutation testing of the modules that decide pay and rank, with their fast tests (not in `make test`:
# minutes per module). MODULES="judge choice" runs some; each module's score and survivors are printed.
MODULES ?=
mutate: setup
	$(PY) scripts/mutate.py $(MODULES)

stack-up: setup
	$(VENV)/bin/iglu stack up

stack-down:
	@test -x $(VENV)/bin/iglu && $(VENV)/bin/iglu stack down || true

# JupyterLab on notebooks/ (the local stack first when PROFILE is local); prints the URL with its token.
PROFILE ?= local
lab: setup
	$(VENV)/bin/iglu lab --profile $(PROFILE)

clean: stack-down
	rm -rf $(VENV) node_modules outputs/notebooks outputs/tests outputs/bench
