# Two commands: `make demo` (run-time install + read a bundled sample) and `make test`
# (dev install + the whole test suite). Both create .venv/ when it is missing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip -q --disable-pip-version-check

.PHONY: demo test test-oldest test-newest install dev system-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Run-time only: reading needs no torch. constraints.txt holds the versions the tests passed with.
$(VENV)/.installed-run: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e .
	touch $@

# Training, export and tests; torch is pinned to the CPU build in pyproject.toml.
$(VENV)/.installed-dev: pyproject.toml constraints.txt | $(BIN)/python
	$(PIP) install -c constraints.txt -e '.[train,test]'
	touch $@ $(VENV)/.installed-run

install: $(VENV)/.installed-run
dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed-run
	$(BIN)/htr read htr/samples/sample.png --format text

# Debian packages: headless Chromium for the browser tests, tcmalloc for faster training
# (`htr train` preloads it when present). CI runs as root.
SYSTEM_DEPS := chromium libtcmalloc-minimal4
system-deps:
	@if command -v chromium >/dev/null 2>&1 && ldconfig -p | grep -q libtcmalloc_minimal.so.4; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq $(SYSTEM_DEPS) >/dev/null; \
	else echo "missing: run 'sudo apt-get install -y $(SYSTEM_DEPS)' for the browser tests and faster training"; fi

test: $(VENV)/.installed-dev system-deps
	$(BIN)/python -m pytest -n 2 -q

# The suite against the oldest (uv's lowest-direct resolution) or newest versions pyproject.toml
# allows, torch's included, each in a venv of its own: keeps the ranges true. Not part of make
# test: these take PyPI's CUDA build of torch (several GB) and may find a new release broken.
test-oldest test-newest: test-%: system-deps
	rm -rf .venv-$*
	$(PYTHON) -m venv .venv-$*
	.venv-$*/bin/python -m pip -q --disable-pip-version-check install uv
	.venv-$*/bin/uv pip install -q --python .venv-$*/bin/python \
		--resolution $(if $(filter oldest,$*),lowest-direct,highest) -e '.[train,test]'
	.venv-$*/bin/python -m pytest -n 2 -q -p no:cacheprovider \
		--deselect tests/test_install.py::test_the_installed_versions_are_the_pinned_ones

clean:
	rm -rf $(VENV) .venv-oldest .venv-newest .pytest_cache build *.egg-info
