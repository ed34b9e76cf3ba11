/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/kernel_oracle.h"
#include "verifier/scalar.h"

/* ---- a reproducible generator (xorshift64*) ---- */

struct rng {
	uint64_t s;
};

static uint64_t rnd(struct rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return r->s * 0x2545F4914F6CDD1DULL;
}

static uint64_t below(struct rng *r, uint64_t n)
{
	return n ? rnd(r) % n : 0;
}

/* Values near the edges where bounds logic goes wrong: 0, sign bits, 32-bit halves, small numbers. */
static uint64_t interesting(struct rng *r)
{
	static const uint64_t edges[] = {
		0, 1, 2, 7, 8, 31, 32, 63, 64, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff,
		0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x17fffffffULL, 0x7fffffffffffffffULL,
		0x8000000000000000ULL, 0xffffffff00000000ULL, 0xffffffff80000000ULL, UINT64_MAX,
	};
	uint64_t v;

	switch (below(r, 6)) {
	case 0:
		v = edges[below(r, sizeof(edges) / sizeof(edges[0]))];
		break;
	case 1:
		v = below(r, 64);
		break;
	case 2:
		v = (uint64_t)(int64_t)(int32_t)rnd(r);
		break;
	case 3:
		v = rnd(r) >> below(r, 64);
		break;
	default:
		v = rnd(r);
		break;
	}
	if (below(r, 3) == 0)
		v += below(r, 5) - 2;
	if (below(r, 6) == 0)
		v = -v;
	return v;
}

static bool member(const struct bj_scalar *s, uint64_t x)
{
	return (x & ~s->var_off.mask) == s->var_off.value && s->umin <= x && x <= s->umax &&
	       s->smin <= (int64_t)x && (int64_t)x <= s->smax && s->u32_min <= (uint32_t)x &&
	       (uint32_t)x <= s->u32_max && s->s32_min <= (int32_t)(uint32_t)x && (int32_t)(uint32_t)x <= s->s32_max;
}

static void describe(char *buf, size_t size, const struct bj_scalar *s)
{
	snprintf(buf, size,
		 "var_off=(0x%" PRIx64 "; 0x%" PRIx64 ") s=[%" PRId64 ",%" PRId64 "] u=[0x%" PRIx64 ",0x%" PRIx64
		 "] s32=[%d,%d] u32=[0x%x,0x%x]",
		 s->var_off.value, s->var_off.mask, s->smin, s->smax, s->umin, s->umax, s->s32_min, s->s32_max,
		 s->u32_min, s->u32_max);
}

static void assert_member(const struct bj_scalar *s, uint64_t x, const char *what)
{
	if (member(s, x))
		return;
	char d[256];
	describe(d, sizeof(d), s);
	fail_msg("%s: 0x%" PRIx64 " not in %s", what, x, d);
}

/* An upper (lower) bound at or above (below) x with random slack, sometimes none at all. */
static uint64_t slack(struct rng *r)
{
	switch (below(r, 4)) {
	case 0:
		return 0;
	case 1:
		return below(r, 16);
	case 2:
		return below(r, 1ULL << below(r, 64));
	default:
		return UINT64_MAX;
	}
}

static uint64_t sat_sub(uint64_t x, uint64_t d)
{
	return x >= d ? x - d : 0;
}

static uint64_t sat_add(uint64_t x, uint64_t d, uint64_t lim)
{
	return lim - x >= d ? x + d : lim;
}

static uint64_t random_mask(struct rng *r)
{
	switch (below(r, 6)) {
	case 0:
		return 0;
	case 1:
		return UINT64_MAX;
	case 2:
		return (1ULL << below(r, 64)) - 1;
	case 3:
		return rnd(r) & rnd(r);
	case 4:
		return ((1ULL << below(r, 64)) - 1) << below(r, 8);
	default:
		return rnd(r);
	}
}

/* An abstract scalar that holds x: each of the tnum and the four ranges constrains x on its own. */
static void random_around(struct rng *r, struct bj_scalar *s, uint64_t x)
{
	uint64_t m = random_mask(r);
	int64_t sx = (int64_t)x;
	uint32_t x32 = (uint32_t)x;
	int32_t sx32 = (int32_t)x32;

	sc_set_unknown(s);
	s->var_off = (struct tnum){ x & ~m, m };
	if (below(r, 2)) {
		s->umin = sat_sub(x, slack(r));
		s->umax = sat_add(x, slack(r), UINT64_MAX);
	}
	if (below(r, 2)) {
		s->smin = (int64_t)(sat_sub((uint64_t)sx + (1ULL << 63), slack(r)) - (1ULL << 63));
		s->smax = (int64_t)(sat_add((uint64_t)sx + (1ULL << 63), slack(r), UINT64_MAX) - (1ULL << 63));
	}
	if (below(r, 2)) {
		s->u32_min = (uint32_t)sat_sub(x32, slack(r));
		s->u32_max = (uint32_t)sat_add(x32, slack(r), UINT32_MAX);
	}
	if (below(r, 2)) {
		s->s32_min = (int32_t)(sat_sub((uint64_t)((int64_t)sx32 + 0x80000000LL), slack(r)) - 0x80000000LL);
		s->s32_max = (int32_t)(sat_add((uint64_t)((int64_t)sx32 + 0x80000000LL), slack(r), UINT32_MAX) -
				       0x80000000LL);
	}
	sc_sync(s);
	assert_member(s, x, "sc_sync");
}

