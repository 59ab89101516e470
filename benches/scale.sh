#!/usr/bin/env bash
# Cost and cache misses per lifecycle as TIME-WAIT grows (issue 14): the
# scale bench once per size under `perf stat`, its counters enabled only
# while the bench measures (a control FIFO), divided by the lifecycles it
# measured. Without hardware counters (most VMs) it says so and prints the
# bench's own figures.
# Usage: benches/scale.sh [--idle N] [--secs S] [--bare] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
opts=(); sizes=()
while (($#)); do
    case $1 in
        --idle|--secs) opts+=("$1" "$2"); shift 2 ;;
        --bare) opts+=("$1"); shift ;;
        *) sizes+=("$1"); shift ;;
    esac
done
((${#sizes[@]})) || sizes=(50000 1000000 10000000)
cargo bench --bench scale --no-run --quiet 2>/dev/null
events=cycles,instructions,cache-references,cache-misses
if ! command -v perf >/dev/null || perf stat -e "$events" true 2>&1 | grep -q "not supported"; then
    echo "scale: no hardware counters here (perf missing, or a VM without a PMU): cost only"
    exec cargo bench --bench scale --quiet -- "${opts[@]}" "${sizes[@]}"
fi
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
mkfifo "$dir/ctl" "$dir/ack"
printf '%12s %12s %14s %14s %14s\n' TIME-WAIT ns/lifecycle misses/lifecycle refs/lifecycle instr/lifecycle
for n in "${sizes[@]}"; do
    SYNWAVE_PERF_CTL=$dir/ctl perf stat -D -1 --control "fifo:$dir/ctl,$dir/ack" -x, -e "$events" \
        -o "$dir/stat" -- cargo bench --bench scale --quiet -- "${opts[@]}" "$n" > "$dir/out"
    row=$(tail -1 "$dir/out")
    read -r live ns _ _ done <<<"$row"
    get() { awk -F, -v e="$1" '$3 == e { print $1 }' "$dir/stat"; }
    awk -v l="$live" -v ns="$ns" -v d="$done" -v m="$(get cache-misses)" -v r="$(get cache-references)" -v i="$(get instructions)" \
        'BEGIN { printf "%12d %12.1f %14.1f %14.1f %14.0f\n", l, ns, m / d, r / d, i / d }'
done
head -1 "$dir/out"
