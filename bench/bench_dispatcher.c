/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claims: calling a program through the dispatcher is >= 2.5x faster than a retpoline call and no slower than
 * a plain indirect call on a steady target, and no slower than the retpoline on random targets. ns per call
 * with 1..256 attached programs, steady target (always the last attached) and random target (a pseudo-random
 * attached one per call, drawn the same way in every loop), for: the loop alone (drawing the target, no call),
 * a direct call, a plain indirect call, a retpoline call (call; pause; lfence; jmp loop thunk, as
 * -mindirect-branch=thunk emits), the static call (one program), the kernel's shape (pure binary search,
 * 64-bit constants), the TREE layout (binary tree of compare chains of 4), and the default HOT layout (after
 * its samples have re-laid it out) called through the current half in one read-side section and through
 * bj_dispatcher__call() (section and sampling per call).
 *
 * BJ_BENCH_CALLS sets the calls per run (default 65536); BJ_BENCH_PROGS=n and BJ_BENCH_MODE=steady|random
 * restrict the table to one row (bench/dispatcher_callgrind.sh counts instructions per call that way).
 */
#include "bench.h"

#include <bpfjet/asm.h>
#include <bpfjet/dispatcher.h>
#include <bpfjet/xdp.h>

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
	V_LOOP, V_DIRECT, V_INDIRECT, V_RETPOLINE, V_STATIC, V_KERNEL, V_TREE, V_HOT, V_HOT_CALL, N_VARIANTS
};

static const char *const variant_names[N_VARIANTS] = {
	"loop only", "direct", "indirect", "retpoline", "static call", "kernel bsrch", "disp. tree", "dispatcher",
	"disp. call()",
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

static __attribute__((noinline)) uint64_t loop_only(const struct ctx *c)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < c->calls; i++) {
		sum += (uint64_t)TARGET(c, x);
		__asm__ volatile("" : "+r"(sum));
	}
	return sum;
}

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
static inline __attribute__((always_inline)) uint64_t loop_dispatch(const struct ctx *c, struct bj_dispatcher *d)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	bj_dispatch_fn entry;

	bj_dispatcher_read_lock();
	entry = bj_dispatcher__current(d);
	for (long i = 0; i < c->calls; i++)
		sum += entry(NULL, (uint64_t)i, NULL, TARGET(c, x));
	bj_dispatcher_read_unlock();
	return sum;
}

/* One function per layout, so that instruction counts can be told apart. */
static __attribute__((noinline)) uint64_t loop_kernel(const struct ctx *c)
{
	return loop_dispatch(c, c->d[V_KERNEL]);
}

static __attribute__((noinline)) uint64_t loop_tree(const struct ctx *c)
{
	return loop_dispatch(c, c->d[V_TREE]);
}

static __attribute__((noinline)) uint64_t loop_hot(const struct ctx *c)
{
	return loop_dispatch(c, c->d[V_HOT]);
}

static __attribute__((noinline)) uint64_t loop_dispatch_call(const struct ctx *c, struct bj_dispatcher *d)
{
	uint64_t sum = 0, x = 88172645463325252ull;
	for (long i = 0; i < c->calls; i++)
		sum += bj_dispatcher__call(d, NULL, (uint64_t)i, NULL, TARGET(c, x));
	return sum;
}

static volatile uint64_t sink;

static double run_once(const struct ctx *c, enum variant v)
{
	uint64_t t0 = bench_now_ns(), sum;

	switch (v) {
	case V_LOOP: sum = loop_only(c); break;
	case V_DIRECT: sum = loop_direct(c); break;
	case V_INDIRECT: sum = loop_indirect(c); break;
	case V_RETPOLINE: sum = loop_retpoline(c); break;
	case V_STATIC: sum = loop_static(c); break;
	case V_KERNEL: sum = loop_kernel(c); break;
	case V_TREE: sum = loop_tree(c); break;
	case V_HOT: sum = loop_hot(c); break;
	default: sum = loop_dispatch_call(c, c->d[V_HOT]); break;
	}
	sink = sum;
	return (double)(bench_now_ns() - t0) / (double)c->calls;
}

