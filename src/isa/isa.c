/* SPDX-License-Identifier: Apache-2.0 */
#include "isa/isa.h"

#include <errno.h>
#include <stdlib.h>

bool bj_insn_is_jump(const struct bj_insn *in)
{
	uint8_t cls = BJ_CLASS(in->code), op = BJ_OP(in->code);

	if (cls != BPF_JMP && cls != BPF_JMP32)
		return false;
	return op != BPF_CALL && op != BPF_EXIT;
}

bool bj_insn_is_local_call(const struct bj_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->src == BPF_PSEUDO_CALL;
}

long bj_insn_target(const struct bj_insn *insns, size_t i)
{
	const struct bj_insn *in = &insns[i];

	if (in->code == (BPF_JMP32 | BPF_JA) || bj_insn_is_local_call(in))
		return (long)i + 1 + in->imm;
	return (long)i + 1 + in->off;
}

unsigned bj_insn_access_size(const struct bj_insn *in)
{
	return bj_size_bytes(in->code);
}

/* Validation of one instruction's fields. Each check returns 0 or fills err. */

static int bad(struct bj_error *err, size_t i, const char *fmt, unsigned v)
{
	return bj_fail(err, EINVAL, (long)i, -1, fmt, v);
}

static int check_alu(const struct bj_insn *in, size_t i, struct bj_error *err)
{
	bool is64 = BJ_CLASS(in->code) == BPF_ALU64, x = BJ_SRCBIT(in->code);
	uint8_t op = BJ_OP(in->code);

	switch (op) {
	case BPF_NEG:
		if (x || in->src || in->off || in->imm)
			return bad(err, i, "invalid BPF_NEG 0x%02x: reserved fields must be zero", in->code);
		break;
	case BPF_END:
		if (is64 && x)
			return bad(err, i, "invalid opcode 0x%02x: ALU64 byte swap has no BE form", in->code);
		if (in->imm != 16 && in->imm != 32 && in->imm != 64)
			return bad(err, i, "invalid byte swap width %u (must be 16, 32 or 64)", (unsigned)in->imm);
		if (in->src || in->off)
			return bad(err, i, "invalid byte swap 0x%02x: reserved fields must be zero", in->code);
		break;
	case BPF_MOV:
		if (x && !(in->off == 0 || in->off == 8 || in->off == 16 || (is64 && in->off == 32)))
			return bad(err, i, "invalid movsx offset %u", (unsigned)(uint16_t)in->off);
		if (!x && in->off)
			return bad(err, i, "invalid mov offset %u (must be 0)", (unsigned)(uint16_t)in->off);
		goto operands;
	case BPF_DIV:
	case BPF_MOD:
		if (in->off != 0 && in->off != 1)
			return bad(err, i, "invalid div/mod offset %u (0 unsigned, 1 signed)", (unsigned)(uint16_t)in->off);
		goto operands;
	case BPF_ADD: case BPF_SUB: case BPF_MUL: case BPF_OR: case BPF_AND:
	case BPF_LSH: case BPF_RSH: case BPF_XOR: case BPF_ARSH:
		if (in->off)
			return bad(err, i, "invalid ALU opcode 0x%02x: offset must be zero", in->code);
operands:
		if (x && in->imm)
			return bad(err, i, "invalid ALU opcode 0x%02x: imm must be zero in the register form", in->code);
		if (!x && in->src)
			return bad(err, i, "invalid ALU opcode 0x%02x: src must be zero in the immediate form", in->code);
		break;
	default:
		return bad(err, i, "unknown opcode 0x%02x", in->code);
	}
	if (in->dst == BPF_REG_10)
		return bad(err, i, "frame pointer r%u is read only", BPF_REG_10);
	return 0;
}

