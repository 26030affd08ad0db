#!/usr/bin/env bash
# Builds nats-server from the version in the main go.mod (the one the
# embedded server comes from) into a cache, once, for the process tests of
# deployment behaviour (TLS, accounts, clusters, leaf nodes, kills).
#
#   scripts/nats-server-build.sh     # prints the binary's path
#
# Cache: $NATS_SERVER_CACHE_DIR, default <repo>/.cache/bin. Rebuilt when the
# main go.mod or go.sum or the Go version change (seconds from the Go build
# cache when nats-server's own version did not).
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/gotool-build.sh nats-server . github.com/nats-io/nats-server/v2 \
	github.com/nats-io/nats-server/v2 "${NATS_SERVER_CACHE_DIR:-}"
