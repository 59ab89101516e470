#!/usr/bin/env bash
# Prepare a real NIC for synwave, step by step and idempotently: each step
# reads the NIC's state first and changes only what differs, so a second run
# changes nothing.
#
# Usage: deploy/nic.sh [--dry-run] [--rss-key HEX] [--ntuple-ports LO-HI] IFACE WORKERS
#   --dry-run          print the commands that would change something; run none
#   --rss-key HEX      set this Toeplitz key (aa:bb:... as ethtool -X hkey takes
#                      it); default: keep the NIC's, which synwave reads at start
#   --ntuple-ports     also steer replies to synwave's source ports LO-HI with
#                      masked ntuple rules, one block of ports per queue (for
#                      NICs whose RSS synwave cannot use; see step 6)
#   IFACE              the NIC (e.g. enp1s0f0)
#   WORKERS            synwave's --workers: one queue per worker
#
# Model: synwave's worker i opens the AF_XDP socket of queue i and pins
# itself to CPU i (modulo the online CPUs). A frame that lands on another
# worker's queue is handed to its owner (correct, but a copy), so the steps
# below make the NIC put each connection's frames on its owner's queue:
#   1. queues:   exactly WORKERS queues (ethtool -L): a frame on a queue
#                without a socket goes to the kernel, which resets it;
#   2. RSS:      Toeplitz over the indirection table spread evenly over the
#                WORKERS queues (ethtool -X hfunc toeplitz equal N [hkey]);
#   3. fields:   TCP/IPv4 hashed over addresses *and* ports (ethtool -N
#                rx-flow-hash tcp4 sdfn): synwave picks source ports whose
#                replies hash to the worker's own queue, which needs both;
#   4. offloads: LRO and GRO off (merged segments bypass or break XDP),
#                VLAN stripping off, MTU at most 1500 (one UMEM frame);
#   5. IRQs:     queue i's interrupt on CPU i, where worker i runs;
#                irqbalance stopped so that it stays there;
#   6. ntuple:   optional (--ntuple-ports): rule i sends replies to the i-th
#                block of source ports to queue i. synwave splits its --ports
#                into WORKERS equal slices when it cannot use the NIC's RSS
#                (an XOR hash, or addresses only): the rules match exactly
#                those slices, so LO-HI must split into power-of-two blocks.
#
# Environment (for tests): ETHTOOL (default ethtool), SYS_CLASS_NET
# (/sys/class/net), PROC_INTERRUPTS (/proc/interrupts), PROC_IRQ (/proc/irq),
# NPROC (online CPUs).
set -euo pipefail

usage="usage: $0 [--dry-run] [--rss-key HEX] [--ntuple-ports LO-HI] IFACE WORKERS"
DRY=0 KEY= NTUPLE=
while (($#)); do
    case $1 in
        --dry-run | -n) DRY=1 ;;
        --rss-key) KEY=${2:?$usage}; shift ;;
        --ntuple-ports) NTUPLE=${2:?$usage}; shift ;;
        -h | --help) echo "$usage"; exit 0 ;;
        -*) echo "nic.sh: unknown option $1; $usage" >&2; exit 2 ;;
        *) break ;;
    esac
    shift
done
IFACE=${1:?$usage}
WORKERS=${2:?$usage}
ETHTOOL=${ETHTOOL:-ethtool}
NET=${SYS_CLASS_NET:-/sys/class/net}
NPROC=${NPROC:-$(nproc)}

die() { echo "nic.sh: $*" >&2; exit 1; }
note() { echo "nic.sh: $*"; }
run() { echo "+ $*"; ((DRY)) || "$@"; }
step() { echo "== $*"; }

[[ -d $NET/$IFACE ]] || die "interface $IFACE does not exist"
[[ $WORKERS =~ ^[1-9][0-9]*$ ]] || die "WORKERS must be a positive number, not $WORKERS"
((DRY)) || [[ $(id -u) -eq 0 ]] || die "needs root (or --dry-run)"

step "1. queues: $WORKERS"
# The second block of `ethtool -l` is the current setting.
channels=$($ETHTOOL -l "$IFACE" 2>/dev/null | sed -n '/^Current/,$p' || true)
current() { awk -v k="$1:" '$1 == k {print $2}' <<<"$channels"; }
combined=$(current Combined) rx=$(current RX) tx=$(current TX)
if [[ -z $channels ]]; then
    note "$IFACE reports no channels; check by hand that it has $WORKERS queues"
elif [[ $combined =~ ^[0-9]+$ ]]; then
    if ((combined == WORKERS)); then note "already $WORKERS combined queues"
    else run $ETHTOOL -L "$IFACE" combined "$WORKERS"; fi
elif [[ $rx == "$WORKERS" && $tx == "$WORKERS" ]]; then
    note "already $WORKERS rx and tx queues"
else
    run $ETHTOOL -L "$IFACE" rx "$WORKERS" tx "$WORKERS"
fi

step "2. RSS: Toeplitz, table spread over queues 0..$((WORKERS - 1))${KEY:+, key $KEY}"
if ! rss=$($ETHTOOL -x "$IFACE" 2>/dev/null); then
    note "$IFACE has no readable RSS (veth has none): synwave slices its source ports and hands off what lands elsewhere"