/* An abstract scalar and one of its values, built the ways a verifier builds them. */
static void random_pair(struct rng *r, struct bj_scalar *s, uint64_t *x)
{
	*x = interesting(r);
	switch (below(r, 8)) {
	case 0:
		sc_set_const(s, *x);
		break;
	case 1: {
		uint8_t size = (uint8_t)(1u << below(r, 4));
		*x &= size == 8 ? UINT64_MAX : (1ULL << (size * 8)) - 1;
		sc_set_unknown_size(s, size);
		break;
	}
	case 2: {
		uint8_t size = (uint8_t)(1u << below(r, 3));
		*x = size == 1 ? (uint64_t)(int8_t)*x : size == 2 ? (uint64_t)(int16_t)*x : (uint64_t)(int32_t)*x;
		sc_set_unknown_sext(s, size);
		break;
	}
	default:
		random_around(r, s, *x);
		break;
	}
	assert_member(s, *x, "random_pair");
}

/* ---- concrete BPF semantics ---- */

static uint64_t bswap_width(uint64_t v, int32_t width, bool to_be)
{
	if (width == 16)
		return to_be ? __builtin_bswap16((uint16_t)v) : (uint16_t)v;
	if (width == 32)
		return to_be ? __builtin_bswap32((uint32_t)v) : (uint32_t)v;
	return to_be ? __builtin_bswap64(v) : v;
}

static uint64_t sext_off(uint64_t v, int16_t off)
{
	return off == 8 ? (uint64_t)(int8_t)v : off == 16 ? (uint64_t)(int16_t)v : (uint64_t)(int32_t)v;
}

static uint64_t alu64(uint8_t op, uint64_t a, uint64_t b, int16_t off)
{
	int64_t sa = (int64_t)a, sb = (int64_t)b;

	switch (op) {
	case BPF_ADD:
		return a + b;
	case BPF_SUB:
		return a - b;
	case BPF_MUL:
		return a * b;
	case BPF_DIV:
		if (!b)
			return 0;
		if (off != 1)
			return a / b;
		return sb == -1 ? -a : (uint64_t)(sa / sb);
	case BPF_MOD:
		if (!b)
			return a;
		if (off != 1)
			return a % b;
		return sb == -1 ? 0 : (uint64_t)(sa % sb);
	case BPF_OR:
		return a | b;
	case BPF_AND:
		return a & b;
	case BPF_XOR:
		return a ^ b;
	case BPF_LSH:
		return a << (b & 63);
	case BPF_RSH:
		return a >> (b & 63);
	case BPF_ARSH:
		return (uint64_t)(sa >> (b & 63));
	case BPF_NEG:
		return -a;
	case BPF_MOV:
		return off ? sext_off(b, off) : b;
	default:
		return 0;
	}
}

static uint64_t alu32(uint8_t op, uint32_t a, uint32_t b, int16_t off)
{
	int32_t sa = (int32_t)a, sb = (int32_t)b;

	switch (op) {
	case BPF_DIV:
		if (!b)
			return 0;
		if (off != 1)
			return a / b;
		return sb == -1 ? (uint32_t)-a : (uint32_t)(sa / sb);
	case BPF_MOD:
		if (!b)
			return a;
		if (off != 1)
			return a % b;
		return sb == -1 ? 0 : (uint32_t)(sa % sb);
	case BPF_LSH:
		return (uint32_t)(a << (b & 31));
	case BPF_RSH:
		return a >> (b & 31);
	case BPF_ARSH:
		return (uint32_t)(sa >> (b & 31));
	case BPF_MOV:
		return off ? (uint32_t)sext_off(b, off) : b;
	default:
		return (uint32_t)alu64(op, a, b, 0);
	}
}

struct alu_case {
	uint8_t op;
	bool alu32;
	int16_t off;
	int32_t imm;
	bool to_be;
};

static uint64_t concrete(const struct alu_case *c, uint64_t a, uint64_t b)
{
	if (c->op == BPF_END)
		return bswap_width(a, c->imm, c->to_be);
	return c->alu32 ? alu32(c->op, (uint32_t)a, (uint32_t)b, c->off) : alu64(c->op, a, b, c->off);
}

static void random_alu(struct rng *r, struct alu_case *c)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND, BPF_LSH,
				       BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	static const int16_t movsx64[] = { 0, 8, 16, 32 }, movsx32[] = { 0, 8, 16 };
	static const int32_t widths[] = { 16, 32, 64 };

	*c = (struct alu_case){ .op = ops[below(r, sizeof(ops))], .alu32 = below(r, 2) };
	if (c->op == BPF_DIV || c->op == BPF_MOD)
		c->off = (int16_t)below(r, 2);
	else if (c->op == BPF_MOV)
		c->off = c->alu32 ? movsx32[below(r, 3)] : movsx64[below(r, 4)];
	else if (c->op == BPF_END) {
		c->imm = widths[below(r, 3)];
		c->to_be = c->alu32 ? below(r, 2) : true;
	}
}

/* A shift amount: mostly in range, so the shift logic itself gets exercised. */
static void random_shift(struct rng *r, struct bj_scalar *s, uint64_t *x)
{
	*x = below(r, 4) ? below(r, 64) : interesting(r);
	if (below(r, 3))
		sc_set_const(s, *x);
	else
		random_around(r, s, *x);
}

