/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp.h"
#include "isa/isa.h"
#include "jit/jit.h"

#define I(c, d, s, o, i) ((struct bj_insn){ .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define EXIT I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define MOV64K(d, k) I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define LDDW(d, v) I(BJ_LDDW, d, 0, 0, (int32_t)(uint32_t)(v)), I(0, 0, 0, 0, (int32_t)(uint32_t)((uint64_t)(v) >> 32))
#define CALL_LOCAL(rel) I(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, rel)
#define N(a) (sizeof(a) / sizeof((a)[0]))

static uint64_t helper_identity(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return r1;
}

static uint64_t helper_faults(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	bj_run_fault(run, EPERM, -1, "helper refused %" PRIu64, r1);
	return 0;
}

/* bpf_tail_call as the runtime implements it: r3 = 0 names a program (any non-NULL pointer will do here). */
static uint64_t helper_tail_call(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r1, (void)r2, (void)r4, (void)r5;
	if (r3 != 0)
		return (uint64_t)-ENOENT;
	run->tail_prog = (const struct bj_prog *)run;
	run->tail_calls++;
	return 0;
}

static bj_helper_fn helpers[BJ_HELPER_ID_MAX] = { [5] = helper_identity, [7] = helper_faults,
						  [12] = helper_tail_call };

/* --- running --- */

struct outcome {
	int compile;
	uint64_t r0;
	int fault;
	long fault_insn;
	char msg[256];
};

static struct outcome run_prog_opts(const struct bj_insn *prog, size_t n, void *mem, size_t len,
				    const struct bj_jit_opts *opts, uint64_t budget)
{
	struct outcome o = { 0 };
	struct bj_jit_code *code;
	struct bj_error err = { 0 };
	struct bj_run run;

	o.compile = bj_jit_compile(prog, n, helpers, opts, &code, &err);
	if (o.compile) {
		snprintf(o.msg, sizeof(o.msg), "%s", err.msg);
		return o;
	}
	memset(&run, 0, sizeof(run));
	run.budget = budget ? budget : BJ_DEFAULT_INSN_BUDGET;
	if (len)
		bj_run_add_region(&run, mem, len, true);
	o.r0 = bj_jit_code_entry(code)(mem, len, &run);
	o.fault = run.fault;
	o.fault_insn = run.fault_insn;
	snprintf(o.msg, sizeof(o.msg), "%s", run.fault_msg);
	bj_jit_code_free(code);
	return o;
}

static struct outcome run_prog(const struct bj_insn *prog, size_t n, void *mem, size_t len, bool checked, bool blind,
			       uint64_t budget)
{
	struct bj_jit_opts opts = { .checked = checked, .blind = blind };

	return run_prog_opts(prog, n, mem, len, &opts, budget);
}

/* The JIT modes every code shape is checked in: plain, checked, blinded, and without BMI2. */
static const struct bj_jit_opts jit_modes[] = {
	{ 0 }, { .checked = true }, { .blind = true }, { .baseline_isa = true },
};

/* --- the conformance suite (index.tsv) --- */

struct conf_test {
	char name[96];
	struct bj_insn *prog;
	size_t n;
	uint8_t *mem;
	size_t mem_len;
	uint64_t expected;
};

static size_t unhex(const char *s, uint8_t *out)
{
	size_t n = 0;

	if (!strcmp(s, "-"))
		return 0;
	for (; s[0] && s[1]; s += 2) {
		unsigned v;
		sscanf(s, "%2x", &v);
		out[n++] = (uint8_t)v;
	}
	return n;
}

static struct conf_test *load_conformance(size_t *count)
{
	const char *dir = getenv("BJ_CONFORMANCE_DIR");
	char path[4096], *line = NULL;
	size_t cap = 0, n = 0;
	struct conf_test *tests = NULL;
	FILE *f;

	if (!dir)
		return NULL;
	snprintf(path, sizeof(path), "%s/index.tsv", dir);
	f = fopen(path, "r");
	if (!f)
		return NULL;
	while (getline(&line, &cap, f) > 0) {
		char *cols[8], *save = NULL, *p = line;
		int k = 0;

		line[strcspn(line, "\n")] = 0;
		for (char *t; k < 8 && (t = strtok_r(p, "\t", &save)); p = NULL)
			cols[k++] = t;
		if (k != 8 || !strcmp(cols[0], "file"))
			continue;
		tests = realloc(tests, (n + 1) * sizeof(*tests));
		struct conf_test *t = &tests[n++];
		snprintf(t->name, sizeof(t->name), "%s", cols[0]);
		t->expected = strtoull(cols[4], NULL, 0);
		t->mem = malloc(strlen(cols[6]) / 2 + 1);
		t->mem_len = unhex(cols[6], t->mem);
		t->prog = malloc(strlen(cols[7]) / 2 + 8);
		t->n = unhex(cols[7], (uint8_t *)t->prog) / sizeof(struct bj_insn);
	}
	free(line);
	fclose(f);
	*count = n;
	return tests;
}

static void free_conformance(struct conf_test *tests, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tests[i].prog);
		free(tests[i].mem);
	}
	free(tests);
}

static void run_conformance(bool checked, bool blind)
{
	size_t n = 0, passed = 0;
	struct conf_test *tests = load_conformance(&n);

	if (!tests) {
		skip();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct conf_test *t = &tests[i];
		uint8_t *mem = t->mem_len ? malloc(t->mem_len) : NULL;
		struct bj_error err = { 0 };

		if (mem)
			memcpy(mem, t->mem, t->mem_len);
		assert_int_equal(bj_insns_validate(t->prog, t->n, &err), 0);
		struct outcome o = run_prog(t->prog, t->n, mem, t->mem_len, checked, blind, 0);
		if (o.compile || o.fault || o.r0 != t->expected)
			print_message("FAIL %s: compile %d fault %d (%s) r0 0x%" PRIx64 " want 0x%" PRIx64 "\n", t->name,
				      o.compile, o.fault, o.msg, o.r0, t->expected);
		else
			passed++;
		free(mem);
	}
	print_message("conformance (checked %d, blind %d): %zu/%zu passed\n", checked, blind, passed, n);
	assert_int_equal(n, 313);
	assert_int_equal(passed, n);
	free_conformance(tests, n);
}

static void test_conformance_unchecked(void **state)
{
	(void)state;
	run_conformance(false, false);
}

static void test_conformance_checked(void **state)
{
	(void)state;
	run_conformance(true, false);
}

static void test_conformance_blinded(void **state)
{
	(void)state;
	run_conformance(false, true);
	run_conformance(true, true);
}

/* --- ALU against a reference, with every register role that x86 treats specially (rax, rdx, rcx) --- */