/* Runs interleave the variants, so that the machine's drift (shared, loaded) hits them all alike. */
static void measure_all(const struct ctx *c, bool random, double *t)
{
	static double ns[N_VARIANTS][RUNS];

	for (int r = 0; r < RUNS; r++)
		for (int v = 0; v < N_VARIANTS; v++)
			if (!random || (v != V_DIRECT && v != V_STATIC))
				ns[v][r] = run_once(c, (enum variant)v);
	for (int v = 0; v < N_VARIANTS; v++)
		t[v] = random && (v == V_DIRECT || v == V_STATIC) ? 0 : bench_median(ns[v], RUNS);
}

static const struct bj_dispatcher_opts *layout_of(enum variant v, struct bj_dispatcher_opts *o)
{
	*o = (struct bj_dispatcher_opts){ .sz = sizeof(*o), .manual_relayout = true };
	if (v == V_TREE)
		o->layout = BJ_DISPATCHER_LAYOUT_TREE;
	else if (v == V_KERNEL)
		o->layout = BJ_DISPATCHER_LAYOUT_TREE, o->cmp = BJ_DISPATCHER_CMP_MOVABS, o->linear_max = 1;
	return o;
}

/* The HOT layout as it settles under this load: sampled through the wrapper, then re-laid out (by hand here,
 * so that the rate limit's timing does not enter the figures). */
static void settle_hot(struct ctx *c)
{
	uint64_t x = 1;

	for (int i = 0; i < 64 * 2048; i++)
		bj_dispatcher__call(c->d[V_HOT], NULL, 0, NULL, TARGET(c, x));
	bj_dispatcher__relayout(c->d[V_HOT]);
}

/*
 * XDP drop, one program call per frame, through the three ways the runner calls a JIT-compiled program: the
 * module's static call (the first runner takes it), a plain indirect call (a second runner without a
 * dispatcher), and a dispatcher holding the program among `others` synthetic ones. Same program, same batch
 * of 64 frames; runs interleaved; ns per packet including the runner's per-frame work.
 */
enum { XC_STATIC, XC_INDIRECT, XC_DISPATCHER, N_XC };

static double xdp_batch_ns(struct bj_xdp *x, struct bj_batch *b, int batches)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < batches; i++)
		if (bj_xdp__run_batch(x, 0, b, NULL))
			abort();
	return (double)(bench_now_ns() - t0) / ((double)batches * b->n);
}

static int bench_xdp_calls(struct bj_synth *s, unsigned others)
{
	static const char *const names[N_XC] = { "static call", "indirect call", "dispatcher" };
	struct bj_xdp *x[N_XC] = { 0 };
	struct bj_dispatcher *d = NULL;
	struct bj_prog *prog = NULL;
	struct bj_batch *b = NULL;
	struct bj_insn *insns;
	double v[N_XC][RUNS], med[N_XC];
	size_t n;
	int ret = 1;

	if (bj_asm("mov %r0, 1\n exit\n", &insns, &n, NULL))
		return 1;
	BJ_OPTS(bj_prog_opts, po, .type = BJ_PROG_TYPE_XDP, .engine = BJ_ENGINE_JIT, .unchecked = true);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	BJ_OPTS(bj_xdp_opts, xo, .exec = BJ_XDP_EXEC_PER_PACKET);
	if (bj_prog__create(insns, n, &po, &prog, NULL) || bj_dispatcher__create(NULL, &d) ||
	    bj_batch__create(64, &bo, &b))
		goto out;
	for (unsigned i = 0; i < others; i++)
		bj_dispatcher__attach(d, bj_synth_prog(s, i));
	for (int k = 0; k < N_XC; k++) {
		BJ_OPTS(bj_xdp_opts, xd, .exec = BJ_XDP_EXEC_PER_PACKET, .dispatcher = d);
		if (bj_xdp__create(prog, k == XC_DISPATCHER ? &xd : &xo, &x[k], NULL))
			goto out;
	}
	for (uint32_t i = 0; i < 64; i++)
		b->frames[i].data_end = b->frames[i].data + 60;
	b->n = 64;
	/* Enough batches for the runner's samples to put the program in the hot chain, as a long run would. */
	xdp_batch_ns(x[XC_DISPATCHER], b, 20000);
	bj_dispatcher__relayout(d);
	for (int r = 0; r < RUNS; r++)
		for (int k = 0; k < N_XC; k++)
			v[k][r] = xdp_batch_ns(x[k], b, 2000);
	printf("XDP drop per packet, dispatcher with %u other programs:", others);
	for (int k = 0; k < N_XC; k++) {
		med[k] = bench_median(v[k], RUNS);
		printf("  %s %.2f ns", names[k], med[k]);
	}
	printf("\n");
	char name[96];
	snprintf(name, sizeof(name), "xdp drop per packet via dispatcher (+%u progs)", others);
	bench_result(name, med[XC_DISPATCHER], "ns/pkt", "indirect call", med[XC_INDIRECT], true);
	snprintf(name, sizeof(name), "xdp drop per packet via static call");
	if (!others)
		bench_result(name, med[XC_STATIC], "ns/pkt", "indirect call", med[XC_INDIRECT], true);
	ret = 0;
out:
	b->n = 0;
	bj_batch__destroy(b);
	for (int k = N_XC; k-- > 0;)
		bj_xdp__destroy(x[k]);
	bj_dispatcher__destroy(d);
	bj_prog__destroy(prog);
	free(insns);
	return ret;
}

