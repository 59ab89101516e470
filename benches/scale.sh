#!/usr/bin/env bash
# Cost and cache misses per lifecycle as TIME-WAIT grows (issue 14): the
# scale bench once per size under `perf stat`, its counters enabled only
# while the bench measures (a control FIFO), divided by the lifecycles it
# measured. Without hardware counters (most VMs) it says so and prints the
# bench's own figures.
# --simulate: no clock and no counters, but callgrind's cache model (D1 as
# given, last level 32 MiB, 16-way, as this project's machines have) over a
# fixed number of lifecycles at each size: instructions and D1 and
# last-level misses per lifecycle, the same from run to run. Needs
# valgrind; each size fills its table uninstrumented first (minutes at 10 M).
# Usage: benches/scale.sh [--simulate] [--idle N] [--secs S] [--bare] [SIZES...]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
opts=(); sizes=(); simulate=
while (($#)); do
    case $1 in
        --simulate) simulate=1; shift ;;
        --idle|--secs) opts+=("$1" "$2"); shift 2 ;;
        --bare) opts+=("$1"); shift ;;
        *) sizes+=("$1"); shift ;;
    esac
done
((${#sizes[@]})) || sizes=(50000 1000000 10000000)
cargo bench --bench scale --no-run --quiet 2>/dev/null
if [[ -n $simulate ]]; then
    command -v valgrind >/dev/null || { echo "scale: --simulate needs valgrind (apt-get install valgrind)" >&2; exit 1; }
    bin=$(cargo bench --bench scale --no-run --message-format=json 2>/dev/null \
        | sed -n 's/.*"executable":"\([^"]*scale[^"]*\)".*/\1/p' | tail -1)
    [[ -x $bin ]] || { echo "scale: the bench did not build" >&2; exit 1; }
    dir=$(mktemp -d); pid=
    trap '[[ -n $pid ]] && kill "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
    cache=(--D1=32768,8,64 --LL=33554432,16,64)
    echo "simulated caches (callgrind): D1 32 KiB 8-way, LL 32 MiB 16-way, 64 B lines"
    printf '%12s %14s %14s %14s\n' TIME-WAIT instr/lifecycle D1miss/lifecycle LLmiss/lifecycle
    for n in "${sizes[@]}"; do
        rm -f "$dir/ready" "$dir/go"
        SYNWAVE_CACHE_SIM=$dir valgrind --tool=callgrind --instr-atstart=no --cache-sim=yes "${cache[@]}" \
            --toggle-collect='scale::counted' --callgrind-out-file="$dir/cg" \
            "$bin" "${opts[@]}" "$n" > "$dir/out" 2> "$dir/err" &
        pid=$!
        until [[ -e $dir/ready ]]; do
            kill -0 "$pid" 2>/dev/null || { cat "$dir/err" >&2; echo "scale: the bench ended before measuring" >&2; exit 1; }
            sleep 1
        done
        callgrind_control -i on "$pid" > /dev/null 2>&1
        touch "$dir/go"
        wait "$pid" || { cat "$dir/err" >&2; echo "scale: the bench failed at $n" >&2; exit 1; }
        pid=
        read -r _ live done < <(grep '^simulated' "$dir/out")
        read -r ir _ _ _ d1r d1w _ llr llw < <(awk '/Collected :/{ for (i = 4; i <= NF; i++) printf "%s ", $i; print "" }' "$dir/err")
        awk -v l="$live" -v d="$done" -v ir="$ir" -v d1="$((d1r + d1w))" -v ll="$((llr + llw))" \
            'BEGIN { printf "%12d %14.0f %14.1f %14.2f\n", l, ir / d, d1 / d, ll / d }'
    done
    exit 0
fi
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
    read -r live ns _ _ done _ <<<"$row"
    get() { awk -F, -v e="$1" '$3 == e { print $1 }' "$dir/stat"; }
    awk -v l="$live" -v ns="$ns" -v d="$done" -v m="$(get cache-misses)" -v r="$(get cache-references)" -v i="$(get instructions)" \
        'BEGIN { printf "%12d %12.1f %14.1f %14.1f %14.0f\n", l, ns, m / d, r / d, i / d }'
done
head -1 "$dir/out"