static uint64_t ref_alu(uint8_t op, bool w, bool is_signed, uint64_t a, uint64_t b)
{
	if (!w) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	uint64_t mask = w ? 63 : 31, r;
	switch (op) {
	case BPF_ADD: r = a + b; break;
	case BPF_SUB: r = a - b; break;
	case BPF_MUL: r = a * b; break;
	case BPF_OR: r = a | b; break;
	case BPF_AND: r = a & b; break;
	case BPF_XOR: r = a ^ b; break;
	case BPF_LSH: r = a << (b & mask); break;
	case BPF_RSH: r = a >> (b & mask); break;
	case BPF_ARSH:
		r = w ? (uint64_t)((int64_t)a >> (b & mask)) : (uint32_t)((int32_t)a >> (b & mask));
		break;
	case BPF_DIV:
		if (!is_signed)
			r = b ? a / b : 0;
		else if (w)
			r = !b ? 0 : (int64_t)b == -1 ? -a : (uint64_t)((int64_t)a / (int64_t)b);
		else
			r = !b ? 0 : (int32_t)b == -1 ? (uint32_t)-(uint32_t)a : (uint32_t)((int32_t)a / (int32_t)b);
		break;
	default: /* MOD */
		if (!is_signed)
			r = b ? a % b : a;
		else if (w)
			r = !b ? a : (int64_t)b == -1 ? 0 : (uint64_t)((int64_t)a % (int64_t)b);
		else
			r = !b ? a : (int32_t)b == -1 ? 0 : (uint32_t)((int32_t)a % (int32_t)b);
		break;
	}
	return w ? r : (uint32_t)r;
}

static void test_alu_register_roles(void **state)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_OR, BPF_AND, BPF_XOR, BPF_LSH, BPF_RSH,
				       BPF_ARSH, BPF_DIV, BPF_MOD };
	static const uint64_t vals[] = { 0, 1, 7, (uint64_t)-1, (uint64_t)-13, 3, 0x80000000u, 0x7fffffffu,
					 0x8000000000000000ull, 0xfedcba9876543210ull, 33, 64 };
	static const uint8_t roles[] = { 0, 2, 3, 4, 5, 6 }; /* rax, rsi, rdx, rcx, r8, rbx */
	unsigned runs = 0;

	(void)state;
	for (size_t oi = 0; oi < N(ops); oi++)
	for (int w = 0; w < 2; w++)
	for (int sg = 0; sg < 2; sg++)
	for (int x = 0; x < 2; x++)
	for (size_t di = 0; di < N(roles); di++)
	for (size_t si = 0; si < N(roles); si++) {
		uint8_t op = ops[oi], dst = roles[di], src = roles[si];
		bool divmod = op == BPF_DIV || op == BPF_MOD;

		if ((sg && !divmod) || (x && dst == src) || (!x && si))
			continue;
		for (size_t ai = 0; ai < N(vals); ai++)
		for (size_t bi = 0; bi < N(vals); bi += 1 + (ai % 3)) {
			uint64_t a = vals[ai], b = x ? vals[bi] : (uint64_t)(int64_t)(int32_t)vals[bi];
			struct bj_insn prog[64];
			size_t n = 0;
			uint64_t regs[10], out[10];

			for (int r = 0; r < 10; r++) {
				if (r == 1)
					continue;
				regs[r] = 0x1111111111111111ull * (uint64_t)(r + 1);
				struct bj_insn l[2] = { LDDW(r, regs[r]) };
				prog[n++] = l[0];
				prog[n++] = l[1];
			}
			regs[dst] = a;
			struct bj_insn la[2] = { LDDW(dst, a) };
			prog[n++] = la[0];
			prog[n++] = la[1];
			if (x) {
				regs[src] = b;
				struct bj_insn lb[2] = { LDDW(src, b) };
				prog[n++] = lb[0];
				prog[n++] = lb[1];
			}
			prog[n++] = I((w ? BPF_ALU64 : BPF_ALU) | op | (x ? BPF_X : BPF_K), dst, x ? src : 0, sg,
				      x ? 0 : (int32_t)vals[bi]);
			regs[dst] = ref_alu(op, w, sg, a, w || x ? b : (uint32_t)vals[bi]);
			for (int r = 0; r < 10; r++)
				if (r != 1)
					prog[n++] = I(BPF_STX | BPF_MEM | BPF_DW, 1, r, r * 8, 0);
			prog[n++] = EXIT;
			for (int blind = 0; blind < 3; blind++) {
				struct bj_jit_opts opts = { .checked = blind == 1, .blind = blind == 1,
							    .baseline_isa = blind == 2 };
				memset(out, 0, sizeof(out));
				struct outcome o = run_prog_opts(prog, n, out, sizeof(out), &opts, 0);
				assert_int_equal(o.compile, 0);
				assert_int_equal(o.fault, 0);
				for (int r = 0; r < 10; r++)
					if (r != 1 && out[r] != regs[r])
						fail_msg("op 0x%x w%d s%d x%d dst r%u src r%u a 0x%" PRIx64 " b 0x%" PRIx64
							 ": r%d = 0x%" PRIx64 ", want 0x%" PRIx64, op, w, sg, x, dst, src, a,
							 b, r, out[r], regs[r]);
				runs++;
			}
		}
	}
	print_message("%u ALU runs\n", runs);
}

/* --- fused code shapes: each against the interpreter, in every JIT mode --- */

#define ALU64(op, d, s) I(BPF_ALU64 | (op) | BPF_X, d, s, 0, 0)
#define ALU64K(op, d, k) I(BPF_ALU64 | (op) | BPF_K, d, 0, 0, k)
#define ZEXT(d) ALU64K(BPF_LSH, d, 32), ALU64K(BPF_RSH, d, 32)

/* One shape: its instructions with registers d, s, x and the immediate k filled in. */
typedef size_t (*shape_fn)(struct bj_insn *out, uint8_t d, uint8_t s, uint8_t x, int32_t k);

#define SHAPE(name, ...)                                                                           \
	static size_t name(struct bj_insn *out, uint8_t d, uint8_t s, uint8_t x, int32_t k)       \
	{                                                                                          \
		const struct bj_insn insns[] = { __VA_ARGS__ };                                    \
		(void)d, (void)s, (void)x, (void)k;                                                \
		memcpy(out, insns, sizeof(insns));                                                 \
		return N(insns);                                                                   \
	}

/* op64 + zero-extension: fused into the 32-bit op where the low half allows it, kept apart otherwise */
SHAPE(zext_mov, ALU64(BPF_MOV, d, s), ZEXT(d))
SHAPE(zext_mov_k, ALU64K(BPF_MOV, d, k), ZEXT(d))
SHAPE(zext_add, ALU64(BPF_ADD, d, s), ZEXT(d))
SHAPE(zext_add_k, ALU64K(BPF_ADD, d, k), ZEXT(d))
SHAPE(zext_sub, ALU64(BPF_SUB, d, s), ZEXT(d))
SHAPE(zext_sub_k, ALU64K(BPF_SUB, d, k), ZEXT(d))
SHAPE(zext_mul, ALU64(BPF_MUL, d, s), ZEXT(d))
SHAPE(zext_mul_k, ALU64K(BPF_MUL, d, k), ZEXT(d))
SHAPE(zext_and, ALU64(BPF_AND, d, s), ZEXT(d))
SHAPE(zext_or_k, ALU64K(BPF_OR, d, k), ZEXT(d))
SHAPE(zext_xor, ALU64(BPF_XOR, d, s), ZEXT(d))
SHAPE(zext_rsh, ALU64(BPF_RSH, d, s), ZEXT(d))
SHAPE(zext_arsh_k, ALU64K(BPF_ARSH, d, 40), ZEXT(d))
SHAPE(zext_movsx, I(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 8, 0), ZEXT(d))
SHAPE(zext_other_reg, ALU64(BPF_ADD, d, s), ZEXT(x))
SHAPE(zext_pair_is_target, I(BPF_JMP | BPF_JNE | BPF_X, s, x, 1, 0), ALU64(BPF_ADD, d, s), ZEXT(d))
SHAPE(sext_pair, ALU64(BPF_ADD, d, s), ALU64K(BPF_LSH, d, 32), ALU64K(BPF_ARSH, d, 32))
/* mov + add chains: one lea */
SHAPE(lea_k, ALU64(BPF_MOV, d, s), ALU64K(BPF_ADD, d, k))
SHAPE(lea_k_x, ALU64(BPF_MOV, d, s), ALU64K(BPF_ADD, d, k), ALU64(BPF_ADD, d, x))
SHAPE(lea_x, ALU64(BPF_MOV, d, s), ALU64(BPF_ADD, d, x))
SHAPE(lea_s_s, ALU64(BPF_MOV, d, s), ALU64(BPF_ADD, d, s))
SHAPE(lea_k_self, ALU64(BPF_MOV, d, s), ALU64K(BPF_ADD, d, k), ALU64(BPF_ADD, d, d))
SHAPE(lea_then_target, ALU64(BPF_MOV, d, s), I(BPF_JMP | BPF_JEQ | BPF_X, s, x, 1, 0), ALU64K(BPF_ADD, d, k),
      ALU64(BPF_ADD, d, x))
