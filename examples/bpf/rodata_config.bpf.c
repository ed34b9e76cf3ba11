// SPDX-License-Identifier: GPL-2.0
/*
 * Reads its configuration from .rodata (set by the loader before load) and keeps its state in global
 * variables: .data, .bss and a custom .data.stats section.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

struct config {
	__u32 min_len;
	__u32 max_len;
	__u16 allowed_proto; /* EtherType, host order; 0 = any */
	__u8 verdict_short;
	__u8 verdict_long;
	__u8 trace;
};

const volatile struct config cfg = {
	.min_len = 60,
	.max_len = 1514,
	.allowed_proto = ETH_P_IP,
	.verdict_short = XDP_DROP,
	.verdict_long = XDP_DROP,
	.trace = 0,
};

__u64 seen_packets = 0;         /* .data: starts counting at zero, but the section exists */
__u32 last_len = 0xffffffff;    /* .data */
__u64 short_packets;            /* .bss */
__u64 long_packets;             /* .bss */
static __u64 wrong_proto;       /* .bss, only through the section symbol */
__u64 accepted SEC(".data.stats") = 0;

SEC("xdp")
int xdp_config(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u32 len = data_end - data;

	__sync_fetch_and_add(&seen_packets, 1);
	last_len = len;
	if (cfg.trace)
		bpf_printk("xdp_config: len %u", len);
	if (len < cfg.min_len) {
		__sync_fetch_and_add(&short_packets, 1);
		return cfg.verdict_short;
	}
	if (len > cfg.max_len) {
		__sync_fetch_and_add(&long_packets, 1);
		return cfg.verdict_long;
	}
	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (cfg.allowed_proto && eth->h_proto != bpf_htons(cfg.allowed_proto)) {
		__sync_fetch_and_add(&wrong_proto, 1);
		return XDP_DROP;
	}
	__sync_fetch_and_add(&accepted, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
