#!/usr/bin/env bash
# Builds a Go tool pinned in a tools module (a module of its own, so the main
# go.mod does not carry the tool's dependencies) into a cache, once.
#
#   scripts/gotool-build.sh NAME MODULE_DIR PACKAGE VERSION_MODULE [CACHE_DIR]
#
# prints the binary's path. Cache: CACHE_DIR, default <repo>/.cache/bin
# (git-ignored). GOTOOL_TAGS, if set, are the build tags. The binary is
# rebuilt only when MODULE_DIR/go.mod or go.sum, the tags or the Go version
# change (a stamp file records them); builds are
# serialised by a lock, so parallel test runs share one build.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
name=$1 moddir=$2 pkg=$3 vermod=$4
dir=${5:-$root/.cache/bin}
bin=$dir/$name
stampfile=$dir/$name.stamp

version=$(cd "$moddir" && go list -m -f '{{.Version}}' "$vermod")
tags=${GOTOOL_TAGS:-}
stamp="$name $version${tags:+ tags $tags}; $(go env GOVERSION); $(cat "$moddir/go.mod" "$moddir/go.sum" | sha256sum | cut -d' ' -f1)"

fresh() { [[ -x $bin && -f $stampfile && "$(cat "$stampfile")" == "$stamp" ]]; }
if fresh; then
	echo "$bin"
	exit 0
fi

mkdir -p "$dir"
exec 9>"$dir/$name.lock"
flock 9
if fresh; then
	echo "$bin"
	exit 0
fi
tmp=$(mktemp "$dir/$name.tmp.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "$name-build: building $pkg@$version into $bin" >&2
start=$(date +%s)
(cd "$moddir" && GOFLAGS=-mod=readonly go build -trimpath ${tags:+-tags "$tags"} -ldflags='-s -w' -o "$tmp" "$pkg")
mv -f "$tmp" "$bin"
printf '%s\n' "$stamp" >"$stampfile"
echo "$name-build: built in $(($(date +%s) - start))s" >&2
echo "$bin"