static void check_alu(struct rng *r, const struct alu_case *c, struct bj_scalar *d, uint64_t *x)
{
	struct bj_scalar src, before = *d;
	uint64_t y;

	bool same = below(r, 8) == 0; /* `r1 op= r1`: dst is its own source */

	if (same) {
		src = *d;
		y = *x;
	} else if (c->op == BPF_LSH || c->op == BPF_RSH || c->op == BPF_ARSH) {
		random_shift(r, &src, &y);
	} else {
		random_pair(r, &src, &y);
	}
	if ((c->op == BPF_DIV || c->op == BPF_MOD) && !same && below(r, 2)) {
		y = 1 + below(r, 100);
		sc_set_const(&src, y);
	}
	struct bj_scalar zero;
	if (!same && sc_alu_split(d, &zero, &src, c->op)) {
		/* Each value is on one of the two paths; follow the one x is on. */
		if (member(&zero, *x))
			*d = zero;
		assert_member(d, *x, "sc_alu_split");
	}
	sc_alu(d, same ? d : &src, c->op, c->alu32, c->off, c->imm, c->to_be);
	uint64_t z = concrete(c, *x, y);
	if (!member(d, z)) {
		char a[256], b[256], o[256];
		describe(a, sizeof(a), &before);
		describe(b, sizeof(b), &src);
		describe(o, sizeof(o), d);
		fail_msg("op 0x%x alu32=%d off=%d imm=%d: 0x%" PRIx64 " op 0x%" PRIx64 " = 0x%" PRIx64
			 " not in %s\n dst %s\n src %s",
			 c->op, c->alu32, c->off, c->imm, *x, y, z, o, a, b);
	}
	*x = z;
}

static void test_alu_soundness(void **state)
{
	(void)state;
	struct rng r = { 0x9e3779b97f4a7c15ULL };

	for (int i = 0; i < 150000; i++) {
		struct bj_scalar d;
		uint64_t x;

		random_pair(&r, &d, &x);
		/* Chains reach the states real programs have: results of results. */
		for (int n = 1 + (int)below(&r, 4); n > 0; n--) {
			struct alu_case c;
			random_alu(&r, &c);
			check_alu(&r, &c, &d, &x);
		}
	}
}

/* Narrower loads of a tracked value (fills): zero- and sign-extending. */
static void test_coerce_soundness(void **state)
{
	(void)state;
	struct rng r = { 0x452821e638d01377ULL };

	for (int i = 0; i < 100000; i++) {
		struct bj_scalar s, z;
		uint64_t x;
		uint8_t size = (uint8_t)(1u << below(&r, 4));

		random_pair(&r, &s, &x);
		z = s;
		sc_coerce_size(&z, size);
		assert_member(&z, size == 8 ? x : x & ((1ULL << (size * 8)) - 1), "sc_coerce_size");
		sc_coerce_size_sext(&s, size);
		assert_member(&s, size == 8 ? x : sext_off(x, (int16_t)(size * 8)), "sc_coerce_size_sext");
	}
}

/* ---- branches ---- */

static const uint8_t jmp_ops[] = { BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET, BPF_JNE, BPF_JSGT,
				   BPF_JSGE, BPF_JLT, BPF_JLE, BPF_JSLT, BPF_JSLE };

static bool cond_holds(uint8_t op, uint64_t a, uint64_t b, bool jmp32)
{
	if (jmp32) {
		a = (uint32_t)a;
		b = (uint32_t)b;
	}
	int64_t sa = jmp32 ? (int32_t)(uint32_t)a : (int64_t)a, sb = jmp32 ? (int32_t)(uint32_t)b : (int64_t)b;

	switch (op) {
	case BPF_JEQ:
		return a == b;
	case BPF_JNE:
		return a != b;
	case BPF_JSET:
		return a & b;
	case BPF_JGT:
		return a > b;
	case BPF_JGE:
		return a >= b;
	case BPF_JLT:
		return a < b;
	case BPF_JLE:
		return a <= b;
	case BPF_JSGT:
		return sa > sb;
	case BPF_JSGE:
		return sa >= sb;
	case BPF_JSLT:
		return sa < sb;
	default:
		return sa <= sb;
	}
}

/* The second operand: often a constant (the K form), often close to the first. */
static void random_operand(struct rng *r, struct bj_scalar *s, uint64_t *y, uint64_t x)
{
	switch (below(r, 4)) {
	case 0:
		*y = x + below(r, 3) - 1;
		break;
	case 1:
		*y = (x & 0xffffffffULL) | (interesting(r) << 32);
		break;
	default:
		*y = interesting(r);
		break;
	}
	if (below(r, 2)) {
		if (below(r, 2))
			*y = (uint64_t)(int64_t)(int32_t)*y;
		sc_set_const(s, *y);
	} else {
		random_around(r, s, *y);
	}
}

static void test_branch_soundness(void **state)
{
	(void)state;
	struct rng r = { 0x243f6a8885a308d3ULL };

	for (int i = 0; i < 200000; i++) {
		struct bj_scalar a, b;
		uint64_t x, y;
		uint8_t op = jmp_ops[below(&r, sizeof(jmp_ops))];
		bool jmp32 = below(&r, 2);

		random_pair(&r, &a, &x);
		random_operand(&r, &b, &y, x);
		if (below(&r, 4) == 0) {
			struct bj_scalar t = a;
			uint64_t tx = x;
			a = b, x = y, b = t, y = tx;
		}
		bool holds = cond_holds(op, x, y, jmp32);
		int pred = sc_branch_taken(&a, &b, op, jmp32);
		if (pred != -1 && pred != (int)holds)
			fail_msg("op 0x%x jmp32=%d: 0x%" PRIx64 ", 0x%" PRIx64 " predicted %d", op, jmp32, x, y, pred);
		struct bj_scalar ra = a, rb = b;
		if (!sc_refine(&ra, &rb, op, jmp32, holds))
			fail_msg("op 0x%x jmp32=%d taken=%d: 0x%" PRIx64 ", 0x%" PRIx64 " on a dead side", op, jmp32,
				 holds, x, y);
		assert_member(&ra, x, "refine a");
		assert_member(&rb, y, "refine b");
	}
}

