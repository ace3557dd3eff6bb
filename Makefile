# VOS: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
EXTRAS ?= speech,voice,telegram,discord,redis

.PHONY: install install-all run console test test-fast lint typecheck bench clean

$(VENV)/.core: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.core  ## the bot and its test tools (no heavy ML extras)

$(VENV)/.all: $(VENV)/.core
	# torch first, pinned: an unpinned torch would pull several GB of CUDA wheels.
	$(PIP) install -q -c constraints.txt torch==2.13.0
	$(PIP) install -q -c constraints.txt -e '.[dev,$(EXTRAS)]'
	# resemblyzer requires webrtcvad, which breaks on current setuptools; webrtcvad-wheels provides the module.
	$(PIP) uninstall -q -y webrtcvad || true
	$(PIP) install -q --force-reinstall --no-deps 'webrtcvad-wheels>=2.0.14'
	touch $@

install-all: $(VENV)/.all  ## every extra that installs on a CPU machine

run: install  ## start the bot (console adapter + demo star when no token is set)
	$(VENV)/bin/vos run

console: install
	$(VENV)/bin/vos console

test: install  ## every test (ML tests skip cleanly when their extra is missing)
	$(PY) -m pytest -q

test-fast: install
	$(PY) -m pytest -q -m "not slow and not ml"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

bench: install-all
	$(PY) bench/kakao_import.py --messages 200000
	$(PY) bench/chat_turn.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
