/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claim: calling a program through the dispatcher is >= 2.5x faster than a retpoline call and no slower than
 * a plain indirect call on a steady target. ns per call with 1..256 attached programs, steady target (always
 * the last attached) and rotating target (a pseudo-random attached one per call, drawn the same way in every
 * loop), for: a direct call,
 * a plain indirect call, a retpoline call (call; pause; lfence; jmp loop thunk, as -mindirect-branch=thunk
 * emits), the dispatcher in its default layout and in the other compare forms, the kernel's shape (pure binary
 * search, 64-bit constants), and the static call (one program).
 *
 * BJ_BENCH_CALLS sets the calls per run (default 65536).
 */
#include "bench.h"

#include <bpfjet/dispatcher.h>

#include "dispatcher/synth.h"

#define RUNS 21
#define MAX_PROGS 256

/* The retpoline: rcx holds the target; the call site is a direct call to this thunk. */
__asm__(".text\n"
	".p2align 4\n"
	"bench_retpoline_call:\n"
	"  mov %rcx, %r11\n"
	"  call 1f\n"
	"2: pause\n"
	"  lfence\n"
	"  jmp 2b\n"
	".p2align 4\n"
	"1: mov %r11, (%rsp)\n"
	"  ret\n");
__attribute__((visibility("hidden"))) uint64_t bench_retpoline_call(void *r1, uint64_t r2, struct bj_run *run,
								  bj_prog_fn target);

BJ_DEFINE_XDP_CALL(bench_rx);

static __attribute__((noinline)) uint64_t direct_target(void *r1, uint64_t r2, struct bj_run *run)
{
	__asm__ volatile("" ::: "memory");
	return (uint64_t)r1 ^ r2 ^ (uint64_t)run;
}

enum variant {
	V_DIRECT, V_INDIRECT, V_RETPOLINE, V_STATIC, V_DISPATCH, V_STUB, V_MOVABS, V_TABLE, V_KERNEL, N_VARIANTS
};

static const char *const variant_names[N_VARIANTS] = {
	"direct", "indirect", "retpoline", "static call", "dispatcher",
	"disp. stub", "disp. movabs", "disp. table", "kernel bsrch",
};

struct ctx {
	bj_prog_fn tab[MAX_PROGS]; /* steady: every entry is the same program */
	uint64_t n;
	struct bj_dispatcher *d[N_VARIANTS];
	long calls;
};

/* Every loop draws its target the same way, so that only the call differs. */
static inline uint64_t next_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

#define TARGET(c, x) ((c)->tab[(next_rand(&(x)) >> 32) * (c)->n >> 32])

static __attribute__((noinline)) uint64_t loop_direct(const struct ctx *c)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < c->calls; i++)
		sum += direct_target(NULL, (uint64_t)TARGET(c, x), NULL);
	return sum;
}

static __attribute__((noinline)) uint64_t loop_indirect(const struct ctx *c)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < c->calls; i++)
		sum += TARGET(c, x)(NULL, (uint64_t)i, NULL);
	return sum;
}

static __attribute__((noinline)) uint64_t loop_retpoline(const struct ctx *c)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < c->calls; i++)
		sum += bench_retpoline_call(NULL, (uint64_t)i, NULL, TARGET(c, x));
	return sum;
}

static __attribute__((noinline)) uint64_t loop_static(const struct ctx *c)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < c->calls; i++)
		sum += BJ_XDP_CALL(bench_rx, NULL, (uint64_t)TARGET(c, x), NULL);
	return sum;
}

/* One read-side section per run, as a packet loop holds one per batch. */
static __attribute__((noinline)) uint64_t loop_dispatch(const struct ctx *c, struct bj_dispatcher *d, bool stub)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	bj_dispatch_fn entry;

	bj_dispatcher_read_lock();
	entry = stub ? bj_dispatcher__entry(d) : bj_dispatcher__current(d);
	for (long i = 0; i < c->calls; i++)
		sum += entry(NULL, (uint64_t)i, NULL, TARGET(c, x));
	bj_dispatcher_read_unlock();
	return sum;
}

static volatile uint64_t sink;

