#!/usr/bin/env bash
# Runs the Go-built Jaeger on loopback only, with in-memory storage, building
# it first if needed (scripts/jaeger-build.sh). It serves the web UI at
# http://127.0.0.1:16686 when the UI's built assets are available:
# $JAEGER_UI_ASSETS, else ../shared/jaeger-ui/build beside the checkout;
# without them, the query API only.
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
if [[ -z ${JAEGER_UI_ASSETS:-} && -f ../shared/jaeger-ui/build/index.html ]]; then
	JAEGER_UI_ASSETS=$(cd ../shared/jaeger-ui/build && pwd)
fi
if [[ -n ${JAEGER_UI_ASSETS:-} ]]; then
	if [[ ! -f $JAEGER_UI_ASSETS/index.html ]]; then
		echo "jaeger-run: JAEGER_UI_ASSETS=$JAEGER_UI_ASSETS holds no index.html" >&2
		exit 1
	fi
	echo "jaeger-run: web UI at http://127.0.0.1:${JAEGER_QUERY_HTTP_PORT:-16686} (assets: $JAEGER_UI_ASSETS)" >&2
else
	echo "jaeger-run: no web UI assets (set JAEGER_UI_ASSETS or put them in ../shared/jaeger-ui/build); query API only" >&2
fi
export JAEGER_UI_ASSETS=${JAEGER_UI_ASSETS:-}
exec "$bin" --config "$(pwd)/tools/jaeger.yaml" "$@"
