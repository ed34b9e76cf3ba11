/* SPDX-License-Identifier: Apache-2.0 */
/*
 * XDP ns/packet: the kernel's BPF_PROG_TEST_RUN (repeat) against bpfjet per packet (interpreter, JIT) and
 * batched (rewrite on both engines, native JIT loop), on six small programs over a 64-byte UDP packet.
 *
 * The kernel's figure is test_run's own: one xdp_buff run `repeat` times in a loop (no context set-up, no
 * action handling). bpfjet's is everything a receive loop does per batch of 64 frames except receiving:
 * bj_xdp__run_batch (the 4 GiB check and the xdp_md contexts when the program reads them, the program, the
 * verdicts stored in the frames and counted, the statistics and their clock reads) and bj_xdp__deliver (the TX
 * frames listed for the io, here none so nothing is sent; the REDIRECT frames grouped by target and handed to
 * a callback that takes them). Modes run interleaved; medians of RUNS runs of the thread's CPU time.
 *
 * `bench_xdp [batches [program [mode]]]`: with a program and a mode, only that (for callgrind, see
 * bench/xdp_callgrind.sh).
 */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <bpfjet/asm.h>
#include <bpfjet/map.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "maps/map_internal.h"

#define RUNS 7
#define BATCH 64

static uint64_t map_lookup(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r3, (void)r4, (void)r5, (void)run;
	return (uint64_t)(uintptr_t)bj_map_lookup((struct bj_map *)(uintptr_t)map, (void *)(uintptr_t)key, 0);
}

#define BOUNDS(n) "ldxw %r2, [%r1+0]\n ldxw %r3, [%r1+4]\n mov %r4, %r2\n add %r4, " #n "\n jgt %r4, %r3, out\n"

struct bench_prog {
	const char *name;
	const char *text; /* MAP stands for the map reference */
	enum bj_map_type map_type;
	uint32_t key_size;
};

static const struct bench_prog progs[] = {
	{ "drop", "mov %r0, 1\n exit\n", 0, 0 },
	{ "parse_count",
	  BOUNDS(34) "ldxh %r5, [%r2+12]\n jne %r5, 0x8, out\n ldxb %r5, [%r2+23]\n stxw [%r10-4], %r5\n"
		     "lddw %r1, MAP\n mov %r2, %r10\n add %r2, -4\n call 1\n jeq %r0, 0, out\n"
		     "mov %r1, 1\n lock add [%r0+0], %r1\n out:\n mov %r0, 2\n exit\n",
	  BJ_MAP_TYPE_ARRAY, 4 },
	{ "hash5_lookup",
	  BOUNDS(42) "ldxw %r5, [%r2+26]\n stxw [%r10-16], %r5\n ldxw %r5, [%r2+30]\n stxw [%r10-12], %r5\n"
		     "ldxw %r5, [%r2+34]\n stxw [%r10-8], %r5\n ldxb %r5, [%r2+23]\n stxw [%r10-4], %r5\n"
		     "lddw %r1, MAP\n mov %r2, %r10\n add %r2, -16\n call 1\n jeq %r0, 0, out\n"
		     "mov %r0, 1\n exit\n out:\n mov %r0, 2\n exit\n",
	  BJ_MAP_TYPE_HASH, 16 },
	{ "mac_swap_tx",
	  BOUNDS(14) "ldxw %r5, [%r2+0]\n ldxh %r6, [%r2+4]\n ldxw %r7, [%r2+6]\n ldxh %r8, [%r2+10]\n"
		     "stxw [%r2+0], %r7\n stxh [%r2+4], %r8\n stxw [%r2+6], %r5\n stxh [%r2+10], %r6\n"
		     "mov %r0, 3\n exit\n out:\n mov %r0, 1\n exit\n",
	  0, 0 },
	{ "checksum",
	  BOUNDS(34) "mov %r0, 0\n mov %r5, 0\n add %r2, 14\n"
		     "loop:\n ldxh %r6, [%r2+0]\n add %r0, %r6\n add %r2, 2\n add %r5, 1\n jlt %r5, 10, loop\n"
		     "mov %r6, %r0\n rsh %r6, 16\n and %r0, 0xffff\n add %r0, %r6\n jeq %r0, 0, out\n"
		     "mov %r0, 2\n exit\n out:\n mov %r0, 1\n exit\n",
	  0, 0 },
	{ "redirect", "mov %r1, 7\n mov %r2, 0\n call 23\n exit\n", 0, 0 },
};

static const uint8_t packet[64] = {
	0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, /* Ethernet, IPv4 */
	0x45, 0, 0, 50, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, /* IPv4, UDP */
	0x30, 0x39, 0x1f, 0x90, 0, 30, 0, 0,
};

