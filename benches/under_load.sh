#!/usr/bin/env bash
# Latency under load and scaling across workers (issue 14; on demand, root,
# not in CI), synwave load against synwave serve on the veth testbed:
#   1. the highest rate within p99 <= 5 ms and no errors (load --find-max),
#      then connect and whole-lifecycle latency p50/p99 at 10%, 50% and 90%
#      of it, with the client worker's CPU, sleeping in poll(2) when idle
#      (the default) and spinning (--busy-poll);
#   2. connections/s with 1, 2, 4… workers per side on a veth with as many
#      queues, and how many frames were handed between workers.
# On a machine with fewer than 2 cores per worker per side, 2. measures
# contention, not scaling: the script says so.
# Usage: benches/under_load.sh [SECONDS=5] [WORKER_COUNTS="1 2"]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-5}; counts=${2:-1 2}
NS_A=swload-a NS_B=swload-b STATE=/run/synwave-under-load.state
# shellcheck source=benches/kernel_peer.sh
. benches/kernel_peer.sh
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
serve() { ip netns exec "$NS_B" "$sw" serve --iface sw1 --listen 10.77.0.2:8080 --response "$tmp/resp" "$@" >/dev/null 2>&1 & pids+=($!); sleep 1; }
stop_serve() { kill -INT "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'; }
echo "synwave serve and load on default flags; $(nproc) cores shared by both; ${secs} s per figure"

echo "== 1. latency under load (1 worker each side, against synwave serve)"
serve
A "$sw" load --iface sw0 --target 10.77.0.2:8080 --request-file "$tmp/req" --find-max --max-p99 5ms \
    --rate 20000 --duration "$secs" --json >"$tmp/find-max.json" 2>"$tmp/find-max.err" || { cat "$tmp/find-max.err" >&2; exit 1; }
max=$(field 'd["find_max"]["max_rate"]' <"$tmp/find-max.json")
echo "  highest rate within p99 5 ms and no errors: ${max} conn/s"
printf '  %-4s %-6s %8s %12s %12s %12s %12s %6s\n' load idle rate "connect p50" "connect p99" "life p50" "life p99" cpu
for pct in 10 50 90; do
    r=$(python3 -c "print(round($max * $pct / 100))")
    for idle in poll busy; do
        flag=(); [[ $idle == busy ]] && flag=(--busy-poll)
        A "$sw" load --iface sw0 --target 10.77.0.2:8080 --request-file "$tmp/req" --rate "$r" --duration "$secs" \
            "${flag[@]}" --json 2>/dev/null >"$tmp/l.json"
        field '"%s %s %s %s" % tuple(d["latency_us"][k][p] for k, p in [("connect","p50"),("connect","p99"),("lifecycle","p50"),("lifecycle","p99")]) + " %.0f%%" % max(w["cpu_percent"] for w in d["workers"])' <"$tmp/l.json" |
            { read -r c50 c99 l50 l99 cpu; printf '  %-4s %-6s %8s %10sus %10sus %10sus %10sus %6s\n' "$pct%" "$idle" "$r" "$c50" "$c99" "$l50" "$l99" "$cpu"; }
    done
done
stop_serve

echo "== 2. workers per side, each on its own veth queue"
for w in $counts; do
    ((w * 2 <= $(nproc))) || echo "  (with $w workers a side on $(nproc) cores this measures contention, not scaling)"
    deploy/testbed.sh down >/dev/null; QUEUES=$w deploy/testbed.sh up >/dev/null
    serve --workers "$w"
    A "$sw" load --iface sw0 --workers "$w" --target 10.77.0.2:8080 --request-file "$tmp/req" \
        --concurrency $((256 * w)) --duration "$secs" --json 2>/dev/null >"$tmp/w.json"
    field '"%.0f %d %d" % (d["completed"] / '"$secs"', d["handed_off"], sum(d["errors"].values()))' <"$tmp/w.json" |
        { read -r rate handed errors; printf '  %2d workers: %10s conn/s, %s frames handed off, %s errors\n' "$w" "$rate" "$handed" "$errors"; }
    stop_serve
done
