/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw receive rate on veth: AF_XDP (copy mode) against AF_PACKET (TPACKET_V3), both through bj_io.
 * A sender thread on another CPU floods one end of a veth pair (AF_PACKET TX ring, 64-byte frames); the
 * pinned receiver counts what reaches it at the other end. Needs root and network namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#include <bpfjet/io.h>

#include "bench.h"

#define RUNS 5
#define RUN_NS 1000000000ull

static char ns_name[32];
static volatile int stop_sending;

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	return system(cmd) == 0 ? 0 : -1;
}

static int enter_netns(void)
{
	char path[96];
	int fd;

	snprintf(ns_name, sizeof(ns_name), "bjio-bench-%d", (int)getpid());
	if (sh("ip netns add %s", ns_name))
		return -1;
	snprintf(path, sizeof(path), "/var/run/netns/%s", ns_name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, CLONE_NEWNET)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY);
	if (fd >= 0) {
		ssize_t r = write(fd, "1", 1);

		(void)r;
		close(fd);
	}
	return sh("ip link add bja type veth peer name bjb") || sh("ip link set bja up") || sh("ip link set bjb up");
}

static void *sender(void *arg)
{
	BJ_OPTS(bj_io_opts, opts, .ifname = "bja", .tx_only = true);
	struct bj_frame *ptrs[BJ_IO_BATCH_SIZE];
	struct bj_batch *b = NULL;
	struct bj_io *io = NULL;
	struct bj_error err;
	cpu_set_t set;

	(void)arg;
	CPU_ZERO(&set);
	CPU_SET(0, &set);
	sched_setaffinity(0, sizeof(set), &set);
	if (bj_io__open(BJ_IO_AF_PACKET, &opts, &io, &err) || bj_batch__create(0, NULL, &b)) {
		fprintf(stderr, "bench_io: sender: %s\n", err.msg);
		exit(1);
	}
	for (uint32_t i = 0; i < b->cap; i++) {
		struct bj_frame *f = &b->frames[i];

		memset(bj_frame__data(f), 0, 60);
		memset(bj_frame__data(f), 0xff, 6);
		memcpy(bj_frame__data(f) + 12, "\x88\xb5", 2);
		memcpy(bj_frame__data(f) + 14, &i, sizeof(i));
		f->data_end = f->data + 60;
		ptrs[i] = f;
	}
	while (!stop_sending)
		if (bj_io__tx(io, ptrs, b->cap, &err) < 0)
			break;
	bj_batch__destroy(b);
	bj_io__destroy(io);
	return NULL;
}

/* Frames per second one receiver sees over RUN_NS. */
static double receive_rate(struct bj_io *io, struct bj_batch *b)
{
	uint64_t n = 0, t0, t;
	struct bj_error err;
	int ret;

	while (bj_io__rx(io, b, &err) > 0)
		; /* drain what queued up before the clock starts */
	t0 = bench_now_ns();
	do {
		ret = bj_io__rx(io, b, &err);
		if (ret < 0) {
			fprintf(stderr, "bench_io: rx: %s\n", err.msg);
			exit(1);
		}
		n += (uint64_t)ret;
		t = bench_now_ns();
	} while (t - t0 < RUN_NS);
	return (double)n * 1e9 / (double)(t - t0);
}

static double median_rate(enum bj_io_kind kind)
{
	BJ_OPTS(bj_io_opts, opts, .ifname = "bjb", .rx_wait_ms = 10, .copy_mode = BJ_IO_COPY_FORCE);
	struct bj_io_stats st = { .sz = sizeof(st) };
	struct bj_batch *b = NULL;
	struct bj_io *io = NULL;
	struct bj_error err;
	double mpps[RUNS];

	if (bj_io__open(kind, &opts, &io, &err) || bj_batch__create(0, NULL, &b)) {
		fprintf(stderr, "bench_io: %s\n", err.msg);
		exit(1);
	}
	for (int r = 0; r < RUNS; r++)
		mpps[r] = receive_rate(io, b) / 1e6;
	bj_io__stats(io, &st);
	printf("  %s: received %llu, dropped by the kernel %llu\n", kind == BJ_IO_AF_XDP ? "af_xdp" : "af_packet",
	       (unsigned long long)st.rx_packets, (unsigned long long)st.rx_dropped);
	bj_batch__destroy(b);
	bj_io__destroy(io);
	return bench_median(mpps, RUNS);
}

int main(int argc, char **argv)
{
	pthread_t tx;
	double afp, xdp;

	(void)argc;
	if (geteuid() != 0 || enter_netns()) {
		printf("bench_io: skipped (needs root and network namespaces)\n");
		if (ns_name[0])
			sh("ip netns del %s", ns_name);
		return 0;
	}
	bench_pin();
	pthread_create(&tx, NULL, sender, NULL);
	afp = median_rate(BJ_IO_AF_PACKET);
	xdp = median_rate(BJ_IO_AF_XDP);
	stop_sending = 1;
	pthread_join(tx, NULL);
	bench_result("io_rx_veth_af_xdp_copy", xdp, "Mpps", "af_packet_tpacket_v3", afp, false);
	bench_reproduce(argv[0]);
	sh("ip netns del %s", ns_name);
	return 0;
}