/* The program text with MAP replaced by `with`. */
static char *subst(const char *text, const char *with)
{
	const char *at = strstr(text, "MAP");
	size_t len = strlen(text) + strlen(with) + 1;
	char *s = malloc(len);

	if (at)
		snprintf(s, len, "%.*s%s%s", (int)(at - text), text, with, at + 3);
	else
		snprintf(s, len, "%s", text);
	return s;
}

static double kernel_ns(const struct bench_prog *bp, uint32_t repeat)
{
	struct bj_insn *insns;
	char fdref[32], *text;
	int map_fd = -1, prog_fd;
	size_t n;
	double v[RUNS];

	if (bp->map_type) {
		map_fd = bpf_map_create(bp->map_type == BJ_MAP_TYPE_ARRAY ? BPF_MAP_TYPE_ARRAY : BPF_MAP_TYPE_HASH, NULL,
					bp->key_size, 8, 256, NULL);
		if (map_fd < 0)
			return -1;
	}
	snprintf(fdref, sizeof(fdref), "map_fd(%d)", map_fd);
	text = subst(bp->text, fdref);
	if (bj_asm(text, &insns, &n, NULL)) {
		free(text);
		return -1;
	}
	free(text);
	prog_fd = bpf_prog_load(BPF_PROG_TYPE_XDP, bp->name, "GPL", (const struct bpf_insn *)insns, n, NULL);
	free(insns);
	if (prog_fd < 0) {
		if (map_fd >= 0)
			close(map_fd);
		return -1;
	}
	for (int r = 0; r < RUNS; r++) {
		uint8_t out[128];
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = packet, .data_size_in = sizeof(packet), .data_out = out,
			    .data_size_out = sizeof(out), .repeat = repeat);
		v[r] = bpf_prog_test_run_opts(prog_fd, &o) ? -1 : (double)o.duration;
	}
	close(prog_fd);
	if (map_fd >= 0)
		close(map_fd);
	return bench_median(v, RUNS);
}

static uint32_t take_all(void *ctx, unsigned worker, const struct bj_xdp_target *t, struct bj_frame *const *f,
			 uint32_t n)
{
	(void)ctx, (void)worker, (void)t, (void)f;
	return n;
}

struct mode {
	const char *name;
	enum bj_engine engine;
	enum bj_xdp_exec exec;
};

static const struct mode modes[] = {
	{ "interp per-packet", BJ_ENGINE_INTERP, BJ_XDP_EXEC_PER_PACKET },
	{ "jit per-packet", BJ_ENGINE_JIT, BJ_XDP_EXEC_PER_PACKET },
	{ "interp rewrite", BJ_ENGINE_INTERP, BJ_XDP_EXEC_REWRITE },
	{ "jit rewrite", BJ_ENGINE_JIT, BJ_XDP_EXEC_REWRITE },
	{ "jit native loop", BJ_ENGINE_JIT, BJ_XDP_EXEC_NATIVE_LOOP },
};
#define N_MODES (sizeof(modes) / sizeof(modes[0]))

/* One bpfjet runner of one program in one mode, over a batch of BATCH copies of the packet. */
struct runner {
	struct bj_map *map;
	struct bj_prog *prog;
	struct bj_batch *b;
	struct bj_xdp *x;
};

static int runner_open(const struct bench_prog *bp, const struct mode *m, struct runner *r)
{
	/* The XDP runtime's helpers come by default; the map lookup is the plain fast path, with no checks. */
	static const struct bj_helper helpers[] = { { 1, "bpf_map_lookup_elem", map_lookup } };
	struct bj_insn *insns;
	char ref[32], *text;
	size_t n;

	memset(r, 0, sizeof(*r));
	if (bp->map_type && bj_map__create(bp->map_type, bp->key_size, 8, 256, NULL, &r->map, NULL))
		return -1;
	snprintf(ref, sizeof(ref), "0x%" PRIxPTR, (uintptr_t)r->map);
	text = subst(bp->text, ref);
	if (bj_asm(text, &insns, &n, NULL))
		return -1;
	free(text);
	/* Unchecked, as the kernel runs verified programs. */
	BJ_OPTS(bj_prog_opts, po, .type = BJ_PROG_TYPE_XDP, .engine = m->engine, .helpers = helpers,
		.n_helpers = 1, .unchecked = true);
	if (bj_prog__create(insns, n, &po, &r->prog, NULL))
		return -1;
	free(insns);
	BJ_OPTS(bj_xdp_opts, xo, .exec = m->exec, .batch_size = BATCH, .redirect = take_all);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	if (bj_xdp__create(r->prog, &xo, &r->x, NULL) || bj_batch__create(BATCH, &bo, &r->b))
		return -1;
	for (uint32_t i = 0; i < BATCH; i++) {
		struct bj_frame *f = &r->b->frames[i];

		memcpy(f->buf + f->data, packet, sizeof(packet));
		f->data_end = f->data + sizeof(packet);
	}
	r->b->n = BATCH;
	return 0;
}

