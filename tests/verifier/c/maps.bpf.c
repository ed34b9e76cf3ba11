// SPDX-License-Identifier: GPL-2.0
/* Map lookups, values and global data as C programs write them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct key {
	__u8 proto;
	/* three bytes of padding the program never writes */
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct key);
	__type(value, __u64);
} flows SEC(".maps");

struct counters {
	__u64 slot[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct counters);
} table SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
} inner0 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = { .values = { &inner0 } };

const volatile __u32 debug = 0;
const volatile __u32 limit = 8;
__u64 packets = 0;

/* An array lookup with a constant key below max_entries cannot fail: Linux needs no NULL check. */
// expect array_const_key_no_check: accept
SEC("xdp")
int array_const_key_no_check(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct counters *c = bpf_map_lookup_elem(&table, &k);

	return c->slot[0] ? XDP_DROP : XDP_PASS;
}

// expect hash_no_null_check: reject map_value_or_null
SEC("xdp")
int hash_no_null_check(struct xdp_md *ctx)
{
	struct key k = { .proto = 6, .addr = ctx->ingress_ifindex };
	__u64 *v = bpf_map_lookup_elem(&flows, &k);

	return *v ? XDP_DROP : XDP_PASS;
}

// expect lookup_checked: accept
SEC("xdp")
int lookup_checked(struct xdp_md *ctx)
{
	__u32 k = 0;
	struct counters *c = bpf_map_lookup_elem(&table, &k);

	if (!c)
		return XDP_PASS;
	c->slot[3]++;
	return XDP_PASS;
}

/* The padding of the key is never written: Linux lets root do this, not the unprivileged. */
// expect padded_key_on_stack: accept
// strict padded_key_on_stack: reject invalid indirect read from stack
SEC("xdp")
int padded_key_on_stack(struct xdp_md *ctx)
{
	struct key k;
	__u64 *v;

	k.proto = 6;
	k.addr = ctx->ingress_ifindex;
	v = bpf_map_lookup_elem(&flows, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

// expect index_unchecked: reject unbounded memory access
SEC("xdp")
int index_unchecked(struct xdp_md *ctx)
{
	__u32 k = 0, i = bpf_get_prandom_u32();
	struct counters *c = bpf_map_lookup_elem(&table, &k);

	if (!c)
		return XDP_PASS;
	c->slot[i]++;
	return XDP_PASS;
}

// expect index_masked: accept
SEC("xdp")
int index_masked(struct xdp_md *ctx)
{
	__u32 k = 0, i = bpf_get_prandom_u32() & 15;
	struct counters *c = bpf_map_lookup_elem(&table, &k);

	if (!c)
		return XDP_PASS;
	c->slot[i]++;
	return XDP_PASS;
}

// expect index_checked_by_rodata: accept
SEC("xdp")
int index_checked_by_rodata(struct xdp_md *ctx)
{
	__u32 k = 0, i = bpf_get_prandom_u32();
	struct counters *c = bpf_map_lookup_elem(&table, &k);

	if (!c || i >= limit)
		return XDP_PASS;
	c->slot[i]++;
	return XDP_PASS;
}

// expect rodata_write: reject write into map forbidden
SEC("xdp")
int rodata_write(struct xdp_md *ctx)
{
	*(volatile __u32 *)&limit = 1;
	return XDP_PASS;
}

/* debug is a frozen 0: the branch with the unchecked lookup is dead. */
// expect rodata_dead_branch: accept
SEC("xdp")
int rodata_dead_branch(struct xdp_md *ctx)
{
	__u32 k = 0;

	if (debug) {
		struct counters *c = bpf_map_lookup_elem(&table, &k);
		return c->slot[1] ? XDP_DROP : XDP_PASS;
	}
	return XDP_PASS;
}

// expect data_counter: accept
SEC("xdp")
int data_counter(struct xdp_md *ctx)
{
	__sync_fetch_and_add(&packets, 1);
	return XDP_PASS;
}

// expect percpu_counter: accept
SEC("xdp")
int percpu_counter(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &k);

	if (v)
		*v += 1;
	return XDP_PASS;
}

// expect update_from_stack: accept
SEC("xdp")
int update_from_stack(struct xdp_md *ctx)
{
	struct key k = { .proto = 17, .addr = ctx->rx_queue_index };
	__u64 one = 1;

	bpf_map_update_elem(&flows, &k, &one, BPF_ANY);
	return XDP_PASS;
}

// expect map_in_map_checked: accept
SEC("xdp")
int map_in_map_checked(struct xdp_md *ctx)
{
	__u32 k = 0, j = 1;
	void *m = bpf_map_lookup_elem(&outer, &k);
	__u64 *v;

	if (!m)
		return XDP_PASS;
	v = bpf_map_lookup_elem(m, &j);
	if (v)
		*v += 1;
	return XDP_PASS;
}

// expect map_in_map_inner_unchecked: reject map_value_or_null
SEC("xdp")
int map_in_map_inner_unchecked(struct xdp_md *ctx)
{
	__u32 k = 0, j = bpf_get_prandom_u32() & 3;
	void *m = bpf_map_lookup_elem(&outer, &k);
	__u64 *v;

	if (!m)
		return XDP_PASS;
	v = bpf_map_lookup_elem(m, &j);
	*v += 1;
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
