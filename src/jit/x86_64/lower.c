/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Lowering of BPF instructions to x86-64. Register mapping (fixed, as in Linux):
 *   r0 rax  r1 rdi  r2 rsi  r3 rdx  r4 rcx  r5 r8   (caller-saved: r1..r5 are the SysV argument registers)
 *   r6 rbx  r7 r13  r8 r14  r9 r15  r10 rbp          (callee-saved)
 * r10/r11 are scratch, r12 holds `struct bj_run *` for the whole run and r9 carries it to helpers.
 *
 * The BPF stack is a block of 512 bytes per possible frame below the main frame's saved registers: a local
 * call moves rbp down by 512, so no native return address or saved register ever lies inside the memory a
 * program can address through r10.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#include "jit/x86_64/x86.h"

static const uint8_t reg_map[BJ_NREGS] = { RAX, RDI, RSI, RDX, RCX, R8, RBX, R13, R14, R15, RBP };

#define RUN_OFF(f) ((int32_t)offsetof(struct bj_run, f))

/* ALU ops that have both an `op r/m, r` opcode and an 81/83 /ext immediate form. */
struct alu_op {
	uint8_t rr;
	uint8_t ext;
};

static bool alu_simple(uint8_t op, struct alu_op *out)
{
	switch (op) {
	case BPF_ADD: *out = (struct alu_op){ 0x01, 0 }; return true;
	case BPF_OR:  *out = (struct alu_op){ 0x09, 1 }; return true;
	case BPF_AND: *out = (struct alu_op){ 0x21, 4 }; return true;
	case BPF_SUB: *out = (struct alu_op){ 0x29, 5 }; return true;
	case BPF_XOR: *out = (struct alu_op){ 0x31, 6 }; return true;
	default: return false;
	}
}

uint32_t jump_addr(const struct jit_ctx *c, long t)
{
	return c->addrs[t] + (c->is_entry[t] ? JIT_SUBPROG_PROLOGUE_LEN : 0);
}

/* op reg, r/m with both operands registers, e.g. movzx/movsx/imul (reg = dst, rm = src) */
static void emit_rr_op(struct jit_ctx *c, const uint8_t *op, size_t oplen, bool w, int reg, int rm, bool byte_rm)
{
	uint8_t rex = 0x40 | (w ? 8 : 0) | ((reg & 8) ? 4 : 0) | ((rm & 8) ? 1 : 0);

	if (rex != 0x40 || (byte_rm && rm >= 4 && rm <= 7))
		emit1(c, rex);
	emit_bytes(c, op, oplen);
	emit1(c, (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7)));
}

/* mov dst32, dst32: clears the upper half */
static void emit_zext32(struct jit_ctx *c, int r)
{
	emit_mov_rr(c, false, r, r);
}

/* xor r32, r32 */
static void emit_zero(struct jit_ctx *c, int r)
{
	emit_alu_rr(c, 0x31, false, r, r);
}

/* Loads imm into r through a random key, so that the program's constants never appear in the image. */
static void emit_blinded_imm(struct jit_ctx *c, bool is64, int r, int32_t imm)
{
	int32_t key = (int32_t)c->blind_key;

	emit_mov_imm32(c, is64, r, imm ^ key); /* mov r, imm ^ key */
	emit_alu_ri(c, 6, is64, r, key);        /* xor r, key */
}

/* The fault sequence a short jump skips: mov edx, insn; mov ecx, kind; jmp fault. r11 carries the detail. */
static void emit_fault_unless(struct jit_ctx *c, int cc_ok, enum jit_fault_kind kind, size_t insn)
{
	size_t skip = emit_jcc8_fwd(c, cc_ok);

	emit_mov_imm32(c, false, RDX, (int32_t)insn); /* mov edx, insn */
	emit_mov_imm32(c, false, RCX, (int32_t)kind); /* mov ecx, kind */
	emit_jmp_to(c, c->labels[LBL_FAULT]);          /* jmp fault */
	patch_rel8(c, skip);
}

/* sub qword [r12 + budget], cost; a borrow means the budget ran out */
static void emit_budget(struct jit_ctx *c, size_t insn, uint32_t cost)
{
	static const uint8_t op83 = 0x83, op81 = 0x81;

	if (cost <= 127) {
		emit_rm_mem(c, &op83, 1, true, 5, RUN, RUN_OFF(budget), false, 0);
		emit1(c, (uint8_t)cost);
	} else {
		emit_rm_mem(c, &op81, 1, true, 5, RUN, RUN_OFF(budget), false, 0);
		emit_bytes(c, &cost, 4);
	}
	emit_fault_unless(c, CC_AE, JIT_FAULT_BUDGET, insn);
}

/*
 * cmp dword [r12 + fault], 0; je ok; mov edx, insn; jmp helper_fault: a helper may stop the run, and the
 * fault then names this instruction. After a call that may be a tail call, also
 * cmp qword [r12 + tail_prog], 0; jne unwind: the caller goes on with run->tail_prog.
 */
static void emit_helper_fault_check(struct jit_ctx *c, size_t insn, bool may_tail_call)
{
	static const uint8_t op83 = 0x83;
	size_t ok;

	emit_rm_mem(c, &op83, 1, false, 7, RUN, RUN_OFF(fault), false, 0);
	emit1(c, 0);
	ok = emit_jcc8_fwd(c, CC_E);
	emit_mov_imm32(c, false, RDX, (int32_t)insn);
	emit_jmp_to(c, c->labels[LBL_HELPER_FAULT]);
	patch_rel8(c, ok);
	if (!may_tail_call)
		return;
	emit_rm_mem(c, &op83, 1, true, 7, RUN, RUN_OFF(tail_prog), false, 0);
	emit1(c, 0);
	emit_jcc_to(c, CC_NE, c->labels[LBL_UNWIND]);
}

/* Checked mode: lea r11, [base + off]; mov r10d, packed; call check. r10-relative accesses inside the
 * current frame need no check: r10 is read only and always points at the top of a whole frame. */
static void emit_access_check(struct jit_ctx *c, size_t insn, int base, int16_t off, unsigned size, bool write)
{
	uint32_t packed = (uint32_t)insn << 5 | (write ? 16u : 0u) | size;

	if (!c->checked)
		return;
	if (base == RBP && off >= -BJ_STACK_SIZE && off + (int)size <= 0)
		return;
	emit_lea(c, AUX2, base, off);
	emit_mov_imm32(c, false, AUX1, (int32_t)packed);
	emit1(c, 0xe8); /* call check */
	uint32_t rel = c->labels[LBL_CHECK] - (uint32_t)(c->len + 4);
	emit_bytes(c, &rel, 4);
}

/* The load opcode for size and sign: movzx/movsx byte or word, mov dword (zero-extends) / movsxd, mov qword. */
static const uint8_t *load_op(unsigned size, bool sx, size_t *len, bool *w)
{
	*len = size <= 2 ? 2 : 1;
	*w = sx || size == 8;
	switch (size) {
	case 1: return sx ? (const uint8_t *)"\x0f\xbe" : (const uint8_t *)"\x0f\xb6";
	case 2: return sx ? (const uint8_t *)"\x0f\xbf" : (const uint8_t *)"\x0f\xb7";
	case 4: return sx ? (const uint8_t *)"\x63" : (const uint8_t *)"\x8b";
	default: return (const uint8_t *)"\x8b";
	}
}

