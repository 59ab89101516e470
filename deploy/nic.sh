#!/usr/bin/env bash
# Prepare a real NIC for synwave: one RX/TX queue pair per worker core, each
# queue's interrupt on its worker's core, and the listening port's traffic
# steered onto those queues.
#
# Usage: deploy/nic.sh [-n] IFACE PORT [WORKERS [FIRST_CPU]]
#   -n         dry run: print the commands instead of running them
#   IFACE      the NIC (e.g. enp1s0f0)
#   PORT       synwave's listening TCP port
#   WORKERS    queues/worker threads to use (default: number of online CPUs)
#   FIRST_CPU  CPU of worker 0 (default 0); worker i runs on FIRST_CPU+i
#
# Model: worker i pins itself to CPU FIRST_CPU+i, opens the AF_XDP socket of
# queue i, and registers it in xsks_map[i]; the XDP program redirects each
# frame to the socket of the queue it arrived on. So the NIC's choice of
# queue *is* the choice of worker, and everything below is about making that
# choice land where we want.
#
# RSS and outgoing connections (the mTCP / Seastar approach): the NIC picks
# the queue of a received frame as indir[toeplitz(key, src_ip, dst_ip,
# src_port, dst_port) % indir_size]. For a connection we open, the replies
# carry (server_ip, our_ip, server_port, our_port), and only our_port is ours
# to choose. So each worker picks source ports whose reply 4-tuple hashes to
# its own queue: read the key and indirection table (`ethtool -x IFACE`),
# compute the Toeplitz hash per candidate port, and give each worker the
# ports that map to its queue. That keeps every connection's RX and TX on one
# core with no locks. On veth there is no RSS: use one veth queue per worker
# (`ip link add ... numrxqueues N numtxqueues N`) and steer by hand.
set -euo pipefail

DRY=0
if [[ ${1:-} == -n ]]; then DRY=1; shift; fi
IFACE=${1:?usage: $0 [-n] IFACE PORT [WORKERS [FIRST_CPU]]}
PORT=${2:?usage: $0 [-n] IFACE PORT [WORKERS [FIRST_CPU]]}
WORKERS=${3:-$(nproc)}
FIRST_CPU=${4:-0}

run() { if ((DRY)); then echo "+ $*"; else echo "+ $*"; "$@"; fi; }
die() { echo "nic.sh: $*" >&2; exit 1; }

[[ -d /sys/class/net/$IFACE ]] || die "interface $IFACE does not exist"
((DRY)) || [[ $(id -u) -eq 0 ]] || die "needs root (or use -n for a dry run)"
[[ $PORT =~ ^[0-9]+$ ]] && ((PORT > 0 && PORT < 65536)) || die "bad port $PORT"

# 1. Queue count: one combined (RX+TX) channel per worker. Drivers that have
#    separate rx/tx channels instead want `ethtool -L IFACE rx N tx N`.
#    Fewer queues than workers would leave workers idle; more would deliver
#    frames to queues with no AF_XDP socket (the XDP program passes those to
#    the kernel and counts them as no_xsk).
run ethtool -L "$IFACE" combined "$WORKERS" || \
    echo "nic.sh: 'combined' channels not supported; try: ethtool -L $IFACE rx $WORKERS tx $WORKERS" >&2

# 2. Offloads that break or bypass XDP: LRO/HW-GRO merge segments before XDP
#    sees them (drivers refuse XDP with LRO on), and VLAN stripping would hide
#    tags from the program. The program only handles untagged IPv4 frames up
#    to one UMEM frame (2048 B minus headroom), so keep MTU at 1500.
run ethtool -K "$IFACE" lro off
run ethtool -K "$IFACE" rx-gro-hw off 2>/dev/null || true
run ip link set dev "$IFACE" mtu 1500

# 3. Interrupt affinity: queue i's IRQ on worker i's CPU, so the softirq that
#    fills queue i's AF_XDP rx ring runs where worker i reads it (warm cache,
#    no cross-core wakeups). irqbalance would undo this, so stop it first.
if systemctl is-active --quiet irqbalance 2>/dev/null; then
    run systemctl stop irqbalance
fi
# Queue IRQs are named after the interface (IFACE-TxRx-3, IFACE-3, ...) or,
# for mlx5, after the PCI device (mlx5_comp3@pci:...): take them in order.
pci=$(basename "$(readlink -f "/sys/class/net/$IFACE/device" 2>/dev/null)" 2>/dev/null || true)
mapfile -t irqs < <(grep -E "$IFACE|${pci:-^$}" /proc/interrupts \
    | grep -viE 'async|ctrl|misc|fdir' | awk -F: '{gsub(/ /,"",$1); print $1}')
if ((${#irqs[@]} == 0)); then
    echo "nic.sh: no per-queue IRQs found for $IFACE; set affinity by hand" >&2
fi
for i in "${!irqs[@]}"; do
    ((i < WORKERS)) || break
    cpu=$((FIRST_CPU + i))
    if ((DRY)); then echo "+ echo $cpu > /proc/irq/${irqs[$i]}/smp_affinity_list"
    else echo "$cpu" >"/proc/irq/${irqs[$i]}/smp_affinity_list"; echo "+ irq ${irqs[$i]} -> cpu $cpu"; fi
done

# 4. Flow steering for the listening port. RSS already spreads incoming
#    connections over all queues by 4-tuple, and any spread is fine as long as
#    every queue has a worker. What ntuple adds is confinement: put synwave's
#    queues in their own RSS context so the port's traffic hashes only over
#    queues 0..WORKERS-1, even if the NIC keeps more queues for other
#    traffic. Without RSS-context support, fall back to pinning the port to
#    queue 0 (one worker serves all inbound connections).
run ethtool -K "$IFACE" ntuple on
if ((DRY)); then
    echo "+ ethtool -X $IFACE context new start 0 equal $WORKERS"
    echo "+ ethtool -N $IFACE flow-type tcp4 dst-port $PORT context <CTX>"
elif ctx=$(ethtool -X "$IFACE" context new start 0 equal "$WORKERS" 2>/dev/null | grep -oE '[0-9]+$'); then
    run ethtool -N "$IFACE" flow-type tcp4 dst-port "$PORT" context "$ctx"
else
    echo "nic.sh: RSS contexts unsupported; steering port $PORT to queue 0" >&2
    run ethtool -N "$IFACE" flow-type tcp4 dst-port "$PORT" action 0
fi

# 5. Show what RSS will do for outgoing connections (key + indirection
#    table): the input to the per-worker source-port choice described above.
run ethtool -x "$IFACE" || true
echo "nic.sh: done; start $WORKERS workers on CPUs $FIRST_CPU..$((FIRST_CPU + WORKERS - 1)), worker i on queue i"
