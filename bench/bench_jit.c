/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claim: the JIT runs compute programs within 1.3x of the same C compiled natively (geometric mean), and no
 * slower than the kernel's JIT. Each program of bench/jit/ runs in the same process five ways: native -O2,
 * native -O2 without vectorisation (the JIT emits scalar code: the difference is what SIMD alone buys),
 * the bpfjet JIT and interpreter (both unchecked), and the machine code the kernel's JIT made for it (read
 * back with BPF_OBJ_GET_INFO_BY_FD and run here), all called the same way from the same loop and timed with
 * the thread's CPU clock, so that time the thread spends preempted counts for none of them. The kernel's own
 * BPF_PROG_TEST_RUN duration is reported too, gross and net of its per-run cost (the `empty` program).
 * Also reports the JIT's compile time per instruction.
 *
 * BJ_BENCH_CALLGRIND=N replaces timing by N calls of each engine in functions of their own (cg_*), for
 * instruction counts under callgrind: bench/jit/callgrind.sh. BJ_BENCH_PROG=name runs one program.
 */
#include "bench.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <sys/mman.h>
#ifdef BENCH_HAVE_CAPSTONE
#include <capstone/capstone.h>
#endif

#include "interp/interp.h"
#include "isa/isa.h"
#include "jit/jit.h"

#define PROGS(X) X(sieve) X(memops) X(checksum) X(hash) X(intlog) X(dswitch) X(sort) X(crc32) X(empty)
#define DECLARE(n) int bench_native_##n(void *ctx); int bench_scalar_##n(void *ctx);
PROGS(DECLARE)
#undef DECLARE

#define TRIALS 15
#define TRIAL_NS 2000000.0
#define KERNEL_REPEAT 20000

struct bench_prog {
	const char *name;
	int (*native)(void *ctx);
	int (*scalar)(void *ctx); /* native -O2 without vectorisation */
};

#define ENTRY(n) { #n, bench_native_##n, bench_scalar_##n },
static const struct bench_prog progs[] = { PROGS(ENTRY) };
#undef ENTRY

/* The last program only measures what a run costs beyond the program's own instructions. */
#define N_PROGS (sizeof(progs) / sizeof(progs[0]))
#define IS_OVERHEAD(p) ((p) == &progs[N_PROGS - 1])