/* dst = load [base + index + disp] (index < 0: none) */
static void emit_load(struct jit_ctx *c, const struct bj_insn *in, int dst, int base, int index, int32_t disp)
{
	size_t len;
	bool w;
	const uint8_t *op = load_op(bj_size_bytes(in->code), BJ_MODE(in->code) == BPF_MEMSX, &len, &w);

	if (index < 0)
		emit_rm_mem(c, op, len, w, dst, base, disp, false, 0);
	else
		emit_rm_mem_index(c, op, len, w, dst, base, index, disp);
}

/* --- ALU --- */

static void lower_shift_reg(struct jit_ctx *c, int ext, bool w, int dst, int src)
{
	if (c->bmi2) {
		emit_shiftx(c, ext, w, dst, dst, src);  /* shlx dst, dst, src */
		return;
	}
	if (src == RCX) {
		emit_unary(c, 0xd3, ext, w, dst);  /* shl dst, cl */
		return;
	}
	emit_mov_rr(c, true, AUX2, RCX);           /* mov r11, rcx */
	emit_mov_rr(c, true, RCX, src);            /* mov rcx, src */
	if (dst == RCX) {
		emit_unary(c, 0xd3, ext, w, AUX2); /* shl r11, cl */
		emit_mov_rr(c, true, RCX, AUX2);   /* mov rcx, r11 */
	} else {
		emit_unary(c, 0xd3, ext, w, dst);  /* shl dst, cl */
		emit_mov_rr(c, true, RCX, AUX2);   /* mov rcx, r11 */
	}
}

/* div/mod by a divisor in r11 that is known to be neither 0 nor (when signed) -1. */
static void emit_divide(struct jit_ctx *c, bool w, bool is_signed, bool is_mod, int dst)
{
	if (dst != RAX)
		emit_mov_rr(c, true, AUX1, RAX); /* mov r10, rax */
	if (dst != RDX)
		emit_push(c, RDX);               /* push rdx */
	if (dst != RAX)
		emit_mov_rr(c, true, RAX, dst);  /* mov rax, dst */
	if (is_signed) {
		if (w)
			emit_bytes(c, "\x48\x99", 2); /* cqo */
		else
			emit1(c, 0x99);               /* cdq */
		emit_unary(c, 0xf7, 7, w, AUX2);      /* idiv r11 */
	} else {
		emit_zero(c, RDX);                    /* xor edx, edx */
		emit_unary(c, 0xf7, 6, w, AUX2);      /* div r11 */
	}
	int res = is_mod ? RDX : RAX;
	if (dst != res)
		emit_mov_rr(c, w, dst, res);     /* mov dst, rax|rdx */
	else if (!w)
		emit_zext32(c, dst);
	if (dst != RDX)
		emit_pop(c, RDX);                /* pop rdx */
	if (dst != RAX)
		emit_mov_rr(c, true, RAX, AUX1); /* mov rax, r10 */
}

/* The result for a zero divisor: div gives 0, mod keeps dst (its low half for ALU32). */
static void emit_div_by_zero(struct jit_ctx *c, bool w, bool is_mod, int dst)
{
	if (!is_mod)
		emit_zero(c, dst);
	else if (!w)
		emit_zext32(c, dst);
}

/* The result for a divisor of -1 (signed): x / -1 = -x (INT_MIN stays INT_MIN), x % -1 = 0; idiv would trap. */
static void emit_div_by_minus1(struct jit_ctx *c, bool w, bool is_mod, int dst)
{
	if (is_mod)
		emit_zero(c, dst);
	else
		emit_unary(c, 0xf7, 3, w, dst); /* neg dst */
}

static bool is_pow2(uint64_t v)
{
	return v && !(v & (v - 1));
}

static void lower_div_imm(struct jit_ctx *c, bool w, bool is_signed, bool is_mod, int dst, int32_t imm)
{
	uint64_t divisor = w ? (uint64_t)(int64_t)imm : (uint32_t)imm;

	if (imm == 0) {
		emit_div_by_zero(c, w, is_mod, dst);
		return;
	}
	if (is_signed && imm == -1) {
		emit_div_by_minus1(c, w, is_mod, dst);
		return;
	}
	if (!is_signed && is_pow2(divisor) && !c->blind) {
		int k = __builtin_ctzll(divisor);
		if (is_mod && k < 31)
			emit_alu_ri(c, 4, w, dst, (int32_t)(divisor - 1)); /* and dst, divisor - 1 */
		else if (!is_mod && k > 0)
			emit_shift_imm(c, 5, w, dst, (uint8_t)k);           /* shr dst, k */
		else if (!is_mod && !w)
			emit_zext32(c, dst);
		else if (is_mod)
			goto general;
		return;
	}
general:
	if (c->blind)
		emit_blinded_imm(c, w, AUX2, imm);
	else
		emit_mov_imm32(c, w, AUX2, imm); /* mov r11, imm */
	emit_divide(c, w, is_signed, is_mod, dst);
}

static void lower_div_reg(struct jit_ctx *c, bool w, bool is_signed, bool is_mod, int dst, int src)
{
	size_t nonzero, minus1 = 0, done1, done2 = 0;

	emit_mov_rr(c, w, AUX2, src);          /* mov r11, src */
	emit_alu_rr(c, 0x85, w, AUX2, AUX2);   /* test r11, r11 */
	nonzero = emit_jcc8_fwd(c, CC_NE);
	emit_div_by_zero(c, w, is_mod, dst);
	done1 = emit_jmp8_fwd(c);
	patch_rel8(c, nonzero);
	if (is_signed) {
		emit_alu_ri(c, 7, w, AUX2, -1); /* cmp r11, -1 */
		minus1 = emit_jcc8_fwd(c, CC_NE);
		emit_div_by_minus1(c, w, is_mod, dst);
		done2 = emit_jmp8_fwd(c);
		patch_rel8(c, minus1);
	}
	emit_divide(c, w, is_signed, is_mod, dst);
	patch_rel8(c, done1);
	if (is_signed)
		patch_rel8(c, done2);
}

static void lower_end(struct jit_ctx *c, const struct bj_insn *in, int dst)
{
	static const uint8_t movzx16[2] = { 0x0f, 0xb7 };
	bool swap = BJ_CLASS(in->code) == BPF_ALU64 || BJ_SRCBIT(in->code) == BPF_TO_BE;

	switch (in->imm) {
	case 16:
		if (swap) {
			emit1(c, 0x66);                              /* rol dst16, 8 */
			emit_shift_imm(c, 0, false, dst, 8);
		}
		emit_rr_op(c, movzx16, 2, false, dst, dst, false);  /* movzx dst32, dst16 */
		break;
	case 32:
		if (swap) {
			if (dst & 8)
				emit1(c, 0x41);
			emit1(c, 0x0f);
			emit1(c, (uint8_t)(0xc8 + (dst & 7)));      /* bswap dst32 */
		} else {
			emit_zext32(c, dst);                         /* mov dst32, dst32 */
		}
		break;
	default:
		if (swap) {
			emit1(c, (dst & 8) ? 0x49 : 0x48);
			emit1(c, 0x0f);
			emit1(c, (uint8_t)(0xc8 + (dst & 7)));      /* bswap dst */
		}
		break;
	}
}

