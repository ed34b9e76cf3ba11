/* SPDX-License-Identifier: Apache-2.0 */
/*
 * `bpfjet xdp run --kernel`: the same object loaded into Linux with libbpf and run over the capture with
 * BPF_PROG_TEST_RUN, one call per frame, for the reference figures of the demo and the benchmarks. With a
 * repeat count the kernel runs each frame that many times on the same buffer (the action counted is the
 * last run's); each such call is slow, as the kernel swaps its XDP dispatcher around it.
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpfjet/io.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* The kernel's test run refuses frames shorter than an Ethernet header. */
#define KERNEL_MIN_FRAME 14u

struct kernel_counts {
	uint64_t packets;
	uint64_t actions[BJ_XDP_N_ACTIONS];
	uint64_t other;
	uint64_t refused;
	uint64_t duration_ns; /* the kernel's own figure (mean per run of a frame), summed over the frames */
};

static char libbpf_msg[512];

/* libbpf reports through one process-wide hook: keep its last warning for the error line. */
static int keep_last(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_DEBUG)
		vsnprintf(libbpf_msg, sizeof(libbpf_msg), fmt, ap);
	return 0;
}

static int open_kernel_prog(const char *path, const char *name, struct bpf_object **obj, int *fd)
{
	struct bpf_program *p = NULL, *q;
	int ret;

	libbpf_set_print(keep_last);
	*obj = bpf_object__open_file(path, NULL);
	if (!*obj)
		return cli_fail("xdp run --kernel", path, "libbpf cannot open it: %s", strerror(errno));
	bpf_object__for_each_program(q, *obj)
		if (name ? !strcmp(bpf_program__name(q), name) : bpf_program__type(q) == BPF_PROG_TYPE_XDP && !p)
			p = q;
	if (!p)
		return cli_fail("xdp run --kernel", path, "no XDP program%s%s", name ? " named " : "", name ? name : "");
	if ((ret = bpf_object__load(*obj))) {
		libbpf_msg[strcspn(libbpf_msg, "\n")] = '\0';
		return cli_fail("xdp run --kernel", path, "the kernel refused the object (%s): %s", strerror(-ret),
				libbpf_msg);
	}
	*fd = bpf_program__fd(p);
	return 0;
}

/* Returns 0, or -errno of the test run (the frame index in *at). */
static int run_batch(int fd, const struct bj_batch *b, uint32_t repeat, struct kernel_counts *c, uint64_t *at)
{
	for (uint32_t i = 0; i < b->n; i++) {
		const struct bj_frame *f = &b->frames[i];
		uint32_t len = bj_frame__len(f);
		int ret;

		*at = c->packets++;
		if (len < KERNEL_MIN_FRAME) {
			c->refused++;
			continue;
		}
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = bj_frame__data(f), .data_size_in = len,
			    .repeat = (int)repeat);
		if ((ret = bpf_prog_test_run_opts(fd, &o)) < 0)
			return ret;
		c->duration_ns += o.duration;
		if (o.retval < BJ_XDP_N_ACTIONS)
			c->actions[o.retval]++;
		else
			c->other++;
	}
	return 0;
}

static int run_frames(int fd, const char *pcap_in, uint32_t repeat, struct kernel_counts *c)
{
	struct bj_error err = { 0 };
	struct bj_batch *b;
	struct bj_io *io;
	uint64_t at = 0;
	int ret, status = 0;

	BJ_OPTS(bj_io_opts, io_opts, .pcap_in = pcap_in, .ifindex = 1);
	if (bj_io__open(BJ_IO_PCAP, &io_opts, &io, &err))
		return cli_fail("xdp run --kernel", pcap_in, "%s", err.msg);
	if (bj_batch__create(0, NULL, &b)) {
		bj_io__destroy(io);
		return cli_fail("xdp run --kernel", pcap_in, "out of memory");
	}
	while ((ret = bj_io__rx(io, b, &err)) > 0) {
		ret = run_batch(fd, b, repeat, c, &at);
		bj_batch__clear(b);
		if (ret) {
			status = cli_fail("xdp run --kernel", pcap_in, "BPF_PROG_TEST_RUN on frame %" PRIu64 ": %s", at,
					  strerror(-ret));
			break;
		}
	}
	if (!status && ret != -ENODATA)
		status = cli_fail("xdp run --kernel", pcap_in, "%s", err.msg);
	bj_batch__destroy(b);
	bj_io__destroy(io);
	return status;
}

static void print_counts(const struct kernel_counts *c, bool json)
{
	uint64_t ran = c->packets - c->refused;
	double ns = ran ? (double)c->duration_ns / (double)ran : 0;

	if (json) {
		printf("{\"packets\":%" PRIu64 ",\"actions\":{", c->packets);
		for (int i = 0; i < BJ_XDP_N_ACTIONS; i++)
			printf("%s\"%s\":%" PRIu64, i ? "," : "", bj_xdp_action__name((uint32_t)i), c->actions[i]);
		printf(",\"other\":%" PRIu64 "},\"ns_per_packet\":%.3f,\"refused\":%" PRIu64 "}\n", c->other, ns, c->refused);
		return;
	}
	printf("%-14s %12s %8s\n", "action", "packets", "share");
	for (int i = 0; i < BJ_XDP_N_ACTIONS; i++)
		printf("%-14s %12" PRIu64 " %7.2f%%\n", bj_xdp_action__name((uint32_t)i), c->actions[i],
		       c->packets ? 100.0 * (double)c->actions[i] / (double)c->packets : 0.0);
	if (c->other)
		printf("%-14s %12" PRIu64 "\n", "other", c->other);
	printf("packets %" PRIu64 ", %.2f ns/packet in the program (kernel BPF_PROG_TEST_RUN, one call per frame)",
	       c->packets, ns);
	if (c->refused)
		printf(", %" PRIu64 " frames under %u bytes refused by the kernel", c->refused, KERNEL_MIN_FRAME);
	printf("\n");
}

int cli_xdp_kernel_run(const char *obj_path, const char *prog, const char *pcap_in, uint32_t repeat, bool json)
{
	struct kernel_counts c = { 0 };
	struct bpf_object *obj = NULL;
	int fd = -1, status;

	status = open_kernel_prog(obj_path, prog, &obj, &fd);
	if (!status)
		status = run_frames(fd, pcap_in, repeat, &c);
	if (!status)
		print_counts(&c, json);
	bpf_object__close(obj);
	return status;
}
