// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: maps defined the pre-BTF way, struct bpf_map_def in the "maps" section. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = 4,
	.value_size = 8,
	.max_entries = 16,
};

struct bpf_map_def SEC("maps") flows = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = 8,
	.value_size = 16,
	.max_entries = 128,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("xdp")
int legacy_count(struct xdp_md *ctx)
{
	__u32 key = ctx->rx_queue_index & 15;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	__u64 flow = key;

	if (v)
		*v += 1;
	return bpf_map_lookup_elem(&flows, &flow) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
