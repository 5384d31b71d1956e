# Everything a fresh Debian machine with Python 3.11 needs is set up by these targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run place-demo chromium prometheus test lint typecheck unit bench bench-openb fuzz clean

# The stamp files make re-runs cheap: pip only runs again when pyproject.toml changes.
$(VENV)/.stamp-run: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.stamp-dev: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.stamp-run

# The digital twin's built-in scenario: five variants of a day on a mixed GPU cluster, compared
# in a table and in out/default-report.html (one self-contained file).
run: $(VENV)/.stamp-run
	$(BIN)/gpuplane simulate

# The second command shows a request Kubernetes itself would refuse: gpuplane names the file,
# line, field and rule and exits 2 (anything else is a failure of this target).
place-demo: $(VENV)/.stamp-run
	$(BIN)/gpuplane place --cluster examples/cluster.yaml examples/workloads/
	@echo
	@echo "And a request Kubernetes would refuse, rejected as input (exit status 2):"
	@$(BIN)/gpuplane place --cluster examples/cluster.yaml examples/workloads/rejected/; \
	  status=$$?; test $$status -eq 2 || { echo "expected exit status 2, got $$status"; exit 1; }

# The report test opens the HTML report in a real browser: Debian's chromium, installed once
# (as root, non-interactively) when it is missing.
chromium:
	@command -v chromium >/dev/null 2>&1 || ( \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium )

# The alert-rule tests run promtool, and the telemetry integration test a real Prometheus on
# loopback: Debian's prometheus package, installed once like chromium. Its service is not
# needed (the tests start their own on a free port), so one the package started is stopped.
prometheus:
	@( command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1 ) || ( \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends prometheus && \
	  { command -v systemctl >/dev/null 2>&1 && systemctl stop prometheus 2>/dev/null || true; } )

test: $(VENV)/.stamp-dev chromium prometheus
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	GPUPLANE_REQUIRE_CHROMIUM=1 GPUPLANE_REQUIRE_PROMETHEUS=1 $(BIN)/pytest

# Every reader of user input and the CLI's options, fuzzed for 10 minutes in all (`make test`
# runs the same properties briefly). The examples each property ran go to out/fuzz.json.
fuzz: $(VENV)/.stamp-dev
	mkdir -p out
	GPUPLANE_FUZZ_PROFILE=fuzz GPUPLANE_FUZZ_SECONDS=600 GPUPLANE_FUZZ_REPORT=out/fuzz.json \
	  $(BIN)/pytest -p no:cacheprovider tests/fuzz

# Regenerates the kubelet APIs' Python modules (node/proto/api_pb2*, telemetry/proto/
# podresources_pb2*) from their .proto files; the output is committed.
# protoc finds the mypy-protobuf plugins on PATH.
proto: $(VENV)/.stamp-dev
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python scripts/gen_proto.py

bench: $(VENV)/.stamp-dev
	$(BIN)/python bench/place_throughput.py

# The FGD paper's openb reproduction (380 replays, ~10 min on 2 cores) and replay speed.
# Needs the trace in ../shared/data/openb (or GPUPLANE_OPENB_DIR); writes out/openb/.
bench-openb: $(VENV)/.stamp-dev
	$(BIN)/python bench/openb_replay.py --accuracy --speed --out out/openb

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