SHAPE(lea_sub_k, ALU64(BPF_MOV, d, s), ALU64K(BPF_SUB, d, k))
/* A stack slot's address: mov d, r10; add d, -64; add d, x (x in 0..56, 8-aligned), then a store through it */
/* The sum zero-extended (32-bit index arithmetic): the 32-bit lea; sign-extended: not */
SHAPE(lea_zext_k, ALU64(BPF_MOV, d, s), ALU64K(BPF_ADD, d, k), ALU64K(BPF_LSH, d, 32), ALU64K(BPF_RSH, d, 32))
SHAPE(lea_zext_k_x, ALU64(BPF_MOV, d, s), ALU64K(BPF_ADD, d, k), ALU64(BPF_ADD, d, x), ALU64K(BPF_LSH, d, 32),
      ALU64K(BPF_RSH, d, 32))
SHAPE(lea_zext_x, ALU64(BPF_MOV, d, s), ALU64(BPF_ADD, d, x), ALU64K(BPF_LSH, d, 32), ALU64K(BPF_RSH, d, 32))
SHAPE(lea_sext_x, ALU64(BPF_MOV, d, s), ALU64(BPF_ADD, d, x), ALU64K(BPF_LSH, d, 32), ALU64K(BPF_ARSH, d, 32))
SHAPE(lea_zext_other_reg, ALU64(BPF_MOV, d, s), ALU64(BPF_ADD, d, x), ALU64K(BPF_LSH, x, 32), ALU64K(BPF_RSH, x, 32))
SHAPE(lea_stack,
      ALU64(BPF_MOV, x, s), ALU64K(BPF_AND, x, 0x38), I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -64, 0),
      I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -56, 0), I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -48, 0),
      I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -40, 0), I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -32, 0),
      I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -24, 0), I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -16, 0),
      I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -8, 0), ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -64), ALU64(BPF_ADD, d, x),
      I(BPF_STX | BPF_MEM | BPF_DW, d, s, 0, 0), I(BPF_LDX | BPF_MEM | BPF_DW, d, 10, -64, 0),
      I(BPF_LDX | BPF_MEM | BPF_DW, x, 10, -40, 0), ALU64(BPF_XOR, d, x), I(BPF_LDX | BPF_MEM | BPF_DW, x, 10, -8, 0),
      ALU64K(BPF_MUL, x, 3), ALU64(BPF_ADD, d, x), I(BPF_LDX | BPF_MEM | BPF_DW, x, 10, -32, 0),
      ALU64K(BPF_MUL, x, 5), ALU64(BPF_ADD, d, x))
/* Loads through a just-formed stack address into the same register: the address folds into the load */
#define FILL_STACK                                                                                                \
	I(BPF_STX | BPF_MEM | BPF_DW, 10, 0, -64, 0), I(BPF_STX | BPF_MEM | BPF_DW, 10, 2, -56, 0),              \
	I(BPF_STX | BPF_MEM | BPF_DW, 10, 3, -48, 0), I(BPF_STX | BPF_MEM | BPF_DW, 10, 4, -40, 0),              \
	I(BPF_STX | BPF_MEM | BPF_DW, 10, 5, -32, 0), I(BPF_STX | BPF_MEM | BPF_DW, 10, 6, -24, 0),              \
	I(BPF_STX | BPF_MEM | BPF_DW, 10, 7, -16, 0), I(BPF_STX | BPF_MEM | BPF_DW, 10, 8, -8, 0)
#define LOAD_INDEXED(mode, size, off)                                                                              \
	FILL_STACK, ALU64(BPF_MOV, x, s), ALU64K(BPF_AND, x, 0x38), ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -64), \
	ALU64(BPF_ADD, d, x), I(BPF_LDX | (mode) | (size), d, d, off, 0)
#define LOAD_INDEXED_ADDR                                                                                      \
	FILL_STACK, ALU64(BPF_MOV, x, s), ALU64K(BPF_AND, x, 0x38), ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -64), \
	ALU64(BPF_ADD, d, x)
SHAPE(load_b, LOAD_INDEXED(BPF_MEM, BPF_B, 7))
SHAPE(load_h, LOAD_INDEXED(BPF_MEM, BPF_H, 6))
SHAPE(load_w, LOAD_INDEXED(BPF_MEM, BPF_W, 4))
SHAPE(load_dw, LOAD_INDEXED(BPF_MEM, BPF_DW, 0))
SHAPE(load_sb, LOAD_INDEXED(BPF_MEMSX, BPF_B, 5))
SHAPE(load_sh, LOAD_INDEXED(BPF_MEMSX, BPF_H, 0))
SHAPE(load_sw, LOAD_INDEXED(BPF_MEMSX, BPF_W, 4))
SHAPE(load_k, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40), I(BPF_LDX | BPF_MEM | BPF_DW, d, d, 16, 0))
SHAPE(load_other_reg, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40),
      I(BPF_LDX | BPF_MEM | BPF_W, x, d, 8, 0), ALU64K(BPF_MOV, d, 0))
/* The load a few insns after its address: moved up into the address (not over a store, nor over a use of d) */
SHAPE(hoist_load, LOAD_INDEXED_ADDR, ALU64(BPF_MOV, s, 10), ALU64K(BPF_ADD, s, -60), ALU64(BPF_ADD, s, x),
      I(BPF_LDX | BPF_MEM | BPF_W, d, d, 4, 0), I(BPF_STX | BPF_MEM | BPF_B, s, d, -1, 0), ALU64K(BPF_MOV, s, 0))
SHAPE(hoist_load_far, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40), ALU64K(BPF_MUL, x, 7),
      I(BPF_LDX | BPF_MEM | BPF_DW, s, 10, -64, 0), ALU64K(BPF_XOR, x, 3), ALU64(BPF_ADD, s, x),
      I(BPF_LDX | BPF_MEM | BPF_DW, d, d, 8, 0))
