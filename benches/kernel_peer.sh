# Sourced by the benches that compare synwave with the kernel's tools on one
# veth testbed (one_source.sh, side_by_side.sh): builds synwave, brings the
# testbed up in namespaces $NS_A/$NS_B (removed again on exit, with every
# process in "pids"), and writes the request, the response and an nginx
# configuration (2 workers, reuseport, a long backlog) into $tmp. The caller
# sets secs, NS_A, NS_B and STATE first.
cargo build --release --quiet
sw=$PWD/target/release/synwave
export NS_A NS_B STATE
deploy/testbed.sh up >/dev/null
tmp=$(mktemp -d)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    deploy/testbed.sh down >/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT
A() { ip netns exec "$NS_A" "$@"; }
B() { ip netns exec "$NS_B" "$@"; }
# Completed connections per second of a load run, with its failures on stderr.
rate() {
    python3 -c '
import json, sys
d = json.load(sys.stdin)
errors = {k: v for k, v in d["errors"].items() if v}
if errors:
    print("  (%d of %d failed: %s)" % (sum(errors.values()), d["started"], errors), file=sys.stderr)
print(d["completed"] / float(sys.argv[1]))' "$secs"
}
# wrk's requests (one connection each) per second at concurrency $1 against URL $2.
wrk_rate() { A wrk -t2 -c"$1" -d"${secs}s" -H 'Connection: close' "$2" | awk '/Requests\/sec/ {print $2}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}x')"; }

printf 'GET / HTTP/1.1\r\nHost: 10.77.0.2\r\nConnection: close\r\n\r\n' >"$tmp/req"
printf 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok' >"$tmp/resp"
cat >"$tmp/nginx.conf" <<NGINX
worker_processes 2;
pid $tmp/nginx.pid;
error_log $tmp/error.log;
daemon off;
events { worker_connections 65536; }
http { access_log off; server { listen 10.77.0.2:80 reuseport backlog=65535; location / { return 200 "ok"; } } }
NGINX