static void lower_mov(struct jit_ctx *c, const struct bj_insn *in, bool w, int dst)
{
	static const uint8_t movsx8[2] = { 0x0f, 0xbe }, movsx16[2] = { 0x0f, 0xbf }, movsxd = 0x63;
	int src = reg_map[in->src];

	if (!BJ_SRCBIT(in->code)) {
		if (in->imm == 0)
			emit_zero(c, dst);
		else if (c->blind)
			emit_blinded_imm(c, w, dst, in->imm);
		else
			emit_mov_imm32(c, w, dst, in->imm);
		return;
	}
	switch (in->off) {
	case 8:
		emit_rr_op(c, movsx8, 2, w, dst, src, true);   /* movsx dst, src8 */
		break;
	case 16:
		emit_rr_op(c, movsx16, 2, w, dst, src, false); /* movsx dst, src16 */
		break;
	case 32:
		emit_rr_op(c, &movsxd, 1, true, dst, src, false); /* movsxd dst, src32 */
		break;
	default:
		if (dst != src || !w)
			emit_mov_rr(c, w, dst, src);           /* mov dst, src */
		break;
	}
}

/* Insn i exists and only falls in from i - 1: no jump lands on it, so it may share its predecessor's code. */
static bool fusable(const struct jit_ctx *c, size_t i)
{
	return i < c->n && !c->is_target[i] && !c->is_entry[i];
}

/* Insns i, i + 1 are `lsh r, 32; rsh r, 32` (zero-extension) of BPF register r. */
static bool is_zext_pair(const struct jit_ctx *c, size_t i, uint8_t r)
{
	const struct bj_insn *a = &c->insns[i], *b = &c->insns[i + 1];

	return fusable(c, i) && fusable(c, i + 1) && a->code == (BPF_ALU64 | BPF_LSH | BPF_K) && a->imm == 32 &&
	       a->dst == r && b->code == (BPF_ALU64 | BPF_RSH | BPF_K) && b->imm == 32 && b->dst == r;
}

/* `lsh r, 32` followed by `rsh r, 32` / `arsh r, 32` is how compilers zero- or sign-extend a 32-bit value. */
static bool lower_extend_pair(struct jit_ctx *c, size_t i, int dst)
{
	static const uint8_t movsxd = 0x63;
	const struct bj_insn *a = &c->insns[i], *b = &c->insns[i + 1];

	if (!fusable(c, i + 1))
		return false;
	if (a->code != (BPF_ALU64 | BPF_LSH | BPF_K) || a->imm != 32 || b->dst != a->dst || b->imm != 32)
		return false;
	if (b->code == (BPF_ALU64 | BPF_RSH | BPF_K))
		emit_zext32(c, dst);                            /* mov dst32, dst32 */
	else if (b->code == (BPF_ALU64 | BPF_ARSH | BPF_K))
		emit_rr_op(c, &movsxd, 1, true, dst, dst, false); /* movsxd dst, dst32 */
	else
		return false;
	return true;
}

/*
 * A 64-bit op whose low half does not depend on the operands' high halves (mov, add, sub, mul, and, or,
 * xor), followed by a zero-extension of its result, is the 32-bit op: x86 32-bit ops clear the upper half.
 */
static bool fuses_with_zext(const struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];
	uint8_t op = BJ_OP(in->code);

	if (BJ_CLASS(in->code) != BPF_ALU64 || i + 2 >= c->n || !is_zext_pair(c, i + 1, in->dst))
		return false;
	if (op == BPF_MOV)
		return in->off == 0;
	return op == BPF_ADD || op == BPF_SUB || op == BPF_MUL || op == BPF_AND || op == BPF_OR || op == BPF_XOR;
}

/*
 * A load through the address just formed in d that overwrites d (`ldx d, [d + off]`) needs no lea: the
 * address goes into the load itself. Not in checked mode, whose access check wants the address in r11.
 */
static bool lower_load_through(struct jit_ctx *c, size_t i, uint8_t d, int base, int index, int32_t disp)
{
	const struct bj_insn *in = &c->insns[i];
	int64_t total;

	if (c->checked || !fusable(c, i) || BJ_CLASS(in->code) != BPF_LDX || in->dst != d || in->src != d)
		return false;
	total = (int64_t)disp + in->off;
	if (total < INT32_MIN || total > INT32_MAX)
		return false;
	emit_load(c, in, reg_map[d], base, index, (int32_t)total); /* mov d, [s + x + imm + off] */
	return true;
}

/* Straight-line insns a load through d may move up over. */
#define JIT_HOIST_MAX_GAP 4

/*
 * The load `ldx d, [d + off]` a few insns after the address in d is formed, when the insns between neither
 * name d nor store (the load could read what they write) nor are jumped to: compilers form two addresses,
 * then load through the first (`a = p + i; b = q + i; x = *a; *b = x`). -1 when there is none.
 */
static long hoistable_load(const struct jit_ctx *c, size_t from, uint8_t d)
{
	for (size_t k = from + 1; k < c->n && k <= from + JIT_HOIST_MAX_GAP; k++) {
		const struct bj_insn *in = &c->insns[k - 1], *next = &c->insns[k];
		uint8_t cls = BJ_CLASS(in->code);

		if (!fusable(c, k - 1) || in->dst == d || in->src == d)
			return -1;
		if (cls != BPF_ALU && cls != BPF_ALU64 && cls != BPF_LDX && cls != BPF_LD)
			return -1;
		if (BJ_CLASS(next->code) == BPF_LDX && next->dst == d && next->src == d)
			return (long)k;
	}
	return -1;
}

/*
 * `mov d, s; add d, imm` and `mov d, s; add d, imm; add d, x` / `mov d, s; add d, x` are one lea: how
 * compilers form the address of a stack slot or an array element. Returns the insns consumed, 0 if none.
 */