/* Two addresses whose loads would both move up: the second chain's load lies before the first's */
SHAPE(hoist_nested, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40), ALU64(BPF_MOV, s, 10),
      ALU64K(BPF_ADD, s, -48), ALU64K(BPF_ADD, x, 1), I(BPF_LDX | BPF_MEM | BPF_DW, s, s, 8, 0),
      I(BPF_LDX | BPF_MEM | BPF_DW, d, d, 16, 0))
SHAPE(hoist_over_store, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40), ALU64K(BPF_ADD, x, 1),
      I(BPF_ST | BPF_MEM | BPF_DW, 10, 0, -24, 99), I(BPF_LDX | BPF_MEM | BPF_DW, d, d, 16, 0))
SHAPE(hoist_over_use, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40), ALU64(BPF_MOV, x, d),
      ALU64(BPF_SUB, x, 10), I(BPF_LDX | BPF_MEM | BPF_DW, d, d, 16, 0))
SHAPE(hoist_too_far, FILL_STACK, ALU64(BPF_MOV, d, 10), ALU64K(BPF_ADD, d, -40), ALU64K(BPF_ADD, x, 1),
      ALU64K(BPF_ADD, x, 2), ALU64K(BPF_ADD, x, 3), ALU64K(BPF_ADD, x, 4), ALU64K(BPF_ADD, x, 5),
      I(BPF_LDX | BPF_MEM | BPF_DW, d, d, 16, 0))
/* A byte or word of a register: movzx */
SHAPE(mask_b, ALU64(BPF_MOV, d, s), ALU64K(BPF_AND, d, 0xff))
SHAPE(mask_h, ALU64(BPF_MOV, d, s), ALU64K(BPF_AND, d, 0xffff))
SHAPE(mask_b32, I(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0), I(BPF_ALU | BPF_AND | BPF_K, d, 0, 0, 0xff))
SHAPE(mask_h_mixed, I(BPF_ALU | BPF_MOV | BPF_X, d, s, 0, 0), ALU64K(BPF_AND, d, 0xffff))
SHAPE(mask_self, ALU64K(BPF_AND, d, 0xff), I(BPF_ALU | BPF_AND | BPF_K, s, 0, 0, 0xffff))
SHAPE(mask_other_reg, ALU64(BPF_MOV, d, s), ALU64K(BPF_AND, x, 0xff))
SHAPE(mask_not_byte, ALU64(BPF_MOV, d, s), ALU64K(BPF_AND, d, 0x1ff))
SHAPE(not64, ALU64K(BPF_XOR, d, -1))
SHAPE(not32, I(BPF_ALU | BPF_XOR | BPF_K, d, 0, 0, -1))
SHAPE(shift_by_reg, ALU64(BPF_LSH, d, s), I(BPF_ALU | BPF_RSH | BPF_X, x, d, 0, 0), ALU64(BPF_ARSH, s, x))

/*
 * `jcc +1; ja loop` closing a loop: r0 counts the iterations until `s op x` (or `s op k`) holds, at most 40;
 * s moves by x each time. The jcc is fused with the ja (inverted) except in checked mode.
 */
static size_t shape_loop(struct bj_insn *out, uint8_t cls, uint8_t op, bool reg, uint8_t s, uint8_t x, int32_t k)
{
	const struct bj_insn insns[] = {
		MOV64K(0, 0),
		ALU64K(BPF_ADD, 0, 1),
		ALU64(BPF_ADD, s, x),
		I(BPF_JMP | BPF_JGE | BPF_K, 0, 0, 2, 40),
		I(cls | op | (reg ? BPF_X : BPF_K), s, reg ? x : 0, 1, reg ? 0 : k),
		I(BPF_JMP | BPF_JA, 0, 0, -5, 0),
	};
	memcpy(out, insns, sizeof(insns));
	return N(insns);
}

static const shape_fn shapes[] = {
	zext_mov, zext_mov_k, zext_add, zext_add_k, zext_sub, zext_sub_k, zext_mul, zext_mul_k, zext_and,
	zext_or_k, zext_xor, zext_rsh, zext_arsh_k, zext_movsx, zext_other_reg, zext_pair_is_target, sext_pair,
	lea_k, lea_k_x, lea_x, lea_s_s, lea_k_self, lea_then_target, lea_sub_k, lea_zext_k, lea_zext_k_x,
	lea_zext_x, lea_sext_x, lea_zext_other_reg, lea_stack, load_b, load_h, load_w,
	load_dw, load_sb, load_sh, load_sw, load_k, load_other_reg, mask_b, mask_h, mask_b32, mask_h_mixed, mask_self,
	mask_other_reg, mask_not_byte, not64, not32, hoist_load, hoist_load_far, hoist_nested, hoist_over_store, hoist_over_use,
	hoist_too_far,
	shift_by_reg,
};

static const uint64_t shape_vals[] = { 0, 1, 0xffffffffu, 0x80000000u, (uint64_t)-1, 0x123456789abcdef0ull,
				       (uint64_t)-7, 40, 0x7fffffffffffffffull, 0xfffffffe00000003ull };
static const int32_t shape_imms[] = { 0, 1, -1, 127, 128, -129, INT32_MIN, INT32_MAX, 0x10000 };

/* Loads r0, r2..r9 with values, runs the shape, stores r0, r2..r9 to r1[]; returns the insn count. */
static size_t shape_prog(struct bj_insn *prog, const struct bj_insn *body, size_t body_n, unsigned seed)
{
	size_t n = 0;

	for (int r = 0; r < 10; r++) {
		if (r == 1)
			continue;
		uint64_t v = shape_vals[(seed + (unsigned)r * 3) % N(shape_vals)] ^ (uint64_t)r << 61;
		struct bj_insn l[2] = { LDDW(r, v) };
		prog[n++] = l[0];
		prog[n++] = l[1];
	}
	memcpy(prog + n, body, body_n * sizeof(*body));
	n += body_n;
	for (int r = 0; r < 10; r++)
		if (r != 1)
			prog[n++] = I(BPF_STX | BPF_MEM | BPF_DW, 1, r, r * 8, 0);
	prog[n++] = EXIT;
	return n;
}

/* Runs prog in the interpreter and in every JIT mode: same r0, same registers stored. */
static void check_against_interp(const struct bj_insn *prog, size_t n, const char *what)
{
	uint64_t want[10] = { 0 }, got[10];
	struct bj_interp *ip;
	struct bj_error err = { 0 };
	struct bj_run run = { .budget = BJ_DEFAULT_INSN_BUDGET };

	if (bj_interp_create(prog, n, helpers, false, &ip, &err))
		fail_msg("%s: interpreter: %s", what, err.msg);
	uint64_t r0 = bj_interp_run(ip, want, sizeof(want), &run);
	bj_interp_free(ip);
	assert_int_equal(run.fault, 0);
	for (size_t m = 0; m < N(jit_modes); m++) {
		memset(got, 0, sizeof(got));
		struct outcome o = run_prog_opts(prog, n, got, sizeof(got), &jit_modes[m], 0);
		if (o.compile || o.fault)
			fail_msg("%s mode %zu: compile %d fault %d %s", what, m, o.compile, o.fault, o.msg);
		if (o.r0 != r0)
			fail_msg("%s mode %zu: r0 0x%" PRIx64 ", want 0x%" PRIx64, what, m, o.r0, r0);
		for (int r = 0; r < 10; r++)
			if (got[r] != want[r])
				fail_msg("%s mode %zu: r%d 0x%" PRIx64 ", want 0x%" PRIx64, what, m, r, got[r], want[r]);
	}
}

