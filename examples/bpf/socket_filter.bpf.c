// SPDX-License-Identifier: GPL-2.0
/*
 * Socket filter that keeps only IPv4 TCP segments and truncates them to their headers. Headers are read
 * relative to the network header, so it works whether the socket sees the link-layer header (AF_PACKET
 * SOCK_RAW) or not.
 */
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
	struct iphdr ip;

	if (skb->protocol != bpf_htons(ETH_P_IP))
		return 0;
	if (bpf_skb_load_bytes_relative(skb, 0, &ip, sizeof(ip), BPF_HDR_START_NET) < 0 || ip.protocol != IPPROTO_TCP)
		return 0;
	return skb->len < SNAP_LEN ? skb->len : SNAP_LEN;
}

char LICENSE[] SEC("license") = "GPL";
