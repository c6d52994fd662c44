# eobatch developer entry points. `make demo` and `make test` set up a fresh machine by themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test run bench lint fmt clean venv

WEB := src/eobatch/web

$(STAMP): pyproject.toml requirements.lock $(WEB)/package-lock.json
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install -q --disable-pip-version-check -c requirements.lock -e '.[test]'
	npm ci --prefix $(WEB) --no-audit --no-fund --loglevel=error   # the dashboard's map library (no CDN)
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/eobatch demo

test: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/python -m pytest -q -p no:cacheprovider

run: $(STAMP)
	$(BIN)/eobatch serve

# `make bench engine outcomes`: the words after `bench` pick suites (bench/bench_<suite>.py), not targets
ifeq (bench,$(firstword $(MAKECMDGOALS)))
BENCH_SUITES := $(wordlist 2,$(words $(MAKECMDGOALS)),$(MAKECMDGOALS))
$(eval $(BENCH_SUITES):;@:)
endif

bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_SUITES)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

fmt: $(STAMP)
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) .eobatch build *.egg-info src/*.egg-info $(WEB)/node_modules test-artifacts