else
    # The table's entries, in order, after each "N:" row label.
    mapfile -t table < <(sed -n '/indirection table/,/^RSS hash key/p' <<<"$rss" |
        awk '$1 ~ /^[0-9]+:$/ {for (i = 2; i <= NF; i++) print $i}')
    even=1
    for j in "${!table[@]}"; do ((table[j] == j % WORKERS)) || even=0; done
    ((${#table[@]})) || even=0
    toeplitz=$(awk '/toeplitz:/ {print $2}' <<<"$rss")
    have_key=$(sed -n '/^RSS hash key/{n;p}' <<<"$rss")
    args=()
    [[ $toeplitz == on ]] || args+=(hfunc toeplitz)
    ((even)) || args+=(equal "$WORKERS")
    [[ -z $KEY || ${KEY,,} == "${have_key,,}" ]] || args+=(hkey "$KEY")
    if ((${#args[@]})); then run $ETHTOOL -X "$IFACE" "${args[@]}"
    else note "already Toeplitz over an even table of ${#table[@]} entries"; fi
fi

step "3. hashed fields of TCP/IPv4: addresses and ports"
if ! fields=$($ETHTOOL -n "$IFACE" rx-flow-hash tcp4 2>/dev/null); then
    note "$IFACE does not say what it hashes; skipped"
elif grep -q 'IP SA' <<<"$fields" && grep -q 'IP DA' <<<"$fields" &&
    grep -q 'L4 bytes 0 & 1' <<<"$fields" && grep -q 'L4 bytes 2 & 3' <<<"$fields"; then
    note "already hashes addresses and ports"
else
    run $ETHTOOL -N "$IFACE" rx-flow-hash tcp4 sdfn
fi

step "4. offloads: LRO, GRO and VLAN stripping off; MTU at most 1500"
features=$($ETHTOOL -k "$IFACE" 2>/dev/null || true)
for f in large-receive-offload:lro generic-receive-offload:gro rx-gro-hw:rx-gro-hw rx-vlan-offload:rxvlan; do
    name=${f%%:*} short=${f#*:}
    state=$(awk -v k="$name:" '$1 == k {print $2, $3}' <<<"$features")
    case $state in
        "on [fixed]") note "$name is on and fixed: this driver cannot turn it off" ;;
        on*) run $ETHTOOL -K "$IFACE" "$short" off ;;
        off*) note "already $name off" ;;
        *) ;;
    esac
done
mtu=$(cat "$NET/$IFACE/mtu" 2>/dev/null || echo 0)
if ((mtu > 1500)); then run ip link set dev "$IFACE" mtu 1500
else note "MTU $mtu"; fi

step "5. IRQs: queue i on CPU i"
# Queue IRQs are named after the interface (IFACE-TxRx-3, IFACE-3, ...) or,
# for mlx5, after the PCI device (mlx5_comp3@pci:...): taken in order.
pci=$(basename "$(readlink -f "$NET/$IFACE/device" 2>/dev/null)" 2>/dev/null || true)
[[ $pci == device || $pci == "$IFACE" ]] && pci=
# The name whole: eth1's IRQs, not eth10's.
mapfile -t irqs < <(grep -E -- "(^|[^[:alnum:]])$IFACE([^[:alnum:]]|\$)|${pci:-^\$}" "${PROC_INTERRUPTS:-/proc/interrupts}" |
    grep -viE 'async|ctrl|misc|fdir' | awk -F: '{gsub(/ /, "", $1); print $1}')
((${#irqs[@]})) || note "no per-queue IRQs found for $IFACE (veth has none)"
# irqbalance would move them again; only stopped when there are IRQs to pin.
if ((${#irqs[@]})) && systemctl is-active --quiet irqbalance 2>/dev/null; then
    run systemctl stop irqbalance
fi
for i in "${!irqs[@]}"; do
    ((i < WORKERS)) || break
    cpu=$((i % NPROC))
    list=${PROC_IRQ:-/proc/irq}/${irqs[$i]}/smp_affinity_list
    if [[ $(cat "$list" 2>/dev/null) == "$cpu" ]]; then
        note "already IRQ ${irqs[$i]} on CPU $cpu"
    else
        echo "+ echo $cpu > $list"
        ((DRY)) || echo "$cpu" >"$list"
    fi
done

step "6. ntuple rules for source ports${NTUPLE:+ $NTUPLE}"
if [[ -z $NTUPLE ]]; then
    note "none asked for (--ntuple-ports LO-HI)"
else
    [[ $NTUPLE =~ ^([0-9]+)-([0-9]+)$ ]] || die "--ntuple-ports wants LO-HI, not $NTUPLE"
    lo=${BASH_REMATCH[1]} hi=${BASH_REMATCH[2]}
    n=$((hi - lo + 1))
    pow2() { (($1 > 0 && ($1 & ($1 - 1)) == 0)); }
    span=$((n / WORKERS))
    if ! pow2 "$WORKERS" || ! pow2 "$span" || ((span * WORKERS != n || lo % span != 0)); then
        die "$NTUPLE does not split into $WORKERS power-of-two blocks of ports on block boundaries (e.g. 32768-65535 for 2, 4 or 8 workers)"
    fi
    if [[ $($ETHTOOL -k "$IFACE" 2>/dev/null | awk '$1 == "ntuple-filters:" {print $2}') != on ]]; then
        run $ETHTOOL -K "$IFACE" ntuple on
    fi
    # Fixed rule slots, so that a second run replaces rather than adds.
    # ethtool's `m` mask marks the bits to ignore: the low bits of a block.
    for ((i = 0; i < WORKERS; i++)); do
        loc=$((1000 + i))
        echo "+ $ETHTOOL -N $IFACE delete $loc (if present)"
        ((DRY)) || $ETHTOOL -N "$IFACE" delete "$loc" 2>/dev/null || true
        run $ETHTOOL -N "$IFACE" flow-type tcp4 dst-port $((lo + i * span)) m $((span - 1)) action "$i" loc "$loc"
    done
    note "run synwave with --ports $NTUPLE --workers $WORKERS"
fi
echo "nic.sh: done; run synwave with --workers $WORKERS (worker i on queue i, CPU i)"
