#!/usr/bin/env bash
# Soak: synwave load against synwave serve for minutes through a lossy
# router, then check that every connection is accounted for (load: started =
# completed + errors; serve accepted = load completed), both tables drain to
# zero after 2MSL, and memory stays flat; then the same through the same
# router for the kernel's best tools, wrk against nginx (tuned as
# benches/kernel_peer.sh tunes them), whose loss recovery is the bar: each
# side's response latency p50/p99 in one table. On demand (root), bounded.
#
# AF_XDP transmits bypass qdiscs, so loss cannot be injected on synwave's
# own veth: the path is  A (client, sw0) -- R (kernel router dropping
# LOSS_PERCENT of forwarded frames each way) -- B (server, sw1).
# The drop is an nftables `numgen random` rule, since not every kernel has
# sch_netem (this project's does not); installed if missing. Checksum
# offload (and so TSO) is off on every veth and GRO on the router's, so the
# kernel, like synwave, sends MSS-sized segments and the router drops the
# same units for both.
#
# Usage: benches/soak.sh [MINUTES=2] [LOSS_PERCENT=1] [RATE=2000] [RESPONSE=2]
#   MINUTES    per side (or seconds: 20s)
#   RESPONSE   the response body in bytes (or KiB: 64KiB)
#   SYNWAVE_BIN=PATH   soak this synwave binary (say, an older commit's
#              build) instead of building this tree
#   KERNEL=0   skip wrk against nginx; WRK_CONNECTIONS (default 4) is wrk's
#              -c: wrk is closed-loop, so it cannot be held to RATE
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
minutes=${1:-2}; loss=${2:-1}; rate=${3:-2000}; size=${4:-2}
kernel=${KERNEL:-1}; wrk_c=${WRK_CONNECTIONS:-4}
case $size in
    *KiB) body=$((${size%KiB} * 1024)) ;;
    *[!0-9]*) echo "soak: RESPONSE is bytes or NKiB, not $size" >&2; exit 2 ;;
    *) body=$size ;;
esac
case $minutes in
    *s) secs=${minutes%s} ;;
    *) secs=$((minutes * 60)) ;;
esac
msl_ms=500
if [[ -n ${SYNWAVE_BIN:-} ]]; then
    sw=$SYNWAVE_BIN
else
    cargo build --release --quiet
    sw=$PWD/target/release/synwave
fi
# The lossy router's rule is nft's: no test needs it, so setup.sh installs
# it only when asked.
deploy/setup.sh nftables
command -v nft >/dev/null || { echo "soak: needs nft (apt-get install nftables)" >&2; exit 1; }
if [[ $kernel != 0 ]]; then
    for t in nginx wrk; do
        command -v $t >/dev/null || { echo "soak: needs $t (deploy/setup.sh installs it), or KERNEL=0" >&2; exit 1; }
    done
fi
A=swsoak-a; R=swsoak-r; B=swsoak-b
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    # Only what this run created: a namespace of the same name that was
    # there before (ip netns add fails on it) is not ours to remove.
    for n in "${made[@]}"; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$tmp"
}
made=()
trap cleanup EXIT
for n in $A $R $B; do ip netns add $n; made+=("$n"); done
ip link add sw0 netns $A type veth peer name ra netns $R
ip link add sw1 netns $B type veth peer name rb netns $R
ip -n $A addr add 10.78.1.2/24 dev sw0; ip -n $R addr add 10.78.1.1/24 dev ra
ip -n $B addr add 10.78.2.2/24 dev sw1; ip -n $R addr add 10.78.2.1/24 dev rb
for n in $A $R $B; do ip -n $n link set lo up; done
# GRO off on the router, so that it forwards (and drops) single segments
# rather than a kernel sender's coalesced bursts.
for l in "$A sw0 on" "$R ra off" "$R rb off" "$B sw1 on"; do
    set -- $l; ip -n $1 link set $2 up; ip netns exec $1 ethtool -K $2 tx off gro $3 >/dev/null