static void test_within_soundness(void **state)
{
	(void)state;
	struct rng r = { 0x13198a2e03707344ULL };

	for (int i = 0; i < 100000; i++) {
		struct bj_scalar old, cur;
		uint64_t x, z;

		random_pair(&r, &cur, &x);
		random_around(&r, &old, below(&r, 2) ? x : interesting(&r));
		if (!sc_within(&old, &cur))
			continue;
		assert_member(&old, x, "sc_within");
		/* Another value of cur: a random one of its tnum that the bounds allow too. */
		z = cur.var_off.value | (rnd(&r) & cur.var_off.mask);
		if (member(&cur, z))
			assert_member(&old, z, "sc_within");
	}
}

/* ---- exact cases, from Linux's behaviour ---- */

static struct bj_scalar range_of(uint64_t value, uint64_t mask)
{
	struct bj_scalar s;

	sc_set_unknown(&s);
	s.var_off = (struct tnum){ value, mask };
	sc_sync(&s);
	return s;
}

static void assert_format(const struct bj_scalar *s, const char *want)
{
	char buf[256];
	int n = sc_format(buf, sizeof(buf), s);

	assert_string_equal(buf, want);
	assert_int_equal(n, (int)strlen(want));
}

static void test_tnum_ops(void **state)
{
	(void)state;
	struct tnum t = tnum_and((struct tnum){ 0, 0xff }, tnum_const(0xf));
	assert_true(t.value == 0 && t.mask == 0xf);
	t = tnum_range(0, 255);
	assert_true(t.value == 0 && t.mask == 0xff);
	t = tnum_range(16, 31);
	assert_true(t.value == 16 && t.mask == 0xf);
	assert_true(tnum_is_unknown(tnum_range(0, UINT64_MAX)));
	t = tnum_add(tnum_const(3), tnum_const(4));
	assert_true(tnum_equals_const(t, 7));
	/* x in {0, 1} plus 1: {1, 2}, bits 0 and 1 unknown. */
	t = tnum_add((struct tnum){ 0, 1 }, tnum_const(1));
	assert_true(t.value == 0 && t.mask == 3);
	t = tnum_mul((struct tnum){ 0, 3 }, tnum_const(4));
	assert_true(t.value == 0 && t.mask == 0xc);
	t = tnum_lshift((struct tnum){ 1, 2 }, 4);
	assert_true(t.value == 0x10 && t.mask == 0x20);
	t = tnum_arshift((struct tnum){ 0x80000000, 0 }, 4, 32);
	assert_true(t.value == 0xf8000000 && t.mask == 0);
	t = tnum_arshift((struct tnum){ 0, 0x8000000000000000ULL }, 60, 64);
	assert_true(t.value == 0 && t.mask == 0xfffffffffffffff8ULL);
	t = tnum_neg(tnum_const(1));
	assert_true(tnum_equals_const(t, UINT64_MAX));
	t = tnum_with_subreg((struct tnum){ 0, UINT64_MAX }, tnum_const(5));
	assert_true(t.value == 5 && t.mask == 0xffffffff00000000ULL);
	t = tnum_union(tnum_const(4), tnum_const(6));
	assert_true(t.value == 4 && t.mask == 2);
	assert_true(tnum_in((struct tnum){ 0, 0xff }, tnum_const(0x42)));
	assert_false(tnum_in((struct tnum){ 0, 0xff }, tnum_const(0x142)));
	assert_false(tnum_in(tnum_const(1), (struct tnum){ 0, 1 }));
	assert_true(tnum_is_aligned((struct tnum){ 8, 0xf0 }, 8));
	assert_false(tnum_is_aligned((struct tnum){ 8, 0xf4 }, 8));

	char buf[48];
	tnum_sbin(buf, sizeof(buf), (struct tnum){ 0, 0xff });
	assert_string_equal(buf, "(0x0; 0xff)");
}

static void test_alu_exact(void **state)
{
	(void)state;
	struct bj_scalar d, s;

	/* Constants fold exactly. */
	sc_set_const(&d, 3);
	sc_set_const(&s, 4);
	sc_alu(&d, &s, BPF_ADD, false, 0, 0, false);
	assert_true(sc_is_const(&d) && sc_const_value(&d) == 7);
	assert_format(&d, "7");
	sc_alu(&d, &s, BPF_LSH, false, 0, 0, false);
	assert_format(&d, "112");
	sc_set_const(&s, 1);
	sc_set_const(&d, 0);
	sc_alu(&d, &s, BPF_SUB, true, 0, 0, false);
	assert_true(sc_is_const(&d) && sc_const_value(&d) == 0xffffffff);
	assert_format(&d, "0xffffffff");
	sc_set_const(&d, 0x1234);
	sc_alu(&d, &s, BPF_END, true, 0, 16, true);
	assert_true(sc_is_const(&d) && sc_const_value(&d) == 0x3412);

	/* (0x0; 0xff) & 0xf = (0x0; 0xf) */
	d = range_of(0, 0xff);
	assert_format(&d, "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)");
	sc_set_const(&s, 0xf);
	sc_alu(&d, &s, BPF_AND, false, 0, 0, false);
	assert_true(d.var_off.value == 0 && d.var_off.mask == 0xf && d.umax == 15 && d.smax == 15);
	assert_format(&d, "smin=smin32=0,smax=umax=smax32=umax32=15,var_off=(0x0; 0xf)");

	/* A shift by something that may reach the width: unknown. */
	d = range_of(0, 0xff);
	s = range_of(0, 0x3f);
	sc_alu(&d, &s, BPF_LSH, false, 0, 0, false);
	assert_true(tnum_is_unknown(d.var_off) && d.umax == UINT64_MAX);
	assert_format(&d, "");

	/* 32-bit results are zero-extended. */
	sc_set_unknown(&d);
	sc_set_const(&s, 0);
	sc_alu(&d, &s, BPF_ADD, true, 0, 0, false);
	assert_format(&d, "smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)");

	/* Unsigned overflow of an add makes the unsigned range unbounded. */
	d = range_of(0, 0xff);
	sc_set_const(&s, UINT64_MAX - 0x10);
	sc_alu(&d, &s, BPF_ADD, false, 0, 0, false);
	assert_true(d.umin == 0 && d.umax == UINT64_MAX);
}

