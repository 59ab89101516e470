// SPDX-License-Identifier: (MIT OR Apache-2.0) AND GPL-2.0
/*
 * synwave XDP steering program.
 *
 * Redirects to the AF_XDP socket of the receiving queue only the TCP/IPv4
 * frames that belong to synwave; everything else (ARP, ICMP, SSH, other
 * ports, IPv6) goes to the kernel untouched. The one exception: ARP requests
 * for addresses synwave owns but the kernel does not (arp_map, the extra
 * source addresses of a load generator) go to the AF_XDP socket too, whose
 * worker answers them on its transmit ring (an XDP_TX reply into a veth is
 * dropped unless the peer veth has XDP or GRO on); only on a queue with no
 * socket are they answered here with XDP_TX. Kept deliberately tiny so that
 * correctness can be checked by reading it: parse Ethernet -> IPv4 -> TCP,
 * two hash lookups, one redirect.
 *
 * Byte orders: addresses and ports in listen_map keys are network order
 * (copied straight from the packet); client_map port ranges are host order
 * because they are compared numerically.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

/* <linux/in.h> would drag in libc-flavoured headers; the value is fixed by IANA. */
#define SW_IPPROTO_TCP 6

/* Enough for one queue per core on any NIC we expect; the key is the queue. */
#define MAX_QUEUES 256
/* Source addresses of a load generator at most: a /20. */
#define MAX_ADDRESSES 4096

struct listen_key {
	__u32 addr; /* IPv4 destination, network order */
	__u16 port; /* TCP destination port, network order */
	__u16 pad;  /* must be zero: part of the hash key */
};

struct port_range {
	__u16 lo; /* inclusive, host order */
	__u16 hi; /* inclusive, host order */
};

/* Counter slots; must match xdp::Counter in Rust. */
enum {
	CNT_REDIRECTED = 0, /* handed to an AF_XDP socket */
	CNT_PASSED = 1,     /* not ours: to the kernel stack */
	CNT_NO_XSK = 2,     /* ours, but no socket on this queue: passed */
	CNT_MALFORMED = 3,  /* IPv4 or TCP header truncated/invalid: passed */
	CNT_ARP = 4,        /* ARP requests for arp_map addresses taken */
	CNT_MAX = 5,
};

/* ARP for IPv4 over Ethernet (RFC 826), the only kind we answer. */
struct arp_eth_ipv4 {
	__be16 htype;
	__be16 ptype;
	__u8 hlen;
	__u8 plen;
	__be16 op;
	__u8 sha[ETH_ALEN];
	__u8 spa[4];
	__u8 tha[ETH_ALEN];
	__u8 tpa[4];
} __attribute__((packed));

struct mac {
	__u8 addr[ETH_ALEN];
};

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, MAX_QUEUES);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct listen_key);
	__type(value, __u8);
} listen_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ADDRESSES);
	__type(key, __u32); /* local IPv4 address, network order */
	__type(value, struct port_range);
} client_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_ADDRESSES);
	__type(key, __u32); /* IPv4 address we answer ARP for, network order */
	__type(value, struct mac); /* the MAC to answer with */
} arp_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void count(__u32 slot)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &slot);

	/* Per-CPU slot: no other writer, no atomic needed. */
	if (c)
		*c += 1;
}

static __always_inline int pass(__u32 slot)
{
	count(slot);
	return XDP_PASS;
}

/* Hands a request for an arp_map address to the queue's AF_XDP socket;
 * where there is none, turns it into the reply in place. */
static __always_inline int arp_reply(struct xdp_md *ctx, struct ethhdr *eth, void *data_end)
{
	struct arp_eth_ipv4 *arp = (void *)(eth + 1);
	struct mac *ours;
	__u32 tpa;

	if ((void *)(arp + 1) > data_end)
		return pass(CNT_PASSED);
	if (arp->htype != bpf_htons(1) || arp->ptype != bpf_htons(ETH_P_IP) || arp->hlen != ETH_ALEN ||
	    arp->plen != 4 || arp->op != bpf_htons(1))
		return pass(CNT_PASSED);
	__builtin_memcpy(&tpa, arp->tpa, 4);
	ours = bpf_map_lookup_elem(&arp_map, &tpa);
	if (!ours)
		return pass(CNT_PASSED);
	count(CNT_ARP);
	if (bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS) == XDP_REDIRECT)
		return XDP_REDIRECT;

	arp->op = bpf_htons(2);
	__builtin_memcpy(arp->tha, arp->sha, ETH_ALEN);
	__builtin_memcpy(arp->tpa, arp->spa, 4);
	__builtin_memcpy(arp->sha, ours->addr, ETH_ALEN);
	__builtin_memcpy(arp->spa, &tpa, 4);
	__builtin_memcpy(eth->h_dest, arp->tha, ETH_ALEN);
	__builtin_memcpy(eth->h_source, ours->addr, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int synwave_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip;
	struct tcphdr *tcp;
	__u32 ihl_bytes;

	if ((void *)(eth + 1) > data_end)
		return pass(CNT_PASSED);
	if (eth->h_proto == bpf_htons(ETH_P_ARP))
		return arp_reply(ctx, eth, data_end);
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return pass(CNT_PASSED);

	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return pass(CNT_MALFORMED);
	if (ip->protocol != SW_IPPROTO_TCP)
		return pass(CNT_PASSED);
	/* Non-first fragments carry no TCP header; leave reassembly to the kernel. */
	if (ip->frag_off & bpf_htons(0x1fff))
		return pass(CNT_PASSED);

	ihl_bytes = (__u32)ip->ihl * 4;
	if (ihl_bytes < sizeof(*ip))
		return pass(CNT_MALFORMED);
	/* Options are skipped, not parsed: the variable offset is bounds-checked
	 * against data_end below before any TCP field is read. */
	tcp = (void *)ip + ihl_bytes;
	if ((void *)(tcp + 1) > data_end)
		return pass(CNT_MALFORMED);

	{
		struct listen_key key = {
			.addr = ip->daddr,
			.port = tcp->dest,
			.pad = 0,
		};

		if (!bpf_map_lookup_elem(&listen_map, &key)) {
			struct port_range *r = bpf_map_lookup_elem(&client_map, &ip->daddr);
			__u16 dport = bpf_ntohs(tcp->dest);

			if (!r || dport < r->lo || dport > r->hi)
				return pass(CNT_PASSED);
		}
	}

	/* The low bits of flags are the action when the queue has no socket:
	 * passing keeps a misconfigured queue from blackholing our traffic. */
	if (bpf_redirect_map(&xsks_map, ctx->rx_queue_index, XDP_PASS) == XDP_REDIRECT) {
		count(CNT_REDIRECTED);
		return XDP_REDIRECT;
	}
	return pass(CNT_NO_XSK);
}

char _license[] SEC("license") = "Dual MIT/GPL";
