/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claim: the JIT runs compute programs within 1.3x of the same C compiled natively (geometric mean), and no
 * slower than the kernel's JIT. Each program of bench/jit/ is timed four ways in the same run: native -O2,
 * the bpfjet JIT and interpreter (both unchecked), and the kernel's JIT through BPF_PROG_TEST_RUN (skipped
 * when the kernel refuses).
 * Also reports the JIT's compile time per instruction.
 */
#include "bench.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>

#include "interp/interp.h"
#include "isa/isa.h"
#include "jit/jit.h"

#define PROGS(X) X(sieve) X(memops) X(checksum) X(hash) X(intlog) X(dswitch) X(sort) X(crc32)
#define DECLARE(n) int bench_native_##n(void *ctx);
PROGS(DECLARE)
#undef DECLARE

#define TRIALS 9
#define TRIAL_NS 10000000.0

struct bench_prog {
	const char *name;
	int (*native)(void *ctx);
};

#define ENTRY(n) { #n, bench_native_##n },
static const struct bench_prog progs[] = { PROGS(ENTRY) };
#undef ENTRY

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN || !getenv("BJ_BENCH_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

typedef uint64_t (*call_fn)(void *arg);

/* Calls per trial so that one trial of fn takes about TRIAL_NS; also warms the CPU up. */
static uint64_t calibrate(call_fn fn, void *arg)
{
	uint64_t reps = 1, result = 0;

	for (;;) {
		uint64_t t0 = bench_now_ns();
		for (uint64_t r = 0; r < reps; r++)
			result += fn(arg);
		double dt = (double)(bench_now_ns() - t0);
		if (dt > TRIAL_NS || reps > (1u << 26))
			return reps + (result & 0);
		reps *= 2;
	}
}

static double time_trial(call_fn fn, void *arg, uint64_t reps, uint64_t *result)
{
	uint64_t t0 = bench_now_ns();
	for (uint64_t r = 0; r < reps; r++)
		*result = fn(arg);
	return (double)(bench_now_ns() - t0) / (double)reps;
}

#define N_ENGINES 3

/* Trials of the engines alternate, so that all see the same machine (frequency, neighbours). */
static void time_engines(const call_fn fn[N_ENGINES], void *const arg[N_ENGINES], double ns[N_ENGINES],
			 uint64_t res[N_ENGINES])
{
	double samples[N_ENGINES][TRIALS];
	uint64_t reps[N_ENGINES];

	for (int e = 0; e < N_ENGINES; e++)
		reps[e] = calibrate(fn[e], arg[e]);
	for (int t = 0; t < TRIALS; t++)
		for (int e = 0; e < N_ENGINES; e++)
			samples[e][t] = time_trial(fn[e], arg[e], reps[e], &res[e]);
	for (int e = 0; e < N_ENGINES; e++)
		ns[e] = bench_median(samples[e], TRIALS);
}

static int (*volatile native_fn)(void *);

static uint64_t call_native(void *arg)
{
	return (uint32_t)native_fn(arg);
}

struct jit_arg {
	bj_jit_entry entry;
	struct bj_run run;
	uint8_t data[64];
};

static uint64_t call_jit(void *arg)
{
	struct jit_arg *a = arg;
	return (uint32_t)a->entry(a->data, sizeof(a->data), &a->run);
}

struct interp_arg {
	struct bj_interp *ip;
	struct bj_run run;
	uint8_t data[64];
};

static uint64_t call_interp(void *arg)
{
	struct interp_arg *a = arg;
	return (uint32_t)bj_interp_run(a->ip, a->data, sizeof(a->data), &a->run);
}

/* Mean ns per run reported by the kernel, median over TRIALS; -1 when the kernel cannot run it. */
static double time_kernel(struct bpf_object *obj, struct bpf_program *prog, uint64_t *retval)
{
	uint8_t data[64] = { 0 };
	double samples[TRIALS];
	int fd;

	bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
	if (bpf_object__load(obj)) {
		printf("  kernel JIT: skipped (the kernel refused to load the program: %s)\n", strerror(errno));
		return -1;
	}
	fd = bpf_program__fd(prog);
	for (int t = 0; t < TRIALS; t++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = sizeof(data), .repeat = 20000);
		if (bpf_prog_test_run_opts(fd, &opts)) {
			printf("  kernel JIT: skipped (BPF_PROG_TEST_RUN failed: %s)\n", strerror(errno));
			return -1;
		}
		samples[t] = (double)opts.duration;
		*retval = opts.retval;
	}
	return bench_median(samples, TRIALS);
}

static double compile_ns_per_insn(const struct bj_insn *insns, size_t n)
{
	double samples[TRIALS];

	for (int t = 0; t < TRIALS; t++) {
		struct bj_jit_code *code;
		uint64_t t0 = bench_now_ns();
		for (int r = 0; r < 50; r++) {
			if (bj_jit_compile(insns, n, NULL, NULL, &code, NULL))
				return -1;
			bj_jit_code_free(code);
		}
		samples[t] = (double)(bench_now_ns() - t0) / 50.0 / (double)n;
	}
	return bench_median(samples, TRIALS);
}

