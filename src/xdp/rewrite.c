/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The batch rewrite (after Intel's 2019 batched-XDP proof of concept, shared/spec/xdp.md): the program runs
 * once per batch and loops over the frames itself.
 *
 *   prologue:  *(u64 *)(r10 - 8) = r1      the current frame's context
 *              *(u64 *)(r10 - 16) = r2     frames left
 *   body:      the main program, its stack offsets moved 16 bytes down, every exit a jump to the epilogue
 *   epilogue:  slot.action = r0; [capture the redirect target]; next slot; loop while frames remain
 *   subprograms, unchanged but for their call and jump offsets
 *
 * 16 bytes rather than the 12 the two slots need keep every shifted stack slot 8-byte aligned. Pointers
 * derived from r10 (`rX = r10; rX += -k`) move too, so the program's objects keep their relative layout.
 * Nothing in BPF can prefetch: the native loop (loop_x86.c) is where the next frame is prefetched.
 */
#include <errno.h>
#include <stdlib.h>

#include "isa/isa.h"
#include "xdp/xdp_int.h"

#define STACK_SHIFT 16
#define SLOT_CTX (-8)
#define SLOT_LEFT (-16)
#define FN_TAIL_CALL 12

static struct bj_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm)
{
	return (struct bj_insn){ .code = code, .dst = dst, .src = src, .off = off, .imm = imm };
}

bool bj_xdp_calls_helper(const struct bj_insn *insns, size_t n, int32_t id)
{
	for (size_t i = 0; i < n; i++) {
		if (insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src == 0 && insns[i].imm == id)
			return true;
		if (bj_insn_is_lddw(&insns[i]))
			i++;
	}
	return false;
}

/* Where the main program ends (the first subprogram), or an error for forms the loop cannot contain. */
static int find_main_end(const struct bj_insn *insns, size_t n, size_t *main_end, struct bj_error *err)
{
	*main_end = n;
	for (size_t i = 0; i < n; i++) {
		const struct bj_insn *in = &insns[i];

		if (bj_insn_is_lddw(in)) {
			if (in->src == BPF_PSEUDO_FUNC)
				return bj_fail(err, EOPNOTSUPP, (long)i, -1,
					       "batch rewrite: callback reference at insn %zu", i);
			i++;
		} else if (bj_insn_is_local_call(in)) {
			long t = bj_insn_target(insns, i);

			if ((size_t)t < *main_end)
				*main_end = (size_t)t;
		} else if (in->code == BJ_CALLX) {
			return bj_fail(err, EOPNOTSUPP, (long)i, -1, "batch rewrite: indirect call at insn %zu", i);
		} else if (in->code == (BPF_JMP | BPF_CALL) && in->src == 0 && in->imm == FN_TAIL_CALL) {
			return bj_fail(err, EOPNOTSUPP, (long)i, -1,
				       "batch rewrite: tail call at insn %zu leaves the loop", i);
		}
	}
	return 0;
}

static bool is_mov_r10(const struct bj_insn *in)
{
	return in->code == (BPF_ALU64 | BPF_MOV | BPF_X) && in->src == BPF_REG_10;
}

static bool uses_r10_base(const struct bj_insn *in)
{
	uint8_t cls = BJ_CLASS(in->code);

	return (cls == BPF_LDX && in->src == BPF_REG_10) || ((cls == BPF_ST || cls == BPF_STX) && in->dst == BPF_REG_10);
}

/* Instructions that main insn i becomes (0 for the second half of an ld_imm64), and the stack depth it shows. */
static int main_insn_len(const struct bj_insn *insns, size_t i, size_t main_end, unsigned *depth,
			 struct bj_error *err)
{
	const struct bj_insn *in = &insns[i];
	uint8_t cls = BJ_CLASS(in->code);

	if (is_mov_r10(in)) {
		const struct bj_insn *next = i + 1 < main_end ? &insns[i + 1] : NULL;

		if (!next || next->code != (BPF_ALU64 | BPF_ADD | BPF_K) || next->dst != in->dst || next->imm > 0)
			return bj_fail(err, EOPNOTSUPP, (long)i, -1,
				       "batch rewrite: copy of r10 at insn %zu without a constant offset", i);
		if ((unsigned)-next->imm > *depth)
			*depth = (unsigned)-next->imm;
		return 2;
	}
	if (uses_r10_base(in)) {
		if (cls == BPF_STX && in->src == BPF_REG_10)
			return bj_fail(err, EOPNOTSUPP, (long)i, -1, "batch rewrite: r10 stored at insn %zu", i);
		if (in->off > 0 || in->off - STACK_SHIFT < INT16_MIN)
			return bj_fail(err, EOPNOTSUPP, (long)i, -1,
				       "batch rewrite: stack offset %d at insn %zu", in->off, i);
		if ((unsigned)-in->off > *depth)
			*depth = (unsigned)-in->off;
		return 1;
	}
	if ((cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_JMP || cls == BPF_JMP32 || cls == BPF_STX) &&
	    BJ_SRCBIT(in->code) && in->src == BPF_REG_10 && in->code != BJ_CALLX)
		return bj_fail(err, EOPNOTSUPP, (long)i, -1, "batch rewrite: r10 used as a value at insn %zu", i);
	return 1;
}