static void test_loads(void **state)
{
	(void)state;
	struct bj_scalar s;

	sc_set_unknown_size(&s, 1);
	assert_format(&s, "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)");
	sc_set_unknown_size(&s, 4);
	assert_format(&s, "smin=0,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)");
	sc_set_unknown_size(&s, 8);
	assert_format(&s, "");
	sc_set_unknown_sext(&s, 1);
	assert_format(&s, "smin=smin32=-128,smax=smax32=127");
	sc_set_unknown_sext(&s, 2);
	assert_format(&s, "smin=smin32=-32768,smax=smax32=32767");
}

static void test_branch_exact(void **state)
{
	(void)state;
	struct bj_scalar a, b;

	sc_set_unknown_size(&a, 1);
	sc_set_const(&b, 10);
	assert_int_equal(sc_branch_taken(&a, &b, BPF_JGT, false), -1);
	assert_true(sc_refine(&a, &b, BPF_JGT, false, true));
	assert_true(a.umin == 11 && a.umax == 255);
	sc_set_unknown_size(&a, 1);
	assert_true(sc_refine(&a, &b, BPF_JGT, false, false));
	assert_true(a.umin == 0 && a.umax == 10);
	assert_format(&a, "smin=smin32=0,smax=umax=smax32=umax32=10,var_off=(0x0; 0xf)");

	sc_set_const(&b, 256);
	sc_set_unknown_size(&a, 1);
	assert_int_equal(sc_branch_taken(&a, &b, BPF_JLT, false), 1);
	assert_int_equal(sc_branch_taken(&a, &b, BPF_JEQ, false), 0);
	assert_false(sc_refine(&a, &b, BPF_JLT, false, false));

	sc_set_const(&b, 0x100);
	assert_int_equal(sc_branch_taken(&a, &b, BPF_JSET, false), 0);
	sc_set_const(&b, 4);
	assert_true(sc_refine(&a, &b, BPF_JSET, false, true));
	assert_true(a.var_off.value == 4 && a.umin == 4);
	sc_set_unknown_size(&a, 1);
	assert_true(sc_refine(&a, &b, BPF_JSET, false, false));
	assert_true(a.var_off.mask == 0xfb);

	/* jmp32 looks at the low half only. */
	sc_set_const(&a, 0x100000005ULL);
	sc_set_const(&b, 5);
	assert_int_equal(sc_branch_taken(&a, &b, BPF_JEQ, true), 1);
	assert_int_equal(sc_branch_taken(&a, &b, BPF_JEQ, false), 0);

	/* x != 0 with x in [0, 10]: [1, 10]. */
	sc_set_unknown_size(&a, 1);
	sc_set_const(&b, 10);
	assert_true(sc_refine(&a, &b, BPF_JLE, false, true));
	sc_set_const(&b, 0);
	assert_true(sc_refine(&a, &b, BPF_JNE, false, true));
	assert_true(a.umin == 1 && a.umax == 10);

	/* Signed: x s< 0 with x a sign-extended byte: [-128, -1]. */
	sc_set_unknown_sext(&a, 1);
	assert_true(sc_refine(&a, &b, BPF_JSLT, false, true));
	assert_true(a.smin == -128 && a.smax == -1 && a.umin == (uint64_t)-128);
	assert_format(&a, "smin=smin32=-128,smax=smax32=-1,umin=0xffffffffffffff80,umin32=0xffffff80,"
			  "var_off=(0xffffffffffffff80; 0x7f)");
}

/* Kernel logs (Linux 6.18, log level 2) of an unknown register after a few steps, as sc_format writes them. */
struct kstep {
	bool jmp;    /* a branch: refine with `r op imm` being `flag` */
	uint8_t op;
	bool w32;    /* ALU / JMP32 */
	int16_t off; /* movsx */
	int32_t imm;
	bool flag; /* a branch: taken; a byte swap: to big endian */
};

struct kcase {
	const char *name;
	struct kstep steps[4];
	size_t n;
	const char *want;
};

#define KALU(o, i) { false, (o), false, 0, (i), false }
#define KALU32(o, i) { false, (o), true, 0, (i), false }
#define KMOVSX(bits) { false, BPF_MOV, false, (bits), 0, false }
#define KJMP(o, i, t) { true, (o), false, 0, (i), (t) }

