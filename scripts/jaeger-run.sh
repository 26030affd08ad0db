#!/usr/bin/env bash
# Runs the Go-built Jaeger (query API, no web UI) on loopback only, with
# in-memory storage, building it first if needed (scripts/jaeger-build.sh).
#
#   scripts/jaeger-run.sh            # foreground; Ctrl-C stops it
#
# Every listener binds to 127.0.0.1 (tools/jaeger.yaml): OTLP gRPC 4317,
# OTLP HTTP 4318, query HTTP API 16686, query gRPC 16685, health 13133.
# Override ports with JAEGER_OTLP_GRPC_PORT, JAEGER_OTLP_HTTP_PORT,
# JAEGER_QUERY_HTTP_PORT, JAEGER_QUERY_GRPC_PORT, JAEGER_HEALTH_PORT; extra
# arguments go to jaeger. Point splitinfer at it with
#   OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${JAEGER_BIN:-$(bash scripts/jaeger-build.sh)}
exec "$bin" --config "$(pwd)/tools/jaeger.yaml" "$@"
