/* SPDX-License-Identifier: Apache-2.0 */
#include "vfuzz.h"

#include <bpfjet/asm.h>
#include <bpfjet/io.h>
#include <bpfjet/map.h>
#include <bpfjet/prog.h>
#include <bpfjet/helpers.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "difftest.h"
#include "isa/isa.h"

#define MAX_INSNS 400
#define PROLOGUE_MAX 100      /* see build_prologue */
#define INSN_LIMIT 50000      /* per verification: keeps the fuzzer fast */
#define RUN_BUDGET (1u << 23) /* far above any path INSN_LIMIT lets through */
#define N_INPUTS 3
#define MAX_MEM 128
#define HELPER_MIX 5          /* the differential tester's helper: mixes r1-r5 */
#define HELPER_USER 512       /* ours: mixes two numbers */
#define HELPER_POISON 513     /* the prologue's patterns */
#define BUF_REG 6             /* the buffer (MEM) or the context (XDP) */
#define DATA_REG 7            /* XDP: data */
#define END_REG 8             /* XDP: data_end */
#define LOOP_REG 9
#define XDP_CTX_SIZE 24

#define INSN(c, d, s, o, i) ((struct bj_insn){ .code = (uint8_t)(c), .dst = (d), .src = (s), .off = (int16_t)(o), .imm = (int32_t)(i) })

struct vprog {
	struct bj_insn insns[MAX_INSNS];
	size_t n;
	enum bj_prog_type type;
	enum bj_attach attach;
	uint32_t mem_size;
	const struct bj_verifier_map *maps;
	size_t n_maps;
	char origin[224];
};

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
	return (unsigned)(next(s) % n);
}

static bool chance(uint64_t *s, unsigned percent)
{
	return rnd(s, 100) < percent;
}

static int32_t edge_imm(uint64_t *s)
{
	static const int32_t edges[] = { 0, 1, -1, 2, 3, 4, 7, 8, 14, 15, 16, 31, 32, 63, 64, 127, 128, 255, 256, 511,
					 512, 0x7fff, 0xffff, 0x7fffffff, INT32_MIN, -8, -512, -513 };
	return chance(s, 60) ? edges[rnd(s, sizeof(edges) / sizeof(edges[0]))] : (int32_t)next(s);
}

/* ---- the generator of plausible programs ---- */

struct gen {
	uint64_t rng;
	struct vprog *p;
	struct {
		size_t at;
		int items;
	} pending[8];
	int n_pending;
	bool junk; /* may contain random instructions */
};

static void emit(struct gen *g, struct bj_insn in)
{
	if (g->p->n < MAX_INSNS - 8)
		g->p->insns[g->p->n++] = in;
}

static const int scalar_regs[] = { 0, 3, 4, 5, 9 };
static const uint8_t sizes[] = { BPF_B, BPF_H, BPF_W, BPF_DW };
static const uint8_t jmp_ops[] = { BPF_JEQ, BPF_JNE, BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE,
				   BPF_JSGT, BPF_JSGE, BPF_JSLT, BPF_JSLE, BPF_JSET };

static int scalar_reg(struct gen *g)
{
	return scalar_regs[rnd(&g->rng, sizeof(scalar_regs) / sizeof(scalar_regs[0]))];
}

static int ptr_reg(struct gen *g)
{
	return 7 + (int)rnd(&g->rng, 2);
}

static int any_reg(struct gen *g)
{
	return (int)rnd(&g->rng, 10);
}

/* An offset into the buffer, mostly inside, sometimes just outside. */
static int16_t buf_off(struct gen *g)
{
	int span = (int)g->p->mem_size + 4;
	return (int16_t)((int)rnd(&g->rng, (unsigned)span + 4) - 4);
}

/* An offset from r10: mostly aligned slots of the frame, sometimes misaligned or outside it. */
static int16_t stack_off(struct gen *g)
{
	if (chance(&g->rng, 10))
		return (int16_t)((int)rnd(&g->rng, 540) - 530);
	return (int16_t)(-8 * (int)(1 + rnd(&g->rng, chance(&g->rng, 80) ? 8 : 65)));
}

static void gen_load_buf(struct gen *g)
{
	emit(g, INSN(BPF_LDX | BPF_MEM | sizes[rnd(&g->rng, 4)], scalar_reg(g), BUF_REG, buf_off(g), 0));
}

static void gen_alu(struct gen *g)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR, BPF_AND, BPF_LSH,
				       BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH };
	uint8_t op = ops[rnd(&g->rng, sizeof(ops))];
	uint8_t cls = chance(&g->rng, 70) ? BPF_ALU64 : BPF_ALU;
	int dst = chance(&g->rng, 85) ? scalar_reg(g) : any_reg(g);
	int32_t imm = edge_imm(&g->rng);

	if (op == BPF_NEG)
		emit(g, INSN(cls | op, dst, 0, 0, 0));
	else if (chance(&g->rng, 50))
		emit(g, INSN(cls | op | BPF_X, dst, chance(&g->rng, 85) ? scalar_reg(g) : any_reg(g), 0, 0));
	else if (op == BPF_AND && chance(&g->rng, 60))
		emit(g, INSN(cls | op, dst, 0, 0, (1 << rnd(&g->rng, 8)) - 1)); /* a mask: the usual bound */
	else if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
		emit(g, INSN(cls | op, dst, 0, 0, (int32_t)rnd(&g->rng, cls == BPF_ALU64 ? 64 : 32)));
	else if ((op == BPF_DIV || op == BPF_MOD) && !imm)
		emit(g, INSN(cls | op, dst, 0, 0, 3));
	else
		emit(g, INSN(cls | op, dst, 0, 0, imm));
}