static size_t lower_lea_chain(struct jit_ctx *c, size_t i)
{
	static const uint8_t lea = 0x8d;
	const struct bj_insn *mov = &c->insns[i], *a1, *a2;
	int32_t disp = 0;
	int index = -1;
	size_t used = 1;

	if (mov->code != (BPF_ALU64 | BPF_MOV | BPF_X) || mov->off || mov->dst == mov->src || !fusable(c, i + 1))
		return 0;
	a1 = &c->insns[i + 1];
	if (a1->dst != mov->dst)
		return 0;
	if (a1->code == (BPF_ALU64 | BPF_ADD | BPF_K) && !c->blind) {
		disp = a1->imm;
		used = 2;
		a2 = fusable(c, i + 2) ? &c->insns[i + 2] : NULL;
		if (a2 && a2->code == (BPF_ALU64 | BPF_ADD | BPF_X) && a2->dst == mov->dst &&
		    a2->src != mov->dst) {
			index = reg_map[a2->src];
			used = 3;
		}
	} else if (a1->code == (BPF_ALU64 | BPF_ADD | BPF_X) && a1->src != mov->dst) {
		index = reg_map[a1->src];
		used = 2;
	} else {
		return 0;
	}
	if (lower_load_through(c, i + used, mov->dst, reg_map[mov->src], index, disp))
		return used + 1;
	/* One moved load at a time: a second would take the pending one's place, which would then be emitted. */
	long load = c->hoisted_load ? -1 : hoistable_load(c, i + used, mov->dst);
	if (load >= 0 && lower_load_through(c, (size_t)load, mov->dst, reg_map[mov->src], index, disp)) {
		c->hoisted_load = (size_t)load + 1; /* done: the load's own turn emits nothing */
		return used;
	}
	/* A zero-extension of the sum (32-bit index arithmetic) is the 32-bit lea: it clears the upper half. */
	bool zext = i + used + 1 < c->n && is_zext_pair(c, i + used, mov->dst);
	if (index < 0)
		emit_rm_mem(c, &lea, 1, !zext, reg_map[mov->dst], reg_map[mov->src], disp, false, 0); /* lea d, [s + imm] */
	else
		emit_rm_mem_index(c, &lea, 1, !zext, reg_map[mov->dst], reg_map[mov->src], index, disp); /* lea d, [s + x + imm] */
	return used + (zext ? 2 : 0);
}

static bool is_byte_or_word_mask(const struct bj_insn *in)
{
	return (BJ_CLASS(in->code) == BPF_ALU64 || BJ_CLASS(in->code) == BPF_ALU) && BJ_OP(in->code) == BPF_AND &&
	       !BJ_SRCBIT(in->code) && (in->imm == 0xff || in->imm == 0xffff);
}

/* movzx d32, s8 / s16: the result of `and d, 0xff|0xffff`, taken from s (d after `mov d, s`). */
static void emit_movzx_mask(struct jit_ctx *c, int32_t mask, int dst, int src)
{
	static const uint8_t movzx8[2] = { 0x0f, 0xb6 }, movzx16[2] = { 0x0f, 0xb7 };

	emit_rr_op(c, mask == 0xff ? movzx8 : movzx16, 2, false, dst, src, mask == 0xff);
}

/* `mov d, s; and d, 0xff` (a byte or word of s) is one movzx; not when blinding, which hides the mask. */
static bool lower_mov_mask(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *mov = &c->insns[i], *mask;

	if (c->blind || BJ_OP(mov->code) != BPF_MOV || !BJ_SRCBIT(mov->code) || mov->off || !fusable(c, i + 1))
		return false;
	mask = &c->insns[i + 1];
	if (!is_byte_or_word_mask(mask) || mask->dst != mov->dst)
		return false;
	emit_movzx_mask(c, mask->imm, reg_map[mov->dst], reg_map[mov->src]);
	return true;
}

static void lower_alu(struct jit_ctx *c, size_t i, size_t *consumed)
{
	const struct bj_insn *in = &c->insns[i];
	bool w = BJ_CLASS(in->code) == BPF_ALU64, x = BJ_SRCBIT(in->code);
	uint8_t op = BJ_OP(in->code);
	int dst = reg_map[in->dst], src = reg_map[in->src];
	struct alu_op alu;

	if (w && (*consumed = lower_lea_chain(c, i)))
		return;
	*consumed = 2;
	if (lower_mov_mask(c, i))
		return;
	*consumed = 1;
	if (w && fuses_with_zext(c, i)) {
		w = false;
		*consumed = 3;
	}
	if (op == BPF_MOV) {
		lower_mov(c, in, w, dst);
		return;
	}
	if (op == BPF_END) {
		lower_end(c, in, dst);
		return;
	}
	if (op == BPF_NEG) {
		emit_unary(c, 0xf7, 3, w, dst); /* neg dst */
		return;
	}
	if (op == BPF_LSH && !x && w && lower_extend_pair(c, i, dst)) {
		*consumed = 2;
		return;
	}
	if (op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) {
		int ext = op == BPF_LSH ? 4 : op == BPF_RSH ? 5 : 7;
		if (x) {
			lower_shift_reg(c, ext, w, dst, src);
		} else {
			uint8_t k = (uint8_t)(in->imm & (w ? 63 : 31));
			if (k)
				emit_shift_imm(c, ext, w, dst, k); /* shl dst, k */
			else if (!w)
				emit_zext32(c, dst);
		}
		return;
	}
	if (op == BPF_DIV || op == BPF_MOD) {
		if (x)
			lower_div_reg(c, w, in->off == 1, op == BPF_MOD, dst, src);
		else
			lower_div_imm(c, w, in->off == 1, op == BPF_MOD, dst, in->imm);
		return;
	}
	if (!x && c->blind) {
		emit_blinded_imm(c, w, AUX1, in->imm);
		x = true;
		src = AUX1;
	}
	if (op == BPF_MUL) {
		if (x)
			emit_imul_rr(c, w, dst, src);          /* imul dst, src */
		else
			emit_imul_ri(c, w, dst, dst, in->imm); /* imul dst, dst, imm */
		return;
	}
	if (!alu_simple(op, &alu)) {
		emit_fail(c, EINVAL, "unknown ALU operation");
		return;
	}
	if (x)
		emit_alu_rr(c, alu.rr, w, dst, src);        /* op dst, src */
	else if (in->imm == 0 && op != BPF_AND && w)
		return;                                     /* op dst, 0 */
	else if (in->imm == 0 && op != BPF_AND)
		emit_zext32(c, dst);
	else if (is_byte_or_word_mask(in))
		emit_movzx_mask(c, in->imm, dst, dst);      /* movzx dst32, dst8|dst16 */
	else if (op == BPF_XOR && in->imm == -1)
		emit_unary(c, 0xf7, 2, w, dst);             /* not dst */
	else
		emit_alu_ri(c, alu.ext, w, dst, in->imm);   /* op dst, imm */
}

/* --- memory --- */

static void lower_ldx(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];

	if (c->hoisted_load == i + 1) {
		c->hoisted_load = 0;
		return;
	}

	emit_access_check(c, i, reg_map[in->src], in->off, bj_size_bytes(in->code), false);
	emit_load(c, in, reg_map[in->dst], reg_map[in->src], -1, in->off); /* mov dst, [src + off] */
}

/* mov [base + off], reg of the given size */
static void emit_store_reg(struct jit_ctx *c, unsigned size, int base, int16_t off, int reg)
{
	switch (size) {
	case 1:
		emit_rm_mem(c, (const uint8_t *)"\x88", 1, false, reg, base, off, true, 0);
		break;
	case 2:
		emit_rm_mem(c, (const uint8_t *)"\x89", 1, false, reg, base, off, false, 0x66);
		break;
	default:
		emit_rm_mem(c, (const uint8_t *)"\x89", 1, size == 8, reg, base, off, false, 0);
		break;
	}
}

