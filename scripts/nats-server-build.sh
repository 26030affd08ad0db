#!/usr/bin/env bash
# Builds nats-server from the version in the main go.mod (the one the
# embedded server comes from) into a cache, once, for the process tests of
# deployment behaviour (TLS, accounts, clusters, leaf nodes, kills).
#
#   scripts/nats-server-build.sh     # prints the binary's path
#
# Cache: $NATS_SERVER_CACHE_DIR, default <repo>/.cache/bin. Rebuilt only when
# the nats-server version or the Go version change.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
pkg=github.com/nats-io/nats-server/v2
dir=${NATS_SERVER_CACHE_DIR:-$root/.cache/bin}
bin=$dir/nats-server
stampfile=$dir/nats-server.stamp

version=$(go list -m -f '{{.Version}}' $pkg)
stamp="nats-server $version; $(go env GOVERSION)"

fresh() { [[ -x $bin && -f $stampfile && "$(cat "$stampfile")" == "$stamp" ]]; }
if fresh; then
	echo "$bin"
	exit 0
fi
mkdir -p "$dir"
exec 9>"$dir/nats-server.lock"
flock 9
if fresh; then
	echo "$bin"
	exit 0
fi
tmp=$(mktemp "$dir/nats-server.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "nats-server-build: building $pkg@$version into $bin" >&2
GOFLAGS=-mod=readonly go build -trimpath -ldflags='-s -w' -o "$tmp" "$pkg"
mv -f "$tmp" "$bin"
printf '%s\n' "$stamp" >"$stampfile"
echo "$bin"
