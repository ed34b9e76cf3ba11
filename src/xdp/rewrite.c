/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The batch rewrite (after Intel's 2019 batched-XDP proof of concept, shared/spec/xdp.md): the program runs
 * once per batch and loops over the frames itself.
 *
 *   prologue:  end = r1 + r2 * 32           one past the last slot
 *              cur = r1                     the current frame's context
 *   body:      the main program, every exit a jump to the epilogue; bpf_redirect*() calls get cur as an extra
 *              argument (BJ_XDP_FN_REDIRECT_AT, BJ_XDP_FN_REDIRECT_MAP_AT) so that no call per frame is needed
 *              to say which frame runs
 *   epilogue:  cur->action = r0; r1 = cur += 32; loop while cur != end
 *   subprograms, unchanged but for their call and jump offsets
 *
 * cur and end live in callee-saved registers (r9, r8, ...) that the program never names, so a frame costs no
 * stack traffic; otherwise in stack slots below the program's own stack, whose offsets then move down by 8 per
 * slot (8-byte steps keep every shifted slot aligned). Pointers derived from r10 (`rX = r10; rX += -k`) move
 * too, so the program's objects keep their relative layout. Nothing in BPF can prefetch: the runner prefetches
 * the batch's packets while it fills the contexts, and the native loop (loop_x86.c) the next frame's.
 */
#include <errno.h>
#include <stdlib.h>

#include "isa/isa.h"
#include "xdp/xdp_int.h"

#define FN_TAIL_CALL 12
#define SLOT_SHIFT 5
_Static_assert(BJ_XDP_SLOT_SIZE == 1 << SLOT_SHIFT, "the prologue scales the frame count by a shift");
#define PROLOGUE_LEN 4

/* Where the loop keeps its cursor and end pointer: a register (r6-r9) or a stack slot (r10 + off). */
struct loc {
	int reg;       /* -1: on the stack */
	int16_t off;
};

struct plan {
	size_t main_end;
	struct loc cur, end;
	int16_t shift; /* bytes the loop's stack slots take below the program's stack */
	bool reads_ctx;/* the body needs r1 = the context (else a register cursor is not copied to r1) */
	unsigned subst;
	size_t epi, epi_len;
};

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

/* A call of bpf_redirect or bpf_redirect_map that the rewrite gives the frame (`subst`: BJ_XDP_SUBST_*). */
static bool is_redirect_call(const struct bj_insn *in, unsigned subst)
{
	if (in->code != (BPF_JMP | BPF_CALL) || in->src != 0)
		return false;
	return (in->imm == BJ_XDP_FN_REDIRECT && (subst & BJ_XDP_SUBST_REDIRECT)) ||
	       (in->imm == BJ_XDP_FN_REDIRECT_MAP && (subst & BJ_XDP_SUBST_REDIRECT_MAP));
}

/* A subprogram does not see the loop's cursor, so it cannot tell bpf_redirect*() which frame runs. */
static int check_subprog_redirects(const struct bj_insn *insns, size_t n, size_t main_end, unsigned subst,
				   struct bj_error *err)
{
	for (size_t i = main_end; i < n; i++) {
		if (is_redirect_call(&insns[i], subst))
			return bj_fail(err, EOPNOTSUPP, (long)i, -1,
				       "batch rewrite: helper %d called from a subprogram at insn %zu", insns[i].imm, i);
		if (bj_insn_is_lddw(&insns[i]))
			i++;
	}
	return 0;
}

/* Callee-saved registers no instruction names (a field that is not a register counts too: conservative). */
static void choose_locations(const struct bj_insn *insns, size_t n, struct plan *pl)
{
	bool used[BJ_NREGS] = { false };
	int16_t next_off = 0;
	int free_regs[2], n_free = 0;

	for (size_t i = 0; i < n; i++) {
		used[insns[i].dst % BJ_NREGS] = true;
		used[insns[i].src % BJ_NREGS] = true;
	}
	for (int r = BPF_REG_9; r >= BPF_REG_6 && n_free < 2; r--)
		if (!used[r])
			free_regs[n_free++] = r;
	pl->cur = n_free > 0 ? (struct loc){ free_regs[0], 0 } : (struct loc){ -1, next_off -= 8 };
	pl->end = n_free > 1 ? (struct loc){ free_regs[1], 0 } : (struct loc){ -1, next_off -= 8 };
	pl->shift = (int16_t)-next_off;
	pl->epi_len = (pl->cur.reg >= 0 ? 2 + pl->reads_ctx : 4) + (pl->end.reg >= 0 ? 1 : 2) + 2;
}

#define R0_R5 0x3fu
#define R1_R5 0x3eu

/* The context fields (bit k: bytes 4k..4k+3) a load of `size` bytes at `off` touches, or all for a bad one. */
static uint32_t fields_of(int16_t off, unsigned size)
{
	uint32_t f = 0;

	if (off < 0 || off + (int)size > (int)sizeof(struct bj_xdp_md))
		return BJ_XDP_CTX_ALL;
	for (int b = off / 4; b <= (off + (int)size - 1) / 4; b++)
		f |= 1u << b;
	return f;
}

/*
 * One instruction's effect on the set of registers that may hold the context pointer (`live`, bit r): the set
 * after it in *out, the fields it reads into *fields. False for any use of the context other than a load
 * through it or a 64-bit copy (arithmetic, stores, spills, compares, calls that receive it): then every field
 * counts as read.
 */
static bool ctx_step(const struct bj_insn *in, uint32_t live, uint32_t *out, uint32_t *fields)
{
	uint8_t cls = BJ_CLASS(in->code), op = BJ_OP(in->code);
	bool x = BJ_SRCBIT(in->code), dst_ctx = live >> in->dst & 1, src_ctx = live >> in->src & 1;
	uint32_t def = 1u << in->dst;

	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (op == BPF_MOV) {
			if (x && src_ctx && !(cls == BPF_ALU64 && in->off == 0))
				return false;
			*out = (live & ~def) | (x && src_ctx ? def : 0);
			return true;
		}
		if (dst_ctx || (x && src_ctx))
			return false;
		*out = live;
		return true;
	case BPF_LDX:
		if (src_ctx) {
			if (BJ_MODE(in->code) != BPF_MEM)
				return false;
			*fields |= fields_of(in->off, bj_size_bytes(in->code));
		}
		*out = live & ~def;
		return true;
	case BPF_ST:
		*out = live;
		return !dst_ctx;
	case BPF_STX:
		/* Atomics that write src or r0 leave them counted as possible copies: more fields, never fewer. */
		*out = live;
		return !dst_ctx && !src_ctx;
	case BPF_LD:
		*out = live & ~def;
		return bj_insn_is_lddw(in);
	default: /* BPF_JMP, BPF_JMP32 */
		if (op == BPF_CALL) {
			/* A helper may take the context from r1-r5; a subprogram sees the caller's r6-r9 too. */
			if ((live & R1_R5) || ((in->src != 0 || x) && live))
				return false;
			*out = live & ~R0_R5;
			return true;
		}
		*out = op == BPF_EXIT ? 0 : live;
		return op == BPF_EXIT || op == BPF_JA || op == BPF_JCOND || !(dst_ctx || (x && src_ctx));
	}
}