static int check_jmp(const struct bj_insn *in, size_t i, struct bj_error *err)
{
	bool is64 = BJ_CLASS(in->code) == BPF_JMP, x = BJ_SRCBIT(in->code);
	uint8_t op = BJ_OP(in->code);

	switch (op) {
	case BPF_JA:
		if (x || in->src || in->dst || (is64 ? in->imm != 0 : in->off != 0))
			return bad(err, i, "invalid BPF_JA 0x%02x: reserved fields must be zero", in->code);
		return 0;
	case BPF_CALL:
		if (!is64)
			return bad(err, i, "unknown opcode 0x%02x", in->code);
		if (x) {
			if (in->src || in->off || in->imm)
				return bad(err, i, "invalid callx 0x%02x: reserved fields must be zero", in->code);
			return 0;
		}
		if (in->dst || in->off)
			return bad(err, i, "invalid call 0x%02x: reserved fields must be zero", in->code);
		if (in->src > BPF_PSEUDO_KFUNC_CALL)
			return bad(err, i, "invalid call kind (src %u)", in->src);
		return 0;
	case BPF_EXIT:
		if (!is64 || x)
			return bad(err, i, "unknown opcode 0x%02x", in->code);
		if (in->src || in->dst || in->off || in->imm)
			return bad(err, i, "invalid exit 0x%02x: reserved fields must be zero", in->code);
		return 0;
	case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET: case BPF_JNE: case BPF_JSGT:
	case BPF_JSGE: case BPF_JLT: case BPF_JLE: case BPF_JSLT: case BPF_JSLE:
		if (x && in->imm)
			return bad(err, i, "invalid jump 0x%02x: imm must be zero in the register form", in->code);
		if (!x && in->src)
			return bad(err, i, "invalid jump 0x%02x: src must be zero in the immediate form", in->code);
		return 0;
	default:
		return bad(err, i, "unknown opcode 0x%02x", in->code);
	}
}

static int check_ld(const struct bj_insn *insns, size_t n, size_t i, struct bj_error *err)
{
	const struct bj_insn *in = &insns[i];
	uint8_t mode = BJ_MODE(in->code), size = BJ_SIZE(in->code);

	if (in->code == BJ_LDDW) {
		if (in->src > BPF_PSEUDO_MAP_IDX_VALUE)
			return bad(err, i, "invalid ld_imm64 kind (src %u)", in->src);
		if (in->off)
			return bj_fail(err, EINVAL, (long)i, -1, "invalid ld_imm64: offset must be zero");
		if (in->dst == BPF_REG_10)
			return bad(err, i, "frame pointer r%u is read only", BPF_REG_10);
		if (i + 1 >= n)
			return bj_fail(err, EINVAL, (long)i, -1, "incomplete ld_imm64: the second half is missing");
		if (in[1].code || in[1].dst || in[1].src || in[1].off)
			return bj_fail(err, EINVAL, (long)i, -1, "invalid ld_imm64: the second half must have only imm set");
		return 0;
	}
	if ((mode == BPF_ABS || mode == BPF_IND) && size != BPF_DW) {
		if (in->dst || in->off || (mode == BPF_ABS && in->src))
			return bad(err, i, "invalid legacy packet load 0x%02x: reserved fields must be zero", in->code);
		return 0;
	}
	return bad(err, i, "unknown opcode 0x%02x", in->code);
}

static int check_mem(const struct bj_insn *in, size_t i, struct bj_error *err)
{
	uint8_t cls = BJ_CLASS(in->code), mode = BJ_MODE(in->code), size = BJ_SIZE(in->code);

	switch (cls) {
	case BPF_LDX:
		if (mode != BPF_MEM && !(mode == BPF_MEMSX && size != BPF_DW))
			return bad(err, i, "unknown opcode 0x%02x", in->code);
		if (in->imm)
			return bad(err, i, "invalid load 0x%02x: imm must be zero", in->code);
		if (in->dst == BPF_REG_10)
			return bad(err, i, "frame pointer r%u is read only", BPF_REG_10);
		return 0;
	case BPF_ST:
		if (mode != BPF_MEM)
			return bad(err, i, "unknown opcode 0x%02x", in->code);
		if (in->src)
			return bad(err, i, "invalid store 0x%02x: src must be zero", in->code);
		return 0;
	default:
		if (mode == BPF_MEM) {
			if (in->imm)
				return bad(err, i, "invalid store 0x%02x: imm must be zero", in->code);
			return 0;
		}
		if (mode != BPF_ATOMIC || (size != BPF_W && size != BPF_DW))
			return bad(err, i, "unknown opcode 0x%02x", in->code);
		switch (in->imm) {
		case BPF_ADD: case BPF_OR: case BPF_AND: case BPF_XOR:
			return 0;
		case BPF_ADD | BPF_FETCH: case BPF_OR | BPF_FETCH: case BPF_AND | BPF_FETCH:
		case BPF_XOR | BPF_FETCH: case BPF_XCHG: case BPF_CMPXCHG:
			if (in->src == BPF_REG_10)
				return bad(err, i, "frame pointer r%u is read only", BPF_REG_10);
			return 0;
		default:
			return bad(err, i, "invalid atomic operation 0x%x", (unsigned)in->imm);
		}
	}
}

