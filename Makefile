# The README's two commands: `make run` (serve the demo town at
# http://127.0.0.1:8000) and `make test`. Both prepare the machine first
# (scripts/setup.sh: OS packages if missing, .venv), quietly when it is ready.

VENV := .venv
PYTEST_ARGS ?=

.PHONY: setup run test db-status db-stop clean-db

setup:
	@bash scripts/setup.sh

run: setup
	$(VENV)/bin/gridgov up

test:
	@bash scripts/setup.sh --with-browser
	$(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# The private PostgreSQL cluster (layers/cluster.py), by hand.
db-status: setup
	@$(VENV)/bin/python -m layers.cluster status

db-stop: setup
	@$(VENV)/bin/python -m layers.cluster stop

# Stop the private clusters (the product's and the tests', see tests/conftest.py)
# and delete their data; `make run` creates and loads it again.
clean-db: setup
	@$(VENV)/bin/python -m layers.cluster destroy
	@GRIDGOV_HOME="$${GRIDGOV_TEST_HOME:-var/test}" $(VENV)/bin/python -m layers.cluster destroy