static int quiet_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN || !getenv("BJ_BENCH_VERBOSE"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* CPU time of this thread: a trial that is preempted is not charged for the time others ran. */
static uint64_t thread_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

enum engine { E_NATIVE, E_JIT, E_INTERP, E_KIMAGE, E_SCALAR, N_ENGINES };

static const char *const engine_name[N_ENGINES] = { "native", "bpfjet JIT", "interpreter", "kernel JIT code",
						    "native, not vectorised" };

typedef uint64_t (*call_fn)(void *arg);

/* Calls per trial so that one trial of fn takes about TRIAL_NS; also warms the CPU up. */
static uint64_t calibrate(call_fn fn, void *arg)
{
	uint64_t reps = 1, result = 0;

	for (;;) {
		uint64_t t0 = thread_ns();
		for (uint64_t r = 0; r < reps; r++)
			result += fn(arg);
		double dt = (double)(thread_ns() - t0);
		if (dt > TRIAL_NS || reps > (1u << 26))
			return reps + (result & 0);
		reps *= 2;
	}
}

static double time_trial(call_fn fn, void *arg, uint64_t reps, uint64_t *result)
{
	uint64_t t0 = thread_ns();
	for (uint64_t r = 0; r < reps; r++)
		*result = fn(arg);
	return (double)(thread_ns() - t0) / (double)reps;
}

/* Trials of the engines alternate, so that all see the same machine (frequency, neighbours). */
static void time_engines(const call_fn fn[N_ENGINES], void *const arg[N_ENGINES], double ns[N_ENGINES],
			 uint64_t res[N_ENGINES])
{
	double samples[N_ENGINES][TRIALS];
	uint64_t reps[N_ENGINES];

	for (int e = 0; e < N_ENGINES; e++)
		if (fn[e])
			reps[e] = calibrate(fn[e], arg[e]);
	for (int t = 0; t < TRIALS; t++)
		for (int e = 0; e < N_ENGINES; e++)
			if (fn[e])
				samples[e][t] = time_trial(fn[e], arg[e], reps[e], &res[e]);
	for (int e = 0; e < N_ENGINES; e++)
		ns[e] = fn[e] ? bench_median(samples[e], TRIALS) : -1;
}

/* A native build of the program, called through a volatile pointer so that it is never inlined into the loop. */
struct native_arg {
	int (*volatile fn)(void *ctx);
};

static uint64_t call_native(void *arg)
{
	const struct native_arg *a = arg;
	return (uint32_t)a->fn(NULL);
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

/* The kernel JIT's image of the program, copied into this process (read-execute) and called like native code. */
struct kimage {
	uint8_t *mem;
	size_t len, map_len;
	size_t n_insns; /* x86 instructions in the image */
	uint64_t (*entry)(void *ctx);
	uint8_t ctx[64];
};

static uint64_t call_kimage(void *arg)
{
	struct kimage *k = arg;
	return (uint32_t)k->entry(k->ctx);
}

static size_t count_x86_insns(const uint8_t *code, size_t len)
{
#ifdef BENCH_HAVE_CAPSTONE
	csh h;
	cs_insn *insn;
	size_t n;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return 0;
	n = cs_disasm(h, code, len, 0, 0, &insn);
	if (n)
		cs_free(insn, n);
	cs_close(&h);
	return n;
#else
	(void)code;
	(void)len;
	return 0;
#endif
}

#ifdef BENCH_HAVE_CAPSTONE
/*
 * The image may leave itself only through its return: the kernel returns through a thunk (jmp rel32 to
 * __x86_return_thunk), which becomes a plain ret here. Any other reference outside the image (a helper
 * call, a RIP-relative operand) makes it unrunnable in user space.
 */
static const char *make_runnable(uint8_t *code, size_t len, size_t *n_insns)
{
	const char *why = NULL;
	cs_insn *insn;
	size_t n;
	csh h;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &h) != CS_ERR_OK)
		return "capstone cannot open x86-64";
	cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	n = cs_disasm(h, code, len, 0, 0, &insn);
	if (!n || insn[n - 1].address + insn[n - 1].size != len)
		why = "the image does not disassemble";
	for (size_t k = 0; k < n && !why; k++) {
		const cs_x86 *x = &insn[k].detail->x86;
		for (int o = 0; o < x->op_count && !why; o++) {
			if (x->operands[o].type == X86_OP_MEM && x->operands[o].mem.base == X86_REG_RIP)
				why = "the image has a RIP-relative operand";
			bool branch = cs_insn_group(h, &insn[k], CS_GRP_JUMP) || cs_insn_group(h, &insn[k], CS_GRP_CALL);
			if (x->operands[o].type != X86_OP_IMM || !branch)
				continue;
			int64_t target = x->operands[o].imm;
			if (target >= 0 && (uint64_t)target < len)
				continue;
			if (insn[k].id != X86_INS_JMP) {
				why = "the image calls or branches out of itself";
				continue;
			}
			memset(code + insn[k].address, 0xcc, insn[k].size); /* int3 padding */
			code[insn[k].address] = 0xc3;                         /* ret */
		}
	}
	*n_insns = n;
	if (n)
		cs_free(insn, n);
	cs_close(&h);
	return why;
}
#endif

