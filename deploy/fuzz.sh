#!/usr/bin/env bash
# Runs every cargo-fuzz target (tests/fuzz) for SECONDS each (default 60).
# cargo-fuzz wants nightly for its sanitizer flags; RUSTC_BOOTSTRAP lets the
# stable toolchain accept them, since only one toolchain is installed here.
# A crash leaves its input in tests/fuzz/artifacts/TARGET/ and fails the run;
# turn it into a regression test before fixing it.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-60}
command -v cargo-fuzz >/dev/null || cargo install --locked --quiet cargo-fuzz
for target in $(cargo fuzz list --fuzz-dir tests/fuzz); do
    echo "fuzz: $target for ${secs}s"
    RUSTC_BOOTSTRAP=1 cargo fuzz run --fuzz-dir tests/fuzz "$target" -- -max_total_time="$secs" 2>&1 | tail -n 20
done
