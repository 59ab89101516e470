#!/usr/bin/env bash
# synwave veth testbed: two network namespaces joined by a veth pair.
#
#   synwave-a : synwave's side, interface sw0, 10.77.0.1/24 (XDP + AF_XDP here)
#   synwave-b : kernel peer,    interface sw1, 10.77.0.2/24 (plain Linux TCP)
#
# Usage: deploy/testbed.sh up|down|status
#
# Idempotent: `up` on a complete testbed does nothing, `down` on none does
# nothing. It removes only what it created: every namespace it adds is
# recorded in $STATE, and `down` deletes only recorded namespaces (the veth
# pair dies with them). A pre-existing namespace of the same name is never
# adopted or deleted. Names and addresses can be overridden from the
# environment (NS_A, NS_B, IF_A, IF_B, IP_A, IP_B, PREFIX); QUEUES=N gives
# each veth end N receive and transmit queues (one worker each).
#
# The Rust `synwave::io::Testbed` guard does the same with unique names for
# tests; this script is for manual runs (`ip netns exec synwave-a ...`).
set -euo pipefail

NS_A=${NS_A:-synwave-a}
NS_B=${NS_B:-synwave-b}
IF_A=${IF_A:-sw0}
IF_B=${IF_B:-sw1}
IP_A=${IP_A:-10.77.0.1}
IP_B=${IP_B:-10.77.0.2}
PREFIX=${PREFIX:-24}
STATE=${STATE:-/run/synwave-testbed.state}
QUEUES=${QUEUES:-1}

die() { echo "testbed: $*" >&2; exit 1; }
ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }
recorded() { [[ -f $STATE ]] && grep -qx -- "$1" "$STATE"; }

up() {
    [[ $(id -u) -eq 0 ]] || die "needs root"
    for ns in "$NS_A" "$NS_B"; do
        if ns_exists "$ns" && ! recorded "$ns"; then
            die "namespace $ns exists but was not created by this script; refusing to touch it"
        fi
    done
    for ns in "$NS_A" "$NS_B"; do
        if ! ns_exists "$ns"; then
            ip netns add "$ns"
            echo "$ns" >>"$STATE"
        fi
    done
    if ! ip -n "$NS_A" link show "$IF_A" >/dev/null 2>&1; then
        # Created directly inside the namespaces: the names never exist in
        # the host namespace, so they cannot clash with host interfaces.
        q="numrxqueues $QUEUES numtxqueues $QUEUES"
        # shellcheck disable=SC2086 # $q is several words on purpose
        ip link add "$IF_A" netns "$NS_A" $q type veth peer name "$IF_B" netns "$NS_B" $q
    fi
    for side in A B; do
        if [[ $side == A ]]; then ns=$NS_A ifc=$IF_A ip=$IP_A; else ns=$NS_B ifc=$IF_B ip=$IP_B; fi
        ip -n "$ns" addr replace "$ip/$PREFIX" dev "$ifc"
        ip -n "$ns" link set lo up
        # veth hands the kernel's frames over with CHECKSUM_PARTIAL (checksum
        # left for "hardware"); AF_XDP sees raw bytes, so make the kernel
        # finish checksums in software on both ends.
        ip netns exec "$ns" ethtool -K "$ifc" tx off >/dev/null
        ip -n "$ns" link set "$ifc" up
    done
    # The peer's veth stays as a user's is: GRO off, no XDP program.
    status
}

down() {
    [[ $(id -u) -eq 0 ]] || die "needs root"
    [[ -f $STATE ]] || { echo "testbed: nothing to remove"; return 0; }
    # Reverse order of creation; the veth pair goes with its namespaces, and
    # with it any XDP program still attached to sw0.
    tac "$STATE" | while read -r ns; do
        [[ -n $ns ]] || continue
        if ns_exists "$ns"; then ip netns del "$ns"; echo "testbed: removed $ns"; fi
    done
    rm -f "$STATE"
}

status() {
    local rc=0
    for pair in "$NS_A:$IF_A" "$NS_B:$IF_B"; do
        ns=${pair%%:*} ifc=${pair##*:}
        if ns_exists "$ns"; then
            owner=$(recorded "$ns" && echo "created by testbed.sh" || echo "NOT created by testbed.sh")
            echo "$ns ($owner):"
            ip -n "$ns" -br addr show dev "$ifc" 2>/dev/null | sed 's/^/  /' || echo "  $ifc missing"
            ip -n "$ns" -d link show dev "$ifc" 2>/dev/null | grep -o 'prog/xdp id [0-9]*' | sed 's/^/  XDP attached: /' || true
        else
            echo "$ns: absent"
            rc=1
        fi
    done
    return $rc
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