static void test_fused_shapes(void **state)
{
	/* (d, s, x) roles: rax, rcx and rdx are special to x86; rbx, r13 (r6, r7) need other encodings. */
	static const uint8_t roles[][3] = { { 2, 3, 4 }, { 0, 3, 4 }, { 3, 0, 4 }, { 4, 0, 3 }, { 4, 3, 0 }, { 6, 7, 5 },
					    { 7, 6, 9 }, { 5, 4, 7 }, { 9, 8, 6 }, { 8, 7, 4 } };
	struct bj_insn body[64], prog[128];
	char what[96];
	unsigned runs = 0;

	(void)state;
	for (size_t sh = 0; sh < N(shapes); sh++)
	for (size_t ro = 0; ro < N(roles); ro++)
	for (unsigned seed = 0; seed < 4; seed++) {
		int32_t k = shape_imms[(sh + ro + seed) % N(shape_imms)];
		size_t bn = shapes[sh](body, roles[ro][0], roles[ro][1], roles[ro][2], k);
		size_t n = shape_prog(prog, body, bn, seed + (unsigned)ro);
		snprintf(what, sizeof(what), "shape %zu roles %zu seed %u", sh, ro, seed);
		check_against_interp(prog, n, what);
		runs++;
	}
	static const uint8_t jops[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
					BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };
	for (size_t j = 0; j < N(jops); j++)
	for (int cls = 0; cls < 2; cls++)
	for (int reg = 0; reg < 2; reg++)
	for (size_t ro = 0; ro < N(roles); ro++)
	for (unsigned seed = 0; seed < 3; seed++) {
		int32_t k = shape_imms[(j + ro + seed) % N(shape_imms)];
		size_t bn = shape_loop(body, cls ? BPF_JMP32 : BPF_JMP, jops[j], reg, roles[ro][1], roles[ro][2], k);
		size_t n = shape_prog(prog, body, bn, seed * 5 + (unsigned)ro);
		snprintf(what, sizeof(what), "loop op 0x%x cls %d reg %d roles %zu seed %u", jops[j], cls, reg, ro, seed);
		check_against_interp(prog, n, what);
		runs++;
	}
	print_message("%u shape programs, each in %zu JIT modes\n", runs, N(jit_modes));
}

/*
 * Repeated tests: `if d op t goto +1; body; if d op t goto +1; ...` (t = s or k). Where the body leaves d and
 * s alone and nothing else jumps to the second test, the first jumps to the second's target and the second
 * has no code; otherwise both stay. Either way the results are the interpreter's.
 */
enum repeat_kind { REPEAT_PAIR, REPEAT_CHAIN, REPEAT_CLOBBERS_D, REPEAT_CLOBBERS_S, REPEAT_OTHER_JUMPER, REPEAT_N };

struct repeated {
	struct bj_insn body[16];
	size_t n;
	size_t second;   /* index in body of the repeated test */
	bool threaded;   /* it needs no code */
};

static struct repeated repeated_tests(enum repeat_kind kind, struct bj_insn test, uint8_t d, uint8_t s, uint8_t x)
{
	struct repeated r = { .threaded = kind == REPEAT_PAIR || kind == REPEAT_CHAIN };
	bool reg = BJ_SRCBIT(test.code);

	test.off = 1;
	if (kind == REPEAT_OTHER_JUMPER)
		r.body[r.n++] = I(BPF_JMP | BPF_JSGT | BPF_K, x, 0, 2, 5); /* to the second test too */
	r.body[r.n++] = test;
	if (kind == REPEAT_CLOBBERS_D)
		r.body[r.n++] = ALU64K(BPF_ADD, d, 1);
	else if (kind == REPEAT_CLOBBERS_S && reg)
		r.body[r.n++] = ALU64(BPF_MOV, s, x);
	else
		r.body[r.n++] = ALU64K(BPF_ADD, x, 3);
	r.second = r.n;
	r.body[r.n++] = test;
	r.body[r.n++] = ALU64K(BPF_XOR, x, 0x55);
	if (kind == REPEAT_CHAIN) {
		r.body[r.n++] = I(BPF_STX | BPF_MEM | BPF_DW, 10, x, -8, 0); /* stores and loads keep the test */
		r.body[r.n++] = I(BPF_LDX | BPF_MEM | BPF_DW, 0, 10, -8, 0);
		r.body[r.n++] = test;
		r.body[r.n++] = ALU64K(BPF_MUL, x, 3);
	}
	if (kind == REPEAT_CLOBBERS_S && !reg)
		r.threaded = true;
	return r;
}

/* Insn i of prog has machine code of its own in the plain JIT's image. */
static bool insn_has_code(const struct bj_insn *prog, size_t n, size_t i)
{
	struct bj_jit_code *code;
	struct bj_error err = { 0 };
	const uint32_t *offsets;
	bool has;

	if (bj_jit_compile(prog, n, helpers, NULL, &code, &err))
		fail_msg("compile: %s", err.msg);
	offsets = bj_jit_code_offsets(code, NULL);
	has = offsets[i] != offsets[i + 1];
	bj_jit_code_free(code);
	return has;
}

static void test_repeated_tests(void **state)
{
	static const uint8_t jops[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
					BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };
	static const uint8_t roles[][3] = { { 2, 3, 4 }, { 0, 3, 4 }, { 6, 7, 5 }, { 9, 8, 6 } };
	struct bj_insn prog[96], body[24];
	char what[96];
	unsigned runs = 0;

	(void)state;
	for (size_t j = 0; j < N(jops); j++)
	for (int cls = 0; cls < 2; cls++)
	for (int reg = 0; reg < 2; reg++)
	for (int kind = 0; kind < REPEAT_N; kind++)
	for (size_t ro = 0; ro < N(roles); ro++)
	for (unsigned seed = 0; seed < 4; seed++) {
		uint8_t d = roles[ro][0], s = roles[ro][1], x = roles[ro][2];
		int32_t k = shape_imms[(j + ro + seed) % N(shape_imms)];
		struct bj_insn test = I((cls ? BPF_JMP32 : BPF_JMP) | jops[j] | (reg ? BPF_X : BPF_K), d, reg ? s : 0, 1,
					reg ? 0 : k);
		struct repeated r = repeated_tests((enum repeat_kind)kind, test, d, s, x);
		size_t pre = 0;

		if (seed & 1) /* d equal to what it is tested against, so that both ways are taken */
			body[pre++] = reg ? ALU64(BPF_MOV, d, s) : ALU64K(BPF_MOV, d, k);
		memcpy(body + pre, r.body, r.n * sizeof(*r.body));
		size_t n = shape_prog(prog, body, pre + r.n, seed * 7 + (unsigned)ro);
		snprintf(what, sizeof(what), "repeat op 0x%x cls %d reg %d kind %d roles %zu seed %u", jops[j], cls, reg,
			 kind, ro, seed);
		check_against_interp(prog, n, what);
		size_t second = 18 + pre + r.second; /* shape_prog loads 9 registers first, 2 insns each */
		if (insn_has_code(prog, n, second) == r.threaded)
			fail_msg("%s: the repeated test is %s", what, r.threaded ? "still emitted" : "dropped");
		runs++;
	}
	print_message("%u repeated-test programs, each in %zu JIT modes\n", runs, N(jit_modes));
}

