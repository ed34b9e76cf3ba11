// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: a verifier must reject it, as Linux does: the packet is read without a bounds check, and
 * beyond any frame, so a checked run stops. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int unchecked_read(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[5000] == 6 ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
