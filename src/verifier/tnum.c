/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tristate numbers: each bit is known 0, known 1 or unknown. The arithmetic follows kernel/bpf/tnum.c so
 * that a program's abstract values, and the verdicts built on them, match Linux's.
 */
#include "verifier/scalar.h"

#include <inttypes.h>
#include <stdio.h>

static struct tnum mk(uint64_t value, uint64_t mask)
{
	return (struct tnum){ .value = value & ~mask, .mask = mask };
}

struct tnum tnum_const(uint64_t v)
{
	return mk(v, 0);
}

struct tnum tnum_unknown(void)
{
	return mk(0, UINT64_MAX);
}

struct tnum tnum_range(uint64_t min, uint64_t max)
{
	uint64_t chi = min ^ max;
	unsigned bits = chi ? 64 - (unsigned)__builtin_clzll(chi) : 0;

	/* The bits above the highest one that differs are shared by the whole range; below it, anything. */
	if (bits > 63)
		return tnum_unknown();
	uint64_t delta = (1ULL << bits) - 1;
	return mk(min & ~delta, delta);
}

struct tnum tnum_lshift(struct tnum a, uint8_t shift)
{
	if (shift >= 64)
		return tnum_const(0);
	return mk(a.value << shift, a.mask << shift);
}

struct tnum tnum_rshift(struct tnum a, uint8_t shift)
{
	if (shift >= 64)
		return tnum_const(0);
	return mk(a.value >> shift, a.mask >> shift);
}

static uint64_t sar64(uint64_t v, unsigned shift)
{
	/* Arithmetic shift without relying on implementation-defined signed >>. */
	uint64_t sign = (v >> 63) ? ~(UINT64_MAX >> shift) : 0;
	return (v >> shift) | sign;
}

struct tnum tnum_arshift(struct tnum a, uint8_t shift, uint8_t insn_bitness)
{
	if (insn_bitness == 32) {
		if (shift > 31)
			shift = 31;
		/* Shift the 32-bit field as if sign-extended, then keep the low 32 bits. */
		uint64_t v = (uint64_t)(int64_t)(int32_t)(uint32_t)a.value;
		uint64_t m = (uint64_t)(int64_t)(int32_t)(uint32_t)a.mask;
		return mk((uint32_t)sar64(v, shift), (uint32_t)sar64(m, shift));
	}
	if (shift > 63)
		shift = 63;
	/* A known sign bit fills value, an unknown one fills mask: the shifted-in bits track the sign. */
	return mk(sar64(a.value, shift), sar64(a.mask, shift));
}

struct tnum tnum_add(struct tnum a, struct tnum b)
{
	uint64_t sm = a.mask + b.mask;
	uint64_t sv = a.value + b.value;
	uint64_t sigma = sm + sv;
	/* Bits where the largest and smallest sums differ may carry either way. */
	uint64_t chi = sigma ^ sv;
	uint64_t mu = chi | a.mask | b.mask;
	return mk(sv, mu);
}

struct tnum tnum_sub(struct tnum a, struct tnum b)
{
	uint64_t dv = a.value - b.value;
	uint64_t alpha = dv + a.mask;
	uint64_t beta = dv - b.mask;
	uint64_t chi = alpha ^ beta;
	uint64_t mu = chi | a.mask | b.mask;
	return mk(dv, mu);
}

struct tnum tnum_neg(struct tnum a)
{
	return tnum_sub(tnum_const(0), a);
}

struct tnum tnum_and(struct tnum a, struct tnum b)
{
	uint64_t alpha = a.value | a.mask;
	uint64_t beta = b.value | b.mask;
	uint64_t v = a.value & b.value;
	return mk(v, alpha & beta & ~v);
}

struct tnum tnum_or(struct tnum a, struct tnum b)
{
	uint64_t v = a.value | b.value;
	uint64_t mu = a.mask | b.mask;
	return mk(v, mu & ~v);
}

struct tnum tnum_xor(struct tnum a, struct tnum b)
{
	uint64_t v = a.value ^ b.value;
	uint64_t mu = a.mask | b.mask;
	return mk(v, mu);
}

struct tnum tnum_mul(struct tnum a, struct tnum b)
{
	/*
	 * Long multiplication over a's bits, lowest first: a known 1 adds the shifted b, an unknown bit
	 * leaves the sum either as it was or with b added. b is shifted, so the order of operands matters.
	 */
	struct tnum acc = tnum_const(0);

	while (a.value || a.mask) {
		if (a.value & 1)
			acc = tnum_add(acc, b);
		else if (a.mask & 1)
			acc = tnum_union(acc, tnum_add(acc, b));
		a = tnum_rshift(a, 1);
		b = tnum_lshift(b, 1);
	}
	return acc;
}

struct tnum tnum_intersect(struct tnum a, struct tnum b)
{
	uint64_t v = a.value | b.value;
	uint64_t mu = a.mask & b.mask;
	return mk(v, mu);
}

struct tnum tnum_union(struct tnum a, struct tnum b)
{
	uint64_t v = a.value & b.value;
	uint64_t mu = (a.value ^ b.value) | a.mask | b.mask;
	return mk(v, mu);
}

struct tnum tnum_cast(struct tnum a, uint8_t size)
{
	if (size >= 8)
		return a;
	uint64_t keep = (1ULL << (size * 8)) - 1;
	return mk(a.value & keep, a.mask & keep);
}

struct tnum tnum_subreg(struct tnum a)
{
	return tnum_cast(a, 4);
}

struct tnum tnum_clear_subreg(struct tnum a)
{
	return tnum_lshift(tnum_rshift(a, 32), 32);
}

struct tnum tnum_with_subreg(struct tnum reg, struct tnum subreg)
{
	return tnum_or(tnum_clear_subreg(reg), tnum_subreg(subreg));
}

struct tnum tnum_const_subreg(struct tnum a, uint32_t v)
{
	return tnum_with_subreg(a, tnum_const(v));
}

bool tnum_is_const(struct tnum a)
{
	return !a.mask;
}

bool tnum_is_unknown(struct tnum a)
{
	return !~a.mask;
}

bool tnum_equals_const(struct tnum a, uint64_t b)
{
	return tnum_is_const(a) && a.value == b;
}

bool tnum_in(struct tnum a, struct tnum b)
{
	if (b.mask & ~a.mask)
		return false;
	return a.value == (b.value & ~a.mask);
}

uint64_t tnum_step(struct tnum t, uint64_t z)
{
	uint64_t tmax = t.value | t.mask;

	if (z >= tmax)
		return tmax;
	if (z < t.value)
		return t.value;
	/* The smallest member >= y = z + 1. Above the highest known bit where y differs from t, keep y. */
	uint64_t y = z + 1;
	uint64_t diff = (y ^ t.value) & ~t.mask;
	if (!diff)
		return y;
	unsigned k = 63 - (unsigned)__builtin_clzll(diff);
	uint64_t upto_k = k == 63 ? UINT64_MAX : (2ULL << k) - 1;
	if (t.value & (1ULL << k))
		/* t has a 1 where y has 0: take y's higher bits and t's least from bit k down. */
		return (y & ~upto_k) | t.value;
	/*
	 * t has a 0 where y has 1: the bits above k must grow. Adding 1 with every known bit and every bit
	 * up to k set carries into the lowest unknown bit above k that y has clear.
	 */
	uint64_t filled = y | ~t.mask | upto_k;
	return ((filled + 1) & t.mask) | t.value;
}

bool tnum_is_aligned(struct tnum a, uint64_t size)
{
	if (!size)
		return true;
	return !((a.value | a.mask) & (size - 1));
}

int tnum_sbin(char *buf, size_t size, struct tnum a)
{
	if (tnum_is_const(a))
		return snprintf(buf, size, "0x%" PRIx64, a.value);
	/* Linux's printk writes 0 as "0x0" under %#llx, which glibc would write as "0". */
	return snprintf(buf, size, "(0x%" PRIx64 "; 0x%" PRIx64 ")", a.value, a.mask);
}