static int check_fields(const struct bj_insn *insns, size_t n, size_t i, struct bj_error *err)
{
	const struct bj_insn *in = &insns[i];

	if (in->dst >= BJ_NREGS)
		return bad(err, i, "invalid destination register r%u", in->dst);
	if (in->src >= BJ_NREGS && !(in->code == BJ_LDDW || in->code == (BPF_JMP | BPF_CALL)))
		return bad(err, i, "invalid source register r%u", in->src);

	switch (BJ_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return check_alu(in, i, err);
	case BPF_JMP:
	case BPF_JMP32:
		return check_jmp(in, i, err);
	case BPF_LD:
		return check_ld(insns, n, i, err);
	default:
		return check_mem(in, i, err);
	}
}

/* A local call or a function pointer at i names the start of a subprogram; -1 otherwise. */
static long subprog_entry(const struct bj_insn *insns, size_t i)
{
	if (bj_insn_is_local_call(&insns[i]))
		return bj_insn_target(insns, i);
	if (insns[i].code == BJ_LDDW && insns[i].src == BPF_PSEUDO_FUNC)
		return (long)i + 1 + insns[i].imm;
	return -1;
}

static bool ends_flow(uint8_t code)
{
	return code == (BPF_JMP | BPF_EXIT) || code == (BPF_JMP | BPF_JA) || code == (BPF_JMP32 | BPF_JA);
}

/*
 * insn_kind[i]: SECOND_HALF for the upper half of an ld_imm64, SUBPROG_START where a subprogram begins.
 * As in Linux, targets stay inside the program and out of ld_imm64 halves, jumps stay inside their own
 * subprogram, and every subprogram ends with an exit or a jump.
 */
enum { PLAIN = 0, SECOND_HALF = 1, SUBPROG_START = 2 };

static int check_targets(const struct bj_insn *insns, size_t n, uint8_t *kind, struct bj_error *err)
{
	for (size_t i = 0; i < n; i++) {
		long t;

		if (kind[i] & SECOND_HALF)
			continue;
		if (bj_insn_is_jump(&insns[i]))
			t = bj_insn_target(insns, i);
		else if (bj_insn_is_local_call(&insns[i]) || (insns[i].code == BJ_LDDW && insns[i].src == BPF_PSEUDO_FUNC))
			t = subprog_entry(insns, i);
		else
			continue;
		if (t < 0 || (size_t)t >= n)
			return bj_fail(err, EINVAL, (long)i, -1, "jump out of range from insn %zu to %ld", i, t);
		if (kind[t] & SECOND_HALF)
			return bj_fail(err, EINVAL, (long)i, -1, "jump into the middle of ld_imm64 at insn %ld", t - 1);
		if (!bj_insn_is_jump(&insns[i]))
			kind[t] |= SUBPROG_START;
	}
	return 0;
}

static int check_subprogs(const struct bj_insn *insns, size_t n, const uint8_t *kind, struct bj_error *err)
{
	size_t start = 0;

	for (size_t end = 1; end <= n; end++) {
		if (end < n && !(kind[end] & SUBPROG_START))
			continue;
		for (size_t i = start; i < end; i++) {
			long t;

			if ((kind[i] & SECOND_HALF) || !bj_insn_is_jump(&insns[i]))
				continue;
			t = bj_insn_target(insns, i);
			if (t < (long)start || t >= (long)end)
				return bj_fail(err, EINVAL, (long)i, -1, "jump out of range from insn %zu to %ld", i, t);
		}
		if ((kind[end - 1] & SECOND_HALF) || !ends_flow(insns[end - 1].code))
			return bj_fail(err, EINVAL, (long)end - 1, -1, "last insn is not an exit or jmp");
		start = end;
	}
	return 0;
}

int bj_insns_validate(const struct bj_insn *insns, size_t n, struct bj_error *err)
{
	uint8_t *kind;
	bool has_exit = false;
	int ret = 0;

	if (n == 0)
		return bj_fail(err, EINVAL, -1, -1, "empty program");
	if (n > BJ_MAX_INSNS)
		return bj_fail(err, E2BIG, -1, -1, "too many instructions: %zu (limit %u)", n, BJ_MAX_INSNS);
	kind = calloc(n, sizeof(*kind));
	if (!kind)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");

	for (size_t i = 0; i < n && !ret; i++) {
		ret = check_fields(insns, n, i, err);
		if (!ret && insns[i].code == BJ_LDDW)
			kind[++i] = SECOND_HALF;
		else if (insns[i].code == (BPF_JMP | BPF_EXIT))
			has_exit = true;
	}
	if (!ret && !has_exit)
		ret = bj_fail(err, EINVAL, (long)n - 1, -1, "program has no exit instruction");
	if (!ret)
		ret = check_targets(insns, n, kind, err);
	if (!ret)
		ret = check_subprogs(insns, n, kind, err);
	free(kind);
	return ret;
}
