// SPDX-License-Identifier: GPL-2.0
/*
 * A small firewall and reflector: parses Ethernet (with up to two VLAN tags), IPv4/IPv6 and TCP/UDP,
 * drops sources listed in a hash map, bounces traffic for the service port back out (MAC swap + XDP_TX)
 * and counts every verdict per CPU.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/in6.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define MAX_VLAN_TAGS 2
#define ACTIONS (XDP_REDIRECT + 1)

struct vlan_hdr {
	__be16 tci;
	__be16 encap_proto;
};

struct flow {
	__u16 family; /* ETH_P_IP or ETH_P_IPV6 */
	__u8 proto;
	__u8 pad;
	__u16 dport;  /* host order */
	__u16 l2_len;
	__u32 saddr4;
	struct in6_addr saddr6;
};

const volatile __u16 service_port = 8080;
const volatile __u8 block_fragments = 1;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} blocked_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct in6_addr);
	__type(value, __u64);
} blocked_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, ACTIONS);
	__type(key, __u32);
	__type(value, __u64);
} action_count SEC(".maps");

enum { PARSE_OK = 0, PARSE_NOT_IP = 1, PARSE_BAD = 2, PARSE_FRAGMENT = 3 };

static __noinline int parse_l4(struct xdp_md *ctx, struct flow *f, __u32 off)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;

	if (off > 512)
		return PARSE_BAD;
	if (f->proto != IPPROTO_TCP && f->proto != IPPROTO_UDP)
		return PARSE_OK;
	/* TCP and UDP both start with the source and destination ports. */
	__be16 *ports = data + off;
	if ((void *)(ports + 2) > data_end)
		return PARSE_BAD;
	f->dport = bpf_ntohs(ports[1]);
	return PARSE_OK;
}

static __noinline int parse_packet(struct xdp_md *ctx, struct flow *f)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 off = sizeof(*eth);
	__u16 proto;

	if ((void *)(eth + 1) > data_end)
		return PARSE_BAD;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < MAX_VLAN_TAGS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		struct vlan_hdr *vlan = data + off;
		if ((void *)(vlan + 1) > data_end)
			return PARSE_BAD;
		proto = vlan->encap_proto;
		off += sizeof(*vlan);
	}
	f->l2_len = off;
	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data + off;
		if ((void *)(ip + 1) > data_end || ip->ihl < 5)
			return PARSE_BAD;
		if (block_fragments && (ip->frag_off & bpf_htons(0x3fff)))
			return PARSE_FRAGMENT;
		f->family = ETH_P_IP;
		f->proto = ip->protocol;
		f->saddr4 = ip->saddr;
		off += ip->ihl * 4;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data + off;
		if ((void *)(ip6 + 1) > data_end)
			return PARSE_BAD;
		f->family = ETH_P_IPV6;
		f->proto = ip6->nexthdr;
		__builtin_memcpy(&f->saddr6, &ip6->saddr, sizeof(f->saddr6));
		off += sizeof(*ip6);
	} else {
		return PARSE_NOT_IP;
	}
	return parse_l4(ctx, f, off);
}

/* Global, so it is verified on its own and called through its symbol. */
__noinline int record_action(__u32 action)
{
	__u64 *count;

	if (action >= ACTIONS)
		return XDP_ABORTED;
	count = bpf_map_lookup_elem(&action_count, &action);
	if (count)
		*count += 1;
	return action;
}

static __always_inline int is_blocked(struct flow *f)
{
	__u64 *hits;

	if (f->family == ETH_P_IP)
		hits = bpf_map_lookup_elem(&blocked_v4, &f->saddr4);
	else
		hits = bpf_map_lookup_elem(&blocked_v6, &f->saddr6);
	if (!hits)
		return 0;
	__sync_fetch_and_add(hits, 1);
	return 1;
}

static __always_inline int reflect(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}

SEC("xdp")
int xdp_firewall(struct xdp_md *ctx)
{
	struct flow f = {};

	switch (parse_packet(ctx, &f)) {
	case PARSE_NOT_IP:
		return record_action(XDP_PASS);
	case PARSE_OK:
		break;
	default:
		return record_action(XDP_DROP);
	}
	if (is_blocked(&f))
		return record_action(XDP_DROP);
	if ((f.proto == IPPROTO_TCP || f.proto == IPPROTO_UDP) && f.dport == service_port)
		return record_action(reflect(ctx));
	return record_action(XDP_PASS);
}

char LICENSE[] SEC("license") = "GPL";