static const struct kcase kcases[] = {
	{ "r &= 255", { KALU(BPF_AND, 0xff) }, 1, "smin=smin32=0,smax=umax=smax32=umax32=255,var_off=(0x0; 0xff)" },
	{ "r &= 255; r += -5", { KALU(BPF_AND, 0xff), KALU(BPF_ADD, -5) }, 2, "smin=smin32=-5,smax=smax32=250" },
	{ "... w += 70000", { KALU(BPF_AND, 0xff), KALU(BPF_ADD, -5), KALU32(BPF_ADD, 70000) }, 3,
	  "smin=umin=smin32=umin32=0x1116b,smax=umax=smax32=umax32=0x1126a,var_off=(0x11000; 0x3ff)" },
	{ "bswap16", { { false, BPF_END, false, 0, 16, true } }, 1,
	  "smin=smin32=0,smax=umax=smax32=umax32=0xffff,var_off=(0x0; 0xffff)" },
	{ "if r > 100 (not taken)", { KALU(BPF_AND, 0xff), KJMP(BPF_JGT, 100, false) }, 2,
	  "smin=smin32=0,smax=umax=smax32=umax32=100,var_off=(0x0; 0x7f)" },
	{ "... if r & 1 (not taken)", { KALU(BPF_AND, 0xff), KJMP(BPF_JGT, 100, false), KJMP(BPF_JSET, 1, false) }, 3,
	  "smin=smin32=0,smax=umax=smax32=umax32=126,var_off=(0x0; 0x7e)" },
	{ "... if r & 1 (taken)", { KALU(BPF_AND, 0xff), KJMP(BPF_JGT, 100, false), KJMP(BPF_JSET, 1, true) }, 3,
	  "smin=umin=smin32=umin32=1,smax=umax=smax32=umax32=100,var_off=(0x1; 0x7e)" },
	{ "(s8) of [-128, 383]", { KALU(BPF_AND, 0x1ff), KALU(BPF_SUB, 128), KMOVSX(8) }, 3,
	  "smin=smin32=-128,smax=smax32=127" },
	{ "(s32) of [-128, 383]", { KALU(BPF_AND, 0x1ff), KALU(BPF_SUB, 128), KMOVSX(32) }, 3,
	  "smin=smin32=-128,smax=smax32=383" },
	{ "(s8) of [0x140, 0x17f]", { KALU(BPF_AND, 0x3f), KALU(BPF_OR, 0x140), KMOVSX(8) }, 3,
	  "smin=umin=smin32=umin32=64,smax=umax=smax32=umax32=127,var_off=(0x40; 0x3f)" },
	{ "(s8) of s32 in [-5, 5]", { { true, BPF_JSGT, true, 0, 5, false }, { true, BPF_JSLT, true, 0, -5, false },
	  KMOVSX(8) }, 3, "smin=smin32=-5,smax=smax32=5" },
	{ "w s>>= 31", { KALU32(BPF_ARSH, 31) }, 1, "smin=0,smax=umax=0xffffffff,smin32=-1,smax32=0,var_off=(0x0; 0xffffffff)" },
	{ "r /= 48", { KALU(BPF_DIV, 48) }, 1, "" },
	{ "constant", { KALU(BPF_MOV, -102) }, 1, "-102" },
	{ "constant in hex", { KALU32(BPF_MOV, 0x3b000000) }, 1, "0x3b000000" },
};

static void test_kernel_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(kcases) / sizeof(kcases[0]); i++) {
		const struct kcase *c = &kcases[i];
		struct bj_scalar r, k;
		char buf[256];

		sc_set_unknown(&r);
		for (size_t j = 0; j < c->n; j++) {
			const struct kstep *st = &c->steps[j];
			sc_set_const(&k, (uint64_t)(int64_t)st->imm);
			if (st->jmp)
				assert_true(sc_refine(&r, &k, st->op, st->w32, st->flag));
			else if (st->op == BPF_MOV && st->off)
				sc_alu(&r, &r, BPF_MOV, false, st->off, 0, false);
			else
				sc_alu(&r, &k, st->op, st->w32, 0, st->imm, st->flag);
		}
		sc_format(buf, sizeof(buf), &r);
		if (strcmp(buf, c->want) != 0)
			fail_msg("%s: %s, want %s", c->name, buf, c->want);
	}
}

static void test_within_exact(void **state)
{
	(void)state;
	struct bj_scalar old = range_of(0, 0xff), cur = range_of(0, 0xf), c;

	assert_true(sc_within(&old, &cur));
	assert_false(sc_within(&cur, &old));
	sc_set_const(&c, 7);
	assert_true(sc_within(&old, &c));
	assert_true(sc_equal(&old, &old));
	assert_false(sc_equal(&old, &cur));
}

/* ---- agreement with the running kernel's verifier log ---- */

#define KREGS 4      /* r6..r9: tracked, kept across the helper calls */
#define KMAX_INSNS 96
#define KPROGS 1000

struct kprog {
	struct bpf_insn insns[KMAX_INSNS];
	int n;
	/* After insn i on the fall-through path, and at the jump target of branch i: each register's state. */
	struct bj_scalar after[KMAX_INSNS][KREGS];
	struct bj_scalar taken[KMAX_INSNS][KREGS];
	bool is_branch[KMAX_INSNS];
	/* Registers that copies link (Linux refines them together on a branch): never compared on. */
	int link[KREGS];
	int next_link;
	struct bj_scalar regs[KREGS];
};

static struct bpf_insn kinsn(uint8_t code, int dst, int src, int16_t off, int32_t imm)
{
	return (struct bpf_insn){ .code = code, .dst_reg = (uint8_t)dst, .src_reg = (uint8_t)src, .off = off, .imm = imm };
}

/* Appends an insn; p->regs already holds the state after it. */
static void kemit(struct kprog *p, struct bpf_insn in)
{
	memcpy(p->after[p->n], p->regs, sizeof(p->regs));
	p->insns[p->n++] = in;
}

static int32_t kimm(struct rng *r)
{
	return below(r, 3) ? (int32_t)(below(r, 512) - 256) : (int32_t)interesting(r);
}

