/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Tail duplication of loop latches. Compilers often lay a loop's latch (`i += 1; if i != n goto body`) out
 * before the body, which then closes with a backward jump to the latch: two taken branches per iteration.
 * A backward conditional jump to such a block gets a copy of it instead, `j!cc fall; <latch>; jmp latch_fall`,
 * and the iteration takes only the latch's own branch. Only backward jumps (taken while the loop runs) and
 * latches whose own jump goes back to the copy's loop: elsewhere the copy could add a taken branch (j!cc)
 * to a path that had none, and would only cost bytes.
 */
#include "jit/x86_64/x86.h"

/* ALU insns in a duplicated block, before its final jump: a copy costs bytes at every jump to the block. */
#define TAILDUP_MAX_ALU 3

/* ALU ops that never fault and lower to a few bytes (division lowers to a long sequence with branches). */
static bool duplicable_alu(const struct bj_insn *in)
{
	uint8_t cls = BJ_CLASS(in->code), op = BJ_OP(in->code);

	return (cls == BPF_ALU || cls == BPF_ALU64) && op != BPF_DIV && op != BPF_MOD;
}

static bool is_cond_jump(const struct bj_insn *in)
{
	return bj_insn_is_jump(in) && !is_ja(in);
}

/* The block's last insn leaves it only through its jump (a ja that goes somewhere else than the next insn). */
static bool ends_flow(const struct bj_insn *insns, size_t end)
{
	return is_ja(&insns[end]) && bj_insn_target(insns, end) != (long)end + 1;
}

/*
 * The last insn of the block at t when it is straight-line, small and closes a loop that contains the
 * jump at i: at most TAILDUP_MAX_ALU ALU insns, then a conditional jump or ja back to at most i. -1 if not.
 */
static long latch_end(const struct jit_ctx *c, size_t i, long t)
{
	for (long k = t; k < (long)c->n && k <= t + TAILDUP_MAX_ALU; k++) {
		const struct bj_insn *in = &c->insns[k];

		if (c->is_entry[k] || k == (long)i)
			return -1;
		if (duplicable_alu(in))
			continue;
		if (!bj_insn_is_jump(in) || bj_insn_target(c->insns, (size_t)k) > (long)i)
			return -1;
		return is_cond_jump(in) && k + 1 >= (long)c->n ? -1 : k;
	}
	return -1;
}

/*
 * Lowers `jcc t` at insn i (its compare already emitted) with fall-through to insn `fall`: when t is a loop
 * latch laid out before i, j!cc fall and a copy of the latch. The copy is lowered insn by insn as the
 * original is, so fusions inside the block come out the same. Not in checked mode, where a backward
 * jump carries a budget check for its own insn, and not inside a copy. Returns false when not done.
 */
bool lower_taildup(struct jit_ctx *c, size_t i, int cc, long t, size_t fall)
{
	long end = c->checked || c->duplicating || t >= (long)i ? -1 : latch_end(c, i, t);
	size_t k = (size_t)t, used;

	if (end < 0)
		return false;
	emit_jcc_to(c, cc ^ 1, jump_addr(c, (long)fall)); /* j!cc fall */
	c->duplicating = true;
	while (k <= (size_t)end && !c->err) {
		lower_insn(c, k, &used);
		k += used;
	}
	c->duplicating = false;
	if (!ends_flow(c->insns, (size_t)end))
		emit_jmp_to(c, jump_addr(c, (long)k)); /* jmp latch's fall-through */
	return true;
}