/* --- the C calling convention: rbx, rbp, r12..r15 survive a run whatever the program uses --- */

/*
 * canary_call(entry, r1, r2, run, &changed): calls entry(r1, r2, run) with known values in every callee-saved
 * register and stores in *changed the XOR of each one before and after (0 when all were kept).
 */
uint64_t canary_call(bj_jit_entry entry, void *r1, uint64_t r2, struct bj_run *run, uint64_t *changed);
__asm__(".text\n"
	".type canary_call, @function\n"
	"canary_call:\n"
	"push %rbp\n push %rbx\n push %r12\n push %r13\n push %r14\n push %r15\n push %r8\n"
	"mov %rdi, %rax\n mov %rsi, %rdi\n mov %rdx, %rsi\n mov %rcx, %rdx\n"
	"movabs $0x1b1b1b1b1b1b1b1b, %rbx\n movabs $0x2c2c2c2c2c2c2c2c, %rbp\n movabs $0x3d3d3d3d3d3d3d3d, %r12\n"
	"movabs $0x4e4e4e4e4e4e4e4e, %r13\n movabs $0x5f5f5f5f5f5f5f5f, %r14\n movabs $0x6a6a6a6a6a6a6a6a, %r15\n"
	"call *%rax\n"
	"movabs $0x1b1b1b1b1b1b1b1b, %rcx\n xor %rcx, %rbx\n movabs $0x2c2c2c2c2c2c2c2c, %rcx\n xor %rcx, %rbp\n"
	"movabs $0x3d3d3d3d3d3d3d3d, %rcx\n xor %rcx, %r12\n movabs $0x4e4e4e4e4e4e4e4e, %rcx\n xor %rcx, %r13\n"
	"movabs $0x5f5f5f5f5f5f5f5f, %rcx\n xor %rcx, %r14\n movabs $0x6a6a6a6a6a6a6a6a, %rcx\n xor %rcx, %r15\n"
	"or %rbp, %rbx\n or %r12, %rbx\n or %r13, %rbx\n or %r14, %rbx\n or %r15, %rbx\n"
	"pop %r8\n mov %rbx, (%r8)\n"
	"pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbx\n pop %rbp\n ret\n"
	".size canary_call, .-canary_call\n");

struct saved_case {
	const char *name;
	struct bj_insn prog[12];
	size_t n;
	uint64_t r0;
};

static const struct saved_case saved_cases[] = {
	{ "no callee-saved register", { MOV64K(0, 5), EXIT }, 2, 5 },
	{ "r6 only", { MOV64K(6, 7), I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 6, 0, 0), EXIT }, 3, 7 },
	{ "r7 and r9", { MOV64K(7, 2), MOV64K(9, 3), I(BPF_ALU64 | BPF_MUL | BPF_X, 7, 9, 0, 0),
			 I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 7, 0, 0), EXIT }, 5, 6 },
	{ "r6..r9", { MOV64K(6, 1), MOV64K(7, 2), MOV64K(8, 3), MOV64K(9, 4), I(BPF_ALU64 | BPF_ADD | BPF_X, 6, 7, 0, 0),
		      I(BPF_ALU64 | BPF_ADD | BPF_X, 6, 8, 0, 0), I(BPF_ALU64 | BPF_ADD | BPF_X, 6, 9, 0, 0),
		      I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 6, 0, 0), EXIT }, 9, 10 },
	{ "a helper call", { MOV64K(1, 11), I(BPF_JMP | BPF_CALL, 0, 0, 0, 5), EXIT }, 3, 11 },
	{ "a local call", { MOV64K(8, 4), CALL_LOCAL(2), I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 8, 0, 0), EXIT, MOV64K(6, 9),
			    I(BPF_ALU64 | BPF_MOV | BPF_X, 0, 6, 0, 0), EXIT }, 7, 13 },
};

static void test_callee_saved_kept(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(saved_cases); i++) {
		for (size_t m = 0; m < N(jit_modes); m++) {
			const struct saved_case *t = &saved_cases[i];
			struct bj_jit_code *code;
			struct bj_error err = { 0 };
			struct bj_run run = { .budget = BJ_DEFAULT_INSN_BUDGET };
			uint64_t changed = 1;

			if (bj_jit_compile(t->prog, t->n, helpers, &jit_modes[m], &code, &err))
				fail_msg("%s: %s", t->name, err.msg);
			uint64_t r0 = canary_call(bj_jit_code_entry(code), NULL, 0, &run, &changed);
			bj_jit_code_free(code);
			if (r0 != t->r0 || changed || run.fault)
				fail_msg("%s (mode %zu): r0 %" PRIu64 ", callee-saved bits changed 0x%" PRIx64 ", fault %d",
					 t->name, m, r0, changed, run.fault);
		}
	}
}

/* A loop shorter than a cache line does not straddle two; the padding before it does not run in the loop. */
static void test_small_loops_in_one_line(void **state)
{
	const struct bj_insn prog[] = {
		MOV64K(0, 0), MOV64K(2, 0),
		I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 3), /* 2: outer loop */
		MOV64K(3, 5),
		I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 3, 0, 0), /* 4: inner loop */
		I(BPF_ALU64 | BPF_SUB | BPF_K, 3, 0, 0, 1),
		I(BPF_JMP | BPF_JNE | BPF_K, 3, 0, -3, 0),
		I(BPF_ALU64 | BPF_ADD | BPF_K, 2, 0, 0, 1),
		I(BPF_JMP | BPF_JLT | BPF_K, 2, 0, -7, 7),
		EXIT,
	};
	const size_t heads[] = { 2, 4 }, ends[] = { 8, 6 };

	(void)state;
	for (size_t m = 0; m < N(jit_modes); m++) {
		struct bj_jit_code *code;
		struct bj_run run = { .budget = BJ_DEFAULT_INSN_BUDGET };
		size_t n;

		assert_int_equal(bj_jit_compile(prog, N(prog), helpers, &jit_modes[m], &code, NULL), 0);
		const uint32_t *off = bj_jit_code_offsets(code, &n);
		for (size_t h = 0; h < N(heads); h++) {
			uint32_t lo = off[heads[h]], hi = off[ends[h] + 1] - 1;
			if (hi - lo < 64 && lo / 64 != hi / 64)
				fail_msg("mode %zu: loop %zu..%zu at 0x%x..0x%x", m, heads[h], ends[h], lo, hi);
		}
		assert_int_equal(bj_jit_code_entry(code)(NULL, 0, &run), 7 * (3 + 5 + 4 + 3 + 2 + 1));
		bj_jit_code_free(code);
	}
}

/* --- checked mode --- */

struct fault_case {
	const char *name;
	struct bj_insn prog[8];
	size_t n;
	size_t mem_len;
	uint64_t budget;
	bool unchecked; /* faults that unchecked code also reports */
	int fault;
	long insn;
	const char *msg;
};