int main(int argc, char **argv)
{
	static const unsigned counts[] = { 1, 2, 4, 8, 16, 48, 64, 256 };
	static struct ctx c;
	const char *env = getenv("BJ_BENCH_CALLS"), *only_progs = getenv("BJ_BENCH_PROGS");
	const char *only_mode = getenv("BJ_BENCH_MODE");
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

		if (only_progs && (unsigned)atoi(only_progs) != n)
			continue;

		for (int v = V_KERNEL; v <= V_HOT; v++) {
			struct bj_dispatcher_opts o;

			if (bj_dispatcher__create(layout_of((enum variant)v, &o), &c.d[v]))
				return 1;
			for (unsigned i = 0; i < n; i++)
				bj_dispatcher__attach(c.d[v], bj_synth_prog(&s, i));
		}
		c.n = n;
		BJ_XDP_CALL_UPDATE(bench_rx, bj_static_call__target(&bj_xdp_call_bench_rx, NULL), bj_synth_prog(&s, n - 1));
		for (int mode = 0; mode < 2; mode++) {
			if (only_mode && strcmp(only_mode, mode ? "random" : "steady"))
				continue;
			for (unsigned i = 0; i < n; i++)
				c.tab[i] = bj_synth_prog(&s, mode ? i : n - 1);
			settle_hot(&c);
			printf("%-6u %-8s", n, mode ? "random" : "steady");
			measure_all(&c, mode, t[mode]);
			for (int v = 0; v < N_VARIANTS; v++)
				printf(" %12.2f", t[mode][v]);
			printf("\n");
		}
		for (int mode = 0; mode < 2 && !only_mode; mode++) {
			const char *m = mode ? "random" : "steady";

			snprintf(name, sizeof(name), "dispatcher %u progs %s", n, m);
			bench_result(name, t[mode][V_HOT], "ns", "retpoline call", t[mode][V_RETPOLINE], true);
			bench_result(name, t[mode][V_HOT], "ns", "indirect call", t[mode][V_INDIRECT], true);
			snprintf(name, sizeof(name), "kernel-style bsearch %u progs %s", n, m);
			bench_result(name, t[mode][V_KERNEL], "ns", "indirect call", t[mode][V_INDIRECT], true);
		}
		for (int v = V_KERNEL; v <= V_HOT; v++)
			bj_dispatcher__destroy(c.d[v]);
	}
	if (!only_progs && (bench_xdp_calls(&s, 0) || bench_xdp_calls(&s, 63)))
		return 1;
	bj_synth_destroy(&s);
	bench_reproduce(argv[0]);
	return 0;
}