done
ip netns exec $R sysctl -qw net.ipv4.ip_forward=1
ip -n $A route add default via 10.78.1.1; ip -n $B route add default via 10.78.2.1
ip netns exec $R nft add table inet soak
ip netns exec $R nft add chain inet soak forward '{ type filter hook forward priority 0; }'
ip netns exec $R nft add rule inet soak forward counter
ip netns exec $R nft add rule inet soak forward numgen random mod 100 '<' "$loss" counter drop
# Frames the router has forwarded (dropped ones included) and dropped so far.
router() { ip netns exec $R nft list chain inet soak forward | grep -o 'packets [0-9]*' | awk '{print $2}' | tr '\n' ' '; }

{ printf 'HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n' "$body"; head -c "$body" /dev/zero | tr '\0' x; } >"$tmp/response"
resp_len=$(stat -c %s "$tmp/response")
echo "soak: $secs s per side, ${loss}% of forwarded frames dropped each way by R, response body $body B ($resp_len B with its header)"
echo "synwave: $sw ($("$sw" --version)), load at $rate conn/s, one request per connection, --close fin, serve --close wait-client, MSL $msl_ms ms"

echo "== synwave load -> synwave serve"
ip netns exec $B "$sw" serve --iface sw1 --listen 10.78.2.2:8080 --response "$tmp/response" \
    --close wait-client --msl-ms $msl_ms --json >"$tmp/serve.json" 2>"$tmp/serve.err" & pids+=($!)
serve_pid=${pids[-1]}
sleep 1
# The load's next hop is the router: resolve it by pinging through it once.
ip netns exec $A ping -c1 -W1 10.78.1.1 >/dev/null 2>&1 || true
router >"$tmp/router-synwave"
ip netns exec $A "$sw" load --iface sw0 --target 10.78.2.2:8080 --rate "$rate" --duration $secs \
    --request 'GET / HTTP/1.1\r\nHost: 10.78.2.2\r\n\r\n' --response-bytes "$resp_len" --msl-ms $msl_ms \
    --drain --json >"$tmp/load.json" & pids+=($!)
load_pid=${pids[-1]}
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status 2>/dev/null || echo 0; }
echo "RSS (kB) of load / serve every 10 s:"
samples=()
while kill -0 $load_pid 2>/dev/null; do
    sleep 10
    l=$(rss $load_pid); s=$(rss $serve_pid); samples+=("$s")
    echo "  load $l  serve $s"
done
wait $load_pid || true
router >>"$tmp/router-synwave"
sleep $(((2 * msl_ms) / 1000 + 2))
kill -INT $serve_pid; wait $serve_pid || true