/* A pointer into the buffer or the frame, moved by a constant or by a (maybe bounded) number. */
static void gen_make_ptr(struct gen *g)
{
	int p = ptr_reg(g);

	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, p, chance(&g->rng, 60) ? BUF_REG : BPF_REG_10, 0, 0));
	if (chance(&g->rng, 50))
		emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_X, p, scalar_reg(g), 0, 0));
	else
		emit(g, INSN(BPF_ALU64 | BPF_ADD, p, 0, 0, (int)rnd(&g->rng, 80) - 40));
}

static void gen_access(struct gen *g, int base, int16_t off)
{
	uint8_t size = sizes[rnd(&g->rng, 4)];

	switch (rnd(&g->rng, 4)) {
	case 0:
		emit(g, INSN(BPF_STX | BPF_MEM | size, base, scalar_reg(g), off, 0));
		break;
	case 1:
		emit(g, INSN(BPF_ST | BPF_MEM | size, base, 0, off, edge_imm(&g->rng)));
		break;
	case 2:
		if (size == BPF_W || size == BPF_DW) {
			emit(g, INSN(BPF_STX | BPF_ATOMIC | size, base, scalar_reg(g), off, BPF_ADD));
			break;
		}
		/* fall through */
	default:
		emit(g, INSN(BPF_LDX | BPF_MEM | size, scalar_reg(g), base, off, 0));
	}
}

/* if (x OP K) skip; ptr = buf + x; access ptr[off]: a bounds check, right or wrong. */
static void gen_checked_index(struct gen *g)
{
	int x = scalar_reg(g), p = ptr_reg(g);
	uint8_t cls = chance(&g->rng, 75) ? BPF_JMP : BPF_JMP32;
	int32_t k = chance(&g->rng, 70) ? (int32_t)rnd(&g->rng, g->p->mem_size + 2) : edge_imm(&g->rng);

	emit(g, INSN(cls | jmp_ops[rnd(&g->rng, sizeof(jmp_ops))], x, 0, 3, k));
	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, p, BUF_REG, 0, 0));
	emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_X, p, x, 0, 0));
	gen_access(g, p, (int16_t)((int)rnd(&g->rng, 6) - 2));
}

static void gen_spill_fill(struct gen *g)
{
	int16_t off = (int16_t)(-8 * (int)(1 + rnd(&g->rng, 8)));
	int src = chance(&g->rng, 50) ? BUF_REG : any_reg(g);

	if (chance(&g->rng, 70))
		emit(g, INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, src, off, 0));
	if (chance(&g->rng, 30))
		emit(g, INSN(BPF_ST | BPF_MEM | sizes[rnd(&g->rng, 3)], BPF_REG_10, 0, off + (int)rnd(&g->rng, 8), 1));
	emit(g, INSN(BPF_LDX | BPF_MEM | (chance(&g->rng, 80) ? BPF_DW : sizes[rnd(&g->rng, 3)]),
		     chance(&g->rng, 50) ? ptr_reg(g) : scalar_reg(g), BPF_REG_10, off, 0));
}

static void gen_helper(struct gen *g)
{
	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, scalar_reg(g), 0, 0));
	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, scalar_reg(g), 0, 0));
	emit(g, INSN(BPF_JMP | BPF_CALL, 0, 0, 0, HELPER_USER));
	if (chance(&g->rng, 70)) /* as real code does: the call clobbered r1-r5 */
		for (int r = 3; r <= 5; r++)
			emit(g, INSN(BPF_ALU64 | BPF_MOV, r, 0, 0, edge_imm(&g->rng)));
}

static void gen_simple_item(struct gen *g)
{
	switch (rnd(&g->rng, 9)) {
	case 0: emit(g, INSN(BPF_ALU64 | BPF_MOV, scalar_reg(g), 0, 0, edge_imm(&g->rng))); break;
	case 1: gen_load_buf(g); break;
	case 2: case 3: gen_alu(g); break;
	case 4: gen_make_ptr(g); gen_access(g, ptr_reg(g), (int16_t)((int)rnd(&g->rng, 16) - 8)); break;
	case 5: gen_access(g, BPF_REG_10, stack_off(g)); break;
	case 6: gen_access(g, BUF_REG, buf_off(g)); break;
	case 7: gen_checked_index(g); break;
	default: gen_spill_fill(g); break;
	}
}

/* XDP: data + K compared with data_end in one of the eight forms (right or wrong), then an access. */
static void gen_pkt_check(struct gen *g)
{
	static const uint8_t ops[] = { BPF_JGT, BPF_JGE, BPF_JLT, BPF_JLE };
	int x = scalar_reg(g);
	int32_t k = (int32_t)rnd(&g->rng, 70);
	bool swap = chance(&g->rng, 50);

	emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, x, DATA_REG, 0, 0));
	emit(g, INSN(BPF_ALU64 | BPF_ADD, x, 0, 0, k));
	emit(g, INSN(BPF_JMP | ops[rnd(&g->rng, 4)] | BPF_X, swap ? END_REG : x, swap ? x : END_REG, 1, 0));
	gen_access(g, DATA_REG, (int16_t)((int)rnd(&g->rng, (unsigned)k + 4) - 2));
}

