// SPDX-License-Identifier: GPL-2.0
/* Subprograms, callbacks and tail calls. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

volatile __u64 sink;

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__type(value, __u32);
} jump SEC(".maps");

static __attribute__((noinline)) int fill(__u64 *out, int n)
{
	for (int i = 0; i < 4; i++)
		out[i] = (__u64)n * i;
	return n + 1;
}

// expect subprog_stack_arg: accept
SEC("socket")
int subprog_stack_arg(struct __sk_buff *skb)
{
	__u64 buf[4];
	int r = fill(buf, skb->len & 7);

	return (int)buf[3] + r;
}

__attribute__((noinline)) int global_len(struct __sk_buff *skb)
{
	return skb ? skb->len : 0;
}

// expect calls_global_func: accept
SEC("socket")
int calls_global_func(struct __sk_buff *skb)
{
	return global_len(skb) > 64;
}

struct sum_ctx {
	__u64 total;
	__u32 limit;
};

static long add_index(__u32 i, void *data)
{
	struct sum_ctx *c = data;

	c->total += i;
	return c->total > c->limit;
}

// expect loop_callback: accept
SEC("socket")
int loop_callback(struct __sk_buff *skb)
{
	struct sum_ctx c = { .total = 0, .limit = 1000 };

	bpf_loop(100, add_index, &c, 0);
	return (int)c.total;
}

static long bad_return(__u32 i, void *data)
{
	return 5;
}

// expect loop_callback_bad_return: reject At callback return the register R0 has
SEC("socket")
int loop_callback_bad_return(struct __sk_buff *skb)
{
	bpf_loop(10, bad_return, NULL, 0);
	return 0;
}

#define LEVEL(n, next)                                                                                   \
	static __attribute__((noinline)) int level##n(int x)                                             \
	{                                                                                                \
		sink = x;                                                                                \
		return next(x + 1) + 1;                                                                  \
	}

static __attribute__((noinline)) int level9(int x)
{
	sink = x;
	return x;
}
LEVEL(8, level9)
LEVEL(7, level8)
LEVEL(6, level7)
LEVEL(5, level6)
LEVEL(4, level5)
LEVEL(3, level4)
LEVEL(2, level3)
LEVEL(1, level2)

// expect nine_frames: reject the call stack of 9 frames is too deep
SEC("socket")
int nine_frames(struct __sk_buff *skb)
{
	return level1(0);
}

// expect eight_frames: accept
SEC("socket")
int eight_frames(struct __sk_buff *skb)
{
	return level3(0);
}

static __attribute__((noinline)) int big_frame(int x)
{
	volatile __u8 buf[320];

	buf[x & 255] = 1;
	return buf[0];
}

// expect stack_too_big_combined: reject combined stack size
SEC("socket")
int stack_too_big_combined(struct __sk_buff *skb)
{
	volatile __u8 buf[256];

	buf[skb->len & 127] = 2;
	return big_frame(skb->len) + buf[1];
}

// expect tail_call: accept
SEC("xdp")
int tail_call(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jump, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
