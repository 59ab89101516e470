#!/usr/bin/env bash
# Side-by-side benchmark on one veth testbed, in one run (run on demand, not
# in CI; needs root). Prints each comparison as a ratio:
#   1. client side: synwave load vs a kernel-socket load generator (wrk when
#      installed, else synwave kernel-load), both against the same synwave serve;
#   2. server side: synwave serve vs a kernel-socket server (synwave
#      kernel-serve), both loaded by synwave load;
#   3. handshake latency: synwave vs the kernel's connect().
# Usage: benches/side_by_side.sh [SECONDS]   (default 5 per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-5}
cargo build --release --quiet
sw=$PWD/target/release/synwave
export NS_A=swbench-a NS_B=swbench-b STATE=/run/synwave-bench.state
deploy/testbed.sh up >/dev/null
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    deploy/testbed.sh down >/dev/null
}
trap cleanup EXIT
A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))" "$1"; }
# A load run's rate of completed connections; failures are reported on stderr.
achieved() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
errors = sum(d["errors"].values())
if d["completed"] + errors != d["started"]:
    sys.exit("load run did not reconcile: started %d completed %d errors %s" % (d["started"], d["completed"], d["errors"]))
if errors:
    print("  (%d of %d connections failed: %s)" % (errors, d["started"], {k: v for k, v in d["errors"].items() if v}), file=sys.stderr)
print(d["rate"]["achieved"] * d["completed"] / max(d["started"], 1))'
}
req='GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n'
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }

echo "== 1. client side: against synwave serve on $NS_B (10.77.0.2:8080)"
ip netns exec "$NS_B" "$sw" serve --iface sw1 --listen 10.77.0.2:8080 --response <(printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok') \
    --msl-ms 1000 >/dev/null 2>&1 & pids+=($!)
sleep 1
ours=$(A "$sw" load --iface sw0 --target 10.77.0.2:8080 --concurrency 256 --duration "$secs" --request "$req" \
    --response-until-fin --msl-ms 1000 --src 10.77.0.0/27 --ports 10000-60000 --json | achieved)
if command -v wrk >/dev/null; then
    theirs=$(A wrk -t2 -c256 -d"${secs}s" -H 'Connection: close' http://10.77.0.2:8080/ | awk '/Requests\/sec/ {print $2}')
    gen="wrk -t2 -c256 (epoll), one connection per request"
else
    theirs=$(A "$sw" kernel-load --target 10.77.0.2:8080 --connections 20000 --threads 16 --json | json 'd["conn_per_s"]')
    gen="synwave kernel-load (16 threads, blocking sockets; install wrk for an epoll generator)"
fi
printf '  synwave load           %10.0f conn/s\n  kernel (%s) %10.0f conn/s\n  ratio %s\n' "$ours" "$gen" "$theirs" "$(ratio "$ours" "$theirs")"
kill -INT "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'

echo "== 2. server side: loaded by synwave load from $NS_A"
ip netns exec "$NS_B" "$sw" serve --iface sw1 --listen 10.77.0.2:8080 --response <(printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok') \
    --close wait-client --msl-ms 1000 >/dev/null 2>&1 & pids+=($!)
sleep 1
ours=$(A "$sw" load --iface sw0 --target 10.77.0.2:8080 --concurrency 256 --duration "$secs" --request "$req" \
    --response-bytes 40 --msl-ms 1000 --src 10.77.0.0/27 --ports 10000-60000 --json | achieved)
kill -INT "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'
ip netns exec "$NS_B" "$sw" kernel-serve --listen 10.77.0.2:8081 --threads 2 --duration 600 >/dev/null 2>&1 & pids+=($!)
sleep 1
theirs=$(A "$sw" load --iface sw0 --target 10.77.0.2:8081 --concurrency 256 --duration "$secs" --request "$req" \
    --response-bytes 40 --msl-ms 1000 --src 10.77.0.0/27 --ports 10000-60000 --json | achieved)
printf '  synwave serve          %10.0f conn/s\n  kernel server (2 threads) %7.0f conn/s\n  ratio %s\n' "$ours" "$theirs" "$(ratio "$ours" "$theirs")"

echo "== 3. handshake latency against the kernel listener, 1000/s"
A "$sw" latency --iface sw0 --target 10.77.0.2:8081 --rate 1000 --connections 3000 --compare-kernel --msl-ms 1000