static void gen_xdp_item(struct gen *g)
{
	int x = scalar_reg(g);

	switch (rnd(&g->rng, 5)) {
	case 0:
		emit(g, INSN(BPF_LDX | BPF_MEM | BPF_W, DATA_REG, BUF_REG, 0, 0));
		emit(g, INSN(BPF_LDX | BPF_MEM | BPF_W, END_REG, BUF_REG, 4, 0));
		break;
	case 1: case 2:
		gen_pkt_check(g);
		break;
	case 3:
		emit(g, INSN(BPF_LDX | BPF_MEM | BPF_B, x, DATA_REG, (int)rnd(&g->rng, 16), 0));
		emit(g, INSN(BPF_ALU64 | BPF_AND, x, 0, 0, (1 << rnd(&g->rng, 7)) - 1));
		emit(g, INSN(BPF_ALU64 | BPF_ADD | BPF_X, DATA_REG, x, 0, 0));
		break;
	default:
		gen_access(g, chance(&g->rng, 50) ? DATA_REG : BUF_REG, (int16_t)rnd(&g->rng, 32));
		break;
	}
}

/* counter = start; head: body; counter += step; if counter < bound goto head */
static void gen_loop(struct gen *g)
{
	size_t head;
	int32_t bound = chance(&g->rng, 80) ? (int32_t)rnd(&g->rng, 40) : edge_imm(&g->rng);

	if (chance(&g->rng, 80))
		emit(g, INSN(BPF_ALU64 | BPF_MOV, LOOP_REG, 0, 0, (int)rnd(&g->rng, 4)));
	else
		emit(g, INSN(BPF_LDX | BPF_MEM | BPF_B, LOOP_REG, BUF_REG, 0, 0));
	head = g->p->n;
	gen_simple_item(g);
	emit(g, INSN(BPF_ALU64 | BPF_ADD, LOOP_REG, 0, 0, chance(&g->rng, 90) ? 1 : (int)rnd(&g->rng, 3) - 1));
	emit(g, INSN(BPF_JMP | (chance(&g->rng, 80) ? BPF_JLT : jmp_ops[rnd(&g->rng, sizeof(jmp_ops))]), LOOP_REG, 0,
		     (int)head - (int)g->p->n - 1, bound));
}

static void gen_junk(struct gen *g)
{
	uint64_t v = next(&g->rng);
	struct bj_insn in;

	memcpy(&in, &v, sizeof(in));
	emit(g, in);
}

static void close_pending(struct gen *g, bool all)
{
	for (int i = 0; i < g->n_pending;) {
		if (all || --g->pending[i].items <= 0) {
			size_t at = g->pending[i].at;
			g->p->insns[at].off = (int16_t)(g->p->n - at - 1);
			g->pending[i] = g->pending[--g->n_pending];
		} else {
			i++;
		}
	}
}

static void gen_item(struct gen *g)
{
	unsigned k = rnd(&g->rng, 100);

	if (k < 60) {
		if (g->p->type == BJ_PROG_TYPE_XDP && chance(&g->rng, 50))
			gen_xdp_item(g);
		else
			gen_simple_item(g);
	} else if (k < 72 && g->n_pending < 8) {
		uint8_t cls = chance(&g->rng, 75) ? BPF_JMP : BPF_JMP32;
		g->pending[g->n_pending].at = g->p->n;
		g->pending[g->n_pending++].items = 1 + (int)rnd(&g->rng, 3);
		if (chance(&g->rng, 50))
			emit(g, INSN(cls | jmp_ops[rnd(&g->rng, sizeof(jmp_ops))] | BPF_X, scalar_reg(g), scalar_reg(g), 0, 0));
		else
			emit(g, INSN(cls | jmp_ops[rnd(&g->rng, sizeof(jmp_ops))], scalar_reg(g), 0, 0, edge_imm(&g->rng)));
		return; /* the jump is not an item: it skips the next ones */
	} else if (k < 82) {
		gen_loop(g);
	} else if (k < 90) {
		gen_helper(g);
	} else if (k < 99 || !g->junk) {
		emit(g, INSN(BPF_JMP | jmp_ops[rnd(&g->rng, sizeof(jmp_ops))], scalar_reg(g), 0, 2, edge_imm(&g->rng)));
		emit(g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, scalar_reg(g), 0, 0));
		emit(g, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
	} else {
		gen_junk(g);
	}
	close_pending(g, false);
}