static void lower_st(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];
	int base = reg_map[in->dst];
	unsigned size = bj_size_bytes(in->code);
	uint32_t imm = (uint32_t)in->imm;

	emit_access_check(c, i, base, in->off, size, true);
	if (c->blind) {
		emit_blinded_imm(c, size == 8, AUX1, in->imm);
		emit_store_reg(c, size, base, in->off, AUX1);
		return;
	}
	switch (size) {
	case 1:
		emit_rm_mem(c, (const uint8_t *)"\xc6", 1, false, 0, base, in->off, false, 0); /* mov byte [m], imm8 */
		emit1(c, (uint8_t)imm);
		break;
	case 2:
		emit_rm_mem(c, (const uint8_t *)"\xc7", 1, false, 0, base, in->off, false, 0x66); /* mov word [m], imm16 */
		emit_bytes(c, &imm, 2);
		break;
	default:
		emit_rm_mem(c, (const uint8_t *)"\xc7", 1, size == 8, 0, base, in->off, false, 0); /* mov [m], imm32 */
		emit_bytes(c, &imm, 4);
		break;
	}
}

static void lower_stx(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];
	unsigned size = bj_size_bytes(in->code);

	emit_access_check(c, i, reg_map[in->dst], in->off, size, true);
	emit_store_reg(c, size, reg_map[in->dst], in->off, reg_map[in->src]);
}

/* Fetching and/or/xor have no x86 instruction: a lock cmpxchg loop on rax, which is saved on the stack. */
static void lower_atomic_fetch_logic(struct jit_ctx *c, const struct bj_insn *in, bool w, int base, int src)
{
	uint8_t rr = 0, rm;
	int mbase = base;
	int32_t moff = in->off;
	size_t retry;

	switch (in->imm & ~BPF_FETCH) {
	case BPF_OR: rr = 0x09; break;
	case BPF_AND: rr = 0x21; break;
	default: rr = 0x31; break;
	}
	rm = (uint8_t)(rr + 2); /* the `op r, r/m` form of the same operation */
	emit_push(c, RAX);                                                  /* push rax */
	if (base == RAX) {
		emit_lea(c, AUX2, RAX, moff);                               /* lea r11, [rax + off] */
		mbase = AUX2;
		moff = 0;
	}
	emit_rm_mem(c, (const uint8_t *)"\x8b", 1, w, RAX, mbase, moff, false, 0); /* mov rax, [m] */
	retry = c->len;
	emit_mov_rr(c, w, AUX1, RAX);                                       /* mov r10, rax */
	if (src == RAX)
		emit_rm_mem(c, &rm, 1, w, AUX1, RSP, 0, false, 0);          /* op r10, [rsp] (saved r0) */
	else
		emit_alu_rr(c, rr, w, AUX1, src);                           /* op r10, src */
	emit_rm_mem(c, (const uint8_t *)"\x0f\xb1", 2, w, AUX1, mbase, moff, false, 0xf0); /* lock cmpxchg [m], r10 */
	emit1(c, 0x75);                                                     /* jne retry */
	emit1(c, (uint8_t)(int8_t)((int64_t)retry - (int64_t)(c->len + 1)));
	if (src == RAX) {
		emit_alu_ri(c, 0, true, RSP, 8);                            /* add rsp, 8 */
	} else {
		emit_mov_rr(c, w, src, RAX);                                /* mov src, rax */
		emit_pop(c, RAX);                                           /* pop rax */
	}
}

static void lower_atomic(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];
	bool w = BJ_SIZE(in->code) == BPF_DW;
	int base = reg_map[in->dst], src = reg_map[in->src];
	struct alu_op alu;

	emit_access_check(c, i, base, in->off, w ? 8 : 4, true);
	switch (in->imm) {
	case BPF_ADD:
	case BPF_OR:
	case BPF_AND:
	case BPF_XOR:
		alu_simple((uint8_t)in->imm, &alu);
		emit_rm_mem(c, &alu.rr, 1, w, src, base, in->off, false, 0xf0); /* lock op [m], src */
		break;
	case BPF_ADD | BPF_FETCH:
		emit_rm_mem(c, (const uint8_t *)"\x0f\xc1", 2, w, src, base, in->off, false, 0xf0); /* lock xadd [m], src */
		break;
	case BPF_XCHG:
		emit_rm_mem(c, (const uint8_t *)"\x87", 1, w, src, base, in->off, false, 0); /* xchg [m], src */
		break;
	case BPF_CMPXCHG:
		emit_rm_mem(c, (const uint8_t *)"\x0f\xb1", 2, w, src, base, in->off, false, 0xf0); /* lock cmpxchg [m], src */
		if (!w)
			emit_zext32(c, RAX); /* a successful cmpxchg leaves rax's upper half as it was */
		break;
	default:
		lower_atomic_fetch_logic(c, in, w, base, src);
		break;
	}
}

/* --- jumps and calls --- */

static const int jcc_of[16] = {
	[BPF_JEQ >> 4] = CC_E,   [BPF_JGT >> 4] = CC_A,  [BPF_JGE >> 4] = CC_AE, [BPF_JSET >> 4] = CC_NE,
	[BPF_JNE >> 4] = CC_NE,  [BPF_JSGT >> 4] = CC_G, [BPF_JSGE >> 4] = CC_GE, [BPF_JLT >> 4] = CC_B,
	[BPF_JLE >> 4] = CC_BE,  [BPF_JSLT >> 4] = CC_L, [BPF_JSLE >> 4] = CC_LE,
};

bool is_ja(const struct bj_insn *in)
{
	return in->code == (BPF_JMP | BPF_JA) || in->code == (BPF_JMP32 | BPF_JA);
}

/*
 * `jcc +1; ja X` (how compilers close a loop whose exit test is at the bottom) is `j!cc X`: one taken
 * branch per iteration instead of two. Checked mode keeps both, as a backward ja carries a budget check.
 */
static long inverted_target(const struct jit_ctx *c, size_t i, long t, int *cc)
{
	if (c->checked || t != (long)i + 2 || !fusable(c, i + 1) || !is_ja(&c->insns[i + 1]))
		return -1;
	*cc ^= 1; /* x86 condition codes come in pairs that differ in bit 0 */
	return bj_insn_target(c->insns, i + 1);
}

/* The insn writes BPF register r, or is no straight-line code (a jump, call or exit). */
static bool clobbers(const struct bj_insn *in, uint8_t r)
{
	switch (BJ_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
	case BPF_LDX:
	case BPF_LD:
		return in->dst == r;
	case BPF_ST:
		return false;
	case BPF_STX:
		if (BJ_MODE(in->code) != BPF_ATOMIC)
			return false;
		if (in->imm == BPF_CMPXCHG)
			return r == 0;
		return (in->imm & BPF_FETCH) && in->src == r;
	default:
		return true;
	}
}

static bool same_test(const struct bj_insn *a, const struct bj_insn *b)
{
	return a->code == b->code && a->dst == b->dst && a->imm == b->imm && (!BJ_SRCBIT(a->code) || a->src == b->src);
}

/* How far apart two tests may be for threading: keeps the scan per jump short. */
#define JIT_THREAD_MAX_GAP 16

