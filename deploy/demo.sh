#!/usr/bin/env bash
# The main job on a built-in testbed: installs what is missing, builds, and
# runs `synwave demo` (veth testbed, Linux kernel server as the peer,
# synwave and kernel sockets load it in turn, everything removed after).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
deploy/setup.sh
cargo build --release --quiet
exec target/release/synwave demo "$@"
