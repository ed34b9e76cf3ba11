/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Bounds of a scalar, as kernel/bpf/verifier.c keeps them: every operation computes each of the four
 * ranges and the tnum on its own, then sc_sync lets them tighten one another. Whatever Linux cannot bound
 * stays unbounded here too, so that a program bpfjet accepts is one Linux accepts.
 */
#include "verifier/scalar.h"

#include <inttypes.h>
#include <linux/bpf.h>
#include <stdio.h>

/* Internal opcode for "a & b == 0", the false side of BPF_JSET (as Linux's BPF_JSET | BPF_X). */
#define JSET_NOT (BPF_JSET | BPF_X)

static uint64_t min_u64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

static int64_t min_s64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

static int64_t max_s64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static uint32_t min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

static uint32_t max_u32(uint32_t a, uint32_t b)
{
	return a > b ? a : b;
}

static int32_t min_s32(int32_t a, int32_t b)
{
	return a < b ? a : b;
}

static int32_t max_s32(int32_t a, int32_t b)
{
	return a > b ? a : b;
}

/* ---- marking ---- */

static void mark64_unbounded(struct bj_scalar *s)
{
	s->smin = INT64_MIN;
	s->smax = INT64_MAX;
	s->umin = 0;
	s->umax = UINT64_MAX;
}

static void mark32_unbounded(struct bj_scalar *s)
{
	s->s32_min = INT32_MIN;
	s->s32_max = INT32_MAX;
	s->u32_min = 0;
	s->u32_max = UINT32_MAX;
}

static void mark32_known(struct bj_scalar *s, uint32_t v)
{
	s->var_off = tnum_const_subreg(s->var_off, v);
	s->s32_min = s->s32_max = (int32_t)v;
	s->u32_min = s->u32_max = v;
}

void sc_set_const(struct bj_scalar *s, uint64_t v)
{
	s->var_off = tnum_const(v);
	s->smin = s->smax = (int64_t)v;
	s->umin = s->umax = v;
	s->s32_min = s->s32_max = (int32_t)(uint32_t)v;
	s->u32_min = s->u32_max = (uint32_t)v;
}

void sc_set_unknown(struct bj_scalar *s)
{
	s->var_off = tnum_unknown();
	mark64_unbounded(s);
	mark32_unbounded(s);
}

bool sc_is_const(const struct bj_scalar *s)
{
	return tnum_is_const(s->var_off);
}

bool sc_is_const32(const struct bj_scalar *s)
{
	return tnum_is_const(tnum_subreg(s->var_off));
}

uint64_t sc_const_value(const struct bj_scalar *s)
{
	return s->var_off.value;
}

/* ---- reg_bounds_sync ---- */

/* Bounds implied by the tnum (Linux's __update_reg32_bounds and __update_reg64_bounds). */
static void update32_bounds(struct bj_scalar *s)
{
	struct tnum t = tnum_subreg(s->var_off);
	uint32_t v = (uint32_t)t.value, m = (uint32_t)t.mask;

	s->s32_min = max_s32(s->s32_min, (int32_t)(v | (m & 0x80000000u)));
	s->s32_max = min_s32(s->s32_max, (int32_t)(v | (m & 0x7fffffffu)));
	s->u32_min = max_u32(s->u32_min, v);
	s->u32_max = min_u32(s->u32_max, v | m);
}

static void update64_bounds(struct bj_scalar *s)
{
	uint64_t v = s->var_off.value, m = s->var_off.mask;

	s->smin = max_s64(s->smin, (int64_t)(v | (m & (1ULL << 63))));
	s->smax = min_s64(s->smax, (int64_t)(v | (m & ~(1ULL << 63))));
	s->umin = max_u64(s->umin, v);
	s->umax = min_u64(s->umax, v | m);

	/* Where the unsigned range and the tnum share a single value, that is the value. */
	uint64_t next = tnum_step(s->var_off, s->umin);
	bool umin_in = (s->umin & ~m) == v;
	if (umin_in && next > s->umax)
		sc_set_const(s, s->umin);
	else if (!umin_in && next == (v | m))
		sc_set_const(s, v | m);
	else if (!umin_in && next <= s->umax && tnum_step(s->var_off, next) > s->umax)
		sc_set_const(s, next);
}

static void update_bounds(struct bj_scalar *s)
{
	update32_bounds(s);
	update64_bounds(s);
}

static void clamp_s32(struct bj_scalar *s, int32_t lo, int32_t hi)
{
	s->s32_min = max_s32(s->s32_min, lo);
	s->s32_max = min_s32(s->s32_max, hi);
}

/* The 32-bit ranges learnt from a 64-bit range [lo, hi] (either signedness, passed as raw bits). */
static void deduce32_from64(struct bj_scalar *s, uint64_t lo, uint64_t hi)
{
	/* Same upper half throughout: the low halves run from lo's to hi's without wrapping. */
	if ((lo >> 32) == (hi >> 32)) {
		s->u32_min = max_u32(s->u32_min, (uint32_t)lo);
		s->u32_max = min_u32(s->u32_max, (uint32_t)hi);
		if ((int32_t)lo <= (int32_t)hi)
			clamp_s32(s, (int32_t)lo, (int32_t)hi);
	}
	/*
	 * Upper halves differ by one while the low halves go from negative to non-negative: the low half
	 * wraps from 0xffffffff to 0 on the way, which is continuous in s32.
	 */
	if ((uint32_t)(lo >> 32) + 1 == (uint32_t)(hi >> 32) && (int32_t)lo < 0 && (int32_t)hi >= 0)
		clamp_s32(s, (int32_t)lo, (int32_t)hi);
}

static void deduce32(struct bj_scalar *s)
{
	deduce32_from64(s, s->umin, s->umax);
	deduce32_from64(s, (uint64_t)s->smin, (uint64_t)s->smax);
	/* A u32 range that does not cross the sign bit is also an s32 range, and the other way round. */
	if ((int32_t)s->u32_min <= (int32_t)s->u32_max)
		clamp_s32(s, (int32_t)s->u32_min, (int32_t)s->u32_max);
	if ((uint32_t)s->s32_min <= (uint32_t)s->s32_max) {
		s->u32_min = max_u32((uint32_t)s->s32_min, s->u32_min);
		s->u32_max = min_u32((uint32_t)s->s32_max, s->u32_max);
	} else if (s->u32_max < (uint32_t)s->s32_min) {
		/* The s32 range wraps through -1..0 but the u32 one stays below: all non-negative. */
		s->s32_min = (int32_t)s->u32_min;
		s->u32_max = min_u32(s->u32_max, (uint32_t)s->s32_max);
	} else if ((uint32_t)s->s32_max < s->u32_min) {
		/* ... or stays above: all negative. */
		s->s32_max = (int32_t)s->u32_max;
		s->u32_min = max_u32(s->u32_min, (uint32_t)s->s32_min);
	}
}

