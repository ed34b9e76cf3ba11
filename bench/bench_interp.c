/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Interpreter speed on compute-heavy programs, against the same algorithm in native C in the same run.
 * Reports ns per executed BPF instruction (the count comes from a checked run's budget) for the checked and
 * unchecked interpreter, and the native time divided by that same count as the baseline.
 */
#include "bench.h"

#include <bpfjet/prog.h>
#include <inttypes.h>

#include "isa/isa.h"
#include "prog/prog_int.h"

#define I(c, d, s, o, i) { .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) }
#define EXIT I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define MOVK(d, k) I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define MOVX(d, s) I(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ALUK(op, d, k) I(BPF_ALU64 | (op) | BPF_K, d, 0, 0, k)
#define ALUX(op, d, s) I(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define JX(op, d, s, o) I(BPF_JMP | (op) | BPF_X, d, s, o, 0)
#define JK(op, d, k, o) I(BPF_JMP | (op) | BPF_K, d, 0, o, k)
#define JA(o) I(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define LDX(sz, d, s, o) I(BPF_LDX | BPF_MEM | (sz), d, s, o, 0)
#define STX(sz, d, s, o) I(BPF_STX | BPF_MEM | (sz), d, s, o, 0)
#define ST(sz, d, o, k) I(BPF_ST | BPF_MEM | (sz), d, 0, o, k)
#define LDDW(d, v) I(BJ_LDDW, d, 0, 0, (int32_t)(uint32_t)(v)), I(0, 0, 0, 0, (int32_t)((uint64_t)(v) >> 32))

/* r0 = sum of the u64 words of the buffer. */
static const struct bj_insn sum_prog[] = {
	MOVK(0, 0), MOVX(3, 1), ALUX(BPF_ADD, 3, 2),
	JX(BPF_JGE, 1, 3, 4),                    /* 3: while (p < end) */
	LDX(BPF_DW, 4, 1, 0), ALUX(BPF_ADD, 0, 4), ALUK(BPF_ADD, 1, 8),
	JA(-5),
	EXIT,
};

static uint64_t sum_native(uint8_t *p, size_t len)
{
	uint64_t s = 0, w;

	for (size_t i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, 8);
		s += w;
	}
	return s;
}

/* r0 = FNV-1a 64 of the buffer. */
static const struct bj_insn fnv_prog[] = {
	LDDW(0, 0xcbf29ce484222325ull), LDDW(5, 0x100000001b3ull),
	MOVX(3, 1), ALUX(BPF_ADD, 3, 2),
	JX(BPF_JGE, 1, 3, 5),                    /* 6: while (p < end) */
	LDX(BPF_B, 4, 1, 0), ALUX(BPF_XOR, 0, 4), ALUX(BPF_MUL, 0, 5), ALUK(BPF_ADD, 1, 1),
	JA(-6),
	EXIT,
};

static uint64_t fnv_native(uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* Sieve of Eratosthenes over the (zeroed) buffer: r0 = number of primes below its length. */
static const struct bj_insn sieve_prog[] = {
	MOVK(0, 0), MOVK(3, 2),
	JX(BPF_JGE, 3, 2, 15),                   /* 2: for i < n */
	MOVX(4, 1), ALUX(BPF_ADD, 4, 3), LDX(BPF_B, 5, 4, 0),
	JK(BPF_JNE, 5, 0, 9),                    /* 6: composite: next i */
	ALUK(BPF_ADD, 0, 1), MOVX(6, 3), ALUX(BPF_MUL, 6, 3),
	JX(BPF_JGE, 6, 2, 5),                    /* 10: for j = i*i; j < n */
	MOVX(7, 1), ALUX(BPF_ADD, 7, 6), ST(BPF_B, 7, 0, 1), ALUX(BPF_ADD, 6, 3),
	JA(-6),
	ALUK(BPF_ADD, 3, 1),                     /* 16: next i */
	JA(-16),
	EXIT,
};

static uint64_t sieve_native(uint8_t *p, size_t n)
{
	uint64_t count = 0;

	for (size_t i = 2; i < n; i++) {
		if (p[i])
			continue;
		count++;
		for (size_t j = i * i; j < n; j += i)
			p[j] = 1;
	}
	return count;
}

/* Bubble sort of the buffer's u32 words, ascending; r0 = the smallest. */
static const struct bj_insn sort_prog[] = {
	MOVX(3, 2),
	JK(BPF_JLE, 3, 4, 15),                   /* 1: while end > 4 */
	MOVK(4, 0),
	MOVX(5, 4), ALUK(BPF_ADD, 5, 4),         /* 3: inner loop */
	JX(BPF_JGE, 5, 3, 9),
	MOVX(6, 1), ALUX(BPF_ADD, 6, 4), LDX(BPF_W, 7, 6, 0), LDX(BPF_W, 8, 6, 4),
	JX(BPF_JLE, 7, 8, 2),
	STX(BPF_W, 6, 8, 0), STX(BPF_W, 6, 7, 4),
	MOVX(4, 5),
	JA(-12),
	ALUK(BPF_SUB, 3, 4),                     /* 15: end of a pass */
	JA(-16),
	LDX(BPF_W, 0, 1, 0),
	EXIT,
};

static uint64_t sort_native(uint8_t *p, size_t len)
{
	uint32_t a, b;

	for (size_t end = len; end > 4; end -= 4)
		for (size_t j = 0; j + 4 < end; j += 4) {
			memcpy(&a, p + j, 4);
			memcpy(&b, p + j + 4, 4);
			if (a > b) {
				memcpy(p + j, &b, 4);
				memcpy(p + j + 4, &a, 4);
			}
		}
	memcpy(&a, p, 4);
	return a;
}

struct workload {
	const char *name;
	const struct bj_insn *insns;
	size_t n;
	uint64_t (*native)(uint8_t *p, size_t len);
	size_t len;
	void (*fill)(uint8_t *p, size_t len);
	bool mutates; /* needs a fresh copy of the input per run (timed on both sides) */
};

static void fill_pattern(uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + 7);
}

