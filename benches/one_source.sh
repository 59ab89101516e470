#!/usr/bin/env bash
# The main job on defaults, one source address, in one run (on demand, not in
# CI; needs root; installs nothing beyond deploy/setup.sh's packages):
#   1. against synwave serve (which closes first): synwave load vs wrk, both
#      one connection per request with `Connection: close`;
#   2. against nginx (reuseport, 2 workers): the same two.
# synwave runs with default flags from the interface's one address; wrk runs
# on a kernel tuned as an expert would for connection rate (tcp_tw_reuse,
# the widest ephemeral range); both sides' settings are printed.
# Usage: benches/one_source.sh [SECONDS]   (default 30 per measurement)
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
secs=${1:-30}
deploy/setup.sh
NS_A=swone-a NS_B=swone-b STATE=/run/synwave-one.state
# shellcheck source=benches/kernel_peer.sh
. benches/kernel_peer.sh
# synwave's figure beside wrk's at its best concurrency here (64) and at
# synwave's (256, like for like).
report() {
    local c64 c256
    c64=$(wrk_rate 64 "$2")
    c256=$(wrk_rate 256 "$2")
    printf '  synwave load --concurrency 256   %9.0f conn/s\n' "$1"
    printf '  wrk -t2 -c64                     %9.0f conn/s   synwave / wrk %s\n' "$c64" "$(ratio "$1" "$c64")"
    printf '  wrk -t2 -c256                    %9.0f conn/s   synwave / wrk %s\n' "$c256" "$(ratio "$1" "$c256")"
}

for ns in "$NS_A" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1 net.ipv4.ip_local_port_range="1024 65535" net.core.somaxconn=65535
done
echo "kernel settings (both namespaces): $(A sysctl -n net.ipv4.tcp_tw_reuse) tcp_tw_reuse," \
    "ip_local_port_range $(A sysctl -n net.ipv4.ip_local_port_range | tr '\t' ' '), somaxconn $(B sysctl -n net.core.somaxconn);" \
    "veth GRO $(B ethtool -k sw1 | awk '/generic-receive-offload/ {print $2}')"
echo "synwave: default flags, source address 10.77.0.1 only, ports 10000-30000"


echo "== 1. against synwave serve (10.77.0.2:8080, closes first), ${secs} s each"
ip netns exec "$NS_B" "$sw" serve --iface sw1 --listen 10.77.0.2:8080 --response "$tmp/resp" >/dev/null 2>&1 & pids+=($!)
sleep 1
ours=$(A "$sw" load --iface sw0 --target 10.77.0.2:8080 --concurrency 256 --duration "$secs" --request-file "$tmp/req" --json | rate)
report "$ours" http://10.77.0.2:8080/
kill -INT "${pids[-1]}"; wait "${pids[-1]}" || true; unset 'pids[-1]'

echo "== 2. against nginx (10.77.0.2:80: 2 workers, reuseport), ${secs} s each"
ip netns exec "$NS_B" nginx -c "$tmp/nginx.conf" & pids+=($!)
sleep 1
ours=$(A "$sw" load --iface sw0 --target 10.77.0.2:80 --concurrency 256 --duration "$secs" --request-file "$tmp/req" --json | rate)
report "$ours" http://10.77.0.2:80/
