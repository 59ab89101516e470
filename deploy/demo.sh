#!/usr/bin/env bash
# The main job on a built-in testbed: installs what is missing, builds, and
# runs `synwave demo` (veth testbed, nginx as the peer on a tuned kernel,
# synwave and wrk load it in turn like for like, everything removed after).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
deploy/setup.sh
cargo build --release --quiet
exec target/release/synwave demo "$@"
