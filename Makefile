# Every target bootstraps what it needs: a fresh clone runs `make test` with nothing installed by hand.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test soak bench check clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

demo: install
	$(VENV)/bin/leadpipe demo

test: install
	scripts/ensure-chromium
	scripts/ensure-postgres
	$(PY) -m pytest -q

# Long reliability runs: LEADPIPE_SOAK_KILLS kills per vendor (default 100) instead of 20.
soak: install
	LEADPIPE_SOAK_KILLS=$${LEADPIPE_SOAK_KILLS:-100} $(PY) -m pytest -q -s -m soak tests/reliability

bench: install
	$(PY) -m benchmarks

check: install
	PATH=$(VENV)/bin:$$PATH scripts/check

clean:
	rm -rf $(VENV) .leadpipe runs .pytest_cache .mypy_cache .ruff_cache .leadpipe-test-postgres-url