/*
 * Jump threading over a repeated test. Clang's BPF code for `if (c) { a; b; }` whose assignments each
 * became a select tests c once per assignment: `if c goto +1; a; if c goto +1; b`. When the second test
 * (at j, the target of jump i) is reached only from i, by i's jump or by falling through straight-line
 * code that leaves the tested registers alone, its outcome is i's: i can jump straight to j's target, and
 * j needs no code. Forward jumps only, so no budget check (checked mode) is folded away.
 */
static bool repeats_test(const struct jit_ctx *c, size_t i, long j)
{
	const struct bj_insn *a = &c->insns[i];

	if (j <= (long)i + 1 || j - (long)i > JIT_THREAD_MAX_GAP || (size_t)j >= c->n || c->sole_jumper[j] != i ||
	    c->is_entry[j] || is_ja(a) || !same_test(a, &c->insns[j]) || bj_insn_target(c->insns, (size_t)j) <= j)
		return false;
	for (size_t k = i + 1; k < (size_t)j; k++)
		if (!fusable(c, k) || clobbers(&c->insns[k], a->dst) ||
		    (BJ_SRCBIT(a->code) && clobbers(&c->insns[k], a->src)))
			return false;
	return true;
}

/* Jump i's test repeats one before it (see repeats_test): it never jumps, as its sole jumper jumps past it. */
static bool is_repeated_test(const struct jit_ctx *c, size_t i)
{
	uint32_t from = c->sole_jumper[i];

	return c->is_target[i] && from != JIT_NO_SOLE_JUMPER && repeats_test(c, from, (long)i);
}

/* Where jump i goes once the repeated tests along its target chain are threaded. */
static long threaded_target(const struct jit_ctx *c, size_t i, long t)
{
	size_t from = i;

	while (repeats_test(c, from, t)) {
		from = (size_t)t;
		t = bj_insn_target(c->insns, from);
	}
	return t;
}

static void lower_jump(struct jit_ctx *c, size_t i, size_t *consumed)
{
	const struct bj_insn *in = &c->insns[i];
	bool w = BJ_CLASS(in->code) == BPF_JMP;
	uint8_t op = BJ_OP(in->code);
	long t = bj_insn_target(c->insns, i), inv;
	int dst = reg_map[in->dst], src = reg_map[in->src], cc = jcc_of[op >> 4];

	if (c->checked && t <= (long)i)
		emit_budget(c, i, (uint32_t)(i - (size_t)t + 1));
	if (op == BPF_JA) {
		if (t != (long)i + 1)
			emit_jmp_to(c, jump_addr(c, t)); /* jmp target */
		return;
	}
	if (t == (long)i + 1 || is_repeated_test(c, i))
		return; /* both ways lead to the next instruction */
	t = threaded_target(c, i, t);
	if (BJ_SRCBIT(in->code)) {
		emit_alu_rr(c, op == BPF_JSET ? 0x85 : 0x39, w, dst, src); /* test|cmp dst, src */
	} else if (c->blind) {
		emit_blinded_imm(c, w, AUX1, in->imm);
		emit_alu_rr(c, op == BPF_JSET ? 0x85 : 0x39, w, dst, AUX1);
	} else if (op == BPF_JSET) {
		emit_unary(c, 0xf7, 0, w, dst);                 /* test dst, imm32 */
		emit_bytes(c, &in->imm, 4);
	} else if (in->imm == 0) {
		emit_alu_rr(c, 0x85, w, dst, dst);              /* test dst, dst */
	} else {
		emit_alu_ri(c, 7, w, dst, in->imm);             /* cmp dst, imm */
	}
	inv = inverted_target(c, i, t, &cc);
	if (inv >= 0) {
		t = inv;
		*consumed = 2;
	}
	if (!lower_taildup(c, i, cc, t, i + *consumed))
		emit_jcc_to(c, cc, jump_addr(c, t));            /* jcc target */
}

static void lower_call_local(struct jit_ctx *c, size_t i)
{
	long t = bj_insn_target(c->insns, i);
	static const uint8_t cmp_r_m = 0x3b;

	if (c->checked)
		emit_budget(c, i, 1);
	emit_lea(c, AUX2, RBP, -BJ_STACK_SIZE);                                     /* lea r11, [rbp - 512] */
	emit_rm_mem(c, &cmp_r_m, 1, true, AUX2, RUN, RUN_OFF(stack_lo), false, 0); /* cmp r11, [r12 + lo] */
	emit_fault_unless(c, CC_A, JIT_FAULT_DEPTH, i);
	emit1(c, 0xe8);                                                             /* call subprogram */
	uint32_t rel = c->addrs[t] - (uint32_t)(c->len + 4);
	emit_bytes(c, &rel, 4);
}

/* mov [r12 + call_fp], rbp: a helper that calls back puts the callback's frame below this one. */
static void emit_store_call_fp(struct jit_ctx *c)
{
	static const uint8_t store = 0x89;

	if (c->has_callbacks)
		emit_rm_mem(c, &store, 1, true, RBP, RUN, RUN_OFF(call_fp), false, 0);
}

static void lower_call_helper(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];

	emit_store_call_fp(c);
	emit_mov_rr(c, true, R9, RUN); /* mov r9, r12: the sixth argument */
	emit_call_abs(c, (uintptr_t)c->helpers[in->imm]);
	emit_helper_fault_check(c, i, in->imm == BJ_FUNC_TAIL_CALL);
}

static void lower_callx(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];

	emit_mov_rr(c, true, AUX2, reg_map[in->dst]);                 /* mov r11, dst */
	emit_alu_ri(c, 7, true, AUX2, BJ_HELPER_ID_MAX);              /* cmp r11, BJ_HELPER_ID_MAX */
	emit_fault_unless(c, CC_B, JIT_FAULT_HELPER, i);
	emit_mov_imm64(c, AUX1, (uintptr_t)c->callx_table);          /* movabs r10, table */
	emit_bytes(c, "\x4f\x8b\x14\xda", 4);                         /* mov r10, [r10 + r11*8] */
	emit_alu_rr(c, 0x85, true, AUX1, AUX1);                       /* test r10, r10 */
	emit_fault_unless(c, CC_NE, JIT_FAULT_HELPER, i);
	emit_store_call_fp(c);
	emit_mov_rr(c, true, R9, RUN);                                /* mov r9, r12 */
	emit_bytes(c, "\x41\xff\xd2", 3);                             /* call r10 */
	emit_helper_fault_check(c, i, c->callx_table[BJ_FUNC_TAIL_CALL] != NULL);
}

/* Callee-saved registers of the main frame, in push order: rbp (BPF r10) always, the others when used. */
static size_t main_saved_regs(const struct jit_ctx *c, int regs[6])
{
	static const uint8_t callee_saved_bpf[4] = { 6, 7, 8, 9 };
	size_t n = 0;

	regs[n++] = RBP;
	for (int k = 0; k < 4; k++)
		if (c->used_regs & (1u << callee_saved_bpf[k]))
			regs[n++] = reg_map[callee_saved_bpf[k]];
	if (c->needs_run)
		regs[n++] = RUN;
	return n;
}

