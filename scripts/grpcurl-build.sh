#!/usr/bin/env bash
# Builds grpcurl, pinned in tools/grpcurl/go.mod (its own module: its gRPC
# and protobuf versions need not follow Jaeger's), into <repo>/.cache/bin
# once (seconds to a minute), for the Open Inference Protocol's gRPC tests
# (cmd/splitinfer's serve process test).
#
#   scripts/grpcurl-build.sh         # prints the binary's path
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/gotool-build.sh grpcurl tools/grpcurl github.com/fullstorydev/grpcurl/cmd/grpcurl \
	github.com/fullstorydev/grpcurl "${GRPCURL_CACHE_DIR:-}"
