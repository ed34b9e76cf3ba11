// SPDX-License-Identifier: GPL-2.0
/* Sums the first bytes of a packet in 16-bit words with bpf_loop and stores the folded sum. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define WORDS 32

struct sum_ctx {
	__u16 words[WORDS];
	__u32 sum;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} last_sum SEC(".maps");

static long add_word(__u64 index, void *data)
{
	struct sum_ctx *c = data;

	c->sum += c->words[index & (WORDS - 1)];
	return 0;
}

SEC("xdp")
int xdp_loop_checksum(struct xdp_md *ctx)
{
	struct sum_ctx c = {};
	__u32 zero = 0;

	if (bpf_xdp_load_bytes(ctx, 0, c.words, sizeof(c.words)) < 0)
		return XDP_PASS;
	if (bpf_loop(WORDS, add_word, &c, 0) != WORDS)
		return XDP_ABORTED;
	while (c.sum >> 16)
		c.sum = (c.sum & 0xffff) + (c.sum >> 16);
	bpf_map_update_elem(&last_sum, &zero, &c.sum, BPF_ANY);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