static void deduce64(struct bj_scalar *s)
{
	if ((int64_t)s->umin <= (int64_t)s->umax) {
		s->smin = max_s64(s->smin, (int64_t)s->umin);
		s->smax = min_s64(s->smax, (int64_t)s->umax);
	}
	if ((uint64_t)s->smin <= (uint64_t)s->smax) {
		s->umin = max_u64((uint64_t)s->smin, s->umin);
		s->umax = min_u64((uint64_t)s->smax, s->umax);
	} else if (s->umax < (uint64_t)s->smin) {
		/* The signed range wraps through -1..0 but the unsigned one stays below: all non-negative. */
		s->smin = (int64_t)s->umin;
		s->umax = min_u64(s->umax, (uint64_t)s->smax);
	} else if ((uint64_t)s->smax < s->umin) {
		/* ... or stays above: all negative. */
		s->smax = (int64_t)s->umax;
		s->umin = max_u64(s->umin, (uint64_t)s->smin);
	}
}

static void deduce_mixed(struct bj_scalar *s)
{
	const uint64_t hi = ~0xffffffffULL;

	/* The 32-bit range bounds the low half of the 64-bit bounds' end points. */
	s->umin = max_u64(s->umin, (s->umin & hi) | s->u32_min);
	s->umax = min_u64(s->umax, (s->umax & hi) | s->u32_max);
	s->smin = max_s64(s->smin, (int64_t)(((uint64_t)s->smin & hi) | s->u32_min));
	s->smax = min_s64(s->smax, (int64_t)(((uint64_t)s->smax & hi) | s->u32_max));

	/* Inside s32 and non-negative in 32 bits: the 64-bit value is the 32-bit one (after a sext load). */
	if (s->s32_min >= 0 && s->smin >= INT32_MIN && s->smax <= INT32_MAX) {
		s->smin = s->s32_min;
		s->smax = s->s32_max;
		s->umin = (uint64_t)(int64_t)s->s32_min;
		s->umax = (uint64_t)(int64_t)s->s32_max;
		s->var_off = tnum_intersect(s->var_off, tnum_range((uint64_t)s->smin, (uint64_t)s->smax));
	}
}

static void deduce_bounds(struct bj_scalar *s)
{
	deduce32(s);
	deduce64(s);
	deduce_mixed(s);
}

/* Bits the bounds imply (Linux's __reg_bound_offset). */
static void bound_offset(struct bj_scalar *s)
{
	struct tnum t64 = tnum_intersect(s->var_off, tnum_range(s->umin, s->umax));
	struct tnum t32 = tnum_intersect(tnum_subreg(t64), tnum_range(s->u32_min, s->u32_max));

	s->var_off = tnum_or(tnum_clear_subreg(t64), t32);
}

void sc_sync(struct bj_scalar *s)
{
	update_bounds(s);
	/* Three rounds, as Linux: what one pass learns can tighten what an earlier one used. */
	deduce_bounds(s);
	deduce_bounds(s);
	deduce_bounds(s);
	bound_offset(s);
	update_bounds(s);
}

static void zext32(struct bj_scalar *s)
{
	s->var_off = tnum_subreg(s->var_off);
	s->umin = s->u32_min;
	s->umax = s->u32_max;
	/* Only non-negative s32 bounds carry over; otherwise the tnum refines [0, U32_MAX] later. */
	if (s->s32_min >= 0 && s->s32_max >= 0) {
		s->smin = s->s32_min;
		s->smax = s->s32_max;
	} else {
		s->smin = 0;
		s->smax = UINT32_MAX;
	}
}

void sc_zext32(struct bj_scalar *s)
{
	zext32(s);
	sc_sync(s);
}

/* ---- loads and sign extension ---- */

void sc_coerce_size(struct bj_scalar *s, uint8_t size)
{
	if (size >= 8)
		return;
	uint64_t mask = (1ULL << (size * 8)) - 1;

	s->var_off = tnum_cast(s->var_off, size);
	if ((s->umin & ~mask) == (s->umax & ~mask)) {
		s->umin &= mask;
		s->umax &= mask;
	} else {
		s->umin = 0;
		s->umax = mask;
	}
	s->smin = (int64_t)s->umin;
	s->smax = (int64_t)s->umax;
	/* Narrower than 32 bits: the 32-bit ranges come back from the 64-bit ones and the tnum. */
	if (size < 4)
		mark32_unbounded(s);
	sc_sync(s);
}

void sc_set_unknown_size(struct bj_scalar *s, uint8_t size)
{
	sc_set_unknown(s);
	sc_coerce_size(s, size);
}

static int64_t sext(uint64_t v, uint8_t size)
{
	switch (size) {
	case 1:
		return (int8_t)(uint8_t)v;
	case 2:
		return (int16_t)(uint16_t)v;
	default:
		return (int32_t)(uint32_t)v;
	}
}

static void set_sext64_default(struct bj_scalar *s, uint8_t size)
{
	int64_t lim = (int64_t)1 << (size * 8 - 1);

	s->smin = -lim;
	s->smax = lim - 1;
	s->s32_min = (int32_t)-lim;
	s->s32_max = (int32_t)(lim - 1);
	s->umin = 0;
	s->umax = UINT64_MAX;
	s->u32_min = 0;
	s->u32_max = UINT32_MAX;
	s->var_off = tnum_unknown();
}

void sc_set_unknown_sext(struct bj_scalar *s, uint8_t size)
{
	set_sext64_default(s, size);
	sc_sync(s);
}

/* [lo, hi] (signed, sign-extended from 32 bits or fewer) in all four ranges and the tnum. */
static void set_signed_range(struct bj_scalar *s, int64_t lo, int64_t hi)
{
	s->smin = lo;
	s->smax = hi;
	s->s32_min = (int32_t)lo;
	s->s32_max = (int32_t)hi;
	if ((lo >= 0) == (hi >= 0)) {
		s->umin = (uint64_t)lo;
		s->umax = (uint64_t)hi;
		s->u32_min = (uint32_t)lo;
		s->u32_max = (uint32_t)hi;
	} else {
		s->umin = 0;
		s->umax = UINT64_MAX;
		s->u32_min = 0;
		s->u32_max = UINT32_MAX;
	}
	s->var_off = tnum_range((uint64_t)lo, (uint64_t)hi);
}

