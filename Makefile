# Every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-postgres lint fuzz bench coverage clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

NODE_DIR := tests/node
NODE_STAMP := $(NODE_DIR)/node_modules/.installed

# The Node client tests (amazon-cognito-identity-js, Amplify) need their packages.
$(NODE_STAMP): $(NODE_DIR)/package.json
	cd $(NODE_DIR) && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; \
		else npm install --no-audit --no-fund; fi
	touch $(NODE_STAMP)

run: $(STAMP)
	$(BIN)/cognito-emulator serve

test: $(STAMP) $(NODE_STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium missing: browser tests will skip"
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 \
		|| (apt-get update -qq && apt-get install -y -qq postgresql) \
		|| echo "postgresql missing: PostgreSQL tests will skip"
	$(BIN)/python -m pytest -n auto -q $(PYTEST_ARGS)

# The whole suite with the shared server on a PostgreSQL this run starts (make test runs the
# PostgreSQL tests of tests/test_scale_out.py; this runs every test on PostgreSQL).
test-postgres: $(STAMP) $(NODE_STAMP)
	COGNITO_EMULATOR_TEST_DATABASE=postgresql $(BIN)/python -m pytest -n auto -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check protocol emulator tests bench

# The long fuzz run (the suite runs a short one): raw requests generated from the botocore models.
FUZZ_ARGS ?= --requests 20000
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz $(FUZZ_ARGS)

BENCH_STAMP := $(VENV)/.installed-bench
BENCH_NODE_STAMP := bench/node_modules/.installed

# The peers: moto (server mode) from the bench extra, cognito-local pinned by bench/package-lock.json.
$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(BENCH_STAMP)

$(BENCH_NODE_STAMP): bench/package.json bench/package-lock.json
	if command -v npm >/dev/null; then npm ci --prefix bench --no-audit --no-fund && touch $(BENCH_NODE_STAMP); \
		else echo "npm not found: cognito-local will not be measured"; fi

bench: $(BENCH_STAMP) $(BENCH_NODE_STAMP)
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk) || true
	$(BIN)/python bench/run.py $(BENCH_ARGS)

coverage: $(STAMP)
	$(BIN)/cognito-emulator coverage --write-readme README.md

clean:
	rm -rf $(VENV) .cognito-emulator
