/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Precision, as Linux's mark_chain_precision: scalars are compared loosely when pruning unless some explored
 * path depended on their exact range (pointer arithmetic, sizes, branches decided by it, callback return
 * values). When a path does, the registers and stack slots the value came from are found by walking the
 * instructions back, and every explored state on the way is marked.
 */
#include <errno.h>
#include <stdlib.h>

#include "verifier/vstate.h"

int v_hist_push(struct venv *env, uint32_t idx)
{
	struct vstate *st = env->cur;

	if (st->nhist == st->cap_hist) {
		uint32_t cap = st->cap_hist ? 2 * st->cap_hist : 16;
		struct vhist *h = realloc(st->hist, cap * sizeof(*h));

		if (!h)
			return verr(env, ENOMEM, "out of memory");
		st->hist = h;
		st->cap_hist = cap;
	}
	st->hist[st->nhist++] = (struct vhist){ .idx = idx, .frame = (uint8_t)st->curframe, .spi = -1 };
	return 0;
}

void v_hist_stack(struct venv *env, uint32_t frame, int64_t addr)
{
	struct vstate *st = env->cur;

	if (!st->nhist)
		return;
	st->hist[st->nhist - 1].sframe = (uint8_t)frame;
	st->hist[st->nhist - 1].spi = (int8_t)((-addr - 1) / 8);
}

static bool masks_empty(const struct vmasks *m)
{
	for (int i = 0; i < V_MAX_FRAMES; i++)
		if (m->reg[i] || m->stk[i])
			return false;
	return true;
}

#define BIT(r) ((uint16_t)(1u << (r)))

static void back_alu(const struct bj_insn *in, uint16_t *r)
{
	uint8_t op = BJ_OP(in->code);

	if (!(*r & BIT(in->dst)))
		return;
	if (op == BPF_MOV)
		*r &= (uint16_t)~BIT(in->dst);
	if (BJ_SRCBIT(in->code) == BPF_X && op != BPF_NEG && op != BPF_END)
		*r |= BIT(in->src);
}

static void back_stx(const struct bj_insn *in, const struct vhist *h, uint16_t *r, struct vmasks *m)
{
	uint64_t bit = h->spi >= 0 ? 1ull << h->spi : 0;
	int fetch = -1;

	if (BJ_MODE(in->code) != BPF_ATOMIC) {
		if (bit && (m->stk[h->sframe] & bit)) {
			m->stk[h->sframe] &= ~bit;
			*r |= BIT(in->src);
		}
		return;
	}
	if (in->imm == BPF_CMPXCHG)
		fetch = BPF_REG_0;
	else if (in->imm & BPF_FETCH)
		fetch = in->src;
	if (fetch >= 0 && (*r & BIT(fetch))) {
		*r &= (uint16_t)~BIT(fetch);
		if (bit)
			m->stk[h->sframe] |= bit;
	}
	if (bit && (m->stk[h->sframe] & bit)) {
		*r |= BIT(in->src);
		if (in->imm == BPF_CMPXCHG)
			*r |= BIT(BPF_REG_0);
	}
}

