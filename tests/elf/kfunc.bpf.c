// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: a call to a kernel function (kfunc), which bpfjet refuses. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_example_kfunc(int x) __ksym;

SEC("xdp")
int call_kfunc(struct xdp_md *ctx)
{
	return bpf_example_kfunc(ctx->rx_queue_index);
}

char LICENSE[] SEC("license") = "GPL";
