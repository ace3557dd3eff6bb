# VOS: the two commands a new user needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# Every extra that installs on a CPU machine without a compiler (not xtts/pyannote: no CPU torchaudio;
# not llama: llama-cpp-python builds from source).
EXTRAS ?= speech,voice,telegram,discord,redis,s3
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu

.PHONY: install install-all system-packages run console test test-fast lint typecheck bench clean

$(VENV)/.core: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip setuptools wheel
	$(PIP) install -q -c constraints.txt -e '.[dev]'
	touch $@

install: $(VENV)/.core  ## the bot and its test tools (no heavy ML extras)

$(VENV)/.all: $(VENV)/.core
	# torch first, the CPU build: PyPI's Linux torch is the CUDA one (GBs of nvidia wheels).
	.ci/install-torch $(PY) $(TORCH_INDEX)
	$(PIP) install -q -c constraints.txt -e '.[dev,$(EXTRAS)]'
	# resemblyzer without its webrtcvad requirement (an sdist that needs a C compiler): the voice extra lists
	# its real requirements, and webrtcvad-wheels provides the same module.
	$(PIP) install -q -c constraints.txt --no-deps resemblyzer
	touch $@

install-all: $(VENV)/.all  ## every extra that installs on a CPU machine, no compiler needed

system-packages:  ## espeak-ng, ffmpeg, sox, libsndfile1, fonts-nanum (apt-get as root or sudo; else one line)
	@.ci/system-packages

run: install  ## start the bot (console adapter + demo star when no token is set)
	$(VENV)/bin/vos run

console: install
	$(VENV)/bin/vos console

test: system-packages install-all  ## the whole suite, for real: every CPU extra and the system packages
	VOS_TEST_REQUIRE_EXTRAS=1 $(PY) -m pytest -q  # a missing CPU extra fails instead of skipping

test-fast: install  ## daily work: the core install, no slow or ML tests
	$(PY) -m pytest -q -m "not slow and not ml"

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

typecheck: install-all  ## mypy --strict follows core and bot into the adapters: their extras must be there
	$(VENV)/bin/mypy

bench: install-all
	$(PY) bench/kakao_import.py --messages 200000
	$(PY) bench/chat_turn.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