/* Frame below the saved registers: the BPF stack, plus 8 bytes when needed to keep calls 16-byte aligned. */
static int32_t main_frame_size(const struct jit_ctx *c, size_t n_saved)
{
	return (int32_t)(c->stack_size + (n_saved % 2 ? 0 : 8));
}

static void emit_main_epilogue(struct jit_ctx *c)
{
	int regs[6];
	size_t n = main_saved_regs(c, regs);

	emit_alu_ri(c, 0, true, RSP, main_frame_size(c, n)); /* add rsp, frame */
	while (n)
		emit_pop(c, regs[--n]);
	emit1(c, 0xc3); /* ret */
}

static void emit_subprog_epilogue(struct jit_ctx *c)
{
	emit_pop(c, RBP);
	emit_pop(c, R15);
	emit_pop(c, R14);
	emit_pop(c, R13);
	emit_pop(c, RBX);
	emit1(c, 0xc3); /* ret */
}

static void lower_lddw(struct jit_ctx *c, size_t i)
{
	const struct bj_insn *in = &c->insns[i];
	int dst = reg_map[in->dst];
	uint64_t imm = bj_lddw_imm(in);

	if (in->src == BPF_PSEUDO_FUNC) {
		uint32_t target = c->addrs[i + 1 + in->imm];
		emit_bytes(c, (dst & 8) ? "\x4c\x8d" : "\x48\x8d", 2); /* lea dst, [rip + subprogram] */
		emit1(c, (uint8_t)(0x05 | (dst & 7) << 3));
		uint32_t rel = target - (uint32_t)(c->len + 4);
		emit_bytes(c, &rel, 4);
		return;
	}
	if (imm == 0) {
		emit_zero(c, dst);
	} else if (c->blind) {
		emit1(c, (dst & 8) ? 0x49 : 0x48);                   /* movabs dst, imm ^ key */
		emit1(c, (uint8_t)(0xb8 + (dst & 7)));
		uint64_t v = imm ^ c->blind_key;
		emit_bytes(c, &v, 8);
		emit1(c, 0x49);                                      /* movabs r10, key */
		emit1(c, (uint8_t)(0xb8 + (AUX1 & 7)));
		emit_bytes(c, &c->blind_key, 8);
		emit_alu_rr(c, 0x31, true, dst, AUX1);               /* xor dst, r10 */
	} else {
		emit_mov_imm64(c, dst, imm);                         /* mov dst, imm64 */
	}
}

void lower_insn(struct jit_ctx *c, size_t i, size_t *consumed)
{
	const struct bj_insn *in = &c->insns[i];
	uint8_t op = BJ_OP(in->code);

	*consumed = 1;
	switch (BJ_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		lower_alu(c, i, consumed);
		break;
	case BPF_LDX:
		lower_ldx(c, i);
		break;
	case BPF_ST:
		lower_st(c, i);
		break;
	case BPF_STX:
		if (BJ_MODE(in->code) == BPF_ATOMIC)
			lower_atomic(c, i);
		else
			lower_stx(c, i);
		break;
	case BPF_LD:
		lower_lddw(c, i);
		*consumed = 2;
		break;
	default:
		if (op == BPF_EXIT)
			c->in_subprog ? emit_subprog_epilogue(c) : emit_main_epilogue(c);
		else if (in->code == BJ_CALLX)
			lower_callx(c, i);
		else if (op == BPF_CALL && in->src == BPF_PSEUDO_CALL)
			lower_call_local(c, i);
		else if (op == BPF_CALL)
			lower_call_helper(c, i);
		else
			lower_jump(c, i, consumed);
		break;
	}
}

/* The x86 register of each BPF register that reads as zero until the program sets it (r1, r2: arguments). */
static const uint8_t zeroed_at_entry[] = { 0, 3, 4, 5, 6, 7, 8, 9 };

void lower_main_prologue(struct jit_ctx *c)
{
	static const uint8_t store = 0x89;
	int regs[6];
	size_t n = main_saved_regs(c, regs);
	int32_t frame = main_frame_size(c, n);

	for (size_t k = 0; k < n; k++)
		emit_push(c, regs[k]);
	if (c->needs_run) {
		emit_mov_rr(c, true, RUN, RDX);                                  /* mov r12, rdx (run) */
		if (c->has_callbacks) {
			emit_mov_imm64(c, AUX2, c->callback_hook);               /* movabs r11, hook */
			emit_rm_mem(c, &store, 1, true, AUX2, RUN, RUN_OFF(callback), false, 0); /* mov [r12 + callback], r11 */
		} else {
			emit_rm_mem(c, (const uint8_t *)"\xc7", 1, true, 0, RUN, RUN_OFF(callback), false, 0);
			emit_bytes(c, "\0\0\0\0", 4);                             /* mov qword [r12 + callback], 0 */
		}
	}
	emit_alu_ri(c, 5, true, RSP, frame);                                     /* sub rsp, frame */
	if (c->needs_run)
		emit_rm_mem(c, &store, 1, true, RSP, RUN, RUN_OFF(stack_lo), false, 0); /* mov [r12 + lo], rsp */
	emit_lea(c, RBP, RSP, (int32_t)c->stack_size);                           /* lea rbp, [rsp + stack] */
	if (c->needs_run)
		emit_rm_mem(c, &store, 1, true, RBP, RUN, RUN_OFF(stack_hi), false, 0); /* mov [r12 + hi], rbp */
	/* Registers the program has not set read as zero, not as leftovers of the caller. r0 is read by exit. */
	for (size_t k = 0; k < sizeof(zeroed_at_entry); k++) {
		uint8_t r = zeroed_at_entry[k];
		if (r == 0 || (c->used_regs & (1u << r)))
			emit_zero(c, reg_map[r]);
	}
}

void lower_subprog_prologue(struct jit_ctx *c)
{
	size_t start = c->len;

	emit_push(c, RBX);
	emit_push(c, R13);
	emit_push(c, R14);
	emit_push(c, R15);
	emit_push(c, RBP);
	emit_rm_mem(c, (const uint8_t *)"\x8d", 1, true, RBP, RBP, -BJ_STACK_SIZE, false, 0); /* lea rbp, [rbp - 512] */
	if (c->len - start != JIT_SUBPROG_PROLOGUE_LEN)
		emit_fail(c, EFAULT, "internal error: subprogram prologue size");
}

/*
 * r11 = the native stack pointer to unwind to: the innermost callback entry's, or the main frame's.
 * Programs without callbacks never run inside one.
 */
static void emit_unwind_sp(struct jit_ctx *c)
{
	static const uint8_t load = 0x8b;
	size_t in_cb;

	if (!c->has_callbacks) {
		emit_rm_mem(c, &load, 1, true, AUX2, RUN, RUN_OFF(stack_lo), false, 0); /* mov r11, [r12 + lo] */
		return;
	}
	emit_rm_mem(c, &load, 1, true, AUX2, RUN, RUN_OFF(jit_cb_sp), false, 0); /* mov r11, [r12 + cb_sp] */
	emit_alu_rr(c, 0x85, true, AUX2, AUX2);                                   /* test r11, r11 */
	in_cb = emit_jcc8_fwd(c, CC_NE);                                          /* jnz in_cb */
	emit_rm_mem(c, &load, 1, true, AUX2, RUN, RUN_OFF(stack_lo), false, 0); /* mov r11, [r12 + lo] */
	patch_rel8(c, in_cb);
}