/* Where control goes after insn i (at most two places, -1 for none). */
static void successors(const struct bj_insn *insns, size_t i, long next[2])
{
	const struct bj_insn *in = &insns[i];
	uint8_t cls = BJ_CLASS(in->code), op = BJ_OP(in->code);

	next[0] = (long)i + (bj_insn_is_lddw(in) ? 2 : 1);
	next[1] = -1;
	if ((cls != BPF_JMP && cls != BPF_JMP32) || op == BPF_CALL)
		return;
	if (op == BPF_EXIT) {
		next[0] = -1;
	} else if (op == BPF_JA) {
		next[0] = bj_insn_target(insns, i);
	} else {
		next[1] = bj_insn_target(insns, i);
	}
}

uint32_t bj_xdp_ctx_fields(const struct bj_insn *insns, size_t n)
{
	/* Forward to a fixed point over the registers that may hold the context; only instructions that the
	 * context reaches are visited, since a state without it reads nothing. */
	uint16_t *live = calloc(n, sizeof(*live));
	/* An instruction is queued again only when its set grows, at most once per register r0-r9. */
	size_t *work = malloc(10 * n * sizeof(*work) + 1), top = 0;
	uint32_t fields = 0;

	if (!live || !work || !n) {
		fields = BJ_XDP_CTX_ALL;
		goto out;
	}
	live[0] = 1u << BPF_REG_1;
	work[top++] = 0;
	while (top && fields != BJ_XDP_CTX_ALL) {
		size_t i = work[--top];
		uint32_t after;
		long next[2];

		if (!ctx_step(&insns[i], live[i], &after, &fields)) {
			fields = BJ_XDP_CTX_ALL;
			break;
		}
		successors(insns, i, next);
		for (int k = 0; k < 2 && after; k++) {
			if (next[k] < 0)
				continue;
			if ((size_t)next[k] >= n) {
				fields = BJ_XDP_CTX_ALL;
				break;
			}
			if ((live[next[k]] | after) != live[next[k]]) {
				live[next[k]] |= (uint16_t)after;
				work[top++] = (size_t)next[k];
			}
		}
	}
out:
	free(live);
	free(work);
	return fields;
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
static int main_insn_len(const struct bj_insn *insns, size_t i, const struct plan *pl, unsigned *depth,
			 struct bj_error *err)
{
	const struct bj_insn *in = &insns[i];
	uint8_t cls = BJ_CLASS(in->code);

	if (is_mov_r10(in)) {
		const struct bj_insn *next = i + 1 < pl->main_end ? &insns[i + 1] : NULL;

		if (!next || next->code != (BPF_ALU64 | BPF_ADD | BPF_K) || next->dst != in->dst || next->imm > 0)
			return bj_fail(err, EOPNOTSUPP, (long)i, -1,
				       "batch rewrite: copy of r10 at insn %zu without a constant offset", i);
		if ((unsigned)-next->imm > *depth)
			*depth = (unsigned)-next->imm;
		return pl->shift ? 2 : 1;
	}
	if (uses_r10_base(in)) {
		if (cls == BPF_STX && in->src == BPF_REG_10)
			return bj_fail(err, EOPNOTSUPP, (long)i, -1, "batch rewrite: r10 stored at insn %zu", i);
		if (in->off > 0 || in->off - pl->shift < INT16_MIN)
			return bj_fail(err, EOPNOTSUPP, (long)i, -1,
				       "batch rewrite: stack offset %d at insn %zu", in->off, i);
		if ((unsigned)-in->off > *depth)
			*depth = (unsigned)-in->off;
		return 1;
	}
	if ((cls == BPF_ALU || cls == BPF_ALU64 || cls == BPF_JMP || cls == BPF_JMP32 || cls == BPF_STX) &&
	    BJ_SRCBIT(in->code) && in->src == BPF_REG_10 && in->code != BJ_CALLX)
		return bj_fail(err, EOPNOTSUPP, (long)i, -1, "batch rewrite: r10 used as a value at insn %zu", i);
	return is_redirect_call(in, pl->subst) ? 2 : 1;
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

/* dst = the loop's location l. */
static struct bj_insn load_loc(uint8_t dst, struct loc l)
{
	return l.reg >= 0 ? insn(BPF_ALU64 | BPF_MOV | BPF_X, dst, (uint8_t)l.reg, 0, 0)
			  : insn(BPF_LDX | BPF_MEM | BPF_DW, dst, BPF_REG_10, l.off, 0);
}

/* The loop's location l = src. */
static struct bj_insn store_loc(struct loc l, uint8_t src)
{
	return l.reg >= 0 ? insn(BPF_ALU64 | BPF_MOV | BPF_X, (uint8_t)l.reg, src, 0, 0)
			  : insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_10, src, l.off, 0);
}

/* Copies insn i to out[p] (and p + 1) with its jump or call offset moved to the new layout. */
static int emit_moved(const struct bj_insn *insns, size_t i, const struct plan *pl, const size_t *new_idx,
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
	if (i >= pl->main_end)
		return 0;
	if (in->code == (BPF_JMP | BPF_EXIT)) {
		out[p] = insn(BPF_JMP | BPF_JA, 0, 0, 0, 0);
		return set_rel(out, p, (long)pl->epi, false, err);
	}
	if (is_redirect_call(in, pl->subst)) {
		bool map = in->imm == BJ_XDP_FN_REDIRECT_MAP;

		/* The first argument register the helper leaves unused; calls clobber r1-r5 anyway. */
		out[p] = load_loc(map ? BPF_REG_4 : BPF_REG_3, pl->cur);
		out[p + 1] = insn(BPF_JMP | BPF_CALL, 0, 0, 0, map ? BJ_XDP_FN_REDIRECT_MAP_AT : BJ_XDP_FN_REDIRECT_AT);
		return 0;
	}
	if (is_mov_r10(in) && pl->shift) {
		out[p + 1] = insn(BPF_ALU64 | BPF_ADD | BPF_K, in->dst, 0, 0, -pl->shift);
		return 0;
	}
	if (uses_r10_base(in))
		out[p].off = (int16_t)(in->off - pl->shift);
	return 0;
}

static void emit_prologue(struct bj_insn *out, const struct plan *pl)
{
	size_t p = 0;

	out[p++] = insn(BPF_ALU64 | BPF_LSH | BPF_K, BPF_REG_2, 0, 0, SLOT_SHIFT);
	out[p++] = insn(BPF_ALU64 | BPF_ADD | BPF_X, BPF_REG_2, BPF_REG_1, 0, 0);
	out[p++] = store_loc(pl->end, BPF_REG_2);
	out[p++] = store_loc(pl->cur, BPF_REG_1);
}

static void emit_epilogue(struct bj_insn *out, const struct plan *pl)
{
	uint8_t next = BPF_REG_1; /* holds the next context when the loop tests for the end */
	size_t p = pl->epi;

	if (pl->cur.reg >= 0) {
		uint8_t c = (uint8_t)pl->cur.reg;

		out[p++] = insn(BPF_STX | BPF_MEM | BPF_DW, c, BPF_REG_0, BJ_XDP_SLOT_ACTION, 0);
		out[p++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, c, 0, 0, BJ_XDP_SLOT_SIZE);
		if (pl->reads_ctx)
			out[p++] = insn(BPF_ALU64 | BPF_MOV | BPF_X, BPF_REG_1, c, 0, 0);
		else
			next = c;
	} else {
		out[p++] = load_loc(BPF_REG_1, pl->cur);
		out[p++] = insn(BPF_STX | BPF_MEM | BPF_DW, BPF_REG_1, BPF_REG_0, BJ_XDP_SLOT_ACTION, 0);
		out[p++] = insn(BPF_ALU64 | BPF_ADD | BPF_K, BPF_REG_1, 0, 0, BJ_XDP_SLOT_SIZE);
		out[p++] = store_loc(pl->cur, BPF_REG_1);
	}
	if (pl->end.reg >= 0) {
		out[p] = insn(BPF_JMP | BPF_JNE | BPF_X, next, (uint8_t)pl->end.reg, 0, 0);
	} else {
		out[p++] = load_loc(BPF_REG_2, pl->end);
		out[p] = insn(BPF_JMP | BPF_JNE | BPF_X, next, BPF_REG_2, 0, 0);
	}
	out[p].off = (int16_t)((long)PROLOGUE_LEN - (long)(p + 1));
	p++;
	out[p++] = insn(BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	out[p] = insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
}

/* new_idx[i]: where insn i lands (n + 1 entries), and in pl->epi where the epilogue starts. */
static int layout(const struct bj_insn *insns, size_t n, struct plan *pl, size_t *new_idx, struct bj_error *err)
{
	unsigned depth = 0;
	size_t p = PROLOGUE_LEN;

	for (size_t i = 0; i < pl->main_end; i++) {
		int len = main_insn_len(insns, i, pl, &depth, err);

		if (len < 0)
			return len;
		new_idx[i] = p;
		p += (size_t)len;
		if (bj_insn_is_lddw(&insns[i]))
			new_idx[++i] = p++;
	}
	if (depth + (unsigned)pl->shift > BJ_STACK_SIZE)
		return bj_fail(err, E2BIG, -1, -1,
			       "batch rewrite: stack of %u bytes plus the %d the loop reserves exceeds %u", depth,
			       pl->shift, BJ_STACK_SIZE);
	pl->epi = p;
	p += pl->epi_len;
	for (size_t i = pl->main_end; i <= n; i++)
		new_idx[i] = p + (i - pl->main_end);
	return 0;
}

int bj_xdp_rewrite(const struct bj_insn *insns, size_t n, unsigned subst, struct bj_insn **out, size_t *out_n,
		   struct bj_error *err)
{
	struct plan pl = { .subst = subst };
	size_t *new_idx = NULL, total;
	struct bj_insn *o = NULL;
	int ret;

	ret = find_main_end(insns, n, &pl.main_end, err);
	if (!ret)
		ret = check_subprog_redirects(insns, n, pl.main_end, subst, err);
	if (ret)
		return ret;
	pl.reads_ctx = bj_xdp_ctx_fields(insns, n) != 0;
	choose_locations(insns, n, &pl);
	new_idx = calloc(n + 1, sizeof(*new_idx));
	if (!new_idx)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	ret = layout(insns, n, &pl, new_idx, err);
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
	emit_prologue(o, &pl);
	emit_epilogue(o, &pl);
	for (size_t i = 0; i < n && !ret; i++) {
		ret = emit_moved(insns, i, &pl, new_idx, o, new_idx[i], err);
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
