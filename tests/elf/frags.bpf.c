// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: a multi-buffer XDP program, which bpfjet refuses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp.frags")
int frags(struct xdp_md *ctx)
{
	return bpf_xdp_get_buff_len(ctx) > 1500 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