if [[ $kernel != 0 ]]; then
    echo "== wrk -> nginx, through the same router"
    ip netns exec $A sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
    ip netns exec $B sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
    for side in "client $A" "server $B"; do
        set -- $side
        echo "$1 kernel: $(ip netns exec $2 sysctl -n net.ipv4.tcp_congestion_control), sack $(ip netns exec $2 sysctl -n net.ipv4.tcp_sack)," \
            "tcp_recovery $(ip netns exec $2 sysctl -n net.ipv4.tcp_recovery) (1: RACK), tcp_early_retrans $(ip netns exec $2 sysctl -n net.ipv4.tcp_early_retrans) (3: TLP)," \
            "tcp_tw_reuse $(ip netns exec $2 sysctl -n net.ipv4.tcp_tw_reuse), somaxconn $(ip netns exec $2 sysctl -n net.core.somaxconn)," \
            "tcp_max_syn_backlog $(ip netns exec $2 sysctl -n net.ipv4.tcp_max_syn_backlog), ip_local_port_range $(ip netns exec $2 sysctl -n net.ipv4.ip_local_port_range | tr '\t' ' ')"
    done
    mkdir -p "$tmp/www"
    head -c "$body" /dev/zero | tr '\0' x >"$tmp/www/index.html"
    chmod a+rX "$tmp" "$tmp/www" "$tmp/www/index.html"  # nginx's workers are not root
    cat >"$tmp/nginx.conf" <<NGINX
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
daemon off;
events { worker_connections 65536; }
http {
    access_log off;
    server {
        listen 10.78.2.2:80 reuseport backlog=65535;
        location / { root $tmp/www; }
        location = /status { stub_status; }
    }
}
NGINX
    echo "nginx: 2 workers, reuseport, backlog 65535, serving a $body B file; wrk -t1 -c$wrk_c --latency, Connection: close (a connection per request)"
    ip netns exec $B nginx -c "$tmp/nginx.conf" & pids+=($!)
    nginx_pid=${pids[-1]}
    sleep 1
    # nginx's count of accepted connections (stub_status), each reading one
    # more (its own), through the router like wrk.
    accepts() {
        ip netns exec $A python3 -c 'import urllib.request as u, time
for i in range(5):
    try: print(u.urlopen("http://10.78.2.2/status", timeout=10).read().decode().split("\n")[2].split()[0]); break
    except OSError: time.sleep(1)'
    }
    # synwave's client against the kernel's server: its recovery sends the
    # response, the latency is timed as in the first run.
    before=$(accepts)
    router >"$tmp/router-nginx"
    ip netns exec $A "$sw" load --iface sw0 --target 10.78.2.2:80 --rate "$rate" --duration $secs \
        --request 'GET / HTTP/1.1\r\nHost: 10.78.2.2\r\n\r\n' --json >"$tmp/load-nginx.json" || true
    router >>"$tmp/router-nginx"
    after=$(accepts)
    echo "$((after - before - 1))" >"$tmp/nginx-accepted-synwave"
    before=$(accepts)
    router >"$tmp/router-kernel"
    ip netns exec $A wrk -t1 -c"$wrk_c" -d"${secs}s" --timeout 10s --latency -H 'Connection: close' http://10.78.2.2/ >"$tmp/wrk.txt"
    router >>"$tmp/router-kernel"
    sleep 1
    after=$(accepts)
    kill -TERM $nginx_pid; wait $nginx_pid || true; unset 'pids[-1]'
    echo "$((after - before - 1))" >"$tmp/nginx-accepted-wrk"
fi

python3 - "$tmp" "$secs" "$rate" "$kernel" "$wrk_c" "${samples[@]}" <<'PY'
import json, re, sys
tmp, secs, rate, kernel, wrk_c = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4] != "0", int(sys.argv[5])
load = json.load(open(f"{tmp}/load.json")); serve = json.load(open(f"{tmp}/serve.json"))
def router(side):
    s0, d0, s1, d1 = [int(x) for x in open(f"{tmp}/router-{side}").read().split()]
    seen, dropped = s1 - s0, d1 - d0
    return f"router saw {seen} frames, dropped {dropped} ({100 * dropped / max(seen, 1):.2f}%)"
errors = sum(load["errors"].values())
problems = []
if load["started"] != load["completed"] + errors:
    problems.append(f"load: started {load['started']} != completed {load['completed']} + errors {errors}")
# Failures a server that accepted sees as closed, reset or timed out.
AFTER_ACCEPT = ("reset", "response_timeout", "retries_exhausted", "unfinished", "http_error", "bad_response")
def after_accept(d):
    failed = {k: d["errors"][k] for k in AFTER_ACCEPT if d["errors"].get(k)}
    return f" (the load failed {sum(failed.values())} after the handshake: {failed})" if failed else ""
if serve["accepted"] != load["completed"]:
    problems.append(f"serve accepted {serve['accepted']} != load completed {load['completed']}{after_accept(load)}")
for name, d in (("load", load), ("serve", serve)):
    if d["tcbs_left"] or d["time_wait_left"]:
        problems.append(f"{name}: {d['tcbs_left']} TCBs and {d['time_wait_left']} TIME-WAIT left after 2MSL")