static const struct fault_case faults[] = {
	{ "load past the end", { I(BPF_LDX | BPF_MEM | BPF_W, 0, 1, 6, 0), EXIT }, 2, 8, 0, false, -EFAULT, 0,
	  "out-of-bounds read of 4 bytes" },
	{ "store before the start", { MOV64K(0, 0), I(BPF_ST | BPF_MEM | BPF_B, 1, 0, -1, 7), EXIT }, 3, 8, 0, false,
	  -EFAULT, 1, "out-of-bounds write of 1 bytes" },
	{ "load with no memory", { I(BPF_LDX | BPF_MEM | BPF_DW, 0, 1, 0, 0), EXIT }, 2, 0, 0, false, -EFAULT, 0,
	  "out-of-bounds read of 8 bytes" },
	{ "stack above r10", { I(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -4, 0), EXIT }, 2, 8, 0, false, -EFAULT, 0,
	  "out-of-bounds write of 8 bytes" },
	{ "stack below the frame",
	  { I(BPF_ALU64 | BPF_MOV | BPF_X, 2, 10, 0, 0), I(BPF_LDX | BPF_MEM | BPF_B, 0, 2, -513, 0), EXIT }, 3, 8, 0,
	  false, -EFAULT, 1, "out-of-bounds read of 1 bytes" },
	{ "atomic past the end", { MOV64K(2, 1), I(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 4, BPF_ADD), MOV64K(0, 0), EXIT },
	  4, 8, 0, false, -EFAULT, 1, "out-of-bounds write of 8 bytes" },
	{ "budget on ja -1", { MOV64K(0, 0), I(BPF_JMP | BPF_JA, 0, 0, -1, 0), EXIT }, 3, 0, 1000, false, -ETIME, 1,
	  "instruction budget exhausted" },
	{ "deep recursion", { CALL_LOCAL(1), EXIT, CALL_LOCAL(-1), EXIT }, 4, 0, 0, true, -E2BIG, 2,
	  "call depth exceeds the limit of 8 frames" },
	{ "callx unknown helper", { MOV64K(2, 99), I(BJ_CALLX, 2, 0, 0, 0), EXIT }, 3, 0, 0, true, -EINVAL, 1,
	  "callx to unknown helper 99" },
	{ "callx huge id", { MOV64K(2, -1), I(BJ_CALLX, 2, 0, 0, 0), EXIT }, 3, 0, 0, true, -EINVAL, 1,
	  "callx to unknown helper" },
	{ "helper stops the run", { MOV64K(1, 42), I(BPF_JMP | BPF_CALL, 0, 0, 0, 7), MOV64K(0, 1), EXIT }, 4, 0, 0, true,
	  -EPERM, 1, "helper refused 42" },
};

static void test_checked_faults(void **state)
{
	uint8_t mem[16];

	(void)state;
	for (size_t i = 0; i < N(faults); i++) {
		const struct fault_case *f = &faults[i];
		for (int checked = 1; checked >= (f->unchecked ? 0 : 1); checked--) {
			struct bj_error err = { 0 };
			assert_int_equal(bj_insns_validate(f->prog, f->n, &err), 0);
			memset(mem, 0, sizeof(mem));
			struct outcome o = run_prog(f->prog, f->n, f->mem_len ? mem : NULL, f->mem_len, checked, false,
						    f->budget);
			if (o.compile || o.fault != f->fault || o.fault_insn != f->insn || !strstr(o.msg, f->msg) || o.r0)
				fail_msg("%s (checked %d): compile %d fault %d at insn %ld '%s' r0 %" PRIu64
					 ", want fault %d at %ld '%s'",
					 f->name, checked, o.compile, o.fault, o.fault_insn, o.msg, o.r0, f->fault, f->insn,
					 f->msg);
		}
	}
}

/* A subprogram that calls itself r1 more times: main plus 7 calls is the deepest allowed. */
static void test_recursion_depth(void **state)
{
	const struct bj_insn prog[] = {
		CALL_LOCAL(1),
		EXIT,
		I(BPF_STX | BPF_MEM | BPF_DW, 10, 1, -8, 0),      /* each frame keeps its own r1 */
		MOV64K(0, 0),
		I(BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 2, 0),
		I(BPF_ALU64 | BPF_SUB | BPF_K, 1, 0, 0, 1),
		CALL_LOCAL(-5),
		I(BPF_LDX | BPF_MEM | BPF_DW, 1, 10, -8, 0),
		I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 0),
		EXIT,
	};

	(void)state;
	for (int checked = 0; checked < 2; checked++) {
		struct outcome ok = run_prog(prog, N(prog), (void *)6, 0, checked, false, 0);
		assert_int_equal(ok.compile, 0);
		assert_int_equal(ok.fault, 0);
		assert_int_equal(ok.r0, 6 + 5 + 4 + 3 + 2 + 1);
		struct outcome deep = run_prog(prog, N(prog), (void *)7, 0, checked, false, 0);
		assert_int_equal(deep.fault, -E2BIG);
		assert_int_equal(deep.fault_insn, 6);
	}
}

static void test_readonly_region(void **state)
{
	const struct bj_insn prog[] = { I(BPF_ST | BPF_MEM | BPF_W, 1, 0, 0, 1), MOV64K(0, 0), EXIT };
	struct bj_jit_opts opts = { .checked = true };
	struct bj_jit_code *code;
	uint32_t word = 5;
	struct bj_run run;

	(void)state;
	assert_int_equal(bj_jit_compile(prog, N(prog), helpers, &opts, &code, NULL), 0);
	memset(&run, 0, sizeof(run));
	run.budget = 100;
	bj_run_add_region(&run, &word, sizeof(word), false);
	bj_jit_code_entry(code)(&word, sizeof(word), &run);
	assert_int_equal(run.fault, -EFAULT);
	assert_non_null(strstr(run.fault_msg, "read-only"));
	assert_int_equal(word, 5);
	bj_jit_code_free(code);
}

/* --- tail calls --- */

struct tail_case {
	const char *name;
	struct bj_insn prog[16];
	size_t n;
	bool taken;
	uint64_t r0; /* when not taken */
};

#define TAIL(r3) MOV64K(3, r3), I(BPF_JMP | BPF_CALL, 0, 0, 0, 12)
#define CALLX_TAIL(r3) MOV64K(3, r3), MOV64K(8, 12), I(BJ_CALLX, 8, 0, 0, 0)

static const struct tail_case tail_cases[] = {
	{ "taken: the code after the call never runs", { MOV64K(6, 1), TAIL(0), MOV64K(0, 99), EXIT }, 5, true, 0 },
	{ "taken in a subprogram: every frame unwinds",
	  { MOV64K(6, 1), CALL_LOCAL(2), MOV64K(0, 99), EXIT, MOV64K(7, 3), TAIL(0), MOV64K(0, 98), EXIT }, 8, true, 0 },
	{ "taken through callx", { CALLX_TAIL(0), MOV64K(0, 99), EXIT }, 5, true, 0 },
	{ "failed: the program goes on", { TAIL(1), I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 3), EXIT }, 4, false,
	  (uint64_t)-ENOENT + 3 },
};