/* Undoes one instruction on the masks: what it defined is replaced by what it read. */
static void back_insn(const struct venv *env, const struct vhist *h, uint32_t later_frame, struct vmasks *m)
{
	const struct bj_insn *in = &env->insns[h->idx];
	uint32_t f = h->frame;
	uint16_t *r = &m->reg[f];
	uint64_t bit = h->spi >= 0 ? 1ull << h->spi : 0;

	switch (BJ_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		back_alu(in, r);
		return;
	case BPF_LDX:
		if (*r & BIT(in->dst)) {
			*r &= (uint16_t)~BIT(in->dst);
			if (bit)
				m->stk[h->sframe] |= bit;
		}
		return;
	case BPF_ST:
		if (bit)
			m->stk[h->sframe] &= ~bit;
		return;
	case BPF_STX:
		back_stx(in, h, r, m);
		return;
	case BPF_LD:
		*r &= in->code == BJ_LDDW ? (uint16_t)~BIT(in->dst) : (uint16_t)~0x3fu;
		return;
	default:
		break;
	}
	switch (BJ_OP(in->code)) {
	case BPF_CALL:
		if (later_frame == f + 1 && f + 1 < V_MAX_FRAMES) {
			/* Into a subprogram (its r1-r5 are the caller's) or a callback (pointers and unknowns). */
			if (in->src == BPF_PSEUDO_CALL)
				*r |= m->reg[f + 1] & 0x3e;
			m->reg[f + 1] = 0;
			m->stk[f + 1] = 0;
		} else {
			*r &= (uint16_t)~0x3fu;
		}
		return;
	case BPF_EXIT:
		if (h->flags & HF_CB_EXIT) {
			*r = 0;
		} else if (f > 0 && (m->reg[f - 1] & 1)) {
			m->reg[f - 1] &= (uint16_t)~1u;
			*r |= 1;
		}
		return;
	case BPF_JA:
		return;
	default:
		/* A branch may have narrowed values linked to its operands: they matter as much. */
		if (!masks_empty(m)) {
			*r |= BIT(in->dst);
			if (BJ_SRCBIT(in->code) == BPF_X)
				*r |= BIT(in->src);
		}
		return;
	}
}

struct link_mark {
	uint32_t id;
	bool changed;
};

static void mark_linked(struct vreg *r, void *ctx)
{
	struct link_mark *l = ctx;

	if (r->type == VT_SCALAR && r->id == l->id && !r->precise) {
		r->precise = 1;
		l->changed = true;
	}
}

/* Adds to the masks the registers and slots of st linked to a masked scalar (same id). */
static void add_linked(struct vstate *st, struct vmasks *m)
{
	for (uint32_t fr = 0; fr <= st->curframe; fr++) {
		struct vframe *f = st->frame[fr];

		for (uint32_t r = 0; r < BJ_NREGS; r++) {
			struct link_mark l = { f->regs[r].id, false };

			if ((m->reg[fr] & BIT(r)) && f->regs[r].type == VT_SCALAR && l.id)
				v_for_each_reg(st, mark_linked, &l);
		}
	}
	for (uint32_t fr = 0; fr <= st->curframe; fr++) {
		struct vframe *f = st->frame[fr];

		for (uint32_t r = 0; r < BJ_NREGS; r++)
			if (f->regs[r].type == VT_SCALAR && f->regs[r].precise && f->regs[r].id)
				m->reg[fr] |= BIT(r);
		for (uint32_t s = 0; s < f->nslots && s < 64; s++)
			if (f->stack[s].kind[7] == SK_SPILL && f->stack[s].spill.type == VT_SCALAR &&
			    f->stack[s].spill.precise && f->stack[s].spill.id)
				m->stk[fr] |= 1ull << s;
	}
}

enum { MARK_LOST, MARK_DONE, MARK_GO_ON };

static bool mark_one(struct vreg *r)
{
	bool was = r->precise;

	r->precise = 1;
	return !was;
}

/*
 * Marks in st what the masks name. MARK_DONE when all of it was marked already (the states above were
 * marked then), MARK_LOST when the masks name frames st does not have.
 */
static int mark_thin(struct vexplored *e, const struct vmasks *m)
{
	bool news = false;

	for (uint32_t fr = 0; fr < V_MAX_FRAMES; fr++) {
		news |= (m->reg[fr] & ~e->done.reg[fr]) || (m->stk[fr] & ~e->done.stk[fr]);
		e->done.reg[fr] |= m->reg[fr];
		e->done.stk[fr] |= m->stk[fr];
	}
	return news ? MARK_GO_ON : MARK_DONE;
}

