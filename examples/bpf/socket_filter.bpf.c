// SPDX-License-Identifier: GPL-2.0
/* Socket filter that keeps only IPv4 TCP segments and truncates them to their headers. */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define SNAP_LEN 128

SEC("socket")
int socket_tcp_only(struct __sk_buff *skb)
{
	struct ethhdr eth;
	struct iphdr ip;

	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) < 0 || eth.h_proto != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes(skb, sizeof(eth), &ip, sizeof(ip)) < 0 || ip.protocol != IPPROTO_TCP)
		return 0;
	return skb->len < SNAP_LEN ? skb->len : SNAP_LEN;
}

char LICENSE[] SEC("license") = "GPL";