static void test_tail_call_unwinds(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(tail_cases); i++) {
		for (int mode = 0; mode < 3; mode++) {
			const struct tail_case *t = &tail_cases[i];
			struct bj_jit_opts opts = { .checked = mode == 1, .blind = mode == 2 };
			struct bj_jit_code *code;
			struct bj_error err = { 0 };
			struct bj_run run = { .budget = BJ_DEFAULT_INSN_BUDGET };

			if (bj_jit_compile(t->prog, t->n, helpers, &opts, &code, &err))
				fail_msg("%s: %s", t->name, err.msg);
			uint64_t r0 = bj_jit_code_entry(code)(NULL, 0, &run);
			bj_jit_code_free(code);
			if (run.fault || (run.tail_prog != NULL) != t->taken || run.tail_calls != t->taken ||
			    (!t->taken && r0 != t->r0) || (t->taken && (r0 == 99 || r0 == 98)))
				fail_msg("%s (mode %d): r0 %" PRIu64 ", tail_prog %p, fault %d", t->name, mode, r0,
					 (const void *)run.tail_prog, run.fault);
		}
	}
}

/* --- compile-time errors --- */

struct reject_case {
	const char *name;
	struct bj_insn prog[6];
	size_t n;
	struct bj_jit_opts opts;
	int ret;
	long insn;
	const char *msg;
};

static const struct reject_case rejects[] = {
	{ "unknown helper", { I(BPF_JMP | BPF_CALL, 0, 0, 0, 300), EXIT }, 2, { 0 }, -EINVAL, 0, "unknown helper 300" },
	{ "jump out of a subprogram", { CALL_LOCAL(1), EXIT, I(BPF_JMP | BPF_JA, 0, 0, -3, 0), EXIT }, 4, { 0 }, -EINVAL,
	  2, "leaves its subprogram" },
	{ "falls into a subprogram", { CALL_LOCAL(1), MOV64K(0, 1), EXIT }, 3, { 0 }, -EINVAL, 1, "falls through" },
	{ "map reference left", { I(BJ_LDDW, 1, BPF_PSEUDO_MAP_IDX, 0, 0), I(0, 0, 0, 0, 0), EXIT }, 3, { 0 }, -EINVAL, 0,
	  "unresolved ld_imm64" },
	{ "out of code memory", { MOV64K(0, 1), EXIT }, 2, { .mem_limit = 1 }, -ENOMEM, -1, "code memory" },
};

static void test_compile_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(rejects); i++) {
		const struct reject_case *r = &rejects[i];
		struct bj_jit_code *code = (void *)1;
		struct bj_error err = { 0 };
		int ret = bj_jit_compile(r->prog, r->n, helpers, &r->opts, &code, &err);
		if (ret != r->ret || err.insn != r->insn || !strstr(err.msg, r->msg) || code)
			fail_msg("%s: got %d at %ld '%s', want %d at %ld '%s'", r->name, ret, err.insn, err.msg, r->ret,
				 r->insn, r->msg);
	}
}

/* A program far too big for a small memory cap fails cleanly, and so does every cap below the need. */
static void test_out_of_memory(void **state)
{
	size_t n = 1 << 16;
	struct bj_insn *prog = calloc(n, sizeof(*prog));
	struct bj_jit_code *code;
	struct bj_error err = { 0 };

	(void)state;
	for (size_t i = 0; i < n - 1; i++)
		prog[i] = I(BPF_ALU64 | BPF_ADD | BPF_K, 0, 0, 0, 1);
	prog[n - 1] = EXIT;
	for (size_t limit = 4096; limit <= (1u << 20); limit *= 4) {
		struct bj_jit_opts opts = { .mem_limit = limit };
		assert_int_equal(bj_jit_compile(prog, n, helpers, &opts, &code, &err), -ENOMEM);
		assert_null(code);
	}
	struct bj_jit_opts opts = { 0 };
	assert_int_equal(bj_jit_compile(prog, n, helpers, &opts, &code, &err), 0);
	struct bj_run run = { .budget = 1 };
	assert_int_equal(bj_jit_code_entry(code)(NULL, 0, &run), n - 1);
	bj_jit_code_free(code);
	free(prog);
}

/* --- memory protection --- */

static bool mapping_perms(uintptr_t addr, char perms[5])
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	bool found = false;

	assert_non_null(f);
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perms) == 3 && addr >= lo && addr < hi)
			found = true;
	}
	fclose(f);
	return found;
}

static void test_write_xor_execute(void **state)
{
	const struct bj_insn prog[] = { MOV64K(0, 3), EXIT };
	struct bj_jit_code *code;
	char perms[5] = "";
	size_t len;

	(void)state;
	assert_int_equal(bj_jit_compile(prog, N(prog), helpers, NULL, &code, NULL), 0);
	uintptr_t image = (uintptr_t)bj_jit_code_image(code, &len);
	assert_int_equal(image % 16, 0);
	assert_true(mapping_perms(image, perms));
	assert_string_equal(perms, "r-xp");
	assert_true(mapping_perms(image + len - 1, perms));
	assert_string_equal(perms, "r-xp");
	struct bj_run run = { .budget = 1 };
	assert_int_equal(bj_jit_code_entry(code)(NULL, 0, &run), 3);
	bj_jit_code_free(code);
	assert_false(mapping_perms(image, perms) && perms[2] == 'x');
}

/* --- disassembly --- */

static void test_dump(void **state)
{
	size_t n = 0;
	struct conf_test *tests = load_conformance(&n);
	unsigned dumped = 0;

	(void)state;
	if (!tests) {
		skip();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		for (int mode = 0; mode < 4; mode++) {
			struct bj_jit_opts opts = { .checked = mode & 1, .blind = mode & 2 };
			struct bj_jit_code *code;
			char *text = NULL;
			size_t text_len = 0;

			assert_int_equal(bj_jit_compile(tests[i].prog, tests[i].n, helpers, &opts, &code, NULL), 0);
			FILE *out = open_memstream(&text, &text_len);
			int ret = bj_jit_code_dump(code, tests[i].prog, out);
			fclose(out);
			if (ret == -EOPNOTSUPP) {
				free(text);
				bj_jit_code_free(code);
				free_conformance(tests, n);
				skip();
				return;
			}
			if (ret)
				fail_msg("%s mode %d: undecodable bytes\n%s", tests[i].name, mode, text);
			assert_non_null(strstr(text, "; insn 0:"));
			assert_non_null(strstr(text, "ret"));
			free(text);
			bj_jit_code_free(code);
			dumped++;
		}
	}
	print_message("%u images disassembled\n", dumped);
	free_conformance(tests, n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_unchecked),
		cmocka_unit_test(test_conformance_checked),
		cmocka_unit_test(test_conformance_blinded),
		cmocka_unit_test(test_alu_register_roles),
		cmocka_unit_test(test_fused_shapes),
		cmocka_unit_test(test_repeated_tests),
		cmocka_unit_test(test_callee_saved_kept),
		cmocka_unit_test(test_small_loops_in_one_line),
		cmocka_unit_test(test_checked_faults),
		cmocka_unit_test(test_recursion_depth),
		cmocka_unit_test(test_readonly_region),
		cmocka_unit_test(test_tail_call_unwinds),
		cmocka_unit_test(test_compile_rejects),
		cmocka_unit_test(test_out_of_memory),
		cmocka_unit_test(test_write_xor_execute),
		cmocka_unit_test(test_dump),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
