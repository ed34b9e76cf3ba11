// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: a CO-RE field access, which bpfjet refuses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pkt_meta {
	__u32 mark;
	__u32 len;
} __attribute__((preserve_access_index));

SEC("socket")
int core_read(struct __sk_buff *skb)
{
	struct pkt_meta *m = (void *)(long)skb->cb[0];

	return __builtin_preserve_access_index(m->len) ? 1 : 0;
}

char LICENSE[] SEC("license") = "GPL";