static void generate(uint64_t seed, struct vprog *p)
{
	static const uint32_t mem_sizes[] = { 1, 8, 14, 16, 32, 60, 64, 128 };
	struct gen g = { .rng = seed, .p = p };
	int items;

	g.junk = chance(&g.rng, 20);
	p->type = chance(&g.rng, 35) ? BJ_PROG_TYPE_XDP : BJ_PROG_TYPE_MEM;
	/* XDP: the generator's accesses through r6 use the context's size. */
	p->mem_size = p->type == BJ_PROG_TYPE_XDP ? XDP_CTX_SIZE
						: mem_sizes[rnd(&g.rng, sizeof(mem_sizes) / sizeof(mem_sizes[0]))];
	snprintf(p->origin, sizeof(p->origin), "generated");
	emit(&g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, BUF_REG, 1, 0, 0));
	if (p->type == BJ_PROG_TYPE_XDP) {
		emit(&g, INSN(BPF_LDX | BPF_MEM | BPF_W, DATA_REG, BUF_REG, 0, 0));
		emit(&g, INSN(BPF_LDX | BPF_MEM | BPF_W, END_REG, BUF_REG, 4, 0));
		for (size_t i = 0; i < sizeof(scalar_regs) / sizeof(scalar_regs[0]); i++)
			if (chance(&g.rng, 85))
				emit(&g, INSN(BPF_ALU64 | BPF_MOV, scalar_regs[i], 0, 0, edge_imm(&g.rng)));
	} else if (chance(&g.rng, 85)) {
		for (size_t i = 0; i < sizeof(scalar_regs) / sizeof(scalar_regs[0]); i++)
			emit(&g, INSN(BPF_ALU64 | BPF_MOV, scalar_regs[i], 0, 0, edge_imm(&g.rng)));
		emit(&g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 7, BUF_REG, 0, 0));
		emit(&g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 8, BPF_REG_10, 0, 0));
	}
	items = 2 + (int)rnd(&g.rng, 30);
	for (int i = 0; i < items; i++)
		gen_item(&g);
	close_pending(&g, true);
	emit(&g, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 0, scalar_reg(&g), 0, 0));
	if (chance(&g.rng, 50))
		emit(&g, INSN(BPF_ALU64 | BPF_XOR | BPF_X, 0, scalar_reg(&g), 0, 0));
	emit(&g, INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

/* ---- the other sources ---- */

static void mutate_one(uint64_t *s, struct vprog *p)
{
	struct bj_insn *in = &p->insns[rnd(s, (unsigned)p->n)];

	switch (rnd(s, 7)) {
	case 0: in->off = (int16_t)(in->off + (int)rnd(s, 17) - 8); break;
	case 1: in->imm = chance(s, 50) ? edge_imm(s) : (int32_t)((uint32_t)in->imm + rnd(s, 3) - 1u); break;
	case 2:
		if (BJ_CLASS(in->code) == BPF_JMP || BJ_CLASS(in->code) == BPF_JMP32) {
			if (in->code != (BPF_JMP | BPF_CALL) && in->code != (BPF_JMP | BPF_EXIT) && BJ_OP(in->code) != BPF_JA)
				in->code = (uint8_t)(BJ_CLASS(in->code) | BJ_SRCBIT(in->code) |
						     jmp_ops[rnd(s, sizeof(jmp_ops))]);
		} else if (BJ_CLASS(in->code) == BPF_LDX || BJ_CLASS(in->code) == BPF_STX ||
			   BJ_CLASS(in->code) == BPF_ST) {
			in->code = (uint8_t)((in->code & ~0x18) | sizes[rnd(s, 4)]);
		}
		break;
	case 3: in->dst = rnd(s, 11) & 0xf; break;
	case 4: in->src = rnd(s, 11) & 0xf; break;
	case 5: *in = INSN(BPF_ALU64 | BPF_MOV, rnd(s, 10), 0, 0, edge_imm(s)); break;
	default: ((uint8_t *)in)[rnd(s, 8)] ^= (uint8_t)(1u << rnd(s, 8)); break;
	}
}

static bool mutate_corpus(uint64_t seed, const struct vc_corpus *corpus, struct vprog *p)
{
	const struct vc_case *c;
	int n;

	if (!corpus || !corpus->n)
		return false;
	c = &corpus->cases[rnd(&seed, (unsigned)corpus->n)];
	if (!c->n || c->n > MAX_INSNS)
		return false;
	memcpy(p->insns, c->insns, c->n * sizeof(c->insns[0]));
	p->n = c->n;
	p->type = c->type;
	p->attach = c->attach;
	p->mem_size = c->mem_size;
	p->maps = c->maps;
	p->n_maps = c->n_maps;
	snprintf(p->origin, sizeof(p->origin), "mutated %s", c->name);
	n = 1 + (int)rnd(&seed, 3);
	for (int i = 0; i < n; i++)
		mutate_one(&seed, p);
	return true;
}

static bool from_difftest(uint64_t seed, struct vprog *p)
{
	struct dt_prog dp;

	if (dt_generate(seed, &dp) || dp.n > MAX_INSNS) {
		dt_prog_free(&dp);
		return false;
	}
	memcpy(p->insns, dp.insns, dp.n * sizeof(dp.insns[0]));
	p->n = dp.n;
	p->type = BJ_PROG_TYPE_MEM;
	p->mem_size = DT_BUF_LEN;
	snprintf(p->origin, sizeof(p->origin), "difftest %#" PRIx64 "%s", seed, dp.faulting ? " (faulting)" : "");
	dt_prog_free(&dp);
	return true;
}

/* ---- verification and checked runs ---- */

static const struct bj_helper_proto fuzz_protos[] = {
	{ .id = HELPER_MIX, .ret = BJ_RET_INTEGER,
	  .args = { BJ_ARG_ANYTHING, BJ_ARG_ANYTHING, BJ_ARG_ANYTHING, BJ_ARG_ANYTHING, BJ_ARG_ANYTHING } },
	{ .id = HELPER_USER, .ret = BJ_RET_INTEGER, .args = { BJ_ARG_SCALAR, BJ_ARG_SCALAR } },
};

static uint64_t helper_mix(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)run;
	return (r1 * 0x9e3779b97f4a7c15ull) ^ (r2 << 7) ^ (r3 >> 3) ^ (r4 * 31) ^ ~r5;
}

