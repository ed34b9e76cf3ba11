// SPDX-License-Identifier: GPL-2.0
/*
 * Loader fixture: two bpfjet (memory) programs in one section sharing static and global subprograms, a
 * callback, a static variable reached through its section symbol, a string in .rodata.str1.1 and a
 * map-in-map with a statically initialised slot.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u64);
};

struct inner inner_a SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 2);
	__type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = { .values = { [1] = &inner_a } };

static __u64 calls;
__u64 total = 7;
const char *volatile greeting = "hello";

static __noinline __u64 square(__u64 x)
{
	calls++;
	return x * x;
}

__noinline __u64 add_squares(__u64 a, __u64 b)
{
	return square(a) + square(b);
}

static long count_cb(__u64 index, void *ctx)
{
	*(__u64 *)ctx += index;
	return 0;
}

SEC("bpfjet")
__u64 first(__u8 *mem)
{
	__u64 sum = 0;

	bpf_loop(4, count_cb, &sum, 0);
	return add_squares(mem[0], mem[1]) + sum + total + greeting[0];
}

SEC("bpfjet")
__u64 second(__u8 *mem)
{
	return square(mem[2]) + calls;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
