# Peregrine: the two commands (run, test) and the benchmarks.
# Each target installs what it needs when it is missing (the Swift toolchain is assumed).

SWIFT ?= swift
RUN_ARGS ?= --rate 100000 --duration 10 --order-flow 30 --strategy market-maker

.PHONY: run test bench build deps test-deps format

TOOLS_VENV := .build/tools-venv

# The engine links C libraries from Debian, found by pkg-config: libsecp256k1 (signing
# back-runs) and the NATS C client (distributed mode). nats-server for the tests and for
# trying distributed mode. zlib reads gzip-compressed market data. g++ only for `make bench`.
SYSTEM_LIBS := libsecp256k1-dev libnats-dev zlib1g-dev nats-server pkg-config

deps:
	@command -v $(SWIFT) >/dev/null || { echo "error: the Swift toolchain is required (swift not on PATH)"; exit 1; }
	@dpkg -s $(SYSTEM_LIBS) >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			$(SYSTEM_LIBS); }

# The operations tests drive real tools: curl, promtool and prometheus (Debian `prometheus`),
# and kubernetes-validate (PyPI, in a virtual environment under .build); the backtest's HTML
# report is rendered by headless Chromium (Debian `chromium`), gzip inputs made with gzip.
test-deps: deps
	@command -v curl >/dev/null && command -v promtool >/dev/null && command -v prometheus >/dev/null \
		&& command -v chromium >/dev/null && command -v gzip >/dev/null || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			curl prometheus ca-certificates chromium fonts-dejavu-core gzip; }
	@test -x $(TOOLS_VENV)/bin/kubernetes-validate || { \
		{ command -v python3 >/dev/null && python3 -m venv $(TOOLS_VENV); } || { \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
				python3 python3-venv && python3 -m venv $(TOOLS_VENV); }; \
		$(TOOLS_VENV)/bin/pip install -q kubernetes-validate; }

build: deps
	$(SWIFT) build -c release --product peregrine

## Runs the engine's main job on the embedded default: synthetic source at 100k events/s for 10 s,
## 30% of it order flow for the hosted venue, where a market maker trades (docs/strategies.md).
run: build
	.build/release/peregrine run $(RUN_ARGS)

## Builds everything (the CLI too: the tests run it) and runs every test, with a
## nats-server of its own on a loopback port (scripts/with-nats-server.sh; stopped by PID),
## then builds and tests Examples/CustomStrategy (a strategy from outside the package).
test: test-deps
	scripts/check-layering.sh
	$(SWIFT) build --build-tests
	scripts/with-nats-server.sh $(SWIFT) test
	cd Examples/CustomStrategy && $(SWIFT) build --build-tests && $(SWIFT) test

## package-benchmark suites (malloc counts, thresholds) and the C++ SPSC baseline comparison.
bench: deps
	@command -v g++ >/dev/null || { apt-get update -qq && apt-get install -y -qq g++; }
	bash Benchmarks/run.sh

format:
	@# Style: .swift-format (4 spaces, 120 columns).
	$(SWIFT) format --in-place --recursive Sources Tests Plugins Benchmarks/Benchmarks Benchmarks/Sources
