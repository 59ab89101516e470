#!/usr/bin/env bash
# How long a frame handed off to an idle worker waits: `synwave serve
# --workers 2` on a 2-queue veth, a kernel client connecting at a modest
# rate (200/s, one at a time) and timing connect(). The kernel picks its
# transmit queue per socket, and a passive open's owner is a fixed hash of
# its tuple, so about half the SYNs arrive at the worker that does not own
# them and are handed off; at this rate the owner is asleep in poll(2)
# when they come.
#
# Usage: benches/handoff_latency.sh [BINARY...]   (default: target/release/synwave)
# Each binary is measured 3 times, alternating, 2000 connects each;
# prints connect() p50/p90/p99 in µs.
set -euo pipefail
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
    cargo build --release --quiet
    bins=("$PWD/target/release/synwave")
fi
A=swhl-a B=swhl-b
cleanup() {
    [ -n "${srv:-}" ] && kill -INT "$srv" 2>/dev/null && wait "$srv" 2>/dev/null || true
    # Only what this run created: a namespace of the same name that was
    # there before (ip netns add fails on it) is not ours to remove.
    for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null || true; done
}
made=()
trap cleanup EXIT
for n in "$A" "$B"; do ip netns add "$n"; made+=("$n"); done
q=(numrxqueues 2 numtxqueues 2)
ip link add hl0 netns "$A" "${q[@]}" type veth peer name hl1 netns "$B" "${q[@]}"
for side in "$A hl0 10.78.0.1" "$B hl1 10.78.0.2"; do
    set -- $side
    ip -n "$1" addr add "$3/24" dev "$2"
    ip -n "$1" link set lo up
    ip netns exec "$1" ethtool -K "$2" tx off >/dev/null
    ip -n "$1" link set "$2" up
done
printf '%-32s %8s %8s %8s\n' binary p50 p90 p99
for round in 1 2 3; do
    for bin in "${bins[@]}"; do
        ip netns exec "$A" "$bin" serve --iface hl0 --workers 2 --listen 10.78.0.1:9393 \
            >/dev/null 2>&1 &
        srv=$!
        sleep 1.5
        ip netns exec "$B" python3 -c '
import socket, sys, time
lat = []
for i in range(2000):
    s = socket.socket()
    t = time.perf_counter()
    s.connect(("10.78.0.1", 9393))
    lat.append((time.perf_counter() - t) * 1e6)
    s.close()
    time.sleep(0.005)
lat.sort()
q = lambda p: int(lat[int(p * (len(lat) - 1))])
print("%-32s %8d %8d %8d" % (sys.argv[1][-32:], q(0.5), q(0.9), q(0.99)))' "$bin"
        kill -INT "$srv"
        wait "$srv" || true
        srv=
    done
done
