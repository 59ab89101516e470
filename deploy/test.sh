#!/usr/bin/env bash
# The whole test suite: unit, property, simulated-wire and (as root) the
# veth-testbed integration tests. Under CI=true, tests that need root or
# network namespaces fail instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
deploy/setup.sh
exec cargo test --release "$@"
