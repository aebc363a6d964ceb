#!/usr/bin/env bash
# Builds the release binary the way every script here ships it, and prints its path.
# --static-swift-stdlib puts the Swift runtime and Foundation inside the binary: nothing is
# loaded from the toolchain at run time, and the runtime is called directly (README,
# Benchmark). Build output goes to standard error.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --static-swift-stdlib --product ledgerd >&2
echo "$(swift build -c release --static-swift-stdlib --show-bin-path)/ledgerd"