/*
 * The thread's CPU time: on a shared machine the time this thread waits for the CPU does not count, as the
 * kernel's test_run timer leaves out the time around its own reschedules.
 */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ns per packet of `batches` rounds of what a receive loop does per batch, minus the receive itself. */
static double runner_time(struct runner *r, uint32_t batches)
{
	uint64_t t0 = cpu_ns();

	for (uint32_t k = 0; k < batches; k++) {
		bj_xdp__run_batch(r->x, 0, r->b, NULL);
		bj_xdp__deliver(r->x, 0, r->b, NULL, NULL);
	}
	return (double)(cpu_ns() - t0) / ((double)batches * BATCH);
}

static void runner_close(struct runner *r)
{
	if (r->b)
		r->b->n = 0;
	bj_batch__destroy(r->b);
	bj_xdp__destroy(r->x);
	bj_prog__destroy(r->prog);
	bj_map__destroy(r->map);
}

static double bpfjet_ns(const struct bench_prog *bp, const struct mode *m, uint32_t batches)
{
	struct runner r;
	double v[RUNS];

	if (runner_open(bp, m, &r))
		return -1;
	for (int k = 0; k < RUNS; k++)
		v[k] = runner_time(&r, batches);
	runner_close(&r);
	return bench_median(v, RUNS);
}

/*
 * Every mode of one program, the runs interleaved (mode 1, 2, ..., 5, then again) so that the machine's load
 * falls on all of them alike. Runners open in table order: the JIT per-packet one gets the static call.
 */
static int bpfjet_all(const struct bench_prog *bp, uint32_t batches, double *ns)
{
	struct runner r[N_MODES];
	double v[N_MODES][RUNS];
	int ret = 0;

	for (size_t m = 0; m < N_MODES; m++)
		if (runner_open(bp, &modes[m], &r[m]))
			ret = -1;
	for (int k = 0; k < RUNS && !ret; k++)
		for (size_t m = 0; m < N_MODES; m++)
			v[m][k] = runner_time(&r[m], modes[m].engine == BJ_ENGINE_INTERP ? batches / 8 : batches);
	for (size_t m = 0; m < N_MODES; m++) {
		runner_close(&r[m]);
		ns[m] = ret ? -1 : bench_median(v[m], RUNS);
	}
	return ret;
}

/* One program in one mode, without the kernel: for `valgrind --tool=callgrind` instruction counts. */
static int bpfjet_only(const char *prog, const char *mode, uint32_t batches)
{
	for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++)
		for (size_t m = 0; m < sizeof(modes) / sizeof(modes[0]); m++)
			if (!strcmp(progs[p].name, prog) && !strcmp(modes[m].name, mode)) {
				printf("xdp %s: %s %.3f ns/pkt\n", prog, mode, bpfjet_ns(&progs[p], &modes[m], batches));
				return 0;
			}
	fprintf(stderr, "usage: bench_xdp [batches [program [mode]]]\n");
	return 1;
}

int main(int argc, char **argv)
{
	uint32_t batches = argc > 1 ? (uint32_t)atoi(argv[1]) : 20000;
	const char *only_prog = argc > 2 ? argv[2] : NULL;

	bench_pin();
	if (argc > 3)
		return bpfjet_only(only_prog, argv[3], batches);
	for (size_t p = 0; p < sizeof(progs) / sizeof(progs[0]); p++) {
		const struct bench_prog *bp = &progs[p];

		if (only_prog && strcmp(only_prog, bp->name))
			continue;
		double kernel = kernel_ns(bp, batches * BATCH / 8), ns[N_MODES];
		char name[96];

		if (bpfjet_all(bp, batches, ns)) {
			fprintf(stderr, "xdp %s: cannot set up the runners\n", bp->name);
			return 1;
		}
		for (size_t m = 0; m < N_MODES; m++) {
			snprintf(name, sizeof(name), "xdp %s: %s", bp->name, modes[m].name);
			if (kernel > 0)
				bench_result(name, ns[m], "ns/pkt", "kernel BPF_PROG_TEST_RUN", kernel, true);
			else
				printf("%-40s %12.3f ns/pkt (kernel BPF not available)\n", name, ns[m]);
		}
		snprintf(name, sizeof(name), "xdp %s: jit native loop", bp->name);
		bench_result(name, ns[4], "ns/pkt", "jit per-packet", ns[1], true);
		snprintf(name, sizeof(name), "xdp %s: jit rewrite", bp->name);
		bench_result(name, ns[3], "ns/pkt", "jit per-packet", ns[1], true);
		snprintf(name, sizeof(name), "xdp %s: interp rewrite", bp->name);
		bench_result(name, ns[2], "ns/pkt", "interp per-packet", ns[0], true);
	}
	bench_reproduce(argv[0]);
	return 0;
}