static void kalu(struct rng *r, struct kprog *p)
{
	static const uint8_t ops[] = { BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_OR,  BPF_AND, BPF_LSH,
				       BPF_RSH, BPF_NEG, BPF_MOD, BPF_XOR, BPF_MOV, BPF_ARSH, BPF_END };
	int d = (int)below(r, KREGS), sr = (int)below(r, KREGS);
	uint8_t op = ops[below(r, sizeof(ops))];
	bool alu32 = below(r, 2), x = below(r, 2) && op != BPF_NEG && op != BPF_END;
	int16_t off = 0;
	int32_t imm = 0;
	bool to_be = false;
	struct bj_scalar src;

	if (op == BPF_END) {
		static const int32_t widths[] = { 16, 32, 64 };
		imm = widths[below(r, 3)];
		to_be = alu32 ? below(r, 2) : true;
	} else if (!x && op != BPF_NEG) {
		imm = kimm(r);
		if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH)
			imm = (int32_t)below(r, alu32 ? 32 : 64);
		if ((op == BPF_DIV || op == BPF_MOD) && imm == 0)
			imm = 7;
	}
	if (op == BPF_DIV || op == BPF_MOD)
		off = (int16_t)below(r, 2);
	if (op == BPF_MOV && x && below(r, 2))
		off = alu32 ? (below(r, 2) ? 8 : 16) : (int16_t)(8 << below(r, 3));
	if (x)
		src = p->regs[sr];
	else
		sc_set_const(&src, (uint64_t)(int64_t)imm);
	uint8_t code = (uint8_t)((alu32 ? BPF_ALU : BPF_ALU64) | op | (x ? BPF_X : BPF_K));
	if (op == BPF_END)
		code = (uint8_t)((alu32 ? BPF_ALU : BPF_ALU64) | op | (to_be && alu32 ? BPF_TO_BE : BPF_TO_LE));
	/*
	 * A copy links dst and src; adding a constant keeps the link (Linux tracks the offset), and so may
	 * a byte swap that changes nothing (le64). Over-approximated: a link only keeps a branch away.
	 */
	if (op == BPF_MOV && x) {
		if (!p->link[sr])
			p->link[sr] = ++p->next_link;
		p->link[d] = p->link[sr];
	} else if (!((op == BPF_ADD || op == BPF_SUB) && sc_is_const32(&src)) && op != BPF_END) {
		p->link[d] = 0;
	}
	/* Where Linux splits the path, the fall-through one (compared here) goes on with -1. */
	struct bj_scalar zero;
	sc_alu_split(&p->regs[d], &zero, &src, op);
	sc_alu(&p->regs[d], &src, op, alu32, off, imm, to_be);
	kemit(p, kinsn(code, 6 + d, x ? 6 + sr : 0, off, imm));
}

static bool linked(const struct kprog *p, int reg)
{
	for (int i = 0; i < KREGS; i++)
		if (i != reg && p->link[reg] && p->link[i] == p->link[reg])
			return true;
	return false;
}

/* A conditional jump to the exit block; false when the one drawn is decided (the rest would be dead). */
static bool kbranch(struct rng *r, struct kprog *p)
{
	uint8_t op = jmp_ops[below(r, sizeof(jmp_ops))];
	bool jmp32 = below(r, 2), x = below(r, 2);
	int a = (int)below(r, KREGS), b = (a + 1 + (int)below(r, KREGS - 1)) % KREGS;
	int32_t imm = below(r, 2) ? kimm(r) : (int32_t)p->regs[a].var_off.value;
	struct bj_scalar ka;

	if (linked(p, a) || (x && linked(p, b)))
		return false;
	if (!x)
		sc_set_const(&ka, (uint64_t)(int64_t)imm);
	struct bj_scalar *rb = x ? &p->regs[b] : &ka;
	if (sc_branch_taken(&p->regs[a], rb, op, jmp32) != -1)
		return false;
	struct bj_scalar ta = p->regs[a], tb = *rb, fa = p->regs[a], fb = *rb;
	if (!sc_refine(&ta, &tb, op, jmp32, true) || !sc_refine(&fa, &fb, op, jmp32, false)) {
		char da[256], db[256];
		describe(da, sizeof(da), &p->regs[a]);
		describe(db, sizeof(db), rb);
		fail_msg("op 0x%x jmp32=%d: a dead side undecided\n a %s\n b %s", op, jmp32, da, db);
	}
	memcpy(p->taken[p->n], p->regs, sizeof(p->regs));
	p->taken[p->n][a] = ta;
	p->regs[a] = fa;
	if (x) {
		p->taken[p->n][b] = tb;
		p->regs[b] = fb;
	}
	p->is_branch[p->n] = true;
	/* The offset is patched once the exit block's place is known. */
	kemit(p, kinsn((uint8_t)((jmp32 ? BPF_JMP32 : BPF_JMP) | op | (x ? BPF_X : BPF_K)), 6 + a, x ? 6 + b : 0, 0,
		       x ? 0 : imm));
	return true;
}

