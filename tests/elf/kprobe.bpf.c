// SPDX-License-Identifier: GPL-2.0
/* Loader fixture: a tracing program, outside what bpfjet runs. */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("kprobe/do_sys_open")
int trace_open(void *ctx)
{
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
