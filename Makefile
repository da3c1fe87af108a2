# The front door. `make help` lists the targets.
VENV   := .venv
PY     := $(VENV)/bin/python
UV     := $(VENV)/bin/uv
STAMP  := $(VENV)/.installed
UV_VERSION := 0.13.9
ARGS ?=

.PHONY: help setup run test test-all lint bench mutate ui tune report clean lock calibrate

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

# The package's install builds the map's scanner, a C extension (setup.py): a compiler is checked for first.
$(STAMP): requirements.lock pyproject.toml setup.py src/aqstudy/kernel/_scanner.c
	test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) runtime/check_compiler.py
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip sync --quiet --compile-bytecode --python $(PY) requirements.lock
	$(UV) pip install --quiet --compile-bytecode --python $(PY) --no-deps -e .
	$(PY) -c "from aqstudy.kernel import warm; warm()"  # the built scanner loads and scans a line
	touch $(STAMP)

setup: $(STAMP)  ## create .venv from the lock file (idempotent)

run: setup  ## one study run on this machine (ARGS="workers=4 analysis=day_max" to change axes)
	$(PY) src/run.py $(ARGS)

test: setup  ## the fast suite: unit and property tests (under ~2 minutes)
	$(PY) -m pytest -q -m "not integration" $(ARGS)

test-all: setup  ## everything: unit, property and integration tests (Lithops, MLflow, a local S3 server)
	$(PY) -m pytest -q $(ARGS)

lint: setup  ## ruff
	$(VENV)/bin/ruff check src tests benchmarks

bench: setup  ## kernel, cold-start, end-to-end, whole-process, model and reduce benchmarks (prints ratios)
	$(PY) benchmarks/kernel.py
	$(PY) benchmarks/cold_start.py
	$(PY) benchmarks/end_to_end.py
	$(PY) benchmarks/whole_process.py
	$(PY) benchmarks/model.py
	$(PY) benchmarks/reduce.py

mutate: setup  ## mutation score of the pure core (mutmut over the fast tests; ARGS=--reuse keeps mutants/)
	$(PY) tools/mutate.py $(ARGS)

tune: setup  ## Optuna cost/latency frontier (ARGS="tuning.n_trials=8")
	$(PY) src/tune.py $(ARGS)

report: setup  ## tables and figures from the tracked runs into reports/
	$(PY) src/report.py $(ARGS)

calibrate: setup  ## measure this machine for backend=model (writes calibration/this-machine.json)
	$(PY) -m aqstudy.backends.model.calibrate $(ARGS)

ui: setup  ## the MLflow UI on http://127.0.0.1:5000
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlruns/mlflow.db --host 127.0.0.1 --port 5000

lock:  ## re-resolve requirements.lock from pyproject.toml
	$(UV) pip compile pyproject.toml --extra dev --python $(PY) -o requirements.lock

clean:  ## remove Lithops temp data and Hydra outputs (keeps mlruns/)
	rm -rf .lithops outputs multirun
