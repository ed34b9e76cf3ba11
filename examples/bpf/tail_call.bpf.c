// SPDX-License-Identifier: GPL-2.0
/*
 * A packet goes through a chain of stages linked by tail calls: the entry classifies by EtherType and jumps
 * to a stage from a program array initialised in the object.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

enum { STAGE_IPV4 = 0, STAGE_IPV6 = 1, STAGE_COUNT = 2 };

int stage_ipv4(struct xdp_md *ctx);
int stage_ipv6(struct xdp_md *ctx);
int stage_count(struct xdp_md *ctx);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, int(void *));
} stages SEC(".maps") = {
	.values = {
		[STAGE_IPV4] = (void *)&stage_ipv4,
		[STAGE_IPV6] = (void *)&stage_ipv6,
		[STAGE_COUNT] = (void *)&stage_count,
	},
};

__u64 stage_hits[3];

SEC("xdp")
int xdp_entry(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		bpf_tail_call(ctx, &stages, STAGE_IPV4);
	else if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		bpf_tail_call(ctx, &stages, STAGE_IPV6);
	return XDP_PASS;
}

SEC("xdp")
int stage_ipv4(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&stage_hits[STAGE_IPV4], 1);
	bpf_tail_call(ctx, &stages, STAGE_COUNT);
	return XDP_ABORTED;
}

SEC("xdp")
int stage_ipv6(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&stage_hits[STAGE_IPV6], 1);
	/* Not chained: IPv6 is dropped here. */
	return XDP_DROP;
}

SEC("xdp")
int stage_count(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&stage_hits[STAGE_COUNT], 1);
	return XDP_TX;
}

char LICENSE[] SEC("license") = "GPL";
