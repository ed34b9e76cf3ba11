/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86-64 code of the dispatcher: a search over the attached programs' addresses (in rcx) that ends in direct
 * jumps, after the kernel's emit_bpf_dispatcher(). The HOT layout is one compare chain in the caller's order.
 * In the TREE layout, ranges of up to linear_max programs become compare chains
 * (one predictable branch per program), larger ranges split at the middle like the kernel's binary search.
 * The arguments in rdi, rsi and rdx are never touched; r11 is the only scratch register.
 */
#include <errno.h>
#include <stdlib.h>

#include "dispatcher/dispatcher_int.h"

#define INT3 0xcc

static void emit_bytes(struct bj_emit *e, const void *p, size_t n)
{
	if (e->err)
		return;
	if (e->buf) {
		if (e->len + n > e->cap) {
			e->err = -E2BIG;
			return;
		}
		memcpy(e->buf + e->len, p, n);
	}
	e->len += n;
}

static void emit_u32(struct bj_emit *e, uint32_t v)
{
	emit_bytes(e, &v, 4);
}

static void emit_u64(struct bj_emit *e, uint64_t v)
{
	emit_bytes(e, &v, 8);
}

static uint64_t emit_pc(const struct bj_emit *e)
{
	return e->base + e->len;
}

/* rel32 from the end of an instruction of `insn_len` bytes starting now. */
static uint32_t emit_rel32(struct bj_emit *e, size_t insn_len, uint64_t target)
{
	uint64_t end = emit_pc(e) + insn_len;

	if (e->buf && !bj_rel32_ok(end, target) && !e->err)
		e->err = -ERANGE;
	return (uint32_t)(target - end);
}

/* Branch targets start on 16-byte boundaries; the padding follows an unconditional jump, so it is int3. */
static void emit_align16(struct bj_emit *e)
{
	static const uint8_t pad[16] = { INT3, INT3, INT3, INT3, INT3, INT3, INT3, INT3,
					 INT3, INT3, INT3, INT3, INT3, INT3, INT3, INT3 };

	emit_bytes(e, pad, (16 - e->len % 16) % 16);
}

static void emit_je(struct bj_emit *e, uint64_t target)
{
	uint32_t rel = emit_rel32(e, 6, target);

	emit_bytes(e, (uint8_t[]){ 0x0f, 0x84 }, 2); /* je rel32 */
	emit_u32(e, rel);
}

/* Anything not found: jmp rcx, then int3 so that nothing is speculated past it. */
static void emit_fallback(struct bj_emit *e)
{
	emit_bytes(e, (uint8_t[]){ 0xff, 0xe1, INT3 }, 3); /* jmp rcx; int3 */
}

struct search {
	struct bj_emit *e;
	const uint64_t *progs;
	const struct bj_dispatch_layout *lay;
	size_t table_off; /* CMP_TABLE: offset of the address table from e->base */
};

/* Sets the flags for `rcx ? progs[i]` (signed). */
static void emit_cmp(struct search *s, size_t i)
{
	struct bj_emit *e = s->e;

	switch (s->lay->cmp) {
	case BJ_DISPATCHER_CMP_MOVABS:
		emit_bytes(e, (uint8_t[]){ 0x49, 0xbb }, 2); /* movabs r11, progs[i] */
		emit_u64(e, s->progs[i]);
		emit_bytes(e, (uint8_t[]){ 0x4c, 0x39, 0xd9 }, 3); /* cmp rcx, r11 */
		break;
	case BJ_DISPATCHER_CMP_TABLE: {
		uint64_t slot = e->base + s->table_off + 8 * i;
		uint32_t disp = emit_rel32(e, 7, slot);

		emit_bytes(e, (uint8_t[]){ 0x48, 0x3b, 0x0d }, 3); /* cmp rcx, [rip + slot] */
		emit_u32(e, disp);
		break;
	}
	default:
		emit_bytes(e, (uint8_t[]){ 0x49, 0x81, 0xfb }, 3); /* cmp r11, progs[i] - base */
		emit_u32(e, (uint32_t)(s->progs[i] - e->base));
		break;
	}
}

