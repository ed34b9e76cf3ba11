// SPDX-License-Identifier: GPL-2.0
/* Programs shaped like real ones: a rate limiter, VLAN statistics, a DNS name walk, IPv6 extension headers. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct bucket {
	__u64 tokens;
	__u64 last_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct bucket);
} buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u64);
} vlan_bytes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} label_hist SEC(".maps");

const volatile __u64 rate_per_sec = 1000;
const volatile __u64 burst = 100;

#define RATE_NS 1000000000ull

// expect xdp_ratelimit: accept
SEC("xdp")
int xdp_ratelimit(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct bucket *b, fresh;
	__u64 now, refill;
	__u32 src;

	if ((void *)(ip + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	src = ip->saddr;
	now = bpf_ktime_get_ns();
	b = bpf_map_lookup_elem(&buckets, &src);
	if (!b) {
		fresh.tokens = burst - 1;
		fresh.last_ns = now;
		bpf_map_update_elem(&buckets, &src, &fresh, BPF_ANY);
		return XDP_PASS;
	}
	refill = (now - b->last_ns) * rate_per_sec / RATE_NS;
	if (refill) {
		b->tokens = b->tokens + refill > burst ? burst : b->tokens + refill;
		b->last_ns = now;
	}
	if (!b->tokens)
		return XDP_DROP;
	b->tokens--;
	return XDP_PASS;
}

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

// expect tc_vlan_bytes: accept
SEC("tc")
int tc_vlan_bytes(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct vlan_hdr *v = (void *)(eth + 1);
	__u32 vid;
	__u64 *bytes;

	if ((void *)(v + 1) > end || eth->h_proto != bpf_htons(ETH_P_8021Q))
		return TC_ACT_OK;
	vid = bpf_ntohs(v->tci) & 0x0fff;
	bytes = bpf_map_lookup_elem(&vlan_bytes, &vid);
	if (bytes)
		__sync_fetch_and_add(bytes, skb->len);
	return TC_ACT_OK;
}

/* Walks the labels of a DNS query name, at most 8 of them, each re-checked against data_end. */
// expect xdp_dns_labels: accept
SEC("xdp")
int xdp_dns_labels(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	__u8 *p = (__u8 *)(udp + 1) + 12;
	__u32 labels = 0;

	if ((void *)(udp + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || udp->dest != bpf_htons(53))
		return XDP_PASS;
	for (int i = 0; i < 8; i++) {
		__u8 len;
		if ((void *)(p + 1) > end)
			return XDP_PASS;
		len = *p;
		if (!len)
			break;
		if (len > 63)
			return XDP_DROP;
		p += len + 1;
		labels++;
	}
	__u64 *h = bpf_map_lookup_elem(&label_hist, &labels);
	if (h)
		*h += 1;
	return XDP_PASS;
}

struct ext_hdr {
	__u8 next;
	__u8 len;
};

/* Skips up to four IPv6 extension headers to find the transport protocol. */
// expect xdp_ipv6_ext: accept
SEC("xdp")
int xdp_ipv6_ext(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	void *cur = ip6 + 1;
	__u8 next;

	if (cur > end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	next = ip6->nexthdr;
	for (int i = 0; i < 4; i++) {
		struct ext_hdr *h = cur;
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS)
			break;
		if ((void *)(h + 1) > end)
			return XDP_DROP;
		next = h->next;
		cur += (h->len + 1) * 8;
	}
	return next == IPPROTO_TCP ? XDP_PASS : XDP_DROP;
}

/* The same walk with the header check forgotten. */
// expect xdp_ipv6_ext_unchecked: reject invalid access to packet
SEC("xdp")
int xdp_ipv6_ext_unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ipv6hdr *ip6 = (void *)(eth + 1);
	void *cur = ip6 + 1;
	__u8 next;

	if (cur > end || eth->h_proto != bpf_htons(ETH_P_IPV6))
		return XDP_PASS;
	next = ip6->nexthdr;
	for (int i = 0; i < 4; i++) {
		struct ext_hdr *h = cur;
		if (next != IPPROTO_HOPOPTS && next != IPPROTO_ROUTING && next != IPPROTO_DSTOPTS)
			break;
		next = h->next;
		cur += (h->len + 1) * 8;
	}
	return next == IPPROTO_TCP ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