static uint64_t helper_user(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r3, (void)r4, (void)r5, (void)run;
	return (r1 ^ (r2 * 0xff51afd7ed558ccdull)) >> (r2 & 7);
}

/*
 * Runs are compared with each other to find reads of uninitialised registers and stack, so the helpers whose
 * results change from run to run (random numbers, clocks) are replaced by fixed values: the verifier still
 * treats their results as unknown scalars.
 */
static uint64_t helper_fixed(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return 0x9e3779b97f4a7c15ull;
}

static const struct bj_helper fuzz_helpers[] = {
	{ .id = HELPER_MIX, .name = "mix", .fn = helper_mix },
	{ .id = HELPER_USER, .name = "user_mix", .fn = helper_user },
	{ .id = BJ_FN_KTIME_GET_NS, .name = "fixed ktime_get_ns", .fn = helper_fixed },
	{ .id = BJ_FN_GET_PRANDOM_U32, .name = "fixed get_prandom_u32", .fn = helper_fixed },
	{ .id = BJ_FN_JIFFIES64, .name = "fixed jiffies64", .fn = helper_fixed },
	{ .id = BJ_FN_KTIME_GET_BOOT_NS, .name = "fixed ktime_get_boot_ns", .fn = helper_fixed },
	{ .id = BJ_FN_KTIME_GET_COARSE_NS, .name = "fixed ktime_get_coarse_ns", .fn = helper_fixed },
};

static int verify(const struct vprog *p, enum bj_verifier_policy policy, uint32_t log_level, char *log,
		  size_t log_size, struct bj_error *err)
{
	BJ_OPTS(bj_verifier_opts, opts, .type = p->type, .attach = p->attach, .policy = policy, .maps = p->maps,
		.n_maps = p->n_maps, .mem_size = p->type == BJ_PROG_TYPE_MEM ? p->mem_size : 0, .protos = fuzz_protos,
		.n_protos = sizeof(fuzz_protos) / sizeof(fuzz_protos[0]), .log_level = log_level, .log_buf = log,
		.log_size = log_size, .insn_limit = INSN_LIMIT);
	return bj_verify(p->insns, p->n, &opts, NULL, err);
}

/* The maps of a program, as the verifier was told of them (frozen ones with their contents). */
struct run_maps {
	struct bj_map *maps[VC_MAX_MAPS];
	struct bj_map *inner[VC_MAX_MAPS];
	size_t n;
};

static void destroy_maps(struct run_maps *rm)
{
	for (size_t i = 0; i < rm->n; i++) {
		bj_map__destroy(rm->maps[i]);
		bj_map__destroy(rm->inner[i]);
	}
	rm->n = 0;
}

static int create_map(const struct bj_verifier_map *m, struct bj_map *inner, struct bj_map **out, struct bj_error *err)
{
	BJ_OPTS(bj_map_opts, mo, .map_flags = m->flags, .inner_map = inner, .has_spin_lock = m->spin_lock_off >= 0,
		.spin_lock_off = m->spin_lock_off >= 0 ? (uint32_t)m->spin_lock_off : 0);
	uint32_t key = 0;
	int ret = bj_map__create((enum bj_map_type)m->type, m->key_size, m->value_size, m->max_entries, &mo, out, err);

	if (!ret && m->frozen && m->frozen_value)
		ret = bj_map__update_elem(*out, &key, m->frozen_value, 0);
	if (!ret && m->frozen)
		ret = bj_map__freeze(*out);
	return ret;
}

static int create_maps(const struct vprog *p, struct run_maps *rm, struct bj_error *err)
{
	int ret = 0;

	memset(rm, 0, sizeof(*rm));
	for (; !ret && rm->n < p->n_maps; rm->n++) {
		const struct bj_verifier_map *m = &p->maps[rm->n];
		if (m->inner)
			ret = create_map(m->inner, NULL, &rm->inner[rm->n], err);
		if (!ret)
			ret = create_map(m, rm->inner[rm->n], &rm->maps[rm->n], err);
	}
	if (ret)
		destroy_maps(rm);
	return ret;
}

