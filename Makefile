# kluis — every step the project needs is here; a fresh machine needs only python3 and make.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DEMO    ?= demo-out
export PYSPARK_PYTHON := $(abspath $(BIN)/python)

.PHONY: env java system demo test test-fast bench lint format clean docs

env: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	rm -f $(VENV)/.installed-*
	touch $@

# Spark needs a Java runtime; install Debian's when the machine has none.
java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "java not found: installing openjdk-17-jre-headless"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
	@java -version 2>&1 | head -1

# The enclave's sandbox (bubblewrap), SPSS syntax (GNU PSPP) and the browser the review
# application's tests drive (Debian's chromium): Debian packages, installed when missing.
SYSTEM_PKGS := bwrap:bubblewrap pspp:pspp chromium:chromium
system: java
	@missing=""; for pair in $(SYSTEM_PKGS); do \
	  cmd=$${pair%%:*}; pkg=$${pair##*:}; \
	  command -v $$cmd >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
	@bwrap --version; pspp --version | head -1; chromium --version 2>/dev/null | head -1

test: env system
	$(BIN)/pytest -q -n 2 --dist loadgroup tests

test-fast: env
	$(BIN)/pytest -q -n 2 -m "not spark" tests

demo: env system
	$(BIN)/python -m kluis.demo --out $(DEMO)

bench: env system
	$(BIN)/python -m benchmarks.run

lint: env
	$(BIN)/ruff check kluis tests benchmarks
	$(BIN)/ruff format --check kluis tests benchmarks

format: env
	$(BIN)/ruff format kluis tests benchmarks
	$(BIN)/ruff check --fix kluis tests benchmarks

# docs generated from the code (a test checks each is current)
docs: env
	$(BIN)/python -m kluis.schema.docs
	$(BIN)/python -m kluis.docs_cli

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
