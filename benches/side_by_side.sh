#!/usr/bin/env bash
# Side-by-side benchmark on one veth testbed, in one run (on demand, not in
# CI; needs root; installs nothing beyond deploy/setup.sh's packages). The
# kernel's side is its strongest tools: wrk as the client and nginx as the
# server, on kernels tuned as an expert tunes them for connection rate (both
# sides' settings printed). Every comparison is like for like first — same
# server, request (`Connection: close`, one per connection), close,
# concurrency, one source address each, synwave on default flags — and a
# separate line shows what synwave gains from source addresses wrk cannot use.
#   1. client side against nginx: synwave load vs wrk;
#   2. client side against synwave serve (a server that is not the bottleneck);
#   3. server side: synwave serve vs nginx, both loaded by wrk;
#   4. synwave's frames/s (synwave load against synwave serve) as a fraction
#      of the veth's AF_XDP frame ceiling (benches/ceiling.rs: frames bounced
#      with no TCP), in ROUNDS rounds of a load run followed at once by a
#      ceiling run, each round's fraction and their median printed: the
#      machine's speed drifts by tens of percent between runs, and a ratio
#      holds only within one round;
#   5. handshake latency against nginx: synwave vs the kernel's connect().
# Usage: benches/side_by_side.sh [SECONDS] [ROUNDS]   (default 5 per
# measurement, 5 rounds in 4.)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-5} rounds=${2:-5}
[[ $secs =~ ^[1-9][0-9]*$ && $rounds =~ ^[1-9][0-9]*$ ]] ||
    { echo "usage: benches/side_by_side.sh [SECONDS] [ROUNDS] (whole numbers from 1)" >&2; exit 2; }
NS_A=swbench-a NS_B=swbench-b STATE=/run/synwave-bench.state
# shellcheck source=benches/kernel_peer.sh
. benches/kernel_peer.sh
row() { printf '  %-46s %9.0f conn/s%s\n' "$1" "$2" "${3:+   $3}"; }
load() { A "$sw" load --iface sw0 --target "$1" --concurrency 256 --duration "$secs" --request-file "$tmp/req" "${@:2}" --json | tee "$tmp/last.json" | rate; }
# Frames both ways per completed connection of the last load run.
frames_per() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); e=d["engine"]; print((e["frames_in"]+e["frames_out"])/max(d["completed"],1))' "$tmp/last.json"; }
# synwave serve on 10.77.0.2:8080 in B, started directly rather than
# through B so that $! is the process itself and SIGINT reaches it; stopped
# again by serve_down.
serve_up() {
    ip netns exec "$NS_B" "$sw" serve --iface sw1 --listen 10.77.0.2:8080 --response "$tmp/resp" >/dev/null 2>&1 & pids+=($!)
    sleep 1
}
serve_down() { kill -INT "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'; }

A sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535"
B sysctl -qw net.core.somaxconn=65535 net.ipv4.tcp_max_syn_backlog=65535
echo "client kernel (wrk): tcp_tw_reuse $(A sysctl -n net.ipv4.tcp_tw_reuse)," \
    "ip_local_port_range $(A sysctl -n net.ipv4.ip_local_port_range | tr '\t' ' ')"
echo "server kernel (nginx): somaxconn $(B sysctl -n net.core.somaxconn)," \
    "tcp_max_syn_backlog $(B sysctl -n net.ipv4.tcp_max_syn_backlog); veth GRO $(B ethtool -k sw1 | awk '/generic-receive-offload/ {print $2}')"
echo "nginx: 2 workers, reuseport, backlog 65535; synwave: default flags, 1 worker; ${secs} s per figure"

# Started directly, not through A/B: $! must be the process itself for the
# signals below to reach it.
ip netns exec "$NS_B" nginx -c "$tmp/nginx.conf" & pids+=($!)
sleep 1

echo "== 1. client side, against nginx (10.77.0.2:80)"
ours=$(load 10.77.0.2:80)
theirs=$(wrk_rate 256 http://10.77.0.2:80/)
more=$(load 10.77.0.2:80 --src 10.77.0.0/27)
row "synwave load -c256 (one source address)" "$ours" "synwave / wrk $(ratio "$ours" "$theirs")"
row "wrk -t2 -c256" "$theirs"
row "synwave load -c256 --src 10.77.0.0/27 (29 addresses; wrk cannot)" "$more" "$(ratio "$more" "$theirs")"

echo "== 2. client side, against synwave serve (10.77.0.2:8080, closes first)"
serve_up
ours=$(load 10.77.0.2:8080)
theirs=$(wrk_rate 256 http://10.77.0.2:8080/)
row "synwave load -c256 (one source address)" "$ours" "synwave / wrk $(ratio "$ours" "$theirs")"
row "wrk -t2 -c256" "$theirs"

echo "== 3. server side, both loaded by wrk -t2 -c256"
ours=$(wrk_rate 256 http://10.77.0.2:8080/)
theirs=$(wrk_rate 256 http://10.77.0.2:80/)
row "synwave serve (1 worker)" "$ours" "synwave / nginx $(ratio "$ours" "$theirs")"
row "nginx (2 workers)" "$theirs"
serve_down

echo "== 4. the frame ceiling: AF_XDP frames bounced across this veth, no TCP (benches/ceiling.rs), $rounds rounds"
# The server runs only during its round's load: a worker left polling would
# take a core from the ceiling run.
fractions=()
for ((r = 1; r <= rounds; r++)); do
    serve_up
    conns=$(load 10.77.0.2:8080)
    per=$(frames_per)
    serve_down
    ceiling=$(cargo bench --quiet --bench ceiling -- "$secs" 2>/dev/null | awk -F= '/^ceiling_frames_per_s=/ {print $2}')
    [[ -n $ceiling ]] || { echo "side_by_side: the ceiling bench printed no figure" >&2; exit 1; }
    fps=$(python3 -c "print($conns*$per)")
    fraction=$(python3 -c "print(f'{$fps/$ceiling:.2f}')")
    fractions+=("$fraction")
    printf '  round %d: synwave %.0f conn/s x %.1f frames = %.0f frames/s; ceiling %.0f frames/s: %s of the ceiling\n' \
        "$r" "$conns" "$per" "$fps" "$ceiling" "$fraction"
done
printf '  median of %d rounds: %s of the ceiling\n' "$rounds" \
    "$(printf '%s\n' "${fractions[@]}" | sort -n | awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : sprintf("%.2f", (a[NR / 2] + a[NR / 2 + 1]) / 2)}')"

echo "== 5. handshake latency against nginx, 1000/s"
A "$sw" latency --iface sw0 --target 10.77.0.2:80 --rate 1000 --connections 3000 --compare-kernel
