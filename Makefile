# Two commands on a fresh machine: `make demo` and `make test`. Each installs what it needs.
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Keep Prefect's local state inside the checkout unless the user has chosen a home.
export PREFECT_HOME ?= $(CURDIR)/.postdeck/prefect
export PREFECT_SERVER_ANALYTICS_ENABLED ?= false
export DO_NOT_TRACK ?= 1

.PHONY: install prefect-home demo test test-fast test-light test-floors lint up down run-example limits clean bench

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[all,dev]'
	touch $(STAMP)

install: $(STAMP)

# Prefect creates its home but not the folders above it: .postdeck/ may not exist yet on a fresh clone.
prefect-home:
	mkdir -p "$(PREFECT_HOME)"

## demo: publish the example campaign to the local simulators through the Prefect flow
demo: install prefect-home
	$(VENV)/bin/postdeck publish campaigns/example.yaml --sandbox
	$(VENV)/bin/postdeck preview campaigns/example.yaml --out .postdeck/preview

## test: lint, then the whole test suite (end-to-end tests start a real Prefect server and worker)
# The preview's browser tests drive Debian's chromium (never a downloaded browser): installed if missing.
test: lint
	command -v chromium >/dev/null || (apt-get update && apt-get install -y chromium)
	$(PY) -m pytest

## test-fast: the inner loop: no Prefect server, no PostgreSQL, no fuzzing or chaos (see the markers in
## pyproject.toml), four pytest-xdist workers (the tests mostly wait on loopback HTTP); `make test` runs
## everything, in one process, with the secret scan over all of it
# Bytecode is written even where PYTHONDONTWRITEBYTECODE is set: without its cache each of the four
# workers rewrites the asserts of every test module again at each run (most of a collection's time).
# Two files of `slow` tests are not even collected: each worker would import the LATE SDK or Playwright.
test-fast: install
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -q -x -n 4 -m "not e2e and not prefect and not postgres and not slow" \
	  --ignore=tests/e2e --ignore=tests/chaos \
	  --ignore=tests/sandbox/test_late_sim_sdk.py --ignore=tests/preview/test_preview_browser.py

## test-light: the light install (`pip install postdeck`, no extras) in a fresh venv validates and plans,
## and publish names the extra it needs (scripts/light_install_check.sh)
test-light:
	scripts/light_install_check.sh

## test-floors: the ledger contract suite on the lowest supabase/postgrest versions pyproject.toml allows
# (a separate venv, installed once: scripts/test_floors.sh; about a minute)
test-floors: install
	VENV=$(VENV) scripts/test_floors.sh

## lint: ruff, the layer contracts of pyproject.toml ([tool.importlinter]), mypy --strict on postdeck/core,
## postdeck/engine and postdeck/schemas (--follow-imports=silent: the packages they import are not strict),
## then plain mypy on the whole package, which must have no errors either
# lint-imports walks folders, so it runs in the tree of links that scripts/in_package_tree.py lays
# (the mapped folders of package-dir are not inside postdeck/).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) scripts/in_package_tree.py $(abspath $(VENV))/bin/lint-imports --no-logo --no-cache $(CURDIR)/pyproject.toml
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) scripts/in_package_tree.py mypy --strict --follow-imports=silent \
	  --config-file $(CURDIR)/pyproject.toml postdeck/core postdeck/engine postdeck/schemas
	PATH=$(abspath $(VENV))/bin:$$PATH $(PY) scripts/in_package_tree.py mypy --config-file $(CURDIR)/pyproject.toml postdeck

## up: a Prefect server (127.0.0.1:4200) and a process worker, with the deployments of prefect.yaml
up: install prefect-home
	PATH=$(CURDIR)/$(VENV)/bin:$$PATH scripts/up.sh

## down: stop `make up`'s server and worker, and the local server `postdeck publish` started
down:
	scripts/down.sh
	-test -x $(VENV)/bin/postdeck && $(VENV)/bin/postdeck server stop

## run-example: run the example deployment on the server started by `make up`, and wait for it
run-example: install prefect-home
	PREFECT_API_URL=http://127.0.0.1:$${POSTDECK_PREFECT_PORT:-4200}/api \
	  $(VENV)/bin/prefect deployment run publish-campaign/example --watch

clean: down
	rm -rf .postdeck

## limits: create the provider:* global concurrency limits on the server in PREFECT_API_URL
limits: install prefect-home
	PREFECT_API_URL=$${PREFECT_API_URL:-http://127.0.0.1:$${POSTDECK_PREFECT_PORT:-4200}/api} $(VENV)/bin/postdeck limits

## bench: every benchmark of bench/README.md, each printing its figures (about 20 minutes on 2 cores)
bench: install
	$(PY) bench/publish_bench.py
	$(PY) bench/ratelimit_bench.py
	$(PY) bench/ratelimit_bench.py --via late
	$(PY) bench/orchestration_bench.py
	$(PY) bench/scale_bench.py
	$(PY) bench/memory_bench.py
	$(PY) bench/validate_bench.py
	$(PY) bench/cli_bench.py
	$(PY) bench/preview_bench.py
