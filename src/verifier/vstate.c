/* SPDX-License-Identifier: Apache-2.0 */
/* States: copies, registers, and the comparison that decides pruning (Linux's states_equal). */
#include <errno.h>
#include <stdlib.h>

#include "verifier/vstate.h"

void vreg_mark_not_init(struct vreg *r)
{
	*r = (struct vreg){ 0 };
}

void vreg_mark_unknown(struct vreg *r)
{
	*r = (struct vreg){ 0 };
	r->type = VT_SCALAR;
	sc_set_unknown(&r->s);
}

void vreg_mark_const(struct vreg *r, uint64_t v)
{
	*r = (struct vreg){ 0 };
	r->type = VT_SCALAR;
	sc_set_const(&r->s, v);
}

bool vreg_is_pointer(const struct vreg *r)
{
	return r->type != VT_SCALAR && r->type != VT_NOT_INIT;
}

bool vreg_is_null_const(const struct vreg *r)
{
	return r->type == VT_SCALAR && sc_is_const(&r->s) && sc_const_value(&r->s) == 0;
}

bool vreg_is_pkt(const struct vreg *r)
{
	return r->type == VT_PKT || r->type == VT_PKT_META;
}

bool v_ptr_leak(const struct venv *env, const struct vreg *r)
{
	return !env->priv && vreg_is_pointer(r);
}

int v_check_read(struct venv *env, uint32_t regno)
{
	struct vframe *f = vcur_frame(env);

	f->scratched |= 1u << regno;
	if (f->regs[regno].type == VT_NOT_INIT)
		return verr(env, EACCES, "R%u !read_ok", regno);
	return 0;
}

void v_mark_written(struct venv *env, uint32_t regno)
{
	struct vframe *f = vcur_frame(env);

	f->scratched |= 1u << regno;
	f->written |= 1u << regno;
}

void v_for_each_reg(struct vstate *st, void (*fn)(struct vreg *r, void *ctx), void *ctx)
{
	for (uint32_t i = 0; i <= st->curframe; i++) {
		struct vframe *f = st->frame[i];

		for (uint32_t r = 0; r < BJ_NREGS; r++)
			fn(&f->regs[r], ctx);
		for (uint32_t s = 0; s < f->nslots; s++)
			if (f->stack[s].kind[7] == SK_SPILL)
				fn(&f->stack[s].spill, ctx);
	}
}

struct vframe *vframe_new(void)
{
	struct vframe *f = calloc(1, sizeof(*f));

	if (f)
		f->callsite = -1;
	return f;
}

void vframe_free(struct vframe *f)
{
	if (!f)
		return;
	vsnap_put(f->snap);
	free(f->stack);
	free(f);
}

struct vframe *vframe_dup(const struct vframe *src)
{
	struct vframe *f = malloc(sizeof(*f));

	if (!f)
		return NULL;
	*f = *src;
	f->stack = NULL;
	if (src->nslots) {
		f->stack = malloc(src->nslots * sizeof(*f->stack));
		if (!f->stack) {
			free(f);
			return NULL;
		}
		memcpy(f->stack, src->stack, src->nslots * sizeof(*f->stack));
	}
	vsnap_get(f->snap);
	return f;
}

int vframe_grow_stack(struct vframe *f, uint32_t nslots)
{
	struct vslot *s;

	if (nslots <= f->nslots)
		return 0;
	s = realloc(f->stack, nslots * sizeof(*s));
	if (!s)
		return -ENOMEM;
	memset(s + f->nslots, 0, (nslots - f->nslots) * sizeof(*s));
	f->stack = s;
	f->nslots = nslots;
	return 0;
}

struct vsnap *vsnap_get(struct vsnap *s)
{
	if (s)
		s->refcnt++;
	return s;
}

void vsnap_put(struct vsnap *s)
{
	if (!s || --s->refcnt)
		return;
	for (uint32_t i = 0; i < s->nframes; i++)
		vframe_free(s->frame[i]);
	free(s);
}

struct vstate *vstate_new(void)
{
	return calloc(1, sizeof(struct vstate));
}

static void vstate_clear(struct vstate *st)
{
	for (uint32_t i = 0; i < V_MAX_FRAMES; i++) {
		vframe_free(st->frame[i]);
		st->frame[i] = NULL;
	}
	vsnap_put(st->reentry);
	st->reentry = NULL;
	free(st->hist);
	st->hist = NULL;
	st->nhist = st->cap_hist = 0;
}

void vstate_free(struct vstate *st)
{
	if (!st)
		return;
	vstate_clear(st);
	free(st);
}

