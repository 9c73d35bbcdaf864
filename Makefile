# Casework: `make run` to try it, `make test` to check it. See README.md.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CW := $(BIN)/casework
STAMP := $(VENV)/.installed
DEMO_CASES ?= 500
HOST ?= 127.0.0.1:8000

# The local demo runs over plain http on 127.0.0.1; production keeps the HTTPS defaults.
export CASEWORK_HTTPS ?= 0

.PHONY: run install keys migrate demo serve worker test test-fast lint typecheck bench faults mutate messages clean

run: install keys migrate demo serve

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
	  { echo "Casework needs Python 3.11 or newer (found $$($(PYTHON) --version))."; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $(STAMP)

install: $(STAMP)

keys: install
	$(CW) initkeys

migrate: keys
	$(CW) migrate --noinput

demo: migrate
	$(CW) demo --if-empty --cases $(DEMO_CASES) --seed 1

serve: install
	$(CW) serve --addr $(HOST)

worker: install
	$(CW) worker

test: install
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not commits"
	$(BIN)/python -m pytest -q -m commits

test-fast: install
	$(BIN)/python -m pytest -q -x -m "not browser and not commits"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/python tools/dependency_audit.py

typecheck: install
	$(BIN)/mypy casework config tools

bench: keys
	$(BIN)/python -m bench.run

# Kill things on loopback and check nothing acknowledged was lost (docs/faults.md); the outage
# experiment needs a PostgreSQL server where this user may create a database.
FAULTS_POSTGRES_URL ?= postgres://postgres@127.0.0.1:5432/postgres
faults: install
	FAULTS_POSTGRES_URL=$(FAULTS_POSTGRES_URL) $(BIN)/python tools/faults.py

# Mutation testing of the gates and rules (tools/mutation.toml); not in CI: about 28 minutes on 2 cores.
mutate: install
	$(BIN)/python tools/mutate.py --jobs 2

messages: install
	$(CW) makemessages -l fr -l ar -l es --no-obsolete --ignore=.venv --ignore=var --ignore=tests --ignore='*/tests/*' --ignore=bench
	$(CW) compilemessages --ignore=.venv --ignore=var

clean:
	rm -rf $(VENV) var/static
