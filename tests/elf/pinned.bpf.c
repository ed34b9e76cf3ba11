// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: one map pinned by name (shared by the objects loaded with the same pin root), one not. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, __u32);
	__type(value, __u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} shared_hits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} private_hits SEC(".maps");

SEC("xdp")
int count_hits(struct xdp_md *ctx)
{
	__u32 key = ctx->ingress_ifindex;
	__u64 *v = bpf_map_lookup_elem(&shared_hits, &key);

	if (v)
		__sync_fetch_and_add(v, 1);
	key = 0;
	v = bpf_map_lookup_elem(&private_hits, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