static void emit_chain(struct search *s, size_t a, size_t b)
{
	for (size_t i = a; i <= b; i++) {
		emit_cmp(s, i);
		emit_je(s->e, s->progs[i]);
	}
	emit_fallback(s->e);
}

static void emit_range(struct search *s, size_t a, size_t b)
{
	struct bj_emit *e = s->e;
	size_t pivot, jg_at;
	uint64_t upper;

	if (b - a + 1 <= s->lay->linear_max) {
		emit_chain(s, a, b);
		return;
	}
	pivot = a + (b - a) / 2;
	emit_cmp(s, pivot);
	emit_bytes(e, (uint8_t[]){ 0x0f, 0x8f }, 2); /* jg upper */
	jg_at = e->len;
	emit_u32(e, 0);
	emit_range(s, a, pivot);
	emit_align16(e);
	upper = emit_pc(e);
	if (e->buf && !e->err) {
		uint32_t rel = (uint32_t)(upper - (e->base + jg_at + 4));
		memcpy(e->buf + jg_at, &rel, 4);
	}
	emit_range(s, pivot + 1, b);
}

static void emit_code(struct bj_emit *e, const uint64_t *progs, size_t n, const struct bj_dispatch_layout *lay,
		      size_t table_off)
{
	struct search s = { e, progs, lay, table_off };

	if (n == 0) {
		emit_fallback(e);
		return;
	}
	if (lay->cmp == BJ_DISPATCHER_CMP_BIAS) {
		emit_bytes(e, (uint8_t[]){ 0x49, 0xbb }, 2); /* movabs r11, -base */
		emit_u64(e, -e->base);
		emit_bytes(e, (uint8_t[]){ 0x49, 0x01, 0xcb }, 3); /* add r11, rcx */
	}
	if (lay->chain)
		emit_chain(&s, 0, n - 1);
	else
		emit_range(&s, 0, n - 1);
}

void bj_emit_dispatch(struct bj_emit *e, const uint64_t *progs, size_t n, const struct bj_dispatch_layout *lay)
{
	size_t table_off = 0;

	if (lay->cmp == BJ_DISPATCHER_CMP_TABLE && n) {
		struct bj_emit dry = { .base = e->base };

		emit_code(&dry, progs, n, lay, 0);
		table_off = (dry.len + 7) & ~(size_t)7;
	}
	emit_code(e, progs, n, lay, table_off);
	if (table_off) {
		while (e->len < table_off)
			emit_bytes(e, (uint8_t[]){ INT3 }, 1);
		for (size_t i = 0; i < n; i++)
			emit_u64(e, progs[i]);
	}
}

size_t bj_dispatch_max_size(size_t n, const struct bj_dispatch_layout *lay)
{
	uint64_t *zeros = calloc(n ? n : 1, sizeof(*zeros));
	size_t max = 0;

	if (!zeros)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		struct bj_emit dry = { 0 };

		bj_emit_dispatch(&dry, zeros, i, lay);
		if (dry.len > max)
			max = dry.len;
	}
	free(zeros);
	return max;
}

bool bj_dispatch_eligible(uint64_t image, size_t image_len, uint64_t prog, enum bj_dispatcher_cmp cmp)
{
	(void)cmp; /* every compare form needs the je rel32 reach; CMP_BIAS's imm32 needs the same range */
	return bj_rel32_ok(image, prog) && bj_rel32_ok(image + image_len, prog);
}

/* User-space addresses are below 2^47, so signed order is address order, and so is the order of
 * prog - image that CMP_BIAS compares. */
static int cmp_signed(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

void bj_dispatch_sort(uint64_t *progs, size_t n)
{
	qsort(progs, n, sizeof(*progs), cmp_signed);
}