/* dst becomes a deep copy of src (dst's own frames are released first). */
int vstate_copy(struct vstate *dst, const struct vstate *src)
{
	struct vstate tmp = *src;

	for (uint32_t i = 0; i < V_MAX_FRAMES; i++)
		tmp.frame[i] = NULL;
	tmp.hist = NULL;
	tmp.cap_hist = 0;
	if (src->nhist) {
		tmp.hist = malloc(src->nhist * sizeof(*tmp.hist));
		if (!tmp.hist)
			return -ENOMEM;
		memcpy(tmp.hist, src->hist, src->nhist * sizeof(*tmp.hist));
		tmp.cap_hist = src->nhist;
	}
	for (uint32_t i = 0; i <= src->curframe; i++) {
		tmp.frame[i] = vframe_dup(src->frame[i]);
		if (!tmp.frame[i]) {
			for (uint32_t j = 0; j < i; j++)
				vframe_free(tmp.frame[j]);
			free(tmp.hist);
			return -ENOMEM;
		}
	}
	vsnap_get(tmp.reentry);
	vstate_clear(dst);
	*dst = tmp;
	return 0;
}

/*
 * Ids of the old state map one to one onto ids of the current one (Linux's check_ids): two registers
 * that share an id in the explored state must share one in the current state too.
 */
#define IDMAP_MAX 64
struct idmap {
	uint32_t n;
	uint32_t old[IDMAP_MAX], cur[IDMAP_MAX];
};

static bool check_ids(struct idmap *m, uint32_t old, uint32_t cur)
{
	if (!old)
		return true;
	if (!cur)
		return false;
	for (uint32_t i = 0; i < m->n; i++) {
		if (m->old[i] == old)
			return m->cur[i] == cur;
		if (m->cur[i] == cur)
			return false;
	}
	if (m->n == IDMAP_MAX)
		return false;
	m->old[m->n] = old;
	m->cur[m->n++] = cur;
	return true;
}

static bool regs_exact(const struct vreg *a, const struct vreg *b, struct idmap *m)
{
	return a->type == b->type && a->flags == b->flags && a->off == b->off && a->map == b->map &&
	       a->aux == b->aux && a->frameno == b->frameno && sc_equal(&a->s, &b->s) && check_ids(m, a->id, b->id) &&
	       check_ids(m, a->ref_id, b->ref_id);
}

/*
 * Every value cur may hold, old may hold too, as far as the program can tell (Linux's regsafe). A scalar
 * no explored path depended on exactly covers any scalar, unless `range` asks for the ranges themselves.
 */
static bool regsafe(const struct vreg *old, const struct vreg *cur, struct idmap *m, bool exact, bool range)
{
	if (exact)
		return regs_exact(old, cur, m);
	if (old->type == VT_NOT_INIT)
		return true;
	if (old->type != cur->type || old->flags != cur->flags)
		return false;
	switch (old->type) {
	case VT_SCALAR:
		if (!old->precise && !range)
			return true;
		return sc_within(&old->s, &cur->s) && check_ids(m, old->id, cur->id);
	case VT_MAP_VALUE:
	case VT_MAP_KEY:
	case VT_MEM:
		return old->off == cur->off && old->map == cur->map && old->aux == cur->aux &&
		       sc_within(&old->s, &cur->s) && check_ids(m, old->id, cur->id) &&
		       check_ids(m, old->ref_id, cur->ref_id);
	case VT_PKT:
	case VT_PKT_META:
		/* A smaller range explored is safe for a larger current one. */
		return old->aux <= cur->aux && old->off == cur->off && sc_within(&old->s, &cur->s) &&
		       check_ids(m, old->id, cur->id);
	case VT_STACK:
		return old->frameno == cur->frameno && old->off == cur->off && sc_within(&old->s, &cur->s);
	default:
		return regs_exact(old, cur, m);
	}
}

static bool spill_is_scalar(const struct vslot *s)
{
	return s->kind[7] == SK_SPILL && s->spill.type == VT_SCALAR;
}

/*
 * Linux's stacksafe: slots the explored state had invalid (or, privileged, misc) cover anything.
 * range: compare scalar ranges even where no path asked for precision (callback convergence).
 */
static bool stacksafe(const struct venv *env, const struct vframe *old, const struct vframe *cur, struct idmap *m,
		      bool exact, bool range)
{
	for (uint32_t s = 0; s < old->nslots; s++) {
		const struct vslot *o = &old->stack[s];
		const struct vslot *c = s < cur->nslots ? &cur->stack[s] : NULL;
		static const struct vslot invalid;

		if (!c)
			c = &invalid;
		if (exact) {
			if (memcmp(o->kind, c->kind, 8))
				return false;
			if (o->kind[7] == SK_SPILL && !regs_exact(&o->spill, &c->spill, m))
				return false;
			continue;
		}
		for (int i = 0; i < 8; i++) {
			uint8_t ok = o->kind[i], ck = c->kind[i];

			if (ok == SK_INVALID || (env->priv && ok == SK_MISC))
				continue;
			if (ok == SK_MISC && (ck == SK_ZERO || ck == SK_MISC || (ck == SK_SPILL && spill_is_scalar(c))))
				continue;
			if (ok != ck)
				return false;
		}
		if (o->kind[7] == SK_SPILL && !regsafe(&o->spill, &c->spill, m, false, range))
			return false;
	}
	if (exact)
		for (uint32_t s = old->nslots; s < cur->nslots; s++)
			for (int i = 0; i < 8; i++)
				if (cur->stack[s].kind[i] != SK_INVALID)
					return false;
	return true;
}

