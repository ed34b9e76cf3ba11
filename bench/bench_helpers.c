/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Costs of helpers and callbacks, per engine: a loop of N iterations that sums its index, written three
 * ways in BPF: a plain loop (backward jump, the baseline), the same loop calling a helper each iteration,
 * and bpf_loop with a callback that does the sum. Figures are ns per iteration; `ratio` is baseline / value
 * (below 1: the helper call or the callback costs that much more than the plain iteration).
 *
 *   BJ_BENCH_CPU=1 ./build/bench/bench_helpers
 */
#include "bench.h"

#include <bpfjet/asm.h>
#include <bpfjet/prog.h>

#define ITERS 1000000
#define SAMPLES 7

static const char plain_loop[] = "mov %r0, 0\n mov %r1, 0\n"
				 "loop:\n add %r0, %r1\n add %r1, 1\n jlt %r1, 1000000, loop\n exit\n";
static const char helper_loop[] = "mov %r6, 0\n mov %r7, 0\n"
				  "loop:\n call 8\n add %r6, %r0\n add %r6, %r7\n add %r7, 1\n jlt %r7, 1000000, loop\n"
				  " mov %r0, %r6\n exit\n";
static const char callback_loop[] = "stdw [%r10-8], 0\n mov %r1, 1000000\n lddw %r2, func(cb)\n mov %r3, %r10\n"
				    " add %r3, -8\n mov %r4, 0\n call 181\n ldxdw %r0, [%r10-8]\n exit\n"
				    "cb:\n ldxdw %r3, [%r2+0]\n add %r3, %r1\n stxdw [%r2+0], %r3\n mov %r0, 0\n exit\n";

static struct bj_prog *make(const char *text, enum bj_engine engine)
{
	BJ_OPTS(bj_prog_opts, o, .engine = engine, .unchecked = true);
	struct bj_error err = { 0 };
	struct bj_prog *p = NULL;
	struct bj_insn *insns;
	size_t n;

	if (bj_asm(text, &insns, &n, &err) || bj_prog__create(insns, n, &o, &p, &err)) {
		fprintf(stderr, "bench_helpers: %s\n", err.msg);
		exit(1);
	}
	free(insns);
	return p;
}

/* ns per iteration, median of SAMPLES runs; checks the sum so that every variant does the same work. */
static double time_prog(struct bj_prog *p, uint64_t want)
{
	double v[SAMPLES];

	for (int s = 0; s < SAMPLES; s++) {
		BJ_OPTS(bj_run_opts, ro, .repeat = 1);
		struct bj_error err = { 0 };
		uint64_t t0 = bench_now_ns();

		if (bj_prog__run(p, &ro, &err) || ro.retval != want) {
			fprintf(stderr, "bench_helpers: run gave %llu (%s)\n", (unsigned long long)ro.retval, err.msg);
			exit(1);
		}
		v[s] = (double)(bench_now_ns() - t0) / ITERS;
	}
	return bench_median(v, SAMPLES);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		enum bj_engine engine;
	} engines[] = { { "interp", BJ_ENGINE_INTERP }, { "jit", BJ_ENGINE_JIT } };
	const uint64_t sum = (uint64_t)ITERS * (ITERS - 1) / 2;

	(void)argc;
	bench_pin();
	bench_reproduce(argv[0]);
	for (size_t e = 0; e < sizeof(engines) / sizeof(engines[0]); e++) {
		struct bj_prog *plain = make(plain_loop, engines[e].engine);
		struct bj_prog *helper = make(helper_loop, engines[e].engine);
		struct bj_prog *callback = make(callback_loop, engines[e].engine);
		double base = time_prog(plain, sum), h = time_prog(helper, sum), cb = time_prog(callback, sum);
		char name[64], bname[64];

		snprintf(bname, sizeof(bname), "%s plain loop", engines[e].name);
		snprintf(name, sizeof(name), "helpers/%s call per iteration", engines[e].name);
		bench_result(name, h, "ns", bname, base, true);
		snprintf(name, sizeof(name), "helpers/%s bpf_loop callback", engines[e].name);
		bench_result(name, cb, "ns", bname, base, true);
		bj_prog__destroy(plain);
		bj_prog__destroy(helper);
		bj_prog__destroy(callback);
	}
	return 0;
}