static int set_rel(struct bj_insn *out, size_t p, long target, bool in_imm, struct bj_error *err)
{
	long rel = target - (long)(p + 1);

	if (in_imm) {
		out[p].imm = (int32_t)rel;
		return 0;
	}
	if (rel < INT16_MIN || rel > INT16_MAX)
		return bj_fail(err, E2BIG, (long)p, -1, "batch rewrite: jump at insn %zu out of range", p);
	out[p].off = (int16_t)rel;
	return 0;
}

/* Copies insn i to out[p] (and p + 1) with its jump or call offset moved to the new layout. */
static int emit_moved(const struct bj_insn *insns, size_t i, bool in_main, const size_t *new_idx, size_t epi,
		      struct bj_insn *out, size_t p, struct bj_error *err)
{
	const struct bj_insn *in = &insns[i];

	out[p] = *in;
	if (bj_insn_is_lddw(in)) {
		out[p + 1] = insns[i + 1];
		return 0;
	}
	if (bj_insn_is_jump(in))
		return set_rel(out, p, (long)new_idx[bj_insn_target(insns, i)], in->code == (BPF_JMP32 | BPF_JA), err);
	if (bj_insn_is_local_call(in))
		return set_rel(out, p, (long)new_idx[bj_insn_target(insns, i)], true, err);
	if (!in_main)
		return 0;
	if (in->code == (BPF_JMP | BPF_EXIT)) {
		out[p] = insn(BPF_JMP | BPF_JA, 0, 0, 0, 0);
		return set_rel(out, p, (long)epi, false, err);
	}
	if (is_mov_r10(in)) {
		out[p + 1] = insn(BPF_ALU64 | BPF_ADD | BPF_K, in->dst, 0, 0, -STACK_SHIFT);
		return 0;
	}
	if (uses_r10_base(in))
		out[p].off = (int16_t)(in->off - STACK_SHIFT);
	return 0;
}

static void emit_epilogue(struct bj_insn *out, size_t p, size_t body, bool capture)
{
	out[p++] = insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, SLOT_CTX, 0);
	out[p++] = insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0, BJ_XDP_SLOT_ACTION, 0);
	if (capture) {
		out[p++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_2, BPF_REG_0, 0, 0);
		out[p++] = insn(BPF_JMP | BPF_CALL, 0, 0, 0, BJ_XDP_FN_CAPTURE);
		out[p++] = insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_10, SLOT_CTX, 0);
	}
	out[p++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, BJ_XDP_SLOT_SIZE);
	out[p++] = insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1, SLOT_CTX, 0);
	out[p++] = insn(BPF_LDX | BPF_MEM | BPF_DW, BPF_REG_2, BPF_REG_10, SLOT_LEFT, 0);
	out[p++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_2, 0, 0, -1);
	out[p++] = insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_2, SLOT_LEFT, 0);
	out[p] = insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, (int16_t)((long)body - (long)(p + 1)), 0);
	p++;
	out[p++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	out[p] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* new_idx[i]: where insn i lands (n + 1 entries), and in *epi where the epilogue (epi_len insns) starts. */
static int layout(const struct bj_insn *insns, size_t n, size_t main_end, size_t *new_idx, size_t epi_len,
		  size_t *epi, struct bj_error *err)
{
	unsigned depth = 0;
	size_t p = 2;

	for (size_t i = 0; i < main_end; i++) {
		int len = main_insn_len(insns, i, main_end, &depth, err);

		if (len < 0)
			return len;
		new_idx[i] = p;
		p += (size_t)len;
		if (bj_insn_is_lddw(&insns[i])) {
			new_idx[++i] = p++;
		}
	}
	if (depth + STACK_SHIFT > BJ_STACK_SIZE)
		return bj_fail(err, E2BIG, -1, -1,
			       "batch rewrite: stack of %u bytes plus the %u the loop reserves exceeds %u", depth,
			       STACK_SHIFT, BJ_STACK_SIZE);
	*epi = p;
	p += epi_len;
	for (size_t i = main_end; i <= n; i++)
		new_idx[i] = p + (i - main_end);
	return 0;
}

int bj_xdp_rewrite(const struct bj_insn *insns, size_t n, bool capture, struct bj_insn **out, size_t *out_n,
		   struct bj_error *err)
{
	size_t epi_len = capture ? 13 : 10, main_end, epi = 0, total;
	size_t *new_idx = NULL;
	struct bj_insn *o = NULL;
	int ret;

	ret = find_main_end(insns, n, &main_end, err);
	if (ret)
		return ret;
	new_idx = calloc(n + 1, sizeof(*new_idx));
	if (!new_idx)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	ret = layout(insns, n, main_end, new_idx, epi_len, &epi, err);
	if (ret)
		goto out;
	total = new_idx[n];
	if (total > BJ_MAX_INSNS) {
		ret = bj_fail(err, E2BIG, -1, -1, "batch rewrite: %zu instructions is too many", total);
		goto out;
	}
	o = calloc(total, sizeof(*o));
	if (!o) {
		ret = bj_fail(err, ENOMEM, -1, -1, "out of memory");
		goto out;
	}
	o[0] = insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_1, SLOT_CTX, 0);
	o[1] = insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, BPF_REG_2, SLOT_LEFT, 0);
	emit_epilogue(o, epi, 2, capture);
	for (size_t i = 0; i < n && !ret; i++) {
		ret = emit_moved(insns, i, i < main_end, new_idx, epi, o, new_idx[i], err);
		if (bj_insn_is_lddw(&insns[i]))
			i++;
	}
	if (ret) {
		free(o);
		goto out;
	}
	*out = o;
	*out_n = total;
out:
	free(new_idx);
	return ret;
}
