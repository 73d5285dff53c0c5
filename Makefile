# Every target sets up what it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench coverage clean

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
	$(BIN)/python -m pytest -n auto -q $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check protocol emulator tests bench

bench: $(STAMP)
	$(BIN)/python bench/run.py

coverage: $(STAMP)
	$(BIN)/cognito-emulator coverage --write-readme README.md

clean:
	rm -rf $(VENV) .cognito-emulator
