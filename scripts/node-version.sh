#!/usr/bin/env bash
# Prints the Node.js version the image is built on (the Dockerfile's BUILD_BASE tag): the one
# version the tests run on and the local image bases carry, so all three move together.
set -euo pipefail
version=$(sed -n 's/^ARG BUILD_BASE=node:\([0-9][0-9.]*\)-.*/\1/p' "$(dirname "${BASH_SOURCE[0]}")/../Dockerfile")
[ -n "$version" ] || { echo "node-version: no ARG BUILD_BASE=node:<version>-... in the Dockerfile" >&2; exit 1; }
echo "$version"
