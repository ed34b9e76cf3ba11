// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: opens (the call is well formed) but cannot load: no runtime has helper 300. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static long (*bpf_no_such_helper)(__u32 x) = (void *)300;

SEC("xdp")
int calls_unknown(struct xdp_md *ctx)
{
	return bpf_no_such_helper(ctx->ingress_ifindex) ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
