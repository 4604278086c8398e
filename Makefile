# kluis — every step the project needs is here; a fresh machine needs only python3 and make.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.installed-$(shell sha1sum pyproject.toml | cut -c1-12)
DEMO    ?= demo-out
export PYSPARK_PYTHON := $(abspath $(BIN)/python)

.PHONY: env java demo test test-fast bench lint format clean

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

test: env java
	$(BIN)/pytest -q -n 2 --dist loadgroup tests

test-fast: env
	$(BIN)/pytest -q -n 2 -m "not spark" tests

demo: env java
	$(BIN)/python -m kluis.demo --out $(DEMO)

bench: env java
	$(BIN)/python -m benchmarks.run

lint: env
	$(BIN)/ruff check kluis tests benchmarks
	$(BIN)/ruff format --check kluis tests benchmarks

format: env
	$(BIN)/ruff format kluis tests benchmarks
	$(BIN)/ruff check --fix kluis tests benchmarks

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache
