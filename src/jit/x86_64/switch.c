/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Jump tables for compare trees. BPF has no indirect jump, so compilers lower a dense switch to a tree of
 * `if r s> K` / `if r == K` over one register. On unpredictable values such a tree mispredicts about one
 * branch per level and runs a compare and a branch per level; a jump through a table is one indirect
 * branch. In front of the tree's root goes
 *
 *	xor r10d, r10d
 *	cmp R, hi
 *	ja tree                        ; values outside [0, hi] take the tree as it is
 *	cmovbe r10, R                  ; r10 = 0 where a mispredicted ja runs on with R > hi (Spectre v1)
 *	lea r11, [rip + end]
 *	movsxd r10, dword [r11 + r10*4 - 4 * (hi + 1)]
 *	add r10, r11
 *	jmp r10
 * table:	dd dest(0) - end, ..., dest(hi) - end
 * end/tree:	the root's own code, and the rest of the program as usual
 *
 * When the instruction before the root is `and R, mask` and nothing jumps to the root, R is at most mask,
 * architecturally and speculatively: the table covers [0, mask] and the first four instructions go.
 *
 * dest(v) comes from running the tree on v at compile time with the interpreter's semantics, so any mix of
 * signed, unsigned, 32- and 64-bit compares (and jset) stays exact. Only forward jumps are tree nodes: the
 * walk ends. The table is position independent, its size depends on the tree alone (never on addresses),
 * and the movsxd's displacement gives its length to the disassembler.
 */
#include <errno.h>
#include <string.h>

#include "jit/x86_64/x86.h"

#define SWITCH_MAX_NODES 128
#define SWITCH_SEEN_SLOTS 256 /* a power of two above SWITCH_MAX_NODES: the open-addressed set of nodes */
#define SWITCH_MAX_HI 255
#define SWITCH_MIN_COMPARES 4
#define SWITCH_MIN_DESTS 3
/* At most this many table entries per compare: sparse trees keep their compares, not a mostly-default table. */
#define SWITCH_ENTRIES_PER_COMPARE 4
/*
 * Bytes of jump tables per BPF instruction of the program, at most: the reservation allows each instruction
 * JIT_MAX_INSN_BYTES, and no tree (however many roots share its nodes) may use up that slack.
 */
#define SWITCH_BYTES_PER_INSN 8
/* dest() of a value whose path has no address of its own: the root's tree code, after the table. */
#define DEST_TREE ((size_t)-1)

struct switch_tree {
	uint8_t reg;
	bool w32;          /* every compare is JMP32: only the low half of the register matters */
	uint32_t hi;       /* the table covers 0..hi */
	bool bounded;      /* R is at most hi where the root runs: no bounds check */
	size_t n_nodes, n_compares;
	size_t nodes[SWITCH_MAX_NODES];
	size_t seen[SWITCH_SEEN_SLOTS]; /* node + 1, 0 for a free slot: keeps exploring linear in the nodes */
};

static bool is_cond_op(uint8_t op)
{
	switch (op) {
	case BPF_JEQ: case BPF_JGT: case BPF_JGE: case BPF_JSET: case BPF_JNE: case BPF_JSGT:
	case BPF_JSGE: case BPF_JLT: case BPF_JLE: case BPF_JSLT: case BPF_JSLE:
		return true;
	default:
		return false;
	}
}

/* `if reg <op> imm goto t`, t forward. */
static bool is_compare_node(const struct jit_ctx *c, size_t k, uint8_t reg)
{
	const struct bj_insn *in = &c->insns[k];
	uint8_t cls = BJ_CLASS(in->code);

	return (cls == BPF_JMP || cls == BPF_JMP32) && !BJ_SRCBIT(in->code) && is_cond_op(BJ_OP(in->code)) &&
	       in->dst == reg && bj_insn_target(c->insns, k) > (long)k;
}

static bool is_forward_ja(const struct jit_ctx *c, size_t k)
{
	return is_ja(&c->insns[k]) && bj_insn_target(c->insns, k) > (long)k;
}

static bool is_node(const struct jit_ctx *c, size_t k, uint8_t reg)
{
	return is_forward_ja(c, k) || is_compare_node(c, k, reg);
}

/* Whether `if v <op> imm` jumps, as the interpreter decides it. */
static bool compare_taken(const struct bj_insn *in, uint64_t v)
{
	bool w32 = BJ_CLASS(in->code) == BPF_JMP32;
	uint64_t a = w32 ? (uint32_t)v : v;
	uint64_t b = w32 ? (uint32_t)in->imm : (uint64_t)(int64_t)in->imm;
	int64_t sa = w32 ? (int32_t)a : (int64_t)a, sb = w32 ? (int32_t)b : (int64_t)b;

	switch (BJ_OP(in->code)) {
	case BPF_JEQ: return a == b;
	case BPF_JNE: return a != b;
	case BPF_JGT: return a > b;
	case BPF_JGE: return a >= b;
	case BPF_JLT: return a < b;
	case BPF_JLE: return a <= b;
	case BPF_JSET: return (a & b) != 0;
	case BPF_JSGT: return sa > sb;
	case BPF_JSGE: return sa >= sb;
	case BPF_JSLT: return sa < sb;
	default: return sa <= sb;
	}
}

/* The slot of k in the set of seen nodes, or the free slot where it goes. */
static size_t seen_slot(const struct switch_tree *t, size_t k)
{
	size_t s = (size_t)(((uint64_t)k * 0x9e3779b97f4a7c15ull) >> 56) & (SWITCH_SEEN_SLOTS - 1);

	while (t->seen[s] && t->seen[s] != k + 1)
		s = (s + 1) & (SWITCH_SEEN_SLOTS - 1);
	return s;
}

static bool has_node(const struct switch_tree *t, size_t k)
{
	return t->seen[seen_slot(t, k)] != 0;
}

/* Adds k to the tree when it is a node not seen yet; false when the tree outgrows its bound. */
static bool add_node(const struct jit_ctx *c, struct switch_tree *t, size_t k)
{
	size_t s;

	if (k >= c->n)
		return false;
	if (!is_node(c, k, t->reg))
		return true;
	s = seen_slot(t, k);
	if (t->seen[s])
		return true;
	if (t->n_nodes == SWITCH_MAX_NODES)
		return false;
	t->seen[s] = k + 1;
	t->nodes[t->n_nodes++] = k;
	return true;
}

/* The largest constant compared against (not a jset mask) that a small table can cover. */
static void note_constant(struct switch_tree *t, const struct bj_insn *in, int64_t *max_k)
{
	int64_t k = BJ_CLASS(in->code) == BPF_JMP32 ? (int64_t)(uint32_t)in->imm : in->imm;

	if (BJ_OP(in->code) != BPF_JSET && k >= 0 && k < SWITCH_MAX_HI && k > *max_k)
		*max_k = k;
	t->w32 &= BJ_CLASS(in->code) == BPF_JMP32;
}

/*
 * `and R, mask` just before a root that nothing jumps to: R is in [0, mask] there. (The second half of an
 * ld_imm64 has code 0, so it never reads as the and.)
 */
static bool masked_before(const struct jit_ctx *c, size_t root, uint8_t reg, uint32_t *mask)
{
	const struct bj_insn *in;

	if (root == 0 || c->is_target[root] || c->is_entry[root])
		return false;
	in = &c->insns[root - 1];
	if (in->dst != reg)
		return false;
	if (in->code != (BPF_ALU64 | BPF_AND | BPF_K) && in->code != (BPF_ALU | BPF_AND | BPF_K))
		return false;
	if (in->imm < 0 || in->imm > SWITCH_MAX_HI)
		return false;
	*mask = (uint32_t)in->imm;
	return true;
}

/*
 * Collects the nodes reachable from the root (a compare) and the table's range: 0 up to one past the
 * largest constant, so that the first value above them all (the default case of `switch (x & 15)` with
 * cases 0..14) is in the table too.
 */
static bool explore(const struct jit_ctx *c, size_t root, struct switch_tree *t)
{
	int64_t max_k = -1;

	t->reg = c->insns[root].dst;
	t->w32 = true;
	t->n_nodes = 0;
	t->n_compares = 0;
	memset(t->seen, 0, sizeof(t->seen));
	if (!is_compare_node(c, root, t->reg) || !add_node(c, t, root))
		return false;
	for (size_t j = 0; j < t->n_nodes; j++) {
		size_t k = t->nodes[j];
		const struct bj_insn *in = &c->insns[k];
		if (!add_node(c, t, (size_t)bj_insn_target(c->insns, k)))
			return false;
		if (is_ja(in))
			continue;
		t->n_compares++;
		note_constant(t, in, &max_k);
		if (!add_node(c, t, k + 1))
			return false;
	}
	t->hi = (uint32_t)(max_k + 1);
	t->bounded = masked_before(c, root, t->reg, &t->hi);
	return (max_k >= 0 || t->bounded) && t->n_compares >= SWITCH_MIN_COMPARES &&
	       t->hi + 1 <= SWITCH_ENTRIES_PER_COMPARE * t->n_compares;
}

/*
 * Where the code for value v goes: its leaf, or when the leaf is only fallen into (and so may share code
 * with the compare before it) the last node on v's path that a jump lands on, DEST_TREE when none.
 */
static size_t dest_of(const struct jit_ctx *c, const struct switch_tree *t, size_t root, uint64_t v)
{
	size_t k = root, resume = DEST_TREE;

	while (is_node(c, k, t->reg)) {
		bool jumps = is_ja(&c->insns[k]) || compare_taken(&c->insns[k], v);
		if (k != root && c->is_target[k])
			resume = k;
		k = jumps ? (size_t)bj_insn_target(c->insns, k) : k + 1;
	}
	return c->is_target[k] ? k : resume;
}

static size_t count_dests(const size_t *dest, uint32_t hi)
{
	size_t other = dest[0], n = 1;

	for (uint32_t v = 1; v <= hi && n < SWITCH_MIN_DESTS; v++) {
		if (dest[v] == dest[0] || (n > 1 && dest[v] == other))
			continue;
		other = dest[v];
		n++;
	}
	return n;
}

/* A node of the tree that last got a table: it is reached through that table, a second one is dead weight. */
static bool inside_last_table_tree(const struct jit_ctx *c, size_t i)
{
	struct switch_tree last;

	return c->switch_root && explore(c, c->switch_root - 1, &last) && has_node(&last, i);
}

/* movsxd r10, dword [r11 + index*4 - table_len] */
static void emit_load_entry(struct jit_ctx *c, int index, uint32_t table_len)
{
	int32_t disp = -(int32_t)table_len;
	bool short_disp = table_len <= 128;

	emit1(c, (uint8_t)(0x4d | (index & 8 ? 2 : 0)));
	emit1(c, 0x63);
	emit1(c, short_disp ? 0x54 : 0x94);
	emit1(c, (uint8_t)(0x80 | (index & 7) << 3 | (AUX2 & 7)));
	if (short_disp)
		emit1(c, (uint8_t)disp);
	else
		emit_bytes(c, &disp, 4);
}

/* From the lea to the table: lea r11 (7), the movsxd (5 or 8), add r10, r11 (3), jmp r10 (3). */
static uint32_t jump_len(uint32_t table_len)
{
	return 7 + (table_len <= 128 ? 5 : 8) + 3 + 3;
}

/*
 * lea r11, [rip + end]; movsxd r10, [r11 + index*4 - table_len]; add r10, r11; jmp r10. No int3 after the
 * jmp: on the AMD EPYC this was measured on, it made dswitch about a third slower.
 */
static void emit_table_jump(struct jit_ctx *c, int index, uint32_t table_len)
{
	size_t start = c->len;
	uint32_t to_end = jump_len(table_len) - 7 + table_len;

	emit_bytes(c, "\x4c\x8d\x1d", 3);                            /* lea r11, [rip + end] */
	emit_bytes(c, &to_end, 4);
	emit_load_entry(c, index, table_len);
	emit_alu_rr(c, 0x01, true, AUX1, AUX2);                        /* add r10, r11 */
	emit_bytes(c, "\x41\xff\xe2", 3);                            /* jmp r10 */
	if (c->len - start != jump_len(table_len))
		emit_fail(c, EFAULT, "internal error: jump table dispatch size");
}

/* ja over the rest of the dispatch and the table: rel8 or rel32, chosen by the table's size alone */
static void emit_ja_over(struct jit_ctx *c, uint32_t skip)
{
	if (skip <= 127) {
		emit1(c, 0x77);
		emit1(c, (uint8_t)skip);
	} else {
		emit1(c, 0x0f);
		emit1(c, 0x87);
		emit_bytes(c, &skip, 4);
	}
}

/* r10 = R, or 0 when R > hi: the bounds check, also for code run past a mispredicted ja. */
static void emit_bounded_index(struct jit_ctx *c, const struct switch_tree *t, int r, uint32_t table_len)
{
	emit_alu_rr(c, 0x31, false, AUX1, AUX1);                     /* xor r10d, r10d */
	emit_alu_ri(c, 7, !t->w32, r, (int32_t)t->hi);               /* cmp R, hi */
	emit_ja_over(c, 4 + jump_len(table_len) + table_len);        /* ja tree */
	emit1(c, (uint8_t)(0x44 | (t->w32 ? 0 : 8) | (r & 8 ? 1 : 0)));
	emit1(c, 0x0f);
	emit1(c, 0x46);
	emit1(c, (uint8_t)(0xc0 | (AUX1 & 7) << 3 | (r & 7)));      /* cmovbe r10, R */
}

static void emit_dispatch(struct jit_ctx *c, const struct switch_tree *t, const size_t *dest)
{
	int r = reg_map[t->reg];
	uint32_t table_len = 4 * (t->hi + 1), end;

	if (t->bounded) {
		emit_table_jump(c, r, table_len);
	} else {
		emit_bounded_index(c, t, r, table_len);
		emit_table_jump(c, AUX1, table_len);
	}
	end = (uint32_t)c->len + table_len;
	for (uint32_t v = 0; v <= t->hi; v++) {
		uint32_t to = dest[v] == DEST_TREE ? end : jump_addr(c, (long)dest[v]);
		int32_t rel = (int32_t)(to - end);
		emit_bytes(c, &rel, 4);
	}
}

void lower_switch_table(struct jit_ctx *c, size_t i)
{
	size_t dest[SWITCH_MAX_HI + 1];
	struct switch_tree t;

	if (c->checked || c->blind || !explore(c, i, &t) || inside_last_table_tree(c, i))
		return;
	for (uint32_t v = 0; v <= t.hi; v++)
		dest[v] = dest_of(c, &t, i, v);
	if (count_dests(dest, t.hi) < SWITCH_MIN_DESTS)
		return;
	if (c->switch_bytes + 4 * (t.hi + 1) > SWITCH_BYTES_PER_INSN * c->n)
		return;
	c->switch_bytes += 4 * (t.hi + 1);
	c->switch_root = i + 1;
	emit_dispatch(c, &t, dest);
}