/*
 * The callback entry, called from C as (rdi = run, rsi = fn, rdx = args[5], rcx = the caller's r10). It saves
 * the C callee-saved registers, records its stack pointer as the unwind target of faults inside the
 * callback, and calls the subprogram, whose prologue moves r10 down to a frame of its own.
 */
static void lower_callback_entry(struct jit_ctx *c)
{
	static const uint8_t load = 0x8b, store = 0x89, push_rm = 0xff, pop_rm = 0x8f;

	c->labels[LBL_CALLBACK] = (uint32_t)c->len;
	emit_push(c, RBP);
	emit_push(c, RBX);
	emit_push(c, R12);
	emit_push(c, R13);
	emit_push(c, R14);
	emit_push(c, R15);
	emit_mov_rr(c, true, RUN, RDI);                                           /* mov r12, rdi */
	emit_rm_mem(c, &push_rm, 1, false, 6, RUN, RUN_OFF(jit_cb_sp), false, 0); /* push qword [r12 + cb_sp] */
	emit_rm_mem(c, &store, 1, true, RSP, RUN, RUN_OFF(jit_cb_sp), false, 0);  /* mov [r12 + cb_sp], rsp */
	emit_mov_rr(c, true, RBP, RCX);                                           /* mov rbp, rcx */
	emit_mov_rr(c, true, AUX2, RSI);                                          /* mov r11, rsi (fn) */
	emit_mov_rr(c, true, AUX1, RDX);                                          /* mov r10, rdx (args) */
	emit_rm_mem(c, &load, 1, true, RDI, AUX1, 0, false, 0);                   /* mov rdi, [r10] */
	emit_rm_mem(c, &load, 1, true, RSI, AUX1, 8, false, 0);                   /* mov rsi, [r10 + 8] */
	emit_rm_mem(c, &load, 1, true, RDX, AUX1, 16, false, 0);                  /* mov rdx, [r10 + 16] */
	emit_rm_mem(c, &load, 1, true, RCX, AUX1, 24, false, 0);                  /* mov rcx, [r10 + 24] */
	emit_rm_mem(c, &load, 1, true, R8, AUX1, 32, false, 0);                   /* mov r8, [r10 + 32] */
	/* r0 and r6-r9 start at zero, not with the C caller's values. */
	emit_zero(c, RAX);
	emit_zero(c, RBX);
	emit_zero(c, R13);
	emit_zero(c, R14);
	emit_zero(c, R15);
	emit_bytes(c, "\x41\xff\xd3", 3);                                         /* call r11 */
	c->labels[LBL_CB_EXIT] = (uint32_t)c->len;
	emit_rm_mem(c, &pop_rm, 1, false, 0, RUN, RUN_OFF(jit_cb_sp), false, 0);  /* pop qword [r12 + cb_sp] */
	emit_pop(c, R15);
	emit_pop(c, R14);
	emit_pop(c, R13);
	emit_pop(c, R12);
	emit_pop(c, RBX);
	emit_pop(c, RBP);
	emit1(c, 0xc3); /* ret */
}

/* Code shared by every instruction, after the program body: fault exits and the access check. */
void lower_tail(struct jit_ctx *c)
{
	static const uint8_t load = 0x8b, store = 0x89, cmp_imm8 = 0x83;
	size_t in_cb = 0, named;

	c->labels[LBL_FAULT] = (uint32_t)c->len;
	emit_mov_rr(c, false, RSI, RCX);                /* mov esi, ecx (kind); edx holds the insn */
	emit_mov_rr(c, true, RCX, AUX2);                /* mov rcx, r11 (detail) */
	emit_unwind_sp(c);
	emit_mov_rr(c, true, RSP, AUX2);                /* mov rsp, r11 */
	emit_mov_rr(c, true, RDI, RUN);                 /* mov rdi, r12 */
	emit_call_abs(c, (uintptr_t)bj_jit_fault);
	/* edx = insn: a helper stopped the run without naming an instruction; name the call */
	c->labels[LBL_HELPER_FAULT] = (uint32_t)c->len;
	emit_rm_mem(c, &cmp_imm8, 1, true, 7, RUN, RUN_OFF(fault_insn), false, 0); /* cmp qword [r12 + insn], 0 */
	emit1(c, 0);
	named = emit_jcc8_fwd(c, CC_GE);                                         /* jge unwind */
	emit_rm_mem(c, &store, 1, true, RDX, RUN, RUN_OFF(fault_insn), false, 0); /* mov [r12 + insn], rdx */
	patch_rel8(c, named);
	c->labels[LBL_UNWIND] = (uint32_t)c->len;
	if (c->has_callbacks) {
		emit_rm_mem(c, &load, 1, true, AUX2, RUN, RUN_OFF(jit_cb_sp), false, 0); /* mov r11, [r12 + cb_sp] */
		emit_alu_rr(c, 0x85, true, AUX2, AUX2);                                   /* test r11, r11 */
		in_cb = emit_jcc8_fwd(c, CC_NE);                                          /* jnz in_cb */
	}
	emit_rm_mem(c, &load, 1, true, RSP, RUN, RUN_OFF(stack_lo), false, 0); /* mov rsp, [r12 + lo] */
	emit_zero(c, RAX);
	c->labels[LBL_MAIN_EXIT] = (uint32_t)c->len;
	emit_main_epilogue(c);
	if (c->has_callbacks) {
		patch_rel8(c, in_cb);
		emit_mov_rr(c, true, RSP, AUX2);         /* in_cb: mov rsp, r11 */
		emit_zero(c, RAX);
		emit_jmp_to(c, c->labels[LBL_CB_EXIT]);  /* jmp cb_exit */
		lower_callback_entry(c);
	}

	/* r11 = address, r10d = packed; keeps every BPF register. Entered with rsp 8 off a 16-byte boundary. */
	c->labels[LBL_CHECK] = (uint32_t)c->len;
	emit_push(c, RAX);
	emit_push(c, RDI);
	emit_push(c, RSI);
	emit_push(c, RDX);
	emit_push(c, RCX);
	emit_push(c, R8);
	emit_push(c, R9);
	emit_mov_rr(c, true, RDI, RUN);   /* mov rdi, r12 */
	emit_mov_rr(c, true, RSI, AUX2);  /* mov rsi, r11 */
	emit_mov_rr(c, false, RDX, AUX1); /* mov edx, r10d */
	emit_call_abs(c, (uintptr_t)bj_jit_check);
	emit_alu_rr(c, 0x85, false, RAX, RAX); /* test eax, eax */
	emit_pop(c, R9);
	emit_pop(c, R8);
	emit_pop(c, RCX);
	emit_pop(c, RDX);
	emit_pop(c, RSI);
	emit_pop(c, RDI);
	emit_pop(c, RAX);
	emit_jcc_to(c, CC_NE, c->labels[LBL_UNWIND]); /* jnz unwind */
	emit1(c, 0xc3);                                /* ret */
}