/* Linux's coerce_reg_to_size_sx: the low `size` bytes, sign-extended to 64 bits. */
static void coerce_size_sx(struct bj_scalar *s, uint8_t size)
{
	unsigned bits = size * 8u;
	int64_t lim = (int64_t)1 << (bits - 1);

	if (tnum_is_const(s->var_off)) {
		sc_set_const(s, (uint64_t)sext(s->var_off.value, size));
		return;
	}
	/* With one upper part throughout, the low parts form one range; it survives if it keeps its sign. */
	if (((uint64_t)s->smax >> bits) == ((uint64_t)s->smin >> bits)) {
		int64_t a = sext((uint64_t)s->smin, size), b = sext((uint64_t)s->smax, size);
		int64_t lo = min_s64(a, b), hi = max_s64(a, b);

		if ((lo >= 0) == (hi >= 0)) {
			set_signed_range(s, lo, hi);
			return;
		}
	}
	/*
	 * A 32-bit value already inside the narrower signed range is its own sign extension: the low half
	 * keeps its bounds and the 64-bit ones are theirs sign-extended (monotonic, in both orders).
	 */
	if (s->s32_min >= -lim && s->s32_max <= lim - 1) {
		s->smin = s->s32_min;
		s->smax = s->s32_max;
		s->umin = (uint64_t)(int64_t)(int32_t)s->u32_min;
		s->umax = (uint64_t)(int64_t)(int32_t)s->u32_max;
		s->var_off = tnum_range((uint64_t)s->smin, (uint64_t)s->smax);
		return;
	}
	set_sext64_default(s, size);
}

/* Linux's coerce_subreg_to_size_sx: the low `size` bytes (1 or 2), sign-extended to 32 bits. */
static void coerce_subreg_size_sx(struct bj_scalar *s, uint8_t size)
{
	unsigned bits = size * 8u;

	if (tnum_is_const(s->var_off)) {
		uint32_t v = (uint32_t)sext(s->var_off.value, size);

		s->var_off = tnum_const((uint64_t)sext(s->var_off.value, size));
		s->s32_min = s->s32_max = (int32_t)v;
		s->u32_min = s->u32_max = v;
		return;
	}
	if (((uint32_t)s->s32_max >> bits) == ((uint32_t)s->s32_min >> bits)) {
		int32_t a = (int32_t)sext((uint32_t)s->s32_min, size), b = (int32_t)sext((uint32_t)s->s32_max, size);
		int32_t lo = min_s32(a, b), hi = max_s32(a, b);

		if ((lo >= 0) == (hi >= 0)) {
			s->s32_min = lo;
			s->s32_max = hi;
			s->u32_min = (uint32_t)lo;
			s->u32_max = (uint32_t)hi;
			s->var_off = tnum_subreg(tnum_range((uint64_t)(int64_t)lo, (uint64_t)(int64_t)hi));
			return;
		}
	}
	int32_t lim = (int32_t)1 << (bits - 1);
	s->s32_min = -lim;
	s->s32_max = lim - 1;
	s->u32_min = 0;
	s->u32_max = UINT32_MAX;
	s->var_off = tnum_subreg(tnum_unknown());
}

void sc_coerce_size_sext(struct bj_scalar *s, uint8_t size)
{
	if (size >= 8)
		return;
	coerce_size_sx(s, size);
	sc_sync(s);
}

/* ---- ALU: add, sub, mul ---- */

static void add32(struct bj_scalar *d, const struct bj_scalar *src)
{
	int32_t smin, smax;
	uint32_t umin, umax;

	if (__builtin_add_overflow(d->s32_min, src->s32_min, &smin) ||
	    __builtin_add_overflow(d->s32_max, src->s32_max, &smax)) {
		smin = INT32_MIN;
		smax = INT32_MAX;
	}
	bool min_ovf = __builtin_add_overflow(d->u32_min, src->u32_min, &umin);
	bool max_ovf = __builtin_add_overflow(d->u32_max, src->u32_max, &umax);
	/* All sums wrapping, or none, keeps the order; only a mix spans the whole range. */
	if (!min_ovf && max_ovf) {
		umin = 0;
		umax = UINT32_MAX;
	}
	d->s32_min = smin;
	d->s32_max = smax;
	d->u32_min = umin;
	d->u32_max = umax;
}

static void add64(struct bj_scalar *d, const struct bj_scalar *src)
{
	int64_t smin, smax;
	uint64_t umin, umax;

	if (__builtin_add_overflow(d->smin, src->smin, &smin) || __builtin_add_overflow(d->smax, src->smax, &smax)) {
		smin = INT64_MIN;
		smax = INT64_MAX;
	}
	bool min_ovf = __builtin_add_overflow(d->umin, src->umin, &umin);
	bool max_ovf = __builtin_add_overflow(d->umax, src->umax, &umax);
	if (!min_ovf && max_ovf) {
		umin = 0;
		umax = UINT64_MAX;
	}
	d->smin = smin;
	d->smax = smax;
	d->umin = umin;
	d->umax = umax;
}

static void sub32(struct bj_scalar *d, const struct bj_scalar *src)
{
	int32_t smin, smax;
	uint32_t umin, umax;

	if (__builtin_sub_overflow(d->s32_min, src->s32_max, &smin) ||
	    __builtin_sub_overflow(d->s32_max, src->s32_min, &smax)) {
		smin = INT32_MIN;
		smax = INT32_MAX;
	}
	bool min_ovf = __builtin_sub_overflow(d->u32_min, src->u32_max, &umin);
	bool max_ovf = __builtin_sub_overflow(d->u32_max, src->u32_min, &umax);
	if (min_ovf && !max_ovf) {
		umin = 0;
		umax = UINT32_MAX;
	}
	d->s32_min = smin;
	d->s32_max = smax;
	d->u32_min = umin;
	d->u32_max = umax;
}

static void sub64(struct bj_scalar *d, const struct bj_scalar *src)
{
	int64_t smin, smax;
	uint64_t umin, umax;

	if (__builtin_sub_overflow(d->smin, src->smax, &smin) || __builtin_sub_overflow(d->smax, src->smin, &smax)) {
		smin = INT64_MIN;
		smax = INT64_MAX;
	}
	bool min_ovf = __builtin_sub_overflow(d->umin, src->umax, &umin);
	bool max_ovf = __builtin_sub_overflow(d->umax, src->umin, &umax);
	if (min_ovf && !max_ovf) {
		umin = 0;
		umax = UINT64_MAX;
	}
	d->smin = smin;
	d->smax = smax;
	d->umin = umin;
	d->umax = umax;
}

static void mul32(struct bj_scalar *d, const struct bj_scalar *src)
{
	int32_t p[4];
	uint32_t umin, umax;

	if (__builtin_mul_overflow(d->u32_max, src->u32_max, &umax) ||
	    __builtin_mul_overflow(d->u32_min, src->u32_min, &umin)) {
		umin = 0;
		umax = UINT32_MAX;
	}
	d->u32_min = umin;
	d->u32_max = umax;
	/* The signed extremes are among the four corner products, if none of them overflows. */
	if (__builtin_mul_overflow(d->s32_min, src->s32_min, &p[0]) ||
	    __builtin_mul_overflow(d->s32_min, src->s32_max, &p[1]) ||
	    __builtin_mul_overflow(d->s32_max, src->s32_min, &p[2]) ||
	    __builtin_mul_overflow(d->s32_max, src->s32_max, &p[3])) {
		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
		return;
	}
	d->s32_min = min_s32(min_s32(p[0], p[1]), min_s32(p[2], p[3]));
	d->s32_max = max_s32(max_s32(p[0], p[1]), max_s32(p[2], p[3]));
}

static void mul64(struct bj_scalar *d, const struct bj_scalar *src)
{
	int64_t p[4];
	uint64_t umin, umax;

	if (__builtin_mul_overflow(d->umax, src->umax, &umax) || __builtin_mul_overflow(d->umin, src->umin, &umin)) {
		umin = 0;
		umax = UINT64_MAX;
	}
	d->umin = umin;
	d->umax = umax;
	if (__builtin_mul_overflow(d->smin, src->smin, &p[0]) || __builtin_mul_overflow(d->smin, src->smax, &p[1]) ||
	    __builtin_mul_overflow(d->smax, src->smin, &p[2]) || __builtin_mul_overflow(d->smax, src->smax, &p[3])) {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
		return;
	}
	d->smin = min_s64(min_s64(p[0], p[1]), min_s64(p[2], p[3]));
	d->smax = max_s64(max_s64(p[0], p[1]), max_s64(p[2], p[3]));
}

/* ---- ALU: bitwise; d->var_off already holds the result's tnum ---- */

/* Signed bounds from unsigned ones when they do not cross the sign bit. */
static void s32_from_u32(struct bj_scalar *d)
{
	if ((int32_t)d->u32_min <= (int32_t)d->u32_max) {
		d->s32_min = (int32_t)d->u32_min;
		d->s32_max = (int32_t)d->u32_max;
	} else {
		d->s32_min = INT32_MIN;
		d->s32_max = INT32_MAX;
	}
}

static void s64_from_u64(struct bj_scalar *d)
{
	if ((int64_t)d->umin <= (int64_t)d->umax) {
		d->smin = (int64_t)d->umin;
		d->smax = (int64_t)d->umax;
	} else {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	}
}

static void and32(struct bj_scalar *d, const struct bj_scalar *src, bool both_known)
{
	struct tnum t = tnum_subreg(d->var_off);

	if (both_known) {
		mark32_known(d, (uint32_t)t.value);
		return;
	}
	/* The known ones are a minimum; each operand's maximum bounds the result. */
	d->u32_min = (uint32_t)t.value;
	d->u32_max = min_u32(d->u32_max, src->u32_max);
	s32_from_u32(d);
}

static void and64(struct bj_scalar *d, const struct bj_scalar *src, bool both_known)
{
	if (both_known) {
		sc_set_const(d, d->var_off.value);
		return;
	}
	d->umin = d->var_off.value;
	d->umax = min_u64(d->umax, src->umax);
	s64_from_u64(d);
	update_bounds(d);
}

static void or32(struct bj_scalar *d, const struct bj_scalar *src, bool both_known)
{
	struct tnum t = tnum_subreg(d->var_off);

	if (both_known) {
		mark32_known(d, (uint32_t)t.value);
		return;
	}
	/* Each operand's minimum bounds the result; the possible ones are a maximum. */
	d->u32_min = max_u32(d->u32_min, src->u32_min);
	d->u32_max = (uint32_t)(t.value | t.mask);
	s32_from_u32(d);
}

static void or64(struct bj_scalar *d, const struct bj_scalar *src, bool both_known)
{
	if (both_known) {
		sc_set_const(d, d->var_off.value);
		return;
	}
	d->umin = max_u64(d->umin, src->umin);
	d->umax = d->var_off.value | d->var_off.mask;
	s64_from_u64(d);
	update_bounds(d);
}

static void xor32(struct bj_scalar *d, bool both_known)
{
	struct tnum t = tnum_subreg(d->var_off);

	if (both_known) {
		mark32_known(d, (uint32_t)t.value);
		return;
	}
	d->u32_min = (uint32_t)t.value;
	d->u32_max = (uint32_t)(t.value | t.mask);
	s32_from_u32(d);
}

static void xor64(struct bj_scalar *d, bool both_known)
{
	if (both_known) {
		sc_set_const(d, d->var_off.value);
		return;
	}
	d->umin = d->var_off.value;
	d->umax = d->var_off.value | d->var_off.mask;
	s64_from_u64(d);
	update_bounds(d);
}

/* ---- ALU: shifts by a constant in range (sc_alu checks that) ---- */

static void lsh32_bounds(struct bj_scalar *d, uint64_t umin_val, uint64_t umax_val)
{
	d->s32_min = INT32_MIN;
	d->s32_max = INT32_MAX;
	/* If the top bit might be shifted out, nothing is known. */
	if (umax_val > 31 || d->u32_max > (1ULL << (31 - umax_val))) {
		d->u32_min = 0;
		d->u32_max = UINT32_MAX;
	} else {
		d->u32_min <<= umin_val;
		d->u32_max <<= umax_val;
	}
}

static void lsh32(struct bj_scalar *d, const struct bj_scalar *src)
{
	struct tnum sub = tnum_subreg(d->var_off);

	lsh32_bounds(d, src->u32_min, src->u32_max);
	d->var_off = tnum_subreg(tnum_lshift(sub, (uint8_t)src->u32_min));
	mark64_unbounded(d);
	update32_bounds(d);
}

static void lsh64(struct bj_scalar *d, const struct bj_scalar *src)
{
	uint64_t umin_val = src->umin, umax_val = src->umax;

	/*
	 * `<<32` then `s>>32` is how compilers sign-extend a subregister. Shifted by exactly 32, the value
	 * is its low half's s32 value times 2^32, so the s32 bounds carry over.
	 */
	if (umin_val == 32 && umax_val == 32) {
		d->smin = (int64_t)((uint64_t)(int64_t)d->s32_min << 32);
		d->smax = (int64_t)((uint64_t)(int64_t)d->s32_max << 32);
	} else {
		d->smin = INT64_MIN;
		d->smax = INT64_MAX;
	}
	if (d->umax > (1ULL << (63 - umax_val))) {
		d->umin = 0;
		d->umax = UINT64_MAX;
	} else {
		d->umin <<= umin_val;
		d->umax <<= umax_val;
	}
	/* The 32-bit part uses the unshifted 32-bit bounds, so after the 64-bit part. */
	lsh32_bounds(d, umin_val, umax_val);
	d->var_off = tnum_lshift(d->var_off, (uint8_t)umin_val);
	update_bounds(d);
}

static void rsh32(struct bj_scalar *d, const struct bj_scalar *src)
{
	struct tnum sub = tnum_subreg(d->var_off);

	/* Whatever the sign was, the unsigned bounds and the tnum give the signed ones back. */
	d->s32_min = INT32_MIN;
	d->s32_max = INT32_MAX;
	d->var_off = tnum_rshift(sub, (uint8_t)src->u32_min);
	d->u32_min >>= src->u32_max;
	d->u32_max >>= src->u32_min;
	mark64_unbounded(d);
	update32_bounds(d);
}

static void rsh64(struct bj_scalar *d, const struct bj_scalar *src)
{
	d->smin = INT64_MIN;
	d->smax = INT64_MAX;
	d->var_off = tnum_rshift(d->var_off, (uint8_t)src->umin);
	d->umin >>= src->umax;
	d->umax >>= src->umin;
	/* Bits shifted into the low half are what the tnum says. */
	mark32_unbounded(d);
	update_bounds(d);
}

static int32_t sar32(int32_t v, unsigned shift)
{
	return (int32_t)(uint32_t)(((uint64_t)(int64_t)v >> shift) |
				   (v < 0 ? ~(UINT64_MAX >> shift) : 0));
}

static int64_t sar64s(int64_t v, unsigned shift)
{
	return (int64_t)(((uint64_t)v >> shift) | (v < 0 ? ~(UINT64_MAX >> shift) : 0));
}

static void arsh32(struct bj_scalar *d, const struct bj_scalar *src)
{
	unsigned k = src->u32_min;

	d->s32_min = sar32(d->s32_min, k);
	d->s32_max = sar32(d->s32_max, k);
	d->var_off = tnum_arshift(tnum_subreg(d->var_off), (uint8_t)k, 32);
	d->u32_min = 0;
	d->u32_max = UINT32_MAX;
	mark64_unbounded(d);
	update32_bounds(d);
}

static void arsh64(struct bj_scalar *d, const struct bj_scalar *src)
{
	unsigned k = (unsigned)src->umin;

	d->smin = sar64s(d->smin, k);
	d->smax = sar64s(d->smax, k);
	d->var_off = tnum_arshift(d->var_off, (uint8_t)k, 64);
	d->umin = 0;
	d->umax = UINT64_MAX;
	mark32_unbounded(d);
	update_bounds(d);
}

/* ---- ALU dispatch ---- */

static bool src_is_const(const struct bj_scalar *src, bool alu32)
{
	if (alu32)
		return tnum_is_const(tnum_subreg(src->var_off)) && src->s32_min == src->s32_max &&
		       src->u32_min == src->u32_max;
	return tnum_is_const(src->var_off) && src->smin == src->smax && src->umin == src->umax;
}

/* Linux's is_safe_to_compute_dst_reg_range: which operations it bounds at all. */
static bool computable(uint8_t op, const struct bj_scalar *src, bool alu32)
{
	switch (op) {
	case BPF_ADD:
	case BPF_SUB:
	case BPF_NEG:
	case BPF_AND:
	case BPF_XOR:
	case BPF_OR:
	case BPF_MUL:
		return true;
	case BPF_LSH:
	case BPF_RSH:
	case BPF_ARSH:
		/* Only by a constant below the width; the full 64-bit umax, as Linux checks it. */
		return src_is_const(src, alu32) && src->umax < (alu32 ? 32u : 64u);
	default:
		return false;
	}
}

static void neg(struct bj_scalar *d)
{
	struct bj_scalar old = *d;

	sc_set_const(d, 0);
	sub32(d, &old);
	sub64(d, &old);
	d->var_off = tnum_neg(old.var_off);
}

static void arith(struct bj_scalar *d, const struct bj_scalar *src, uint8_t op, bool alu32)
{
	bool known64 = sc_is_const(d) && sc_is_const(src);
	bool known32 = sc_is_const32(d) && sc_is_const32(src);

	switch (op) {
	case BPF_ADD:
		add32(d, src);
		add64(d, src);
		d->var_off = tnum_add(d->var_off, src->var_off);
		break;
	case BPF_SUB:
		sub32(d, src);
		sub64(d, src);
		d->var_off = tnum_sub(d->var_off, src->var_off);
		break;
	case BPF_NEG:
		neg(d);
		break;
	case BPF_MUL:
		d->var_off = tnum_mul(d->var_off, src->var_off);
		mul32(d, src);
		mul64(d, src);
		break;
	case BPF_AND:
		d->var_off = tnum_and(d->var_off, src->var_off);
		and32(d, src, known32);
		and64(d, src, known64);
		break;
	case BPF_OR:
		d->var_off = tnum_or(d->var_off, src->var_off);
		or32(d, src, known32);
		or64(d, src, known64);
		break;
	case BPF_XOR:
		d->var_off = tnum_xor(d->var_off, src->var_off);
		xor32(d, known32);
		xor64(d, known64);
		break;
	case BPF_LSH:
		alu32 ? lsh32(d, src) : lsh64(d, src);
		break;
	case BPF_RSH:
		alu32 ? rsh32(d, src) : rsh64(d, src);
		break;
	case BPF_ARSH:
		alu32 ? arsh32(d, src) : arsh64(d, src);
		break;
	}
}

static void mov(struct bj_scalar *d, const struct bj_scalar *src, bool alu32, int16_t off)
{
	*d = *src;
	if (alu32) {
		if (off == 8 || off == 16)
			coerce_subreg_size_sx(d, (uint8_t)(off / 8));
		zext32(d);
	} else if (off == 8 || off == 16 || off == 32) {
		coerce_size_sx(d, (uint8_t)(off / 8));
	}
}

static struct tnum tnum_swap(struct tnum t, int32_t width)
{
	switch (width) {
	case 16:
		return (struct tnum){ __builtin_bswap16((uint16_t)t.value), __builtin_bswap16((uint16_t)t.mask) };
	case 32:
		return (struct tnum){ __builtin_bswap32((uint32_t)t.value), __builtin_bswap32((uint32_t)t.mask) };
	default:
		return (struct tnum){ __builtin_bswap64(t.value), __builtin_bswap64(t.mask) };
	}
}

/* Linux's scalar_byte_swap: the known bits move with their bytes; the bounds come back from them. */
static void end(struct bj_scalar *d, int32_t width, bool to_be)
{
	if (to_be) {
		d->var_off = tnum_swap(d->var_off, width);
		mark64_unbounded(d);
		mark32_unbounded(d);
	}
	/* The 16- and 32-bit forms zero the bits above the width. */
	if (width == 16 || width == 32)
		sc_coerce_size(d, (uint8_t)(width / 8));
}

void sc_alu(struct bj_scalar *dst, const struct bj_scalar *src_in, uint8_t op, bool alu32, int16_t off, int32_t imm,
	    bool to_be)
{
	/* A copy, so that `r1 += r1` reads the operand as it was before dst changes. */
	const struct bj_scalar src = *src_in;

	if (op == BPF_MOV && !alu32) {
		/* Linux copies (and sign-extends) without a sync; so does this, for the same states. */
		mov(dst, &src, alu32, off);
		return;
	}
	if (op == BPF_MOV) {
		mov(dst, &src, alu32, off);
	} else if (op == BPF_END) {
		/* Not zero-extended after: the 64-bit little-endian form leaves all 64 bits. */
		end(dst, imm, to_be);
	} else if (!computable(op, &src, alu32)) {
		sc_set_unknown(dst);
	} else {
		arith(dst, &src, op, alu32);
		if (alu32)
			zext32(dst);
	}
	sc_sync(dst);
}

bool sc_alu_split(struct bj_scalar *dst, struct bj_scalar *zero, const struct bj_scalar *src, uint8_t op)
{
	if ((op != BPF_AND && op != BPF_OR) || !tnum_is_const(src->var_off))
		return false;
	*zero = *dst;
	if (dst->smin == -1 && dst->smax == 0) {
		sc_set_const(zero, 0);
		sc_set_const(dst, UINT64_MAX);
	} else if (dst->s32_min == -1 && dst->s32_max == 0) {
		/* Only the low half splits; the rest stays as it was, as in Linux. */
		mark32_known(zero, 0);
		mark32_known(dst, UINT32_MAX);
	} else {
		return false;
	}
	return true;
}

/* ---- branches ---- */

struct view {
	struct tnum t;
	uint64_t umin, umax;
	int64_t smin, smax;
};

static struct view view_of(const struct bj_scalar *s, bool jmp32)
{
	if (jmp32)
		return (struct view){ tnum_subreg(s->var_off), s->u32_min, s->u32_max, s->s32_min, s->s32_max };
	return (struct view){ s->var_off, s->umin, s->umax, s->smin, s->smax };
}

static bool disjoint32(const struct bj_scalar *a, const struct bj_scalar *b)
{
	return a->u32_min > b->u32_max || a->u32_max < b->u32_min || a->s32_min > b->s32_max ||
	       a->s32_max < b->s32_min;
}

/* Whether a == b can never hold. */
static bool never_equal(const struct view *x, const struct view *y, const struct bj_scalar *a,
			const struct bj_scalar *b, bool jmp32)
{
	uint64_t unknown = x->t.mask | y->t.mask;

	/* A bit known in both and different. */
	if ((x->t.value & ~unknown) != (y->t.value & ~unknown))
		return true;
	if (x->umin > y->umax || x->umax < y->umin)
		return true;
	if (x->smin > y->smax || x->smax < y->smin)
		return true;
	/* The 64-bit ranges may overlap where the low halves cannot. */
	return !jmp32 && disjoint32(a, b);
}

static int jset_taken(struct view x, struct view y)
{
	if (!tnum_is_const(y.t)) {
		struct view t = x;
		x = y;
		y = t;
	}
	if (!tnum_is_const(y.t))
		return -1;
	if (x.t.value & y.t.value)
		return 1;
	if (!((x.t.value | x.t.mask) & y.t.value))
		return 0;
	return -1;
}

int sc_branch_taken(const struct bj_scalar *a, const struct bj_scalar *b, uint8_t op, bool jmp32)
{
	struct view x = view_of(a, jmp32), y = view_of(b, jmp32);

	switch (op) {
	case BPF_JEQ:
		if (tnum_is_const(x.t) && tnum_is_const(y.t))
			return x.t.value == y.t.value;
		return never_equal(&x, &y, a, b, jmp32) ? 0 : -1;
	case BPF_JNE:
		if (tnum_is_const(x.t) && tnum_is_const(y.t))
			return x.t.value != y.t.value;
		return never_equal(&x, &y, a, b, jmp32) ? 1 : -1;
	case BPF_JSET:
		return jset_taken(x, y);
	case BPF_JGT:
		return x.umin > y.umax ? 1 : x.umax <= y.umin ? 0 : -1;
	case BPF_JGE:
		return x.umin >= y.umax ? 1 : x.umax < y.umin ? 0 : -1;
	case BPF_JLT:
		return x.umax < y.umin ? 1 : x.umin >= y.umax ? 0 : -1;
	case BPF_JLE:
		return x.umax <= y.umin ? 1 : x.umin > y.umax ? 0 : -1;
	case BPF_JSGT:
		return x.smin > y.smax ? 1 : x.smax <= y.smin ? 0 : -1;
	case BPF_JSGE:
		return x.smin >= y.smax ? 1 : x.smax < y.smin ? 0 : -1;
	case BPF_JSLT:
		return x.smax < y.smin ? 1 : x.smin >= y.smax ? 0 : -1;
	case BPF_JSLE:
		return x.smax <= y.smin ? 1 : x.smin > y.smax ? 0 : -1;
	default:
		return -1;
	}
}

/* The condition that holds on the fall-through side. */
static uint8_t negate_op(uint8_t op)
{
	switch (op) {
	case BPF_JEQ:
		return BPF_JNE;
	case BPF_JNE:
		return BPF_JEQ;
	case BPF_JSET:
		return JSET_NOT;
	case BPF_JGT:
		return BPF_JLE;
	case BPF_JLE:
		return BPF_JGT;
	case BPF_JGE:
		return BPF_JLT;
	case BPF_JLT:
		return BPF_JGE;
	case BPF_JSGT:
		return BPF_JSLE;
	case BPF_JSLE:
		return BPF_JSGT;
	case BPF_JSGE:
		return BPF_JSLT;
	case BPF_JSLT:
		return BPF_JSGE;
	default:
		return op;
	}
}

/* The same condition with the operands swapped. */
static uint8_t swap_op(uint8_t op)
{
	switch (op) {
	case BPF_JGT:
		return BPF_JLT;
	case BPF_JGE:
		return BPF_JLE;
	case BPF_JSGT:
		return BPF_JSLT;
	case BPF_JSGE:
		return BPF_JSLE;
	default:
		return op;
	}
}

static void refine_eq(struct bj_scalar *a, struct bj_scalar *b, bool jmp32)
{
	if (jmp32) {
		a->u32_min = b->u32_min = max_u32(a->u32_min, b->u32_min);
		a->u32_max = b->u32_max = min_u32(a->u32_max, b->u32_max);
		a->s32_min = b->s32_min = max_s32(a->s32_min, b->s32_min);
		a->s32_max = b->s32_max = min_s32(a->s32_max, b->s32_max);
		struct tnum t = tnum_intersect(tnum_subreg(a->var_off), tnum_subreg(b->var_off));
		a->var_off = tnum_with_subreg(a->var_off, t);
		b->var_off = tnum_with_subreg(b->var_off, t);
	} else {
		a->umin = b->umin = max_u64(a->umin, b->umin);
		a->umax = b->umax = min_u64(a->umax, b->umax);
		a->smin = b->smin = max_s64(a->smin, b->smin);
		a->smax = b->smax = min_s64(a->smax, b->smax);
		a->var_off = b->var_off = tnum_intersect(a->var_off, b->var_off);
	}
}

static bool const_operand(struct bj_scalar **a, struct bj_scalar **b, bool jmp32)
{
	struct tnum t = jmp32 ? tnum_subreg((*b)->var_off) : (*b)->var_off;

	if (!tnum_is_const(t)) {
		struct bj_scalar *x = *a;
		*a = *b;
		*b = x;
		t = jmp32 ? tnum_subreg((*b)->var_off) : (*b)->var_off;
	}
	return tnum_is_const(t);
}

/* a != c for a constant c: only an end point equal to c can move. */
static void refine_ne(struct bj_scalar *a, struct bj_scalar *b, bool jmp32)
{
	if (!const_operand(&a, &b, jmp32))
		return;
	uint64_t c = b->var_off.value;

	if (jmp32) {
		if (a->u32_min == (uint32_t)c)
			a->u32_min++;
		if (a->u32_max == (uint32_t)c)
			a->u32_max--;
		/* Wrapping steps: an unsynced caller's state must not reach signed overflow. */
		if (a->s32_min == (int32_t)(uint32_t)c)
			a->s32_min = (int32_t)((uint32_t)a->s32_min + 1);
		if (a->s32_max == (int32_t)(uint32_t)c)
			a->s32_max = (int32_t)((uint32_t)a->s32_max - 1);
	} else {
		if (a->umin == c)
			a->umin++;
		if (a->umax == c)
			a->umax--;
		if (a->smin == (int64_t)c)
			a->smin = (int64_t)((uint64_t)a->smin + 1);
		if (a->smax == (int64_t)c)
			a->smax = (int64_t)((uint64_t)a->smax - 1);
	}
}

static void refine_jset(struct bj_scalar *a, struct bj_scalar *b, bool jmp32, bool set)
{
	if (!const_operand(&a, &b, jmp32))
		return;
	uint64_t c = jmp32 ? (uint32_t)b->var_off.value : b->var_off.value;

	/* `a & c` true says which bit is set only when c has a single bit. */
	if (set && (c == 0 || (c & (c - 1))))
		return;
	struct tnum t = set ? tnum_or(a->var_off, tnum_const(c)) : tnum_and(a->var_off, tnum_const(~c));
	a->var_off = jmp32 ? tnum_with_subreg(a->var_off, t) : t;
	/* Linux keeps only the tnum on the side where the bits are clear; the bounds come back from it. */
	if (!set) {
		mark64_unbounded(a);
		mark32_unbounded(a);
	}
}

static void refine_le(struct bj_scalar *a, struct bj_scalar *b, bool jmp32, bool strict, bool is_signed)
{
	/* Callers only get here when the condition can hold, so the +-1 cannot wrap. */
	uint64_t d = strict ? 1 : 0;

	if (jmp32 && is_signed) {
		a->s32_max = min_s32(a->s32_max, (int32_t)((uint32_t)b->s32_max - (uint32_t)d));
		b->s32_min = max_s32((int32_t)((uint32_t)a->s32_min + (uint32_t)d), b->s32_min);
	} else if (jmp32) {
		a->u32_max = min_u32(a->u32_max, b->u32_max - (uint32_t)d);
		b->u32_min = max_u32(a->u32_min + (uint32_t)d, b->u32_min);
	} else if (is_signed) {
		a->smax = min_s64(a->smax, (int64_t)((uint64_t)b->smax - d));
		b->smin = max_s64((int64_t)((uint64_t)a->smin + d), b->smin);
	} else {
		a->umax = min_u64(a->umax, b->umax - d);
		b->umin = max_u64(a->umin + d, b->umin);
	}
}

/* Linux's regs_refine_cond_op: narrow a and b to where `a op b` holds. */
static void refine_cond(struct bj_scalar *a, struct bj_scalar *b, uint8_t op, bool jmp32)
{
	if (swap_op(op) != op) {
		struct bj_scalar *x = a;
		a = b;
		b = x;
		op = swap_op(op);
	}
	switch (op) {
	case BPF_JEQ:
		refine_eq(a, b, jmp32);
		break;
	case BPF_JNE:
		refine_ne(a, b, jmp32);
		break;
	case BPF_JSET:
		refine_jset(a, b, jmp32, true);
		break;
	case JSET_NOT:
		refine_jset(a, b, jmp32, false);
		break;
	case BPF_JLE:
		refine_le(a, b, jmp32, false, false);
		break;
	case BPF_JLT:
		refine_le(a, b, jmp32, true, false);
		break;
	case BPF_JSLE:
		refine_le(a, b, jmp32, false, true);
		break;
	case BPF_JSLT:
		refine_le(a, b, jmp32, true, true);
		break;
	}
}

/* Linux's reg_bounds_sanity_check: a state no value can have. */
static bool consistent(const struct bj_scalar *s)
{
	if (s->umin > s->umax || s->smin > s->smax || s->u32_min > s->u32_max || s->s32_min > s->s32_max)
		return false;
	if (tnum_is_const(s->var_off)) {
		uint64_t v = s->var_off.value;
		if (s->umin != v || s->umax != v || s->smin != (int64_t)v || s->smax != (int64_t)v)
			return false;
	}
	struct tnum t = tnum_subreg(s->var_off);
	if (tnum_is_const(t)) {
		uint32_t v = (uint32_t)t.value;
		if (s->u32_min != v || s->u32_max != v || s->s32_min != (int32_t)v || s->s32_max != (int32_t)v)
			return false;
	}
	return true;
}

/*
 * Refining a side no value reaches can leave bounds that contradict each other. Linux reports that as an
 * invariant violation and goes on with the tnum alone; so does this, so as to explore what Linux does.
 */
static void unbound_if_inconsistent(struct bj_scalar *s)
{
	if (consistent(s))
		return;
	mark64_unbounded(s);
	mark32_unbounded(s);
}

bool sc_refine(struct bj_scalar *a, struct bj_scalar *b, uint8_t op, bool jmp32, bool taken)
{
	int pred = sc_branch_taken(a, b, op, jmp32);

	if (pred >= 0)
		return pred == (int)taken;
	refine_cond(a, b, taken ? op : negate_op(op), jmp32);
	sc_sync(a);
	sc_sync(b);
	unbound_if_inconsistent(a);
	unbound_if_inconsistent(b);
	return true;
}

/* ---- pruning ---- */

bool sc_within(const struct bj_scalar *old, const struct bj_scalar *cur)
{
	return old->umin <= cur->umin && old->umax >= cur->umax && old->smin <= cur->smin && old->smax >= cur->smax &&
	       old->u32_min <= cur->u32_min && old->u32_max >= cur->u32_max && old->s32_min <= cur->s32_min &&
	       old->s32_max >= cur->s32_max && tnum_in(old->var_off, cur->var_off);
}

bool sc_equal(const struct bj_scalar *a, const struct bj_scalar *b)
{
	return a->var_off.value == b->var_off.value && a->var_off.mask == b->var_off.mask && a->smin == b->smin &&
	       a->smax == b->smax && a->umin == b->umin && a->umax == b->umax && a->s32_min == b->s32_min &&
	       a->s32_max == b->s32_max && a->u32_min == b->u32_min && a->u32_max == b->u32_max;
}

/* ---- log notation ---- */

/* Linux prints numbers in [-32768, 32767] (signed) or up to 65535 (unsigned) in decimal, others in hex. */
static int put_snum(char *buf, size_t size, int64_t v)
{
	if (v >= INT16_MIN && v <= INT16_MAX)
		return snprintf(buf, size, "%" PRId64, v);
	return snprintf(buf, size, "0x%" PRIx64, (uint64_t)v);
}

static int put_unum(char *buf, size_t size, uint64_t v)
{
	if (v <= UINT16_MAX)
		return snprintf(buf, size, "%" PRIu64, v);
	return snprintf(buf, size, "0x%" PRIx64, v);
}

struct out {
	char *buf;
	size_t size;
	size_t len;
};

static char *out_at(struct out *o, size_t *room)
{
	*room = o->len < o->size ? o->size - o->len : 0;
	return *room ? o->buf + o->len : NULL;
}

static void out_str(struct out *o, const char *s)
{
	size_t room;
	char *p = out_at(o, &room);

	o->len += (size_t)snprintf(p, room, "%s", s);
}

static void out_num(struct out *o, uint64_t v, bool is_signed)
{
	size_t room;
	char *p = out_at(o, &room);

	o->len += (size_t)(is_signed ? put_snum(p, room, (int64_t)v) : put_unum(p, room, v));
}

struct bound {
	const char *name;
	uint64_t val;
	bool omit;
};

/* A 32-bit signed bound is shown as its 64-bit sign extension only where it prints in decimal. */
static uint64_t s32_shown(int32_t v)
{
	return (v >= INT16_MIN && v <= INT16_MAX) ? (uint64_t)(int64_t)v : (uint32_t)v;
}

static bool shown_negative(const struct bound *b)
{
	return b->name[0] == 's' && (int64_t)b->val < 0;
}

static void format_ranges(struct out *o, const struct bj_scalar *s, const char **sep)
{
	struct bound bs[] = {
		{ "smin", (uint64_t)s->smin, s->smin == INT64_MIN },
		{ "smax", (uint64_t)s->smax, s->smax == INT64_MAX },
		{ "umin", s->umin, s->umin == 0 },
		{ "umax", s->umax, s->umax == UINT64_MAX },
		{ "smin32", s32_shown(s->s32_min), s->s32_min == INT32_MIN },
		{ "smax32", s32_shown(s->s32_max), s->s32_max == INT32_MAX },
		{ "umin32", s->u32_min, s->u32_min == 0 },
		{ "umax32", s->u32_max, s->u32_max == UINT32_MAX },
	};
	size_t n = sizeof(bs) / sizeof(bs[0]);

	/* Equal bounds of the same kind (minima, maxima) share one value: "smin=umin=0". */
	for (size_t i = 0; i < n; i++) {
		if (bs[i].omit)
			continue;
		out_str(o, *sep);
		out_str(o, bs[i].name);
		out_str(o, "=");
		*sep = ",";
		for (size_t j = i + 2; j < n; j += 2) {
			if (bs[j].omit || bs[j].val != bs[i].val || shown_negative(&bs[j]) != shown_negative(&bs[i]))
				continue;
			bs[j].omit = true;
			out_str(o, bs[j].name);
			out_str(o, "=");
		}
		out_num(o, bs[i].val, bs[i].name[0] == 's');
	}
}

int sc_format(char *buf, size_t size, const struct bj_scalar *s)
{
	struct out o = { buf, size, 0 };
	const char *sep = "";

	if (size)
		buf[0] = '\0';
	if (sc_is_const(s)) {
		out_num(&o, s->var_off.value, true);
		return (int)o.len;
	}
	format_ranges(&o, s, &sep);
	if (!tnum_is_unknown(s->var_off)) {
		char t[48];

		tnum_sbin(t, sizeof(t), s->var_off);
		out_str(&o, sep);
		out_str(&o, "var_off=");
		out_str(&o, t);
	}
	return (int)o.len;
}