static void fill_zero(uint8_t *p, size_t len)
{
	memset(p, 0, len);
}

static void fill_descending(uint8_t *p, size_t len)
{
	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t v = (uint32_t)(len - i);
		memcpy(p + i, &v, 4);
	}
}

#define W(name, len, fill, mutates) { #name, name##_prog, BJ_ARRAY_SIZE(name##_prog), name##_native, len, fill, mutates }
static const struct workload workloads[] = {
	W(sum, 64 * 1024, fill_pattern, false),
	W(fnv, 16 * 1024, fill_pattern, false),
	W(sieve, 32 * 1024, fill_zero, true),
	W(sort, 1024, fill_descending, true),
};

#define SAMPLES 7

/* Keeps the optimiser from dropping the native runs. */
static volatile uint64_t sink;

static double time_native(const struct workload *w, const uint8_t *input, uint8_t *buf, int reps)
{
	uint64_t t0 = bench_now_ns();

	for (int i = 0; i < reps; i++) {
		if (w->mutates)
			memcpy(buf, input, w->len);
		sink = w->native(buf, w->len);
	}
	return (double)(bench_now_ns() - t0) / reps;
}

static double time_interp(struct bj_prog *prog, const struct workload *w, const uint8_t *input, uint8_t *buf,
			  int reps)
{
	uint64_t t0 = bench_now_ns(), r0 = 0;

	for (int i = 0; i < reps; i++) {
		if (w->mutates)
			memcpy(buf, input, w->len);
		if (bj_prog__exec(prog, buf, w->len, &r0, NULL))
			abort();
		sink = r0;
	}
	return (double)(bench_now_ns() - t0) / reps;
}

/* Executed instructions: what a checked run with a huge budget used of it. */
static uint64_t count_insns(struct bj_prog *checked, uint8_t *buf, size_t len)
{
	struct bj_run run;

	bj_prog_run_init(checked, &run);
	run.budget = UINT64_MAX;
	bj_run_add_region(&run, buf, len, true);
	bj_prog_invoke(checked, buf, len, &run);
	return run.fault ? 0 : UINT64_MAX - run.budget;
}

static struct bj_prog *make(const struct workload *w, bool unchecked)
{
	BJ_OPTS(bj_prog_opts, opts, .unchecked = unchecked, .insn_budget = UINT64_MAX);
	struct bj_error err = { 0 };
	struct bj_prog *prog;

	if (bj_prog__create(w->insns, w->n, &opts, &prog, &err)) {
		fprintf(stderr, "bench_interp: %s: insn %ld: %s\n", w->name, err.insn, err.msg);
		exit(1);
	}
	return prog;
}

static int bench_one(const struct workload *w)
{
	struct bj_prog *progs[2] = { make(w, false), make(w, true) };
	uint8_t *input = malloc(w->len), *buf = malloc(w->len);
	double native[SAMPLES], interp[2][SAMPLES];
	uint64_t insns, want, got;
	int reps;

	w->fill(input, w->len);
	memcpy(buf, input, w->len);
	want = w->native(buf, w->len);
	memcpy(buf, input, w->len);
	insns = count_insns(progs[0], buf, w->len);
	for (int m = 0; m < 2; m++) {
		if (w->mutates)
			memcpy(buf, input, w->len);
		if (bj_prog__exec(progs[m], buf, w->len, &got, NULL) || got != want || !insns) {
			fprintf(stderr, "bench_interp: %s: interpreter gives 0x%" PRIx64 ", native 0x%" PRIx64 "\n",
				w->name, got, want);
			return 1;
		}
	}
	/* About 20 ms of interpretation per sample. */
	reps = (int)(20e6 / (time_interp(progs[1], w, input, buf, 1) + 1)) + 1;
	for (int s = 0; s < SAMPLES; s++) {
		native[s] = time_native(w, input, buf, reps);
		for (int m = 0; m < 2; m++)
			interp[m][s] = time_interp(progs[m], w, input, buf, reps);
	}
	double nat = bench_median(native, SAMPLES) / (double)insns;
	printf("%s: %" PRIu64 " BPF instructions per run, native %.1f us per run\n", w->name, insns,
	       nat * (double)insns / 1e3);
	for (int m = 0; m < 2; m++) {
		char name[64];
		snprintf(name, sizeof(name), "interp_%s_%s", m ? "unchecked" : "checked", w->name);
		bench_result(name, bench_median(interp[m], SAMPLES) / (double)insns, "ns/insn", "native C", nat, true);
		bj_prog__destroy(progs[m]);
	}
	free(input);
	free(buf);
	return 0;
}

int main(int argc, char **argv)
{
	int status = 0;

	(void)argc;
	bench_pin();
	for (size_t i = 0; i < BJ_ARRAY_SIZE(workloads); i++)
		status |= bench_one(&workloads[i]);
	bench_reproduce(argv[0]);
	return status;
}