/* Empties hash maps and zeroes arrays, so that every run starts from the same maps. */
static void reset_maps(struct run_maps *rm)
{
	uint8_t key[256], next_key[256], *zero;

	for (size_t i = 0; i < rm->n; i++) {
		struct bj_map *m = rm->maps[i];
		uint32_t ks = bj_map__key_size(m);
		enum bj_map_type t = bj_map__type(m);

		if (bj_map__is_frozen(m) || ks > sizeof(key) || !ks)
			continue;
		if (t == BJ_MAP_TYPE_ARRAY || t == BJ_MAP_TYPE_PERCPU_ARRAY) {
			if (!(zero = calloc(1, bj_map__value_buf_size(m))))
				continue;
			for (uint32_t k = 0; k < bj_map__max_entries(m); k++)
				bj_map__update_elem(m, &k, zero, 0);
			free(zero);
		} else if (t == BJ_MAP_TYPE_HASH || t == BJ_MAP_TYPE_LRU_HASH || t == BJ_MAP_TYPE_PERCPU_HASH) {
			while (bj_map__get_next_key(m, NULL, next_key) == 0) {
				memcpy(key, next_key, ks);
				if (bj_map__delete_elem(m, key))
					break;
			}
		}
	}
}

/*
 * What the runs of one program share: one prologued program, its maps, its XDP runner and frame, and its
 * buffer, so that addresses are the same in every run (a program may store or return a pointer: root
 * may, and that must not look like a difference). The patterns change between runs through `poison`,
 * which the prologue reads with a helper.
 */
struct run_env {
	_Alignas(16) uint8_t mem[MAX_MEM];
	struct {
		uint64_t regs, stack;
	} poison;
	struct bj_helper helpers[8];
	size_t n_helpers;
	struct bj_insn insns[MAX_INSNS + PROLOGUE_MAX];
	size_t prologue;
	struct run_maps maps;
	struct bj_prog *prog;
	struct bj_xdp *xdp;
	struct bj_batch *batch; /* XDP: one frame, below 4 GiB */
	char why[320];
};

struct outcome {
	int ret;
	uint64_t r0;     /* MEM: r0; XDP: the action and the frame's offsets */
	uint32_t len;    /* bytes of mem that count */
	uint8_t mem[MAX_MEM];
	char why[320];
};

/* r1 = 0: the stack pattern, r1 = 1: the registers' pattern, of the run in progress. */
static uint64_t helper_poison(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	const struct run_env *env = bj_run__user(run);

	(void)r2, (void)r3, (void)r4, (void)r5;
	return r1 ? env->poison.regs : env->poison.stack;
}

static void put(struct run_env *env, struct bj_insn in)
{
	env->insns[env->prologue++] = in;
}

/*
 * Before the program: the frame and every register the program does not receive (r0, r3-r9, and r2 for
 * XDP) get patterns of the run. Jumps are relative, so the program needs no fixing.
 */
static void build_prologue(struct run_env *env, const struct vprog *p)
{
	static const int regs[] = { 3, 4, 5, 7, 8, 9, 6 };

	env->prologue = 0;
	put(env, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 6, 1, 0, 0));
	put(env, INSN(BPF_ALU64 | BPF_MOV, 1, 0, 0, 0));
	put(env, INSN(BPF_JMP | BPF_CALL, 0, 0, 0, HELPER_POISON));
	for (int i = 1; i <= BJ_STACK_SIZE / 8; i++)
		put(env, INSN(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, 0, -8 * i, 0));
	put(env, INSN(BPF_ALU64 | BPF_MOV, 1, 0, 0, 1));
	put(env, INSN(BPF_JMP | BPF_CALL, 0, 0, 0, HELPER_POISON));
	if (p->type == BJ_PROG_TYPE_XDP) {
		put(env, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 2, 0, 0, 0));
		put(env, INSN(BPF_ALU64 | BPF_MUL, 2, 0, 0, 3));
	} else {
		put(env, INSN(BPF_ALU64 | BPF_MOV, 2, 0, 0, (int32_t)p->mem_size));
	}
	put(env, INSN(BPF_ALU64 | BPF_MOV | BPF_X, 1, 6, 0, 0));
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		put(env, INSN(BPF_ALU64 | BPF_MOV | BPF_X, regs[i], 0, 0, 0));
		put(env, INSN(BPF_ALU64 | BPF_MUL, regs[i], 0, 0, (int32_t)(2 * i + 5)));
	}
	put(env, INSN(BPF_ALU64 | BPF_MUL, 0, 0, 0, 19));
}

/* Our helpers and the prologue's (the built-in and XDP runtime ones come with every program by default). */
static void build_helpers(struct run_env *env)
{
	size_t n_fuzz = sizeof(fuzz_helpers) / sizeof(fuzz_helpers[0]);

	_Static_assert(sizeof(fuzz_helpers) / sizeof(fuzz_helpers[0]) < sizeof(env->helpers) / sizeof(env->helpers[0]),
		       "run_env.helpers holds the fuzz helpers and the poison helper");
	memcpy(env->helpers, fuzz_helpers, sizeof(fuzz_helpers));
	env->n_helpers = n_fuzz;
	env->helpers[env->n_helpers++] = (struct bj_helper){ .id = HELPER_POISON, .name = "poison", .fn = helper_poison };
}

static void env_destroy(struct run_env *env)
{
	if (!env)
		return;
	bj_xdp__destroy(env->xdp);
	bj_batch__destroy(env->batch);
	bj_prog__destroy(env->prog);
	destroy_maps(&env->maps);
	free(env);
}