static double measure(const struct ctx *c, enum variant v)
{
	double ns[RUNS];

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = bench_now_ns(), sum;

		switch (v) {
		case V_DIRECT: sum = loop_direct(c); break;
		case V_INDIRECT: sum = loop_indirect(c); break;
		case V_RETPOLINE: sum = loop_retpoline(c); break;
		case V_STATIC: sum = loop_static(c); break;
		case V_STUB: sum = loop_dispatch(c, c->d[V_DISPATCH], true); break;
		default: sum = loop_dispatch(c, c->d[v], false); break;
		}
		sink = sum;
		ns[r] = (double)(bench_now_ns() - t0) / (double)c->calls;
	}
	return bench_median(ns, RUNS);
}

static const struct bj_dispatcher_opts *layout_of(enum variant v, struct bj_dispatcher_opts *o)
{
	*o = (struct bj_dispatcher_opts){ .sz = sizeof(*o) };
	if (v == V_MOVABS)
		o->cmp = BJ_DISPATCHER_CMP_MOVABS;
	else if (v == V_TABLE)
		o->cmp = BJ_DISPATCHER_CMP_TABLE;
	else if (v == V_KERNEL)
		o->cmp = BJ_DISPATCHER_CMP_MOVABS, o->linear_max = 1;
	return o;
}

int main(int argc, char **argv)
{
	static const unsigned counts[] = { 1, 2, 4, 8, 16, 48, 64, 256 };
	static struct ctx c;
	const char *env = getenv("BJ_BENCH_CALLS");
	struct bj_synth s;

	(void)argc;
	bench_pin();
	c.calls = env ? atol(env) : 65536;
	if (bj_synth_create(&s, MAX_PROGS, bj_dispatcher_code_hint())) {
		fprintf(stderr, "cannot map code\n");
		return 1;
	}
	printf("ns per call (median of %d runs of %ld calls)\n%-6s %-8s", RUNS, c.calls, "progs", "target");
	for (int v = 0; v < N_VARIANTS; v++)
		printf(" %12s", variant_names[v]);
	printf("\n");
	for (size_t k = 0; k < BJ_ARRAY_SIZE(counts); k++) {
		unsigned n = counts[k];
		double t[2][N_VARIANTS];
		char name[96];

		for (int v = V_DISPATCH; v < N_VARIANTS; v++) {
			struct bj_dispatcher_opts o;

			if (v == V_STUB)
				continue;
			if (bj_dispatcher__create(layout_of((enum variant)v, &o), &c.d[v]))
				return 1;
			for (unsigned i = 0; i < n; i++)
				bj_dispatcher__attach(c.d[v], bj_synth_prog(&s, i));
		}
		c.n = n;
		BJ_XDP_CALL_UPDATE(bench_rx, k ? bj_synth_prog(&s, counts[k - 1] - 1) : NULL, bj_synth_prog(&s, n - 1));
		for (int mode = 0; mode < 2; mode++) {
			for (unsigned i = 0; i < n; i++)
				c.tab[i] = bj_synth_prog(&s, mode ? i : n - 1);
			printf("%-6u %-8s", n, mode ? "rotating" : "steady");
			for (int v = 0; v < N_VARIANTS; v++) {
				bool steady_only = v == V_DIRECT || v == V_STATIC;
				t[mode][v] = steady_only && mode ? 0 : measure(&c, (enum variant)v);
				printf(" %12.2f", t[mode][v]);
			}
			printf("\n");
		}
		for (int mode = 0; mode < 2; mode++) {
			const char *m = mode ? "rotating" : "steady";

			snprintf(name, sizeof(name), "dispatcher %u progs %s", n, m);
			bench_result(name, t[mode][V_DISPATCH], "ns", "retpoline call", t[mode][V_RETPOLINE], true);
			bench_result(name, t[mode][V_DISPATCH], "ns", "indirect call", t[mode][V_INDIRECT], true);
			snprintf(name, sizeof(name), "kernel-style bsearch %u progs %s", n, m);
			bench_result(name, t[mode][V_KERNEL], "ns", "indirect call", t[mode][V_INDIRECT], true);
		}
		for (int v = V_DISPATCH; v < N_VARIANTS; v++)
			bj_dispatcher__destroy(c.d[v]);
	}
	bj_synth_destroy(&s);
	bench_reproduce(argv[0]);
	return 0;
}
