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
root=$(pwd)
pkg=github.com/jaegertracing/jaeger/cmd/jaeger
dir=${JAEGER_CACHE_DIR:-$root/.cache/bin}
bin=$dir/jaeger
stampfile=$dir/jaeger.stamp

version=$(cd tools && go list -m -f '{{.Version}}' github.com/jaegertracing/jaeger)
stamp="jaeger $version; $(go env GOVERSION); $(cat tools/go.mod tools/go.sum | sha256sum | cut -d' ' -f1)"

fresh() { [[ -x $bin && -f $stampfile && "$(cat "$stampfile")" == "$stamp" ]]; }
if fresh; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir"
# One build at a time (parallel `make test`s share the cache); whoever waited
# finds the fresh binary.
exec 9>"$dir/jaeger.lock"
flock 9
if fresh; then
	echo "$bin"
	exit 0
fi
tmp=$(mktemp "$dir/jaeger.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "jaeger-build: building $pkg@$version into $bin (minutes on a cold cache)" >&2
start=$(date +%s)
(cd tools && GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o "$tmp" "$pkg")
mv -f "$tmp" "$bin"
printf '%s\n' "$stamp" >"$stampfile"
echo "jaeger-build: built in $(($(date +%s) - start))s" >&2
echo "$bin"
