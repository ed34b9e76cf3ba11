// SPDX-License-Identifier: GPL-2.0
/* Spin locks and ring-buffer reservations: what is taken must be given back on every path. */
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <bpf/bpf_helpers.h>

struct locked {
	struct bpf_spin_lock lock;
	__u64 value;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct locked);
} state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

struct event {
	__u32 len;
	__u32 ifindex;
};

// expect lock_unlock: accept
SEC("tc")
int lock_unlock(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct locked *s = bpf_map_lookup_elem(&state, &k);

	if (!s)
		return TC_ACT_OK;
	bpf_spin_lock(&s->lock);
	s->value += skb->len;
	bpf_spin_unlock(&s->lock);
	return TC_ACT_OK;
}

// expect lock_not_released: reject cannot be used inside bpf_spin_lock-ed region
SEC("tc")
int lock_not_released(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct locked *s = bpf_map_lookup_elem(&state, &k);

	if (!s)
		return TC_ACT_OK;
	bpf_spin_lock(&s->lock);
	s->value += skb->len;
	return TC_ACT_OK;
}

// expect call_under_lock: reject function calls are not allowed while holding a lock
SEC("tc")
int call_under_lock(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct locked *s = bpf_map_lookup_elem(&state, &k);

	if (!s)
		return TC_ACT_OK;
	bpf_spin_lock(&s->lock);
	s->value += bpf_get_prandom_u32();
	bpf_spin_unlock(&s->lock);
	return TC_ACT_OK;
}

// expect lock_twice: reject function calls are not allowed while holding a lock
SEC("tc")
int lock_twice(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct locked *s = bpf_map_lookup_elem(&state, &k);

	if (!s)
		return TC_ACT_OK;
	bpf_spin_lock(&s->lock);
	bpf_spin_lock(&s->lock);
	bpf_spin_unlock(&s->lock);
	return TC_ACT_OK;
}

// expect lock_word_access: reject bpf_spin_lock cannot be accessed directly by load/store
SEC("tc")
int lock_word_access(struct __sk_buff *skb)
{
	__u32 k = 0;
	struct locked *s = bpf_map_lookup_elem(&state, &k);

	if (!s)
		return TC_ACT_OK;
	*(volatile __u32 *)&s->lock = 0;
	return TC_ACT_OK;
}

// expect ringbuf_event: accept
SEC("tc")
int ringbuf_event(struct __sk_buff *skb)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return TC_ACT_OK;
	e->len = skb->len;
	e->ifindex = skb->ifindex;
	bpf_ringbuf_submit(e, 0);
	return TC_ACT_OK;
}

// expect ringbuf_submit_or_discard: accept
SEC("tc")
int ringbuf_submit_or_discard(struct __sk_buff *skb)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return TC_ACT_OK;
	e->len = skb->len;
	if (skb->len > 100)
		bpf_ringbuf_submit(e, 0);
	else
		bpf_ringbuf_discard(e, 0);
	return TC_ACT_OK;
}

// expect ringbuf_leak: reject Unreleased reference
SEC("tc")
int ringbuf_leak(struct __sk_buff *skb)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return TC_ACT_OK;
	e->len = skb->len;
	if (skb->len > 100)
		bpf_ringbuf_submit(e, 0);
	return TC_ACT_OK;
}

char LICENSE[] SEC("license") = "GPL";
