/* SPDX-License-Identifier: Apache-2.0 */
/* x86-64 instruction encoders (Intel SDM vol. 2): one instruction per call, its asm in the comment. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "jit/x86_64/x86.h"

void emit_fail(struct jit_ctx *c, int err, const char *msg)
{
	if (c->err)
		return;
	c->err = err;
	snprintf(c->err_msg, sizeof(c->err_msg), "%s", msg);
}

void emit_bytes(struct jit_ctx *c, const void *p, size_t n)
{
	if (c->err)
		return;
	if (c->buf) {
		if (c->len + n > c->cap) {
			emit_fail(c, EFAULT, "JIT image overflows its reservation");
			return;
		}
		memcpy(c->buf + c->len, p, n);
	}
	c->len += n;
}

void emit1(struct jit_ctx *c, uint8_t b)
{
	emit_bytes(c, &b, 1);
}

/* n bytes of padding as few instructions as possible: the recommended multi-byte nops (0f 1f /0). */
void emit_nops(struct jit_ctx *c, size_t n)
{
	static const uint8_t nops[9][9] = {
		{ 0x90 },
		{ 0x66, 0x90 },
		{ 0x0f, 0x1f, 0x00 },
		{ 0x0f, 0x1f, 0x40, 0x00 },
		{ 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x80, 0x00, 0x00, 0x00, 0x00 },
		{ 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
		{ 0x66, 0x0f, 0x1f, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00 },
	};

	while (n) {
		size_t k = n > 9 ? 9 : n;
		emit_bytes(c, nops[k - 1], k);
		n -= k;
	}
}

static void emit4(struct jit_ctx *c, uint32_t v)
{
	uint8_t b[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	emit_bytes(c, b, 4);
}

static bool fits8(int64_t v)
{
	return v >= -128 && v <= 127;
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

/* REX prefix; `force` emits an empty REX so that byte registers 4..7 mean spl/bpl/sil/dil, not ah..bh. */
static void emit_rex(struct jit_ctx *c, bool w, int reg, int base, bool force)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((base & 8) ? 1 : 0);

	if (rex != 0x40 || force)
		emit1(c, rex);
}

static void emit_modrm(struct jit_ctx *c, int mod, int reg, int rm)
{
	emit1(c, (uint8_t)((mod << 6) | ((reg & 7) << 3) | (rm & 7)));
}

/* op r/m, r (register direct), e.g. add dst, src */
void emit_alu_rr(struct jit_ctx *c, uint8_t op, bool w, int dst, int src)
{
	emit_rex(c, w, src, dst, false);
	emit1(c, op);
	emit_modrm(c, 3, src, dst);
}

/* 83 /ext ib or 81 /ext id: add/or/and/sub/xor/cmp dst, imm */
void emit_alu_ri(struct jit_ctx *c, int ext, bool w, int dst, int32_t imm)
{
	emit_rex(c, w, 0, dst, false);
	if (fits8(imm)) {
		emit1(c, 0x83);
		emit_modrm(c, 3, ext, dst);
		emit1(c, (uint8_t)imm);
	} else {
		emit1(c, 0x81);
		emit_modrm(c, 3, ext, dst);
		emit4(c, (uint32_t)imm);
	}
}

/* mov dst, src */
void emit_mov_rr(struct jit_ctx *c, bool w, int dst, int src)
{
	emit_alu_rr(c, 0x89, w, dst, src);
}

/* mov dst32, imm32 (zero-extends), or mov dst, simm32 (C7 /0) when sext64 and imm is negative */
void emit_mov_imm32(struct jit_ctx *c, bool sext64, int dst, int32_t imm)
{
	if (sext64 && imm < 0) {
		emit_rex(c, true, 0, dst, false);
		emit1(c, 0xc7);
		emit_modrm(c, 3, 0, dst);
	} else {
		emit_rex(c, false, 0, dst, false);
		emit1(c, (uint8_t)(0xb8 + (dst & 7)));
	}
	emit4(c, (uint32_t)imm);
}

/* The shortest of mov dst32, imm32 / mov dst, simm32 / movabs dst, imm64 */
void emit_mov_imm64(struct jit_ctx *c, int dst, uint64_t imm)
{
	if (imm <= UINT32_MAX) {
		emit_mov_imm32(c, false, dst, (int32_t)(uint32_t)imm);
	} else if (fits32((int64_t)imm)) {
		emit_mov_imm32(c, true, dst, (int32_t)imm);
	} else {
		emit_rex(c, true, 0, dst, false);
		emit1(c, (uint8_t)(0xb8 + (dst & 7)));
		emit4(c, (uint32_t)imm);
		emit4(c, (uint32_t)(imm >> 32));
	}
}

/*
 * [prefix] [REX] op modrm [sib] [disp]: an instruction with a [base + disp] memory operand. rsp/r12 as base
 * need a SIB byte; rbp/r13 as base have no disp-less form.
 */
void emit_rm_mem(struct jit_ctx *c, const uint8_t *op, size_t oplen, bool w, int reg, int base, int32_t disp,
		 bool byte_reg, uint8_t prefix)
{
	int mod;

	if (prefix)
		emit1(c, prefix);
	emit_rex(c, w, reg, base, byte_reg && reg >= 4 && reg <= 7);
	emit_bytes(c, op, oplen);
	if (disp == 0 && (base & 7) != RBP)
		mod = 0;
	else if (fits8(disp))
		mod = 1;
	else
		mod = 2;
	emit_modrm(c, mod, reg, base);
	if ((base & 7) == RSP)
		emit1(c, 0x24); /* SIB: base only */
	if (mod == 1)
		emit1(c, (uint8_t)disp);
	else if (mod == 2)
		emit4(c, (uint32_t)disp);
}

/* op /ext r/m (register direct): neg, div, idiv, not, ... */
void emit_unary(struct jit_ctx *c, uint8_t op, int ext, bool w, int rm)
{
	emit_rex(c, w, 0, rm, false);
	emit1(c, op);
	emit_modrm(c, 3, ext, rm);
}

/* shl/shr/sar/rol/ror dst, imm8 (D1 /ext for 1) */
void emit_shift_imm(struct jit_ctx *c, int ext, bool w, int dst, uint8_t imm)
{
	emit_rex(c, w, 0, dst, false);
	if (imm == 1) {
		emit1(c, 0xd1);
		emit_modrm(c, 3, ext, dst);
	} else {
		emit1(c, 0xc1);
		emit_modrm(c, 3, ext, dst);
		emit1(c, imm);
	}
}

/* imul dst, src */
void emit_imul_rr(struct jit_ctx *c, bool w, int dst, int src)
{
	emit_rex(c, w, dst, src, false);
	emit1(c, 0x0f);
	emit1(c, 0xaf);
	emit_modrm(c, 3, dst, src);
}

/* imul dst, src, imm */
void emit_imul_ri(struct jit_ctx *c, bool w, int dst, int src, int32_t imm)
{
	emit_rex(c, w, dst, src, false);
	if (fits8(imm)) {
		emit1(c, 0x6b);
		emit_modrm(c, 3, dst, src);
		emit1(c, (uint8_t)imm);
	} else {
		emit1(c, 0x69);
		emit_modrm(c, 3, dst, src);
		emit4(c, (uint32_t)imm);
	}
}

/*
 * shlx/shrx/sarx dst, src, count (BMI2, VEX.LZ.0F38 F7 /r, prefix 66/F2/F3 by `ext` 4/5/7): any count
 * register, flags untouched. The 32-bit form zero-extends like every 32-bit op.
 */
void emit_shiftx(struct jit_ctx *c, int ext, bool w, int dst, int src, int count)
{
	uint8_t pp = ext == 4 ? 1 : ext == 5 ? 3 : 2;

	emit1(c, 0xc4);
	emit1(c, (uint8_t)((dst & 8 ? 0 : 0x80) | 0x40 | (src & 8 ? 0 : 0x20) | 0x02));
	emit1(c, (uint8_t)((w ? 0x80 : 0) | ((~count & 15) << 3) | pp));
	emit1(c, 0xf7);
	emit_modrm(c, 3, dst, src);
}

/* op reg, [base + index + disp]: SIB with scale 1; rbp/r13 as base always carry a displacement. */
void emit_rm_mem_index(struct jit_ctx *c, const uint8_t *op, size_t oplen, bool w, int reg, int base, int index,
		       int32_t disp)
{
	int mod = disp == 0 && (base & 7) != RBP ? 0 : fits8(disp) ? 1 : 2;
	uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | (reg & 8 ? 4 : 0) | (index & 8 ? 2 : 0) | (base & 8 ? 1 : 0));

	if (rex != 0x40)
		emit1(c, rex);
	emit_bytes(c, op, oplen);
	emit_modrm(c, mod, reg, RSP); /* rm = 100: a SIB byte follows */
	emit1(c, (uint8_t)(((index & 7) << 3) | (base & 7)));
	if (mod == 1)
		emit1(c, (uint8_t)disp);
	else if (mod == 2)
		emit4(c, (uint32_t)disp);
}

/* push r */
void emit_push(struct jit_ctx *c, int r)
{
	emit_rex(c, false, 0, r, false);
	emit1(c, (uint8_t)(0x50 + (r & 7)));
}

/* pop r */
void emit_pop(struct jit_ctx *c, int r)
{
	emit_rex(c, false, 0, r, false);
	emit1(c, (uint8_t)(0x58 + (r & 7)));
}

/* lea dst, [base + disp] */
void emit_lea(struct jit_ctx *c, int dst, int base, int32_t disp)
{
	static const uint8_t op = 0x8d;
	emit_rm_mem(c, &op, 1, true, dst, base, disp, false, 0);
}

/* jmp rel8 / jmp rel32 to an image offset */
void emit_jmp_to(struct jit_ctx *c, uint32_t target)
{
	int64_t rel8 = (int64_t)target - (int64_t)(c->len + 2);

	if (fits8(rel8)) {
		emit1(c, 0xeb);
		emit1(c, (uint8_t)rel8);
	} else {
		emit1(c, 0xe9);
		emit4(c, (uint32_t)((int64_t)target - (int64_t)(c->len + 4)));
	}
}

/* jcc rel8 / jcc rel32 to an image offset */
void emit_jcc_to(struct jit_ctx *c, int cc, uint32_t target)
{
	int64_t rel8 = (int64_t)target - (int64_t)(c->len + 2);

	if (fits8(rel8)) {
		emit1(c, (uint8_t)(0x70 + cc));
		emit1(c, (uint8_t)rel8);
	} else {
		emit1(c, 0x0f);
		emit1(c, (uint8_t)(0x80 + cc));
		emit4(c, (uint32_t)((int64_t)target - (int64_t)(c->len + 4)));
	}
}

/*
 * call rel32 when the function is within ±2 GiB of every byte of the reservation (so the choice is the same
 * in every pass), else movabs r11, fn; call r11.
 */
void emit_call_abs(struct jit_ctx *c, uintptr_t fn)
{
	int64_t lo = (int64_t)fn - (int64_t)c->base;
	int64_t hi = lo - (int64_t)c->reserve;

	if (fits32(lo) && fits32(hi)) {
		emit1(c, 0xe8);
		emit4(c, (uint32_t)(int64_t)(fn - (c->base + c->len + 4)));
	} else {
		emit_mov_imm64(c, AUX2, fn);
		emit1(c, 0x41); /* call r11 */
		emit1(c, 0xff);
		emit1(c, 0xd3);
	}
}

/* jcc rel8 with the displacement patched later by patch_rel8; returns where the displacement is. */
size_t emit_jcc8_fwd(struct jit_ctx *c, int cc)
{
	emit1(c, (uint8_t)(0x70 + cc));
	emit1(c, 0);
	return c->len - 1;
}

/* jmp rel8, patched later */
size_t emit_jmp8_fwd(struct jit_ctx *c)
{
	emit1(c, 0xeb);
	emit1(c, 0);
	return c->len - 1;
}

void patch_rel8(struct jit_ctx *c, size_t at)
{
	size_t rel = c->len - (at + 1);

	if (rel > 127)
		emit_fail(c, EFAULT, "internal error: short jump out of range");
	else if (c->buf && !c->err)
		c->buf[at] = (uint8_t)rel;
}
