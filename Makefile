# Two commands set everything up on a fresh machine: `make demo` and `make test`.
# torch is installed first and pinned, so that no later requirement resolves an unpinned torch (which would
# pull the multi-gigabyte CUDA build); override with e.g. `make test TORCH=torch` on a GPU machine. Everything
# after it is installed under a constraint on the torch just installed (torch-fidelity would otherwise plan a
# newer torch with its CUDA wheels).
PYTHON ?= python3
TORCH ?= torch==2.13.0
VENV := .venv
BIN := $(VENV)/bin
# The demo needs only the package; the tests add the extras (pytest, Ray, Playwright, torch-fidelity...), which
# take most of the install's time and are installed on top when `make test` first runs.
CORE := $(VENV)/.installed-core
STAMP := $(VENV)/.installed
# pip compiles every installed module to bytecode on one core (torch alone: 15 of its 20 s here); compileall does
# it on every core afterwards (-qq: files of other Python versions, such as torch's py312 test helpers, fail to
# compile under both and are skipped, as pip skips them).
PIP := $(BIN)/pip install --quiet --no-compile
COMPILE := $(BIN)/python -m compileall -qq -j 0 $(VENV)/lib || true

.PHONY: demo test bench lint clean chromium

$(CORE): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(PIP) "$(TORCH)"
	$(BIN)/python -c "from importlib.metadata import version; print('torch==' + version('torch').split('+')[0])" > $(VENV)/constraints.txt
	$(PIP) -c $(VENV)/constraints.txt -e .
	$(COMPILE)
	touch $(CORE)

$(STAMP): $(CORE)
	$(PIP) -c $(VENV)/constraints.txt -e ".[dev,inception]"
	$(COMPILE)
	touch $(STAMP)

demo: $(CORE)
	$(BIN)/python -m wganlab.demo

# The report's browser test drives Debian's Chromium (no browser download: Playwright is pointed at it).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO="sudo -n"; fi; \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || \
	  { $$SUDO apt-get update -q >/dev/null 2>&1 && $$SUDO apt-get install -y -q chromium >/dev/null 2>&1; } || \
	  echo "warning: could not install Debian's chromium; the report's browser test will be skipped"; }

# Tests run on every core (pytest-xdist): most hold one torch thread, so one worker per core fills the machine.
test: $(STAMP) chromium
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -q -n auto --dist worksteal --durations=20

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py
	$(BIN)/python benchmarks/data.py
	$(BIN)/python benchmarks/evaluation.py
	$(BIN)/python benchmarks/memory.py
	$(BIN)/python benchmarks/ddp.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs demo-runs .pytest_cache