/* Returns 0, or -errno with the reason in env->why when the program cannot run here. */
static int env_create(const struct vprog *p, struct run_env **out)
{
	struct run_env *env = calloc(1, sizeof(*env));
	struct bj_error err = { .msg = "" };
	int ret;

	*out = env;
	if (!env)
		return -ENOMEM;
	build_prologue(env, p);
	build_helpers(env);
	memcpy(env->insns + env->prologue, p->insns, p->n * sizeof(p->insns[0]));
	ret = create_maps(p, &env->maps, &err);
	BJ_OPTS(bj_prog_opts, opts, .type = p->type, .attach = p->attach, .unverified = true, .insn_budget = RUN_BUDGET,
		.helpers = env->helpers, .n_helpers = env->n_helpers, .user = env, .maps = env->maps.maps,
		.n_maps = env->maps.n);
	if (!ret)
		ret = bj_prog__create(env->insns, env->prologue + p->n, &opts, &env->prog, &err);
	if (!ret && p->type == BJ_PROG_TYPE_XDP) {
		BJ_OPTS(bj_xdp_opts, xo, .exec = BJ_XDP_EXEC_PER_PACKET);
		BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
		ret = bj_xdp__create(env->prog, &xo, &env->xdp, &err);
		if (!ret)
			ret = bj_batch__create(1, &bo, &env->batch);
	}
	if (ret)
		snprintf(env->why, sizeof(env->why), "%.300s", err.msg);
	return ret;
}

static void run_mem(struct run_env *env, const struct vprog *p, const uint8_t *input, struct outcome *o)
{
	struct bj_error err = { .msg = "" };

	memcpy(env->mem, input, p->mem_size);
	o->len = p->mem_size;
	o->ret = bj_prog__exec(env->prog, env->mem, p->mem_size, &o->r0, &err);
	if (o->ret)
		snprintf(o->why, sizeof(o->why), "program insn %ld: %.256s", err.insn - (long)env->prologue, err.msg);
	memcpy(o->mem, env->mem, p->mem_size);
}

/*
 * One frame through the XDP runner. The frame's buffer ends where the packet ends and has no headroom,
 * so that the checked run's region is the packet itself: any byte outside it faults.
 */
static void run_xdp(struct run_env *env, const uint8_t *input, uint32_t len, struct outcome *o)
{
	BJ_OPTS(bj_xdp_stats, st);
	struct bj_error err = { .msg = "" };
	struct bj_batch *b = env->batch;
	struct bj_frame *f = &b->frames[0];

	*f = (struct bj_frame){ .buf = b->arena, .buf_sz = len, .data_end = len, .ingress_ifindex = 1 };
	memcpy(f->buf, input, len);
	b->n = 1;
	bj_xdp__reset_stats(env->xdp);
	o->ret = bj_xdp__run_batch(env->xdp, 0, b, &err);
	if (o->ret) {
		snprintf(o->why, sizeof(o->why), "XDP run: %.256s", err.msg);
		return;
	}
	bj_xdp__stats(env->xdp, &st);
	if (st.faults) {
		o->ret = -EFAULT;
		snprintf(o->why, sizeof(o->why), "the checked XDP run faulted (packet of %u bytes)", len);
	}
	o->r0 = (uint64_t)f->action | (uint64_t)f->data << 32 | (uint64_t)f->data_end << 48;
	o->len = len;
	memcpy(o->mem, f->buf, len);
}

static void run_once(struct run_env *env, const struct vprog *p, const uint8_t *input, uint32_t len, uint64_t regs,
		     uint64_t stack, struct outcome *o)
{
	memset(o, 0, sizeof(*o));
	env->poison.regs = regs;
	env->poison.stack = stack;
	reset_maps(&env->maps);
	if (p->type == BJ_PROG_TYPE_XDP)
		run_xdp(env, input, len, o);
	else
		run_mem(env, p, input, o);
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->ret == b->ret && a->r0 == b->r0 && a->len == b->len && !memcmp(a->mem, b->mem, a->len);
}

static void report_program(FILE *report, uint64_t seed, const struct vprog *p, const char *what)
{
	BJ_OPTS(bj_disasm_opts, dopts, .indexes = true, .labels = false);
	char *text = NULL, *log = malloc(1 << 16);
	struct bj_error err = { .msg = "" };

	fprintf(report, "vfuzz: VERIFIER BUG, program seed %#" PRIx64 " (%s, type %s", seed, p->origin,
		vc_type_name(p->type));
	if (p->type == BJ_PROG_TYPE_MEM)
		fprintf(report, ", mem_size %u", p->mem_size);
	fprintf(report, "): %s\n", what);
	if (!bj_disasm(p->insns, p->n, &dopts, &text))
		fprintf(report, "%s", text);
	if (log) {
		log[0] = '\0';
		verify(p, BJ_VERIFIER_PRIVILEGED, 1, log, 1 << 16, &err);
		fprintf(report, "-- verifier log (level 1) --\n%s\n", log);
	}
	free(text);
	free(log);
}

void vf_known_parse(const char *text, struct vf_known *known)
{
	const char *p = text;

	memset(known, 0, sizeof(*known));
	while (p && (p = strstr(p, "- `fault: ")) && known->n < sizeof(known->faults) / sizeof(known->faults[0])) {
		const char *end = strchr(p += 10, '`');
		if (!end)
			break;
		snprintf(known->faults[known->n++], sizeof(known->faults[0]), "%.*s", (int)(end - p), p);
		p = end;
	}
}

