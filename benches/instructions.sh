#!/usr/bin/env bash
# Instructions per lifecycle, handshake + teardown and with a request and
# response, both engines on one core (benches/instructions.rs under
# valgrind's callgrind, counting only the measured rounds). Deterministic:
# compare two commits by running this in each. Needs valgrind.
# Usage: benches/instructions.sh [WARM_ROUNDS=1500] [ROUNDS=500]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
command -v valgrind >/dev/null || { echo "instructions: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
warm=${1:-1500} rounds=${2:-500}
bin=$(cargo bench --bench instructions --no-run --message-format=json 2>/dev/null \
    | sed -n 's/.*"executable":"\([^"]*instructions[^"]*\)".*/\1/p' | tail -1)
[[ -x $bin ]] || { echo "instructions: the bench did not build" >&2; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
for mode in bare rr; do
    log=$(valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
        --toggle-collect='instructions::measure' "$bin" "$mode" "$warm" "$rounds" 2>&1)
    n=$(awk '/^lifecycles/{print $2}' <<<"$log")
    ir=$(awk '/Collected :/{print $4}' <<<"$log")
    [[ -n $n && -n $ir ]] || { echo "instructions: no count for $mode" >&2; echo "$log" >&2; exit 1; }
    label=$([[ $mode == bare ]] && echo "handshake + teardown" || echo "with request/response")
    printf '%-24s %8d instructions per lifecycle\n' "$label" $((ir / n))
done