static void kgenerate(struct rng *r, struct kprog *p)
{
	memset(p, 0, sizeof(*p));
	for (int i = 0; i < KREGS; i++) {
		kemit(p, kinsn(BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_get_prandom_u32));
		sc_set_unknown(&p->regs[i]);
		kemit(p, kinsn(BPF_ALU64 | BPF_MOV | BPF_X, 6 + i, 0, 0, 0));
	}
	while (p->n < KMAX_INSNS - 2) {
		if (below(r, 4) || !kbranch(r, p))
			kalu(r, p);
	}
	int exit_at = p->n;
	for (int i = 0; i < p->n; i++)
		if (p->is_branch[i])
			p->insns[i].off = (int16_t)(exit_at - i - 1);
	kemit(p, kinsn(BPF_ALU64 | BPF_MOV | BPF_K, 0, 0, 0, 0));
	kemit(p, kinsn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
}

/* Linux's text for a scalar register: the value of a constant, else scalar(...) without the link id. */
static void kexpect(char *buf, size_t size, const struct bj_scalar *s)
{
	if (sc_is_const(s)) {
		sc_format(buf, size, s);
		return;
	}
	int n = snprintf(buf, size, "scalar(");
	n += sc_format(buf + n, size - (size_t)n, s);
	snprintf(buf + n, size - (size_t)n, ")");
}

/* The value of "R<reg>=" in a state line, with "P" (precise) and "id=N" dropped; false if absent. */
static bool kfind(const char *line, int reg, char *out, size_t size)
{
	char key[8];
	snprintf(key, sizeof(key), "R%d=", reg);
	const char *p = line;
	while ((p = strstr(p, key)) && p != line && p[-1] != ' ' && p[-1] != ':')
		p++;
	if (!p)
		return false;
	p += strlen(key);
	if (*p == 'P')
		p++;
	size_t n = 0;
	int depth = 0;
	for (; *p && (depth || (*p != ' ' && *p != '\n')) && n + 1 < size; p++) {
		depth += *p == '(' ? 1 : *p == ')' ? -1 : 0;
		if (strncmp(p, "id=", 3) == 0 && (p[-1] == '(' || p[-1] == ',')) {
			/* "id=4" or, for a register linked at an offset, "id=4-37" */
			p += 3;
			while (*p >= '0' && *p <= '9')
				p++;
			if (*p == '+' || *p == '-')
				for (p++; *p >= '0' && *p <= '9';)
					p++;
			if (*p == ',')
				continue; /* the loop's p++ skips the comma */
			p--;
			continue;
		}
		out[n++] = *p;
	}
	out[n] = '\0';
	return true;
}

static void kcompare(const struct kprog *p, const char *where, int insn, const char *line,
		     const struct bj_scalar regs[KREGS], const char *log)
{
	for (int i = 0; i < KREGS; i++) {
		char got[256], want[256];
		if (!kfind(line, 6 + i, got, sizeof(got)))
			continue;
		kexpect(want, sizeof(want), &regs[i]);
		if (strcmp(got, want) != 0) {
			fputs(log, stderr);
			for (int k = 0; k < p->n; k++)
				fprintf(stderr, "%s%x:%u:%u:%d:%d", k ? " " : "PROG ", p->insns[k].code, p->insns[k].dst_reg,
					p->insns[k].src_reg, p->insns[k].off, p->insns[k].imm);
			fputc('\n', stderr);
			fail_msg("%s insn %d R%d: kernel %s, bpfjet %s", where, insn, 6 + i, got, want);
		}
	}
}

/* Walks the log: "N: (op) ...  ; R6=..." on the fall-through path, then "from N to M: R6=..." per branch. */
static void kcheck(const struct kprog *p, char *log)
{
	bool main_path = true;
	bool seen[KMAX_INSNS] = { false };
	char *save = NULL;
	char *copy = strdup(log);

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		int from, to, idx, used = 0;
		if (sscanf(line, "from %d to %d:%n", &from, &to, &used) == 2 && used) {
			/* The first jump from each branch is the fall-through path's; later ones come from split paths. */
			if (from >= 0 && from < p->n && p->is_branch[from] && !seen[from])
				kcompare(p, "taken", from, line + used, p->taken[from], log);
			if (from >= 0 && from < p->n)
				seen[from] = true;
			continue;
		}
		if (!main_path || sscanf(line, "%d: %n", &idx, &used) != 1 || !used || idx < 0 || idx >= p->n)
			continue;
		const char *state = line + used;
		if (*state == '(') {
			if (idx == p->n - 1)
				main_path = false; /* its exit: what follows is other paths */
			state = strstr(state, "; ");
			if (!state)
				continue;
		}
		kcompare(p, "fall-through", idx, state, p->after[idx], log);
	}
	free(copy);
	/* Linux decided no branch that this left open: the fall-through reached the end, every jump was pushed. */
	if (main_path) {
		fputs(log, stderr);
		fail_msg("the fall-through path ended early: Linux decided a branch left open here");
	}
	for (int i = 0; i < p->n; i++) {
		if (p->is_branch[i] && !seen[i]) {
			fputs(log, stderr);
			fail_msg("insn %d: Linux decided a branch left open here", i);
		}
	}
}

static void test_kernel_agreement(void **state)
{
	(void)state;
	char why[256];
	static char log[1 << 20];
	static struct kprog p;
	struct rng r = { 0xa4093822299f31d0ULL };

	if (ko_available(why, sizeof(why))) {
		print_message("skipped: %s\n", why);
		skip();
	}
	for (int i = 0; i < KPROGS; i++) {
		kgenerate(&r, &p);
		LIBBPF_OPTS(bpf_prog_load_opts, o, .log_buf = log, .log_size = sizeof(log), .log_level = 2);
		log[0] = '\0';
		int fd = bpf_prog_load(BPF_PROG_TYPE_SOCKET_FILTER, "scalar", "GPL", p.insns, (size_t)p.n, &o);
		if (fd < 0) {
			fputs(log, stderr);
			fail_msg("program %d rejected: %s", i, strerror(errno));
		}
		close(fd);
		kcheck(&p, log);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tnum_ops),
		cmocka_unit_test(test_alu_exact),
		cmocka_unit_test(test_loads),
		cmocka_unit_test(test_branch_exact),
		cmocka_unit_test(test_within_exact),
		cmocka_unit_test(test_kernel_cases),
		cmocka_unit_test(test_alu_soundness),
		cmocka_unit_test(test_coerce_soundness),
		cmocka_unit_test(test_branch_soundness),
		cmocka_unit_test(test_within_soundness),
		cmocka_unit_test(test_kernel_agreement),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
