#!/usr/bin/env bash
# Builds the Jaeger binary pinned in tools/go.mod (a module of its own, so the
# main go.mod does not carry Jaeger's dependencies) into a cache, once.
#
#   scripts/jaeger-build.sh          # prints the binary's path
#
# Cache: $JAEGER_CACHE_DIR, default <repo>/.cache/bin (git-ignored). The binary
# is rebuilt only when tools/go.mod or tools/go.sum or the Go version change
# (a stamp file records them). Cold build: several minutes on 2 cores; the Go
# build cache makes later rebuilds fast.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/gotool-build.sh jaeger tools github.com/jaegertracing/jaeger/cmd/jaeger \
	github.com/jaegertracing/jaeger "${JAEGER_CACHE_DIR:-}"