static int mark_state(struct vexplored *e, struct vmasks *m)
{
	struct vstate *st = &e->st;
	bool news = false;

	for (uint32_t fr = st->curframe + 1; fr < V_MAX_FRAMES; fr++)
		if (m->reg[fr] || m->stk[fr])
			return MARK_LOST;
	if (e->thin)
		return mark_thin(e, m);
	for (uint32_t fr = 0; fr <= st->curframe; fr++) {
		struct vframe *f = st->frame[fr];

		for (uint32_t r = 0; r < BJ_NREGS; r++)
			if ((m->reg[fr] & BIT(r)) && f->regs[r].type == VT_SCALAR)
				news |= mark_one(&f->regs[r]);
		for (uint32_t s = 0; s < 64; s++) {
			if (!(m->stk[fr] & (1ull << s)))
				continue;
			if (s < f->nslots && f->stack[s].kind[7] == SK_SPILL && f->stack[s].spill.type == VT_SCALAR)
				news |= mark_one(&f->stack[s].spill);
		}
	}
	if (!news)
		return MARK_DONE;
	add_linked(st, m);
	return MARK_GO_ON;
}

static void mark_scalar(struct vreg *r, void *ctx)
{
	(void)ctx;
	if (r->type == VT_SCALAR)
		r->precise = 1;
}

static void backtrack(struct venv *env, struct vmasks *m, bool skip_current)
{
	struct vstate *st = env->cur;
	const struct vhist *h = st->hist;
	uint32_t n = st->nhist - (skip_current && st->nhist ? 1 : 0);
	uint32_t later = st->curframe;
	struct vexplored *e = st->parent;

	for (;;) {
		for (uint32_t i = n; i-- > 0;) {
			back_insn(env, &h[i], later, m);
			later = h[i].frame;
			if (masks_empty(m))
				return;
		}
		if (!e)
			return;
		int res = mark_state(e, m);

		if (res == MARK_DONE)
			return;
		if (res == MARK_LOST)
			break;
		h = e->st.hist;
		n = e->st.nhist;
		later = e->st.curframe;
		e = e->parent;
	}
	/* The walk lost track (it should not): every scalar of every state above is exact from now on. */
	for (; e; e = e->parent)
		if (!e->thin)
			v_for_each_reg(&e->st, mark_scalar, NULL);
}

int v_hist_cut(struct venv *env)
{
	struct vstate *cur = env->cur;
	struct vexplored *e;

	if (cur->nhist < V_HIST_SEGMENT)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return verr(env, ENOMEM, "out of memory");
	e->thin = true;
	e->branches = 1;
	e->parent = cur->parent;
	e->st.curframe = cur->curframe;
	e->st.hist = cur->hist;
	e->st.nhist = cur->nhist;
	e->st.cap_hist = cur->cap_hist;
	cur->hist = NULL;
	cur->nhist = cur->cap_hist = 0;
	cur->parent = e;
	e->next = env->retired;
	env->retired = e;
	return 0;
}

void v_mark_precise(struct venv *env, uint32_t regno)
{
	struct vmasks m = { 0 };
	struct vreg *r = &vcur_regs(env)[regno];

	if (r->type != VT_SCALAR)
		return;
	r->precise = 1;
	m.reg[env->cur->curframe] = BIT(regno);
	backtrack(env, &m, true);
}

void v_mark_precise_slot(struct venv *env, uint32_t frame, uint32_t spi)
{
	struct vmasks m = { 0 };

	if (frame >= V_MAX_FRAMES || spi >= 64)
		return;
	m.stk[frame] = 1ull << spi;
	backtrack(env, &m, true);
}

void v_propagate_precision(struct venv *env, const struct vexplored *e)
{
	struct vmasks m = { 0 };

	for (uint32_t fr = 0; fr <= e->st.curframe; fr++) {
		const struct vframe *f = e->st.frame[fr];

		for (uint32_t r = 0; r < BJ_NREGS; r++)
			if (f->regs[r].type == VT_SCALAR && f->regs[r].precise)
				m.reg[fr] |= BIT(r);
		for (uint32_t s = 0; s < f->nslots && s < 64; s++)
			if (f->stack[s].kind[7] == SK_SPILL && f->stack[s].spill.type == VT_SCALAR &&
			    f->stack[s].spill.precise)
				m.stk[fr] |= 1ull << s;
	}
	if (!masks_empty(&m))
		backtrack(env, &m, false);
}