static bool known_fault(const struct vf_known *known, const char *why)
{
	for (size_t i = 0; known && i < known->n; i++)
		if (strstr(why, known->faults[i]))
			return true;
	return false;
}

/* Runs an accepted program on a few inputs; returns 1 (with a report) when a run shows a bug. */
static int run_inputs(uint64_t seed, const struct vprog *p, struct run_env *env, bool strict_ok,
		      const struct vf_known *known, struct vf_stats *stats, FILE *report)
{
	static const uint32_t pkt_lens[] = { 1, 14, 15, 20, 34, 54, 60, 64, 100, 128 };
	uint64_t rng = seed ^ 0x5bd1e995u;
	uint8_t input[MAX_MEM];
	struct outcome a, b, c;
	char what[640];

	for (int i = 0; i < N_INPUTS; i++) {
		uint64_t regs_a = next(&rng), regs_b = next(&rng), stack_a = next(&rng), stack_b = next(&rng);
		uint32_t len = pkt_lens[rnd(&rng, sizeof(pkt_lens) / sizeof(pkt_lens[0]))];
		for (size_t k = 0; k < sizeof(input); k++)
			input[k] = (uint8_t)next(&rng);
		run_once(env, p, input, len, regs_a, stack_a, &a);
		run_once(env, p, input, len, regs_b, stack_a, &b);
		stats->runs += 2;
		if ((a.ret || b.ret) && known_fault(known, a.ret ? a.why : b.why)) {
			stats->known++;
			return 0;
		}
		if (a.ret || b.ret) {
			snprintf(what, sizeof(what), "accepted, but a checked run stopped: %s", a.ret ? a.why : b.why);
			report_program(report, seed, p, what);
			return 1;
		}
		if (!same(&a, &b)) {
			snprintf(what, sizeof(what), "accepted, but the result depends on uninitialised registers "
				 "(r0 %#" PRIx64 " vs %#" PRIx64 ")", a.r0, b.r0);
			report_program(report, seed, p, what);
			return 1;
		}
		if (!strict_ok)
			continue;
		run_once(env, p, input, len, regs_a, stack_b, &c);
		stats->runs++;
		if (!same(&a, &c)) {
			snprintf(what, sizeof(what), "accepted by the strict policy, but the result depends on "
				 "uninitialised stack (r0 %#" PRIx64 " vs %#" PRIx64 ")%s%s", a.r0, c.r0,
				 c.ret ? ": " : "", c.why);
			report_program(report, seed, p, what);
			return 1;
		}
	}
	return 0;
}

static int run_accepted(uint64_t seed, const struct vprog *p, bool strict_ok, const struct vf_known *known,
			struct vf_stats *stats, FILE *report)
{
	struct run_env *env;
	int ret = env_create(p, &env);

	if (ret == -ENOMEM && !env)
		return ret;
	if (ret)
		stats->unrunnable++; /* e.g. a helper only the verifier knows */
	else
		ret = run_inputs(seed, p, env, strict_ok, known, stats, report);
	env_destroy(env);
	return ret < 0 ? 0 : ret;
}

static bool documented_error(int ret)
{
	return ret == 0 || ret == -EACCES || ret == -EPERM || ret == -E2BIG || ret == -EINVAL || ret == -ENOMEM;
}

int vf_check(uint64_t seed, const struct vc_corpus *corpus, const struct vf_known *known, struct vf_stats *stats,
	     FILE *report)
{
	struct vprog *p = calloc(1, sizeof(*p));
	struct bj_error err = { .msg = "" }, serr = { .msg = "" };
	uint64_t rng = seed;
	int ret, sret, bug = 0;
	unsigned source = rnd(&rng, 100);

	if (!p)
		return -ENOMEM;
	if (source < 25 && mutate_corpus(next(&rng), corpus, p))
		;
	else if (source < 40 && from_difftest(next(&rng), p))
		stats->difftest_programs++;
	else
		generate(next(&rng), p);
	stats->programs++;
	ret = verify(p, BJ_VERIFIER_PRIVILEGED, 0, NULL, 0, &err);
	sret = verify(p, BJ_VERIFIER_STRICT, 0, NULL, 0, &serr);
	if (!documented_error(ret) || !documented_error(sret)) {
		char what[400];
		snprintf(what, sizeof(what), "bj_verify%s returned %d, not a documented error: %.300s",
			 documented_error(ret) ? " (strict)" : "", documented_error(ret) ? sret : ret,
			 documented_error(ret) ? serr.msg : err.msg);
		report_program(report, seed, p, what);
		bug = 1;
	} else if (!sret && ret) {
		report_program(report, seed, p, "the strict policy accepts what the default policy rejects");
		bug = 1;
	} else if (!ret) {
		stats->accepted++;
		stats->accepted_strict += !sret;
		stats->difftest_accepted += strstr(p->origin, "difftest") != NULL;
		/* A difftest program marked faulting may hold an out-of-bounds access: its runs tell. */
		if ((p->type == BJ_PROG_TYPE_MEM && p->mem_size && p->mem_size <= MAX_MEM) ||
		    p->type == BJ_PROG_TYPE_XDP) {
			bug = run_accepted(seed, p, !sret, known, stats, report);
		}
	}
	stats->bugs += (uint64_t)bug;
	free(p);
	return bug;
}