static bool frame_safe(struct venv *env, const struct vframe *old, const struct vframe *cur, uint16_t live,
		       struct idmap *m, bool exact, bool range)
{
	if (old->callsite != cur->callsite || old->callback != cur->callback)
		return false;
	for (uint32_t r = 0; r < BJ_NREGS; r++) {
		if (!exact && !(live & (1u << r)))
			continue;
		if (!regsafe(&old->regs[r], &cur->regs[r], m, exact, range))
			return false;
	}
	return stacksafe(env, old, cur, m, exact, range);
}

/* Registers whose value the rest of the program may read when frame i of st resumes. */
static uint16_t frame_live(const struct venv *env, const struct vstate *st, uint32_t i)
{
	const struct vframe *callee;

	if (i == st->curframe)
		return env->live[st->insn];
	callee = st->frame[i + 1];
	/* A callback returns to its call, which reads the helper's arguments again. */
	if (callee->callback)
		return env->live[callee->callsite];
	/* A subprogram's caller resumes after the call, where the return writes r0-r5. */
	return env->live[callee->callsite + 1] & ~0x3fu;
}

bool vstates_equal(struct venv *env, const struct vstate *old, const struct vstate *cur, bool exact)
{
	struct idmap m = { 0 };

	if (old->curframe != cur->curframe || old->nrefs != cur->nrefs || old->lock_held != cur->lock_held)
		return false;
	if (old->lock_held && old->lock_map != cur->lock_map)
		return false;
	if (old->lock_held && !check_ids(&m, old->lock_id, cur->lock_id))
		return false;
	for (uint32_t i = 0; i < old->nrefs; i++)
		if (!check_ids(&m, old->refs[i].id, cur->refs[i].id))
			return false;
	for (uint32_t i = 0; i <= old->curframe; i++)
		if (!frame_safe(env, old->frame[i], cur->frame[i], frame_live(env, cur, i), &m, exact, false))
			return false;
	return true;
}

/* For callback iterations: frames of cur are covered by those of old (all registers compared). */
bool vframes_within(struct venv *env, struct vframe *const *old, struct vframe *const *cur, uint32_t n)
{
	struct idmap m = { 0 };

	for (uint32_t i = 0; i < n; i++)
		if (!frame_safe(env, old[i], cur[i], 0x7ff, &m, false, true))
			return false;
	return true;
}

static void widen_reg(const struct vreg *old, struct vreg *cur)
{
	struct idmap m = { 0 };

	if (regsafe(old, cur, &m, false, true)) {
		*cur = *old;
		return;
	}
	if (old->type == VT_SCALAR && cur->type == VT_SCALAR)
		vreg_mark_unknown(cur);
	else
		vreg_mark_not_init(cur);
}

static void widen_slot(const struct vslot *o, struct vslot *c)
{
	bool both_spill = o->kind[7] == SK_SPILL && c->kind[7] == SK_SPILL && !memcmp(o->kind, c->kind, 8);

	if (both_spill) {
		struct idmap m = { 0 };

		if (regsafe(&o->spill, &c->spill, &m, false, true)) {
			c->spill = o->spill;
			return;
		}
		if (o->spill.type == VT_SCALAR && c->spill.type == VT_SCALAR) {
			vreg_mark_unknown(&c->spill);
			return;
		}
	}
	for (int i = 0; i < 8; i++) {
		uint8_t ok = o->kind[i], ck = c->kind[i];

		if (ok == SK_INVALID || ck == SK_INVALID)
			c->kind[i] = SK_INVALID;
		else if (ok != ck || ok == SK_SPILL)
			c->kind[i] = SK_MISC;
	}
	c->spill = (struct vreg){ 0 };
}

void vframes_widen(struct vframe *const *old, struct vframe **cur, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		const struct vframe *o = old[i];
		struct vframe *c = cur[i];

		for (uint32_t r = 0; r < BJ_NREGS; r++)
			widen_reg(&o->regs[r], &c->regs[r]);
		if (o->nslots > c->nslots && vframe_grow_stack(c, o->nslots))
			continue; /* out of memory: the extra slots stay invalid, which only restricts */
		for (uint32_t s = 0; s < c->nslots; s++) {
			static const struct vslot invalid;

			widen_slot(s < o->nslots ? &o->stack[s] : &invalid, &c->stack[s]);
		}
	}
}
