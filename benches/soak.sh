#!/usr/bin/env bash
# Soak: synwave load against synwave serve for minutes through a lossy
# router, then check that every connection is accounted for, both tables
# drain to zero after 2MSL, and memory stays flat. On demand (root), bounded.
#
# AF_XDP transmits bypass qdiscs, so loss cannot be injected on synwave's
# own veth: the path is  A (synwave load, sw0) -- R (kernel router dropping
# LOSS_PERCENT of forwarded frames each way) -- B (synwave serve, sw1).
# The drop is an nftables `numgen random` rule, since not every kernel has
# sch_netem (this project's does not); needs the nftables package.
# Usage: benches/soak.sh [MINUTES=2] [LOSS_PERCENT=1] [RATE=2000]
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
minutes=${1:-2}; loss=${2:-1}; rate=${3:-2000}
msl_ms=500
cargo build --release --quiet
sw=$PWD/target/release/synwave
A=swsoak-a; R=swsoak-r; B=swsoak-b
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for n in $A $R $B; do ip netns del $n 2>/dev/null || true; done
}
trap cleanup EXIT
for n in $A $R $B; do ip netns add $n; done
ip link add sw0 netns $A type veth peer name ra netns $R
ip link add sw1 netns $B type veth peer name rb netns $R
ip -n $A addr add 10.78.1.2/24 dev sw0; ip -n $R addr add 10.78.1.1/24 dev ra
ip -n $B addr add 10.78.2.2/24 dev sw1; ip -n $R addr add 10.78.2.1/24 dev rb
for n in $A $R $B; do ip -n $n link set lo up; done
for l in "$A sw0" "$R ra" "$R rb" "$B sw1"; do set -- $l; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 tx off gro on >/dev/null; done
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
ip -n $A route add default via 10.78.1.1; ip -n $B route add default via 10.78.2.1
command -v nft >/dev/null || { echo "soak: needs nft (apt-get install nftables)" >&2; exit 1; }
ip netns exec $R nft add table inet soak
ip netns exec $R nft add chain inet soak forward '{ type filter hook forward priority 0; }'
ip netns exec $R nft add rule inet soak forward numgen random mod 100 '<' "$loss" counter drop

printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok' > /tmp/swsoak-response
ip netns exec $B "$sw" serve --iface sw1 --listen 10.78.2.2:8080 --response /tmp/swsoak-response \
    --close wait-client --msl-ms $msl_ms --json > /tmp/swsoak-serve.json 2>/tmp/swsoak-serve.err & pids+=($!)
serve_pid=${pids[-1]}
sleep 1
# The load's next hop is the router: resolve it by pinging through it once.
ip netns exec $A ping -c1 -W1 10.78.1.1 >/dev/null 2>&1 || true
ip netns exec $A "$sw" load --iface sw0 --target 10.78.2.2:8080 --rate "$rate" --duration $((minutes * 60)) \
    --request 'GET / HTTP/1.1\r\n\r\n' --response-bytes 40 --msl-ms $msl_ms --drain --json > /tmp/swsoak-load.json & pids+=($!)
load_pid=${pids[-1]}
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status 2>/dev/null || echo 0; }
echo "soak: $minutes min at $rate conn/s, ${loss}% loss each way; RSS (kB) of load / serve every 10 s:"
samples=()
while kill -0 $load_pid 2>/dev/null; do
    sleep 10
    l=$(rss $load_pid); s=$(rss $serve_pid); samples+=("$s")
    echo "  load $l  serve $s"
done
wait $load_pid
echo "router dropped: $(ip netns exec $R nft list chain inet soak forward | grep -o 'packets [0-9]*')"
sleep $(( (2 * msl_ms) / 1000 + 2 ))
kill -INT $serve_pid; wait $serve_pid || true
python3 - "${samples[@]}" <<'PY'
import json, sys
load = json.load(open("/tmp/swsoak-load.json")); serve = json.load(open("/tmp/swsoak-serve.json"))
errors = sum(load["errors"].values())
problems = []
if load["started"] != load["completed"] + errors:
    problems.append("load counts do not reconcile")
for name, d in (("load", load), ("serve", serve)):
    if d["tcbs_left"] or d["time_wait_left"]:
        problems.append(f"{name}: {d['tcbs_left']} TCBs and {d['time_wait_left']} TIME-WAIT left after 2MSL")
rss = [int(x) for x in sys.argv[1:] if x.isdigit() and int(x) > 0]
if len(rss) >= 3 and rss[-1] > 1.2 * rss[len(rss) // 3] + 1024:
    problems.append(f"serve memory grew: {rss}")
print(f"load: started {load['started']} completed {load['completed']} errors {load['errors']}")
print(f"      retransmits {load['engine']['retransmits']}, connect p99 {load['latency_us']['connect']['p99']} us")
print(f"serve: accepted {serve['accepted']} closed {serve['closed']} reset {serve['reset']} timed_out {serve['timed_out']}, retransmits {serve['engine']['retransmits']}")
print("soak: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
sys.exit(1 if problems else 0)
PY
