# Two entry points (see README): `make demo` mounts the default system, `make test` runs the tests.
# Both install what is missing first (Debian packages, then the Python package into .venv).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.procsim-installed

.PHONY: demo test bench deps clean

deps: $(STAMP)

$(STAMP): pyproject.toml scripts/install-system-deps
	bash scripts/install-system-deps
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: deps
	bash scripts/demo

test: deps
	$(PY) -m pytest

bench: deps
	$(PY) bench/run

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis *.egg-info