rss = [int(x) for x in sys.argv[6:] if x.isdigit() and int(x) > 0]
if len(rss) >= 3 and rss[-1] > 1.2 * rss[len(rss) // 3] + 1024:
    problems.append(f"serve memory grew: {rss}")
e = load["engine"]
print("synwave:", router("synwave"))
print(f"  load: started {load['started']} = completed {load['completed']} + errors {errors} {({k: v for k, v in load['errors'].items() if v})}")
print(f"  serve: accepted {serve['accepted']} (load completed {load['completed']}), closed {serve['closed']}, reset {serve['reset']}, timed_out {serve['timed_out']}")
print(f"  load engine: retransmits (RTO) {e['retransmits']}, out of order {e.get('out_of_order', '-')}, queued {e.get('ooo_queued', '-')}, dup ACKs {e.get('dup_acks_sent', '-')}")
se = serve["engine"]
print(f"  serve engine: retransmits (RTO) {se['retransmits']}, fast {se.get('fast_retransmits', '-')}, recoveries {se.get('recoveries', '-')}, TLPs {se.get('tlps', '-')} (repaired {se.get('tlp_recoveries', '-')})")
def synwave_rows(who, d):
    lat = d["latency_us"]
    kinds = [("request -> response", "response"), ("first byte", "first_byte"), ("whole exchange", "lifecycle"), ("handshake", "connect")]
    kinds = [k for k in kinds if k[1] in lat]  # builds before the response histogram lack it
    return [(who if i == 0 else "", what, lat[h]["p50"], lat[h]["p90"], lat[h]["p99"], lat[h]["count"])
            for i, (what, h) in enumerate(kinds)]
rows = synwave_rows(f"synwave load -> serve, {rate}/s", load)
if kernel:
    ln = json.load(open(f"{tmp}/load-nginx.json"))
    accepted = int(open(f"{tmp}/nginx-accepted-synwave").read())
    lerr = sum(ln["errors"].values())
    print("synwave load -> nginx:", router("nginx"))
    print(f"  load: started {ln['started']} = completed {ln['completed']} + errors {lerr} {({k: v for k, v in ln['errors'].items() if v})}; nginx accepted {accepted}")
    if ln["started"] != ln["completed"] + lerr:
        problems.append("load -> nginx: counts do not reconcile")
    if accepted != ln["completed"]:
        problems.append(f"nginx accepted {accepted} != load completed {ln['completed']}{after_accept(ln)}")
    rows += synwave_rows(f"synwave load -> nginx, {rate}/s", ln)
    w = open(f"{tmp}/wrk.txt").read()
    def us(v):
        n, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", v).groups()
        return round(float(n) * {"us": 1, "ms": 1e3, "s": 1e6, "m": 6e7}[unit])
    dist = dict(re.findall(r"^\s+(50|90|99)%\s+(\S+)", w, re.M))
    done = int(re.search(r"(\d+) requests in", w).group(1))
    errs = re.search(r"Socket errors: (.*)", w)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", w)
    accepted = int(open(f"{tmp}/nginx-accepted-wrk").read())
    print("wrk -> nginx:", router("kernel"))
    print(f"  wrk: {done} requests completed, {errs.group(1) if errs else 'no socket errors'}, {non2xx.group(1) if non2xx else 0} non-2xx")
    print(f"  nginx accepted {accepted} = wrk completed {done} + {accepted - done} cut off when wrk stopped (at most -c {wrk_c}) or failed")
    if not 0 <= accepted - done <= wrk_c + (sum(int(n) for n in re.findall(r"\d+", errs.group(1))) if errs else 0):
        problems.append(f"nginx accepted {accepted}, wrk completed {done}")
    rows.append((f"wrk -c{wrk_c} -> nginx, {done / secs:.0f}/s", "request -> response", us(dist["50"]), us(dist["90"]), us(dist["99"]), done))
def fmt(v):
    return f"{v / 1e6:.3f} s" if v >= 1e6 else f"{v / 1e3:.2f} ms" if v >= 1e3 else f"{v} µs"
print("latency: 'request -> response' from writing the request to the whole response, after the handshake (wrk's and synwave's alike);")
print("  synwave's first byte, whole exchange (to the close) and handshake from each connection's intended start")
print(f"  {'':34} {'':20} {'p50':>10} {'p90':>10} {'p99':>10} {'count':>8}")
for who, what, p50, p90, p99, n in rows:
    print(f"  {who:34} {what:20} {fmt(p50):>10} {fmt(p90):>10} {fmt(p99):>10} {n:>8}")
print("soak: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
sys.exit(1 if problems else 0)
PY