/* Fetches the kernel's JIT image of prog fd and maps a runnable copy; NULL and a reason when it cannot. */
static const char *kimage_load(int fd, struct kimage *k)
{
	struct bpf_prog_info info = { 0 };
	uint32_t info_len = sizeof(info);
	const char *why = NULL;
	uint64_t ksym = 0;
	size_t at;
	uint8_t *buf;

	memset(k, 0, sizeof(*k));
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		return "BPF_OBJ_GET_INFO_BY_FD failed";
	if (!info.jited_prog_len)
		return "the kernel did not JIT the program";
	if (info.nr_jited_ksyms > 1)
		return "the image has subprograms";
	k->len = info.jited_prog_len;
	buf = malloc(k->len);
	if (!buf)
		return "out of memory";
	memset(&info, 0, sizeof(info));
	info.jited_prog_len = (uint32_t)k->len;
	info.jited_prog_insns = (uint64_t)(uintptr_t)buf;
	info.nr_jited_ksyms = 1;
	info.jited_ksyms = (uint64_t)(uintptr_t)&ksym;
	info_len = sizeof(info);
	if (bpf_obj_get_info_by_fd(fd, &info, &info_len))
		why = "cannot read the image";
#ifdef BENCH_HAVE_CAPSTONE
	if (!why)
		why = make_runnable(buf, k->len, &k->n_insns);
#else
	if (!why)
		why = "built without capstone, cannot check the image";
#endif
	/* The copy keeps the kernel image's offset in its page, so that loops meet cache lines as in the kernel. */
	at = (size_t)(ksym & 4095);
	if (!why) {
		k->map_len = (at + k->len + 4095) & ~(size_t)4095;
		k->mem = mmap(NULL, k->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (k->mem == MAP_FAILED) {
			k->mem = NULL;
			why = "mmap failed";
		} else {
			memcpy(k->mem + at, buf, k->len);
			if (mprotect(k->mem, k->map_len, PROT_READ | PROT_EXEC))
				why = "mprotect failed";
			k->entry = (uint64_t (*)(void *))(uintptr_t)(k->mem + at);
		}
	}
	free(buf);
	return why;
}

static void kimage_free(struct kimage *k)
{
	if (k->mem)
		munmap(k->mem, k->map_len);
	k->mem = NULL;
}

/* Mean ns per run reported by the kernel (BPF_PROG_TEST_RUN, XDP), median over TRIALS; -1 on failure. */
static double time_kernel_test_run(int fd, uint64_t *retval)
{
	uint8_t data[64] = { 0 };
	double samples[TRIALS];

	for (int t = 0; t < TRIALS; t++) {
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = sizeof(data),
			    .repeat = KERNEL_REPEAT);
		if (bpf_prog_test_run_opts(fd, &opts)) {
			printf("  kernel test run: skipped (BPF_PROG_TEST_RUN failed: %s)\n", strerror(errno));
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
		uint64_t t0 = thread_ns();
		for (int r = 0; r < 50; r++) {
			if (bj_jit_compile(insns, n, NULL, NULL, &code, NULL))
				return -1;
			bj_jit_code_free(code);
		}
		samples[t] = (double)(thread_ns() - t0) / 50.0 / (double)n;
	}
	return bench_median(samples, TRIALS);
}

/* Callgrind mode: each engine in a function of its own, so that inclusive counts separate them. */
#define CG_LOOP(name)                                                        \
	__attribute__((noinline, used)) static uint64_t name(call_fn fn, void *arg, long n) \
	{                                                                    \
		uint64_t r = 0;                                              \
		for (long i = 0; i < n; i++)                                 \
			r += fn(arg);                                        \
		return r;                                                    \
	}
CG_LOOP(cg_native)
CG_LOOP(cg_jit)
CG_LOOP(cg_interp)
CG_LOOP(cg_kernel_jit_code)
CG_LOOP(cg_native_scalar)
#undef CG_LOOP

/* Callgrind mode: N calls of each engine; the counts per call come from bench/jit/callgrind.sh. */
static void count_engines(const call_fn fn[N_ENGINES], void *const arg[N_ENGINES], long n, uint64_t res[N_ENGINES])
{
	if (fn[E_NATIVE])
		res[E_NATIVE] = cg_native(fn[E_NATIVE], arg[E_NATIVE], n) / (uint64_t)n;
	if (fn[E_JIT])
		res[E_JIT] = cg_jit(fn[E_JIT], arg[E_JIT], n) / (uint64_t)n;
	if (fn[E_INTERP])
		res[E_INTERP] = cg_interp(fn[E_INTERP], arg[E_INTERP], n) / (uint64_t)n;
	if (fn[E_KIMAGE])
		res[E_KIMAGE] = cg_kernel_jit_code(fn[E_KIMAGE], arg[E_KIMAGE], n) / (uint64_t)n;
	if (fn[E_SCALAR])
		res[E_SCALAR] = cg_native_scalar(fn[E_SCALAR], arg[E_SCALAR], n) / (uint64_t)n;
}

/* What one program measured; the `empty` program's figures are each engine's cost per run. */
struct prog_result {
	double ns[N_ENGINES];
	double test_run; /* BPF_PROG_TEST_RUN duration, -1 when not run */
};

struct totals {
	double log_vs[N_ENGINES], log_vs_test_run, log_vs_test_run_net, compile;
	int n, n_vs[N_ENGINES], n_test_run, slower_than[N_ENGINES], slower_than_test_run;
	struct prog_result overhead;
};

static void report_vs(const char *prog, const char *what, double jit_ns, const char *base_name, double base_ns,
		      double *log_sum, int *n, int *slower)
{
	char name[96];

	snprintf(name, sizeof(name), "jit_%s_vs_%s", prog, what);
	bench_result(name, jit_ns, "ns", base_name, base_ns, true);
	*log_sum += log(jit_ns / base_ns);
	(*n)++;
	if (slower)
		*slower += jit_ns > base_ns;
}

static void report(const struct bench_prog *p, const struct prog_result *r, struct totals *tot)
{
	char name[96];
	const double *ns = r->ns;

	if (IS_OVERHEAD(p)) {
		for (int e = 0; e < N_ENGINES; e++)
			if (ns[e] >= 0)
				printf("  per-run cost, %s: %.1f ns\n", engine_name[e], ns[e]);
		if (r->test_run >= 0)
			printf("  per-run cost, kernel BPF_PROG_TEST_RUN: %.1f ns\n", r->test_run);
		tot->overhead = *r;
		return;
	}
	report_vs(p->name, "native", ns[E_JIT], "native -O2", ns[E_NATIVE], &tot->log_vs[E_NATIVE],
		  &tot->n_vs[E_NATIVE], NULL);
	report_vs(p->name, "native_scalar", ns[E_JIT], "native -O2, not vectorised", ns[E_SCALAR],
		  &tot->log_vs[E_SCALAR], &tot->n_vs[E_SCALAR], NULL);
	snprintf(name, sizeof(name), "interp_%s_vs_native", p->name);
	bench_result(name, ns[E_INTERP], "ns", "native -O2", ns[E_NATIVE], true);
	tot->log_vs[E_INTERP] += log(ns[E_INTERP] / ns[E_NATIVE]);
	tot->n_vs[E_INTERP]++;
	if (ns[E_KIMAGE] >= 0)
		report_vs(p->name, "kernel_jit_code", ns[E_JIT], "kernel JIT code, here", ns[E_KIMAGE],
			  &tot->log_vs[E_KIMAGE], &tot->n_vs[E_KIMAGE], &tot->slower_than[E_KIMAGE]);
	if (r->test_run >= 0) {
		report_vs(p->name, "kernel_test_run", ns[E_JIT], "kernel test_run", r->test_run, &tot->log_vs_test_run,
			  &tot->n_test_run, &tot->slower_than_test_run);
		/* Net of each side's per-run cost: the program's own instructions only. */
		double jit_net = ns[E_JIT] - tot->overhead.ns[E_JIT];
		double kernel_net = r->test_run - tot->overhead.test_run;
		if (jit_net > 0 && kernel_net > 0) {
			snprintf(name, sizeof(name), "jit_%s_vs_kernel_test_run_net", p->name);
			bench_result(name, jit_net, "ns", "kernel test_run, net", kernel_net, true);
			tot->log_vs_test_run_net += log(jit_net / kernel_net);
		}
	}
	tot->n++;
}

struct loaded {
	struct bpf_object *obj;
	struct bj_insn *insns;
	size_t n;
	int kernel_fd;
};

static int load_prog(const struct bench_prog *p, struct loaded *l)
{
	char path[1024];

	snprintf(path, sizeof(path), "%s/%s.bpf.o", BENCH_JIT_DIR, p->name);
	l->obj = bpf_object__open_file(path, NULL);
	if (!l->obj) {
		printf("%s: cannot open %s\n", p->name, path);
		return 1;
	}
	struct bpf_program *prog = bpf_object__next_program(l->obj, NULL);
	l->n = bpf_program__insn_cnt(prog);
	l->insns = malloc(l->n * sizeof(*l->insns));
	if (!l->insns)
		return 1;
	memcpy(l->insns, bpf_program__insns(prog), l->n * sizeof(*l->insns));
	bpf_program__set_type(prog, BPF_PROG_TYPE_XDP);
	l->kernel_fd = -1;
	if (bpf_object__load(l->obj))
		printf("  kernel JIT: skipped (the kernel refused to load the program: %s)\n", strerror(errno));
	else
		l->kernel_fd = bpf_program__fd(prog);
	return 0;
}

static int bench_one(const struct bench_prog *p, struct totals *tot, long cg_calls)
{
	struct bj_error err = { 0 };
	struct bj_jit_code *code = NULL;
	struct bj_interp *ip = NULL;
	struct loaded l = { 0 };
	struct kimage kimg = { 0 };
	struct prog_result r = { .test_run = -1 };
	uint64_t res[N_ENGINES] = { 0 }, r_kernel = 0;
	size_t jit_len = 0;
	double compile = 0;
	int failed = 1;

	if (load_prog(p, &l))
		goto out;
	if (bj_insns_validate(l.insns, l.n, &err) || bj_jit_compile(l.insns, l.n, NULL, NULL, &code, &err) ||
	    bj_interp_create(l.insns, l.n, NULL, false, &ip, &err)) {
		printf("%s: %s (insn %ld)\n", p->name, err.msg, err.insn);
		goto out;
	}
	if (l.kernel_fd >= 0) {
		const char *why = kimage_load(l.kernel_fd, &kimg);
		if (why) {
			printf("  kernel JIT code: not run here (%s)\n", why);
			kimage_free(&kimg);
		}
	}
	static struct jit_arg arg;
	static struct interp_arg iarg;

	memset(&arg, 0, sizeof(arg));
	memset(&iarg, 0, sizeof(iarg));
	arg.entry = bj_jit_code_entry(code);
	iarg.ip = ip;
	struct native_arg native = { p->native }, scalar = { p->scalar };
	const call_fn fns[N_ENGINES] = { call_native, call_jit, call_interp, kimg.mem ? call_kimage : NULL,
					 call_native };
	void *const args[N_ENGINES] = { &native, &arg, &iarg, &kimg, &scalar };
	const uint8_t *jit_image = bj_jit_code_image(code, &jit_len);

	printf("%s: %zu BPF insns; image bytes (x86 insns): bpfjet %zu (%zu)", p->name, l.n, jit_len,
	       count_x86_insns(jit_image, jit_len));
	if (kimg.mem)
		printf(", kernel %zu (%zu, at page offset 0x%lx)", kimg.len, kimg.n_insns,
		       (unsigned long)((uintptr_t)kimg.entry & 4095));
	printf("\n");
	if (cg_calls) {
		count_engines(fns, args, cg_calls, res);
	} else {
		time_engines(fns, args, r.ns, res);
		compile = compile_ns_per_insn(l.insns, l.n);
		printf("  JIT compile %.1f ns/insn\n", compile);
		if (l.kernel_fd >= 0)
			r.test_run = time_kernel_test_run(l.kernel_fd, &r_kernel);
	}
	bool differ = res[E_NATIVE] != res[E_JIT] || res[E_SCALAR] != res[E_JIT] || res[E_INTERP] != res[E_JIT] ||
		      (kimg.mem && res[E_KIMAGE] != res[E_JIT]) || (r.test_run >= 0 && r_kernel != res[E_JIT]);
	if (differ && !cg_calls) {
		printf("%s: results differ: native 0x%" PRIx64 " (not vectorised 0x%" PRIx64 ") jit 0x%" PRIx64
		       " interp 0x%" PRIx64 " kernel code 0x%" PRIx64 " kernel test_run 0x%" PRIx64 "\n",
		       p->name, res[E_NATIVE], res[E_SCALAR], res[E_JIT], res[E_INTERP], res[E_KIMAGE], r_kernel);
		goto out;
	}
	if (!cg_calls) {
		if (!IS_OVERHEAD(p))
			tot->compile += compile;
		report(p, &r, tot);
	}
	failed = 0;
out:
	kimage_free(&kimg);
	bj_jit_code_free(code);
	bj_interp_free(ip);
	free(l.insns);
	bpf_object__close(l.obj);
	return failed;
}

static void print_totals(const struct totals *tot)
{
	double g = exp(tot->log_vs[E_NATIVE] / tot->n);

	printf("geomean JIT time / native time: %.3fx (goal <= 1.3x)\n", g);
	bench_result("jit_geomean_vs_native", g, "x", "native = 1", 1.0, true);
	g = exp(tot->log_vs[E_SCALAR] / tot->n);
	printf("geomean JIT time / native time without vectorisation: %.3fx\n", g);
	bench_result("jit_geomean_vs_native_scalar", g, "x", "native, not vectorised = 1", 1.0, true);
	printf("geomean interpreter time / native time: %.3fx\n", exp(tot->log_vs[E_INTERP] / tot->n));
	if (tot->n_vs[E_KIMAGE]) {
		g = exp(tot->log_vs[E_KIMAGE] / tot->n_vs[E_KIMAGE]);
		printf("geomean JIT time / kernel JIT code time (same harness): %.3fx; slower on %d of %d\n", g,
		       tot->slower_than[E_KIMAGE], tot->n_vs[E_KIMAGE]);
		bench_result("jit_geomean_vs_kernel_jit_code", g, "x", "kernel JIT code = 1", 1.0, true);
	}
	if (tot->n_test_run)
		printf("geomean JIT time / kernel test_run time: %.3fx gross, %.3fx net of per-run cost; "
		       "slower on %d of %d (gross)\n",
		       exp(tot->log_vs_test_run / tot->n_test_run), exp(tot->log_vs_test_run_net / tot->n_test_run),
		       tot->slower_than_test_run, tot->n_test_run);
	printf("JIT compile time: %.1f ns per instruction (mean over programs)\n", tot->compile / tot->n);
}

int main(int argc, char **argv)
{
	const char *only = getenv("BJ_BENCH_PROG");
	const char *cg = getenv("BJ_BENCH_CALLGRIND");
	long cg_calls = cg ? atol(cg) : 0;
	struct totals tot = { .overhead = { .ns = { 0 }, .test_run = -1 } };
	int failed = 0;

	(void)argc;
	bench_pin();
	libbpf_set_print(quiet_print);
	/* The per-run cost goes first: the programs' net figures subtract it. */
	if (!cg_calls || (only && !strcmp(only, progs[N_PROGS - 1].name)))
		failed |= bench_one(&progs[N_PROGS - 1], &tot, cg_calls);
	for (size_t i = 0; i + 1 < N_PROGS; i++)
		if (!only || !strcmp(only, progs[i].name))
			failed |= bench_one(&progs[i], &tot, cg_calls);
	if (tot.n)
		print_totals(&tot);
	bench_reproduce(argv[0]);
	return failed;
}
