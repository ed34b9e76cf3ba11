// SPDX-License-Identifier: GPL-2.0
/* Packet parsing as XDP and tc programs write it, with and without the checks against data_end. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/pkt_cls.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

// expect eth_ip_checked: accept
SEC("xdp")
int eth_ip_checked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	return ip->protocol == IPPROTO_UDP ? XDP_DROP : XDP_PASS;
}

// expect ip_without_check: reject invalid access to packet
SEC("xdp")
int ip_without_check(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	return ip->protocol == IPPROTO_UDP ? XDP_DROP : XDP_PASS;
}

// expect ip_options_checked: accept
SEC("xdp")
int ip_options_checked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct udphdr *udp;

	if ((void *)(ip + 1) > end)
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	if ((void *)(udp + 1) > end)
		return XDP_PASS;
	return udp->dest == bpf_htons(53) ? XDP_DROP : XDP_PASS;
}

// expect ip_options_unchecked: reject invalid access to packet
SEC("xdp")
int ip_options_unchecked(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct iphdr *ip = data + sizeof(struct ethhdr);
	struct udphdr *udp;

	if ((void *)(ip + 1) + sizeof(*udp) > end)
		return XDP_PASS;
	udp = (void *)ip + ip->ihl * 4;
	return udp->dest == bpf_htons(53) ? XDP_DROP : XDP_PASS;
}

// expect vlan_loop: accept
SEC("xdp")
int vlan_loop(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	void *cur = eth + 1;
	__be16 proto;

	if (cur > end)
		return XDP_PASS;
	proto = eth->h_proto;
	for (int i = 0; i < 4; i++) {
		struct vlan_hdr *v = cur;
		if (proto != bpf_htons(ETH_P_8021Q) || (void *)(v + 1) > end)
			break;
		proto = v->proto;
		cur = v + 1;
	}
	return proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

// expect rewrite_mac: accept
SEC("xdp")
int rewrite_mac(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char tmp[ETH_ALEN];

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	__builtin_memcpy(tmp, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, tmp, ETH_ALEN);
	return XDP_TX;
}

// expect stale_after_adjust_head: reject invalid mem access
SEC("xdp")
int stale_after_adjust_head(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	if (bpf_xdp_adjust_head(ctx, 0))
		return XDP_ABORTED;
	return eth->h_proto == bpf_htons(ETH_P_IP) ? XDP_PASS : XDP_DROP;
}

// expect tc_parse: accept
SEC("tc")
int tc_parse(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > end)
		return TC_ACT_OK;
	skb->mark = eth->h_proto;
	return TC_ACT_OK;
}

// expect socket_load_bytes: accept
SEC("socket")
int socket_load_bytes(struct __sk_buff *skb)
{
	__u16 proto;

	if (bpf_skb_load_bytes(skb, 12, &proto, sizeof(proto)))
		return 0;
	return proto == bpf_htons(ETH_P_IP) ? -1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
