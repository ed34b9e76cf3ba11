// SPDX-License-Identifier: GPL-2.0
/* Forwards frames to the port stored in a devmap slot chosen by ingress port; an egress program tags them. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct bpf_devmap_val);
} tx_ports SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} egress_count SEC(".maps");

SEC("xdp")
int xdp_redirect_devmap(struct xdp_md *ctx)
{
	__u32 slot = ctx->ingress_ifindex % 64;

	/* No port in the slot: hand the frame to the stack. */
	return bpf_redirect_map(&tx_ports, slot, XDP_PASS);
}

SEC("xdp/devmap")
int xdp_devmap_egress(struct xdp_md *ctx)
{
	__u32 zero = 0;
	__u64 *count = bpf_map_lookup_elem(&egress_count, &zero);

	if (count)
		__sync_fetch_and_add(count, 1);
	return ctx->egress_ifindex ? XDP_PASS : XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