struct totals {
	double log_vs_native, log_vs_kernel, log_interp_vs_native, compile;
	int n, n_kernel, slower_than_kernel;
};

static int bench_one(const struct bench_prog *p, struct totals *tot)
{
	char path[1024], name[96];
	struct bj_error err = { 0 };
	struct bj_jit_code *code;
	uint64_t r_native, r_jit, r_interp, r_kernel = 0;
	struct bj_interp *ip = NULL;

	snprintf(path, sizeof(path), "%s/%s.bpf.o", BENCH_JIT_DIR, p->name);
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		printf("%s: cannot open %s\n", p->name, path);
		return 1;
	}
	struct bpf_program *prog = bpf_object__next_program(obj, NULL);
	const struct bj_insn *insns = (const void *)bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog);
	struct bj_insn *copy = malloc(n * sizeof(*copy));
	memcpy(copy, insns, n * sizeof(*copy));

	if (bj_insns_validate(copy, n, &err) || bj_jit_compile(copy, n, NULL, NULL, &code, &err) ||
	    bj_interp_create(copy, n, NULL, false, &ip, &err)) {
		printf("%s: %s (insn %ld)\n", p->name, err.msg, err.insn);
		free(copy);
		bpf_object__close(obj);
		return 1;
	}
	static struct jit_arg arg;
	static struct interp_arg iarg;

	memset(&arg, 0, sizeof(arg));
	memset(&iarg, 0, sizeof(iarg));
	arg.entry = bj_jit_code_entry(code);
	iarg.ip = ip;
	native_fn = p->native;
	const call_fn fns[N_ENGINES] = { call_native, call_jit, call_interp };
	void *const args[N_ENGINES] = { NULL, &arg, &iarg };
	double ns[N_ENGINES];
	uint64_t res[N_ENGINES];
	time_engines(fns, args, ns, res);
	double native_ns = ns[0], jit_ns = ns[1], interp_ns = ns[2];
	r_native = res[0];
	r_jit = res[1];
	r_interp = res[2];
	double compile = compile_ns_per_insn(copy, n);
	double kernel_ns = time_kernel(obj, prog, &r_kernel);

	printf("%s: %zu insns, result 0x%" PRIx64 ", JIT compile %.1f ns/insn\n", p->name, n, r_jit, compile);
	if (r_native != r_jit || r_interp != r_jit || (kernel_ns >= 0 && r_kernel != r_jit)) {
		printf("%s: results differ: native 0x%" PRIx64 " jit 0x%" PRIx64 " interp 0x%" PRIx64 " kernel 0x%" PRIx64
		       "\n", p->name, r_native, r_jit, r_interp, r_kernel);
		return 1;
	}
	snprintf(name, sizeof(name), "jit_%s_vs_native", p->name);
	bench_result(name, jit_ns, "ns", "native -O2", native_ns, true);
	tot->log_vs_native += log(jit_ns / native_ns);
	snprintf(name, sizeof(name), "interp_%s_vs_native", p->name);
	bench_result(name, interp_ns, "ns", "native -O2", native_ns, true);
	tot->log_interp_vs_native += log(interp_ns / native_ns);
	if (kernel_ns >= 0) {
		snprintf(name, sizeof(name), "jit_%s_vs_kernel", p->name);
		bench_result(name, jit_ns, "ns", "kernel JIT", kernel_ns, true);
		tot->log_vs_kernel += log(jit_ns / kernel_ns);
		tot->n_kernel++;
		tot->slower_than_kernel += jit_ns > kernel_ns;
	}
	tot->compile += compile;
	tot->n++;
	bj_jit_code_free(code);
	bj_interp_free(ip);
	free(copy);
	bpf_object__close(obj);
	return 0;
}

int main(int argc, char **argv)
{
	struct totals tot = { 0 };
	int failed = 0;

	(void)argc;
	bench_pin();
	libbpf_set_print(quiet_print);
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		failed |= bench_one(&progs[i], &tot);
	if (tot.n) {
		double g = exp(tot.log_vs_native / tot.n);
		printf("geomean JIT time / native time: %.3fx (goal <= 1.3x)\n", g);
		bench_result("jit_geomean_vs_native", g, "x", "native = 1", 1.0, true);
		printf("geomean interpreter time / native time: %.3fx\n", exp(tot.log_interp_vs_native / tot.n));
		if (tot.n_kernel)
			printf("geomean JIT time / kernel JIT time: %.3fx; slower than the kernel on %d of %d\n",
			       exp(tot.log_vs_kernel / tot.n_kernel), tot.slower_than_kernel, tot.n_kernel);
		printf("JIT compile time: %.1f ns per instruction (mean over programs)\n", tot.compile / tot.n);
	}
	bench_reproduce(argv[0]);
	return failed;
}
