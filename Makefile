# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# torch is installed first and pinned, so that no later requirement resolves an unpinned torch (which would
# pull the multi-gigabyte CUDA build); override with e.g. `make test TORCH=torch` on a GPU machine. Everything
# after it is installed under a constraint on the torch just installed (torch-fidelity would otherwise plan a
# newer torch with its CUDA wheels).
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench lint clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/python -c "import torch; print('torch==' + torch.__version__.split('+')[0])" > $(VENV)/constraints.txt
	$(BIN)/pip install --quiet -c $(VENV)/constraints.txt -e ".[dev,inception]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m wganlab.demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/data.py
	$(BIN)/python benchmarks/evaluation.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs demo-runs .pytest_cache
