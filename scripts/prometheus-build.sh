#!/usr/bin/env bash
# Builds Prometheus from its Go module (tools/prometheus, a module of its
# own) into the cache once, for the dashboard test (cmd/splitinfer's
# TestPrometheusDashboard). Without service discovery plugins
# (remove_all_sd: only static targets are scraped) and without the web UI's
# assets: the query API is all the test needs, and the build stays small.
#   scripts/prometheus-build.sh        # prints the binary's path
set -euo pipefail
cd "$(dirname "$0")/.."
GOTOOL_TAGS=remove_all_sd exec bash scripts/gotool-build.sh prometheus tools/prometheus \
	github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus "${PROMETHEUS_CACHE_DIR:-}"
