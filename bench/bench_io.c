/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Raw receive rate on veth: AF_XDP (copy mode) against AF_PACKET (TPACKET_V3), both through bj_io.
 * A sender thread on another CPU floods one end of a veth pair (AF_PACKET TX ring, 64-byte frames); the
 * pinned receiver counts what reaches it at the other end. The ceiling: the kernel's own native XDP program
 * dropping (and counting) every frame on the same end, with no copy to user space. Needs root and network
 * namespaces.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpfjet/asm.h>
#include <bpfjet/io.h>
#include <linux/if_link.h>
#include <net/if.h>

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

/* Frames per second that a native XDP drop program in the kernel counts on bjb, median of RUNS; -1 if refused. */
static double kernel_xdp_drop_rate(void)
{
	static const char text[] = "mov %r6, 0\n stxw [%r10-4], %r6\n lddw %r1, map_fd(MAPFD)\n mov %r2, %r10\n"
				   "add %r2, -4\n call 1\n jeq %r0, 0, out\n mov %r1, 1\n lock add [%r0+0], %r1\n"
				   "out:\n mov %r0, 1\n exit\n";
	int map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bjdrops", 4, 8, 1, NULL), prog_fd = -1;
	int ifindex = (int)if_nametoindex("bjb");
	double mpps[RUNS], ret = -1;
	struct bj_insn *insns = NULL;
	char buf[sizeof(text) + 16];
	uint32_t key = 0;
	size_t n;

	snprintf(buf, sizeof(buf), "%.*s%d%s", (int)(strstr(text, "MAPFD") - text), text, map_fd,
		 strstr(text, "MAPFD") + 5);
	if (map_fd < 0 || !ifindex || bj_asm(buf, &insns, &n, NULL))
		goto out;
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "bjdrop", "GPL", (const struct bpf_insn *)insns, n, NULL);
	if (prog_fd < 0 || bpf_xdp_attach(ifindex, prog_fd, XDP_FLAGS_DRV_MODE, NULL))
		goto out;
	for (int r = 0; r < RUNS; r++) {
		uint64_t c0 = 0, c1 = 0, t0, t1;

		bpf_map_lookup_elem(map_fd, &key, &c0);
		t0 = bench_now_ns();
		usleep(RUN_NS / 1000);
		bpf_map_lookup_elem(map_fd, &key, &c1);
		t1 = bench_now_ns();
		mpps[r] = (double)(c1 - c0) * 1e3 / (double)(t1 - t0);
	}
	bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
	ret = bench_median(mpps, RUNS);
out:
	free(insns);
	if (prog_fd >= 0)
		close(prog_fd);
	if (map_fd >= 0)
		close(map_fd);
	return ret;
}

int main(int argc, char **argv)
{
	pthread_t tx;
	double afp, xdp, kxdp;

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
	kxdp = kernel_xdp_drop_rate();
	stop_sending = 1;
	pthread_join(tx, NULL);
	bench_result("io_rx_veth_af_xdp_copy", xdp, "Mpps", "af_packet_tpacket_v3", afp, false);
	if (kxdp > 0)
		bench_result("io_rx_veth_af_xdp_copy", xdp, "Mpps", "kernel native XDP drop", kxdp, false);
	else
		printf("bench_io: the kernel refused a native XDP program on veth: no kernel baseline\n");
	bench_reproduce(argv[0]);
	sh("ip netns del %s", ns_name);
	return 0;
}
