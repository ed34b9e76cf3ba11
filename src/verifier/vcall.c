/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Calls: helper prototypes (Linux's bpf_func_proto of the helpers bpfjet provides), map compatibility,
 * references of ring-buffer reservations, bpf_spin_lock, bpf-to-bpf calls, callbacks of bpf_loop and
 * bpf_for_each_map_elem, and exits.
 */
#include <bpfjet/map.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include "verifier/vstate.h"

enum varg {
	A_NONE = 0,
	A_ANY,
	A_SCALAR,
	A_MAP_PTR,
	A_MAP_KEY,
	A_MAP_VALUE,
	A_UNINIT_MAP_VALUE,
	A_CTX,
	A_MEM,
	A_MEM_OR_NULL,
	A_UNINIT_MEM,
	A_SIZE,
	A_SIZE_OR_ZERO,
	A_ALLOC_SIZE,
	A_RINGBUF_MEM,
	A_FUNC,
	A_STACK_OR_NULL,
	A_SPIN_LOCK,
};

enum vret { R_INT = 0, R_VOID, R_MAP_VALUE_OR_NULL, R_RINGBUF_MEM_OR_NULL };

/* Program types, as bits. */
#define P_MEM (1u << BJ_PROG_TYPE_MEM)
#define P_XDP (1u << BJ_PROG_TYPE_XDP)
#define P_SOCK (1u << BJ_PROG_TYPE_SOCKET_FILTER)
#define P_TC (1u << BJ_PROG_TYPE_SCHED_CLS)
#define P_ALL (P_MEM | P_XDP | P_SOCK | P_TC)
#define P_CTX (P_XDP | P_SOCK | P_TC)

/* Proto flags. */
#define PF_PRIV 0x1        /* CAP_BPF / CAP_PERFMON helpers: not under the strict policy */
#define PF_PKT_CHANGE 0x2  /* invalidates packet pointers (Linux's bpf_helper_changes_pkt_data) */

enum { CB_NONE = 0, CB_LOOP, CB_FOR_EACH };

struct vproto {
	int32_t id;
	uint8_t ret;
	uint8_t args[5];
	uint8_t progs;
	uint8_t flags;
	uint8_t cb;
};

static const struct vproto builtin[] = {
	{ 1, R_MAP_VALUE_OR_NULL, { A_MAP_PTR, A_MAP_KEY }, P_ALL, 0, 0 },
	{ 2, R_INT, { A_MAP_PTR, A_MAP_KEY, A_MAP_VALUE, A_ANY }, P_ALL, 0, 0 },
	{ 3, R_INT, { A_MAP_PTR, A_MAP_KEY }, P_ALL, 0, 0 },
	{ 5, R_INT, { 0 }, P_ALL, 0, 0 },
	{ 6, R_INT, { A_MEM, A_SIZE, A_ANY, A_ANY, A_ANY }, P_ALL, PF_PRIV, 0 },
	{ 7, R_INT, { 0 }, P_ALL, 0, 0 },
	{ 8, R_INT, { 0 }, P_ALL, 0, 0 },
	{ 12, R_VOID, { A_CTX, A_MAP_PTR, A_ANY }, P_CTX, 0, 0 },
	{ 23, R_INT, { A_ANY, A_ANY }, P_XDP | P_TC, 0, 0 },
	{ 26, R_INT, { A_CTX, A_ANY, A_UNINIT_MEM, A_SIZE }, P_SOCK | P_TC, 0, 0 },
	{ 28, R_INT, { A_MEM_OR_NULL, A_SIZE_OR_ZERO, A_MEM_OR_NULL, A_SIZE_OR_ZERO, A_ANY }, P_XDP | P_TC, 0, 0 },
	{ 42, R_INT, { 0 }, P_ALL, 0, 0 },
	{ 44, R_INT, { A_CTX, A_ANY }, P_XDP, PF_PKT_CHANGE, 0 },
	{ 51, R_INT, { A_MAP_PTR, A_ANY, A_ANY }, P_XDP, 0, 0 },
	{ 54, R_INT, { A_CTX, A_ANY }, P_XDP, PF_PKT_CHANGE, 0 },
	{ 65, R_INT, { A_CTX, A_ANY }, P_XDP, PF_PKT_CHANGE, 0 },
	{ 68, R_INT, { A_CTX, A_ANY, A_UNINIT_MEM, A_SIZE, A_ANY }, P_SOCK | P_TC, 0, 0 },
	{ 76, R_INT, { A_CTX }, P_XDP, 0, 0 },
	{ 87, R_INT, { A_MAP_PTR, A_MAP_VALUE, A_ANY }, P_ALL, 0, 0 },
	{ 88, R_INT, { A_MAP_PTR, A_UNINIT_MAP_VALUE }, P_ALL, 0, 0 },
	{ 89, R_INT, { A_MAP_PTR, A_UNINIT_MAP_VALUE }, P_ALL, 0, 0 },
	{ 93, R_VOID, { A_SPIN_LOCK }, P_ALL, PF_PRIV, 0 },
	{ 94, R_VOID, { A_SPIN_LOCK }, P_ALL, PF_PRIV, 0 },
	{ 118, R_INT, { 0 }, P_ALL, PF_PRIV, 0 },
	{ 125, R_INT, { 0 }, P_ALL, 0, 0 },
	{ 130, R_INT, { A_MAP_PTR, A_MEM, A_SIZE_OR_ZERO, A_ANY }, P_ALL, 0, 0 },
	{ 131, R_RINGBUF_MEM_OR_NULL, { A_MAP_PTR, A_ALLOC_SIZE, A_ANY }, P_ALL, 0, 0 },
	{ 132, R_VOID, { A_RINGBUF_MEM, A_ANY }, P_ALL, 0, 0 },
	{ 133, R_VOID, { A_RINGBUF_MEM, A_ANY }, P_ALL, 0, 0 },
	{ 134, R_INT, { A_MAP_PTR, A_ANY }, P_ALL, 0, 0 },
	{ 160, R_INT, { 0 }, P_ALL, PF_PRIV, 0 },
	{ 164, R_INT, { A_MAP_PTR, A_FUNC, A_STACK_OR_NULL, A_ANY }, P_ALL, 0, CB_FOR_EACH },
	{ 181, R_INT, { A_ANY, A_FUNC, A_STACK_OR_NULL, A_ANY }, P_ALL, 0, CB_LOOP },
	{ 189, R_INT, { A_CTX, A_ANY, A_UNINIT_MEM, A_SIZE }, P_XDP, 0, 0 },
	{ 190, R_INT, { A_CTX, A_ANY, A_MEM, A_SIZE }, P_XDP, 0, 0 },
};

#define FN_TAIL_CALL 12
#define FN_REDIRECT_MAP 51
#define FN_SPIN_LOCK 93
#define FN_SPIN_UNLOCK 94
#define FN_RINGBUF_SUBMIT 132
#define FN_RINGBUF_DISCARD 133

static const uint8_t user_arg[] = {
	[BJ_ARG_NONE] = A_NONE,
	[BJ_ARG_ANYTHING] = A_ANY,
	[BJ_ARG_SCALAR] = A_SCALAR,
	[BJ_ARG_PTR_TO_MEM] = A_MEM,
	[BJ_ARG_PTR_TO_MEM_OR_NULL] = A_MEM_OR_NULL,
	[BJ_ARG_PTR_TO_UNINIT_MEM] = A_UNINIT_MEM,
	[BJ_ARG_CONST_SIZE] = A_SIZE,
	[BJ_ARG_CONST_SIZE_OR_ZERO] = A_SIZE_OR_ZERO,
	[BJ_ARG_PTR_TO_CTX] = A_CTX,
	[BJ_ARG_CONST_MAP_PTR] = A_MAP_PTR,
};

/* The embedder's prototype for id (which replaces a built-in one), else the built-in, else NULL. */
static const struct vproto *find_proto(const struct venv *env, int32_t id, struct vproto *tmp)
{
	for (size_t i = 0; i < env->n_protos; i++) {
		const struct bj_helper_proto *p = &env->protos[i];

		if ((int32_t)p->id != id)
			continue;
		*tmp = (struct vproto){ .id = id, .ret = p->ret == BJ_RET_VOID ? R_VOID : R_INT, .progs = P_ALL };
		for (int a = 0; a < 5; a++)
			tmp->args[a] = (unsigned)p->args[a] < BJ_ARRAY_SIZE(user_arg) ? user_arg[p->args[a]] : A_NONE;
		return tmp;
	}
	for (size_t i = 0; i < BJ_ARRAY_SIZE(builtin); i++)
		if (builtin[i].id == id)
			return &builtin[i];
	return NULL;
}

/* Linux's check_map_func_compatibility, both ways. */
static int map_func_compat(struct venv *env, const struct bj_verifier_map *m, int32_t fn)
{
	bool ok = true;

	switch (m->type) {
	case BJ_MAP_TYPE_PROG_ARRAY:
		ok = fn == FN_TAIL_CALL;
		break;
	case BJ_MAP_TYPE_RINGBUF:
		ok = fn == 130 || fn == 131 || fn == 134;
		break;
	case BJ_MAP_TYPE_DEVMAP:
	case BJ_MAP_TYPE_DEVMAP_HASH:
	case BJ_MAP_TYPE_XSKMAP:
	case 16: /* CPUMAP */
		ok = fn == FN_REDIRECT_MAP || fn == 1;
		break;
	case BJ_MAP_TYPE_ARRAY_OF_MAPS:
	case BJ_MAP_TYPE_HASH_OF_MAPS:
		ok = fn == 1;
		break;
	case BJ_MAP_TYPE_QUEUE:
	case BJ_MAP_TYPE_STACK:
		ok = fn == 87 || fn == 88 || fn == 89;
		break;
	default:
		break;
	}
	switch (fn) {
	case FN_TAIL_CALL:
		if (m->type != BJ_MAP_TYPE_PROG_ARRAY)
			return verr(env, EINVAL, "expected prog array map for tail call");
		break;
	case FN_REDIRECT_MAP:
		ok = ok && (m->type == BJ_MAP_TYPE_DEVMAP || m->type == BJ_MAP_TYPE_DEVMAP_HASH ||
			    m->type == BJ_MAP_TYPE_XSKMAP || m->type == 16);
		break;
	case 87:
	case 88:
	case 89:
		ok = ok && (m->type == BJ_MAP_TYPE_QUEUE || m->type == BJ_MAP_TYPE_STACK);
		break;
	case 130:
	case 131:
	case 134:
		ok = ok && m->type == BJ_MAP_TYPE_RINGBUF;
		break;
	case 164:
		ok = ok && (m->type == BJ_MAP_TYPE_ARRAY || m->type == BJ_MAP_TYPE_PERCPU_ARRAY ||
			    m->type == BJ_MAP_TYPE_HASH || m->type == BJ_MAP_TYPE_PERCPU_HASH ||
			    m->type == BJ_MAP_TYPE_LRU_HASH || m->type == BJ_MAP_TYPE_LRU_PERCPU_HASH);
		break;
	default:
		break;
	}
	if (!ok)
		return verr(env, EINVAL, "cannot pass map_type %u into func %s#%d", m->type, vhelper_name(fn), fn);
	return 0;
}

struct call_meta {
	const struct bj_verifier_map *map;
	int64_t const_key;      /* the map key, when it is a constant on the stack; -1 otherwise */
	uint32_t func_subprog;
	bool have_func;
	uint32_t release_ref;
	uint64_t alloc_size;
	int32_t id;
	uint8_t prev_arg;
};

static const char *type_str(const struct vreg *r, char *buf, size_t n)
{
	return vreg_type_str(r, buf, n);
}

static int expect(struct venv *env, uint32_t regno, const char *expected)
{
	char tb[32];

	return verr(env, EACCES, "R%u type=%s expected=%s", regno, type_str(&vcur_regs(env)[regno], tb, sizeof(tb)),
		    expected);
}

static bool is_mem_like(const struct vreg *r)
{
	if (r->flags & VF_NULL)
		return false;
	return r->type == VT_STACK || r->type == VT_PKT || r->type == VT_PKT_META || r->type == VT_MAP_KEY ||
	       r->type == VT_MAP_VALUE || r->type == VT_MEM;
}

static int need_map(struct venv *env, const struct call_meta *m)
{
	if (!m->map)
		return verr(env, EACCES, "invalid map_ptr to access map->key");
	return 0;
}

static int size_arg(struct venv *env, uint32_t regno, bool zero_ok, const struct call_meta *meta)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	const struct vreg *mem = &vcur_regs(env)[regno - 1];
	bool raw = meta->prev_arg == A_UNINIT_MEM && sc_is_const(&r->s);

	if (r->type != VT_SCALAR)
		return expect(env, regno, "scalar");
	v_mark_precise(env, regno);
	if (r->s.smin < 0)
		return verr(env, EACCES, "R%u min value is negative, either use unsigned or 'var &= const'", regno);
	if (r->s.umin == 0 && !zero_ok)
		return verr(env, EACCES, "R%u invalid zero-sized read: u64=[%" PRIu64 ",%" PRIu64 "]", regno, r->s.umin,
			    r->s.umax);
	if (r->s.umax >= (uint64_t)V_MAX_VAR_SIZ)
		return verr(env, EACCES, "R%u unbounded memory access, use 'var &= const' or 'if (var < const)'", regno);
	if (mem->type == VT_SCALAR) {
		if (zero_ok && r->s.umax == 0 && vreg_is_null_const(mem))
			return 0;
		return expect(env, regno - 1, "fp");
	}
	return v_check_helper_mem(env, regno - 1, (int64_t)r->s.umax, zero_ok, raw);
}

static int ref_index(const struct vstate *st, uint32_t id)
{
	for (uint32_t i = 0; i < st->nrefs; i++)
		if (st->refs[i].id == id)
			return (int)i;
	return -1;
}

static void invalidate_ref(struct vreg *r, void *ctx)
{
	const uint32_t *id = ctx;

	if (r->ref_id == *id)
		vreg_mark_unknown(r);
}

static void invalidate_ref_strict(struct vreg *r, void *ctx)
{
	const uint32_t *id = ctx;

	if (r->ref_id == *id)
		vreg_mark_not_init(r);
}

/* Linux's release_reference: the reference goes, and every register that held the memory with it. */
static void release_ref(struct venv *env, uint32_t id)
{
	struct vstate *st = env->cur;
	int i = ref_index(st, id);

	if (i >= 0) {
		st->refs[i] = st->refs[st->nrefs - 1];
		st->nrefs--;
	}
	v_for_each_reg(st, env->priv ? invalidate_ref : invalidate_ref_strict, &id);
}

static int spin_lock_arg(struct venv *env, uint32_t regno, bool lock)
{
	struct vstate *st = env->cur;
	const struct vreg *r = &vcur_regs(env)[regno];
	int64_t off;

	if (r->type != VT_MAP_VALUE || (r->flags & VF_NULL))
		return expect(env, regno, "map_value");
	if (!sc_is_const(&r->s))
		return verr(env, EACCES,
			    "R%u doesn't have constant offset. bpf_spin_lock has to be at the constant offset", regno);
	if (r->map->spin_lock_off < 0)
		return verr(env, EINVAL, "map '%s' has no valid bpf_spin_lock", r->map->name ? r->map->name : "");
	off = r->off + (int64_t)sc_const_value(&r->s);
	if (off != r->map->spin_lock_off)
		return verr(env, EINVAL, "off %" PRId64 " doesn't point to 'struct bpf_spin_lock' that is at %d", off,
			    r->map->spin_lock_off);
	if (lock) {
		if (st->lock_held)
			return verr(env, EINVAL, "Locking two bpf_spin_locks are not allowed");
		st->lock_held = true;
		st->lock_map = r->map;
		st->lock_id = r->id;
		return 0;
	}
	if (!st->lock_held)
		return verr(env, EINVAL, "bpf_spin_unlock without taking a lock");
	if (st->lock_map != r->map || st->lock_id != r->id)
		return verr(env, EINVAL, "bpf_spin_unlock of different lock");
	st->lock_held = false;
	st->lock_map = NULL;
	st->lock_id = 0;
	return 0;
}

/*
 * Linux's get_constant_map_key: a key on the stack that is a spilled constant of exactly the key's size (or
 * zeroes) is known; an ARRAY lookup with it below max_entries cannot return NULL.
 */
static int64_t constant_key(struct venv *env, const struct vreg *key, uint32_t key_size)
{
	const struct vframe *f = env->cur->frame[key->frameno];
	int64_t addr, b;
	const struct vslot *s;
	uint32_t zeros = 0, spill = 0;
	int i, off;

	if (!env->priv || key->type != VT_STACK || !sc_is_const(&key->s) || key_size > 8)
		return -1;
	addr = key->off + (int64_t)sc_const_value(&key->s);
	b = -addr - 1;
	if (b < 0 || b / 8 >= f->nslots)
		return -1;
	s = &f->stack[b / 8];
	off = (int)(b % 8);
	for (i = off; i >= 0 && s->kind[i] == SK_ZERO; i--)
		zeros++;
	if (zeros >= key_size)
		return 0;
	/* A spilled constant is a value that may differ between paths; zeroes are tracked exactly. */
	if (s->kind[7] != SK_SPILL || s->spill.type != VT_SCALAR)
		return -1;
	for (i = off; i >= 0 && s->kind[i] == SK_SPILL; i--)
		spill++;
	if (spill != key_size || !sc_is_const(&s->spill.s))
		return -1;
	v_mark_precise_slot(env, key->frameno, (uint32_t)(b / 8));
	if (key_size == 8)
		return sc_const_value(&s->spill.s) > INT64_MAX ? -1 : (int64_t)sc_const_value(&s->spill.s);
	return (int64_t)(sc_const_value(&s->spill.s) & ((1ull << (8 * key_size)) - 1));
}

static int check_arg(struct venv *env, const struct vproto *p, uint32_t a, struct call_meta *meta)
{
	uint32_t regno = a + 1;
	uint8_t t = p->args[a];
	struct vreg *r = &vcur_regs(env)[regno];
	int err;

	if (t == A_NONE)
		return 0;
	if ((err = v_check_read(env, regno)))
		return err;
	switch (t) {
	case A_ANY:
		if (v_ptr_leak(env, r))
			return verr(env, EACCES, "R%u leaks addr into helper function", regno);
		return 0;
	case A_SCALAR:
		return r->type == VT_SCALAR ? 0 : expect(env, regno, "scalar");
	case A_MAP_PTR:
		if (r->type != VT_MAP_PTR || (r->flags & VF_NULL))
			return expect(env, regno, "map_ptr");
		meta->map = r->map;
		return 0;
	case A_MAP_KEY:
		if ((err = need_map(env, meta)))
			return err;
		if (!is_mem_like(r))
			return expect(env, regno, "fp, pkt, pkt_meta, map_key, map_value");
		if ((err = v_check_helper_mem(env, regno, meta->map->key_size, false, false)))
			return err;
		meta->const_key = constant_key(env, r, meta->map->key_size);
		return 0;
	case A_MAP_VALUE:
	case A_UNINIT_MAP_VALUE:
		if ((err = need_map(env, meta)))
			return err;
		if (!is_mem_like(r))
			return expect(env, regno, "fp, pkt, pkt_meta, map_key, map_value");
		return v_check_helper_mem(env, regno, meta->map->value_size, false, t == A_UNINIT_MAP_VALUE);
	case A_CTX:
		if (r->type != VT_CTX)
			return expect(env, regno, "ctx");
		if (r->off || !sc_is_const(&r->s) || sc_const_value(&r->s))
			return verr(env, EACCES, "dereference of modified ctx ptr R%u off=%d disallowed", regno, r->off);
		return 0;
	case A_MEM_OR_NULL:
		if (vreg_is_null_const(r)) {
			v_mark_precise(env, regno);
			return 0;
		}
		/* fall through */
	case A_MEM:
	case A_UNINIT_MEM:
		if (!is_mem_like(r))
			return expect(env, regno, "fp, pkt, pkt_meta, map_key, map_value, mem");
		return 0;
	case A_SIZE:
	case A_SIZE_OR_ZERO:
		return size_arg(env, regno, t == A_SIZE_OR_ZERO, meta);
	case A_ALLOC_SIZE:
		if (r->type != VT_SCALAR)
			return expect(env, regno, "scalar");
		v_mark_precise(env, regno);
		if (!sc_is_const(&r->s))
			return verr(env, EACCES, "R%u is not a known constant'", regno);
		meta->alloc_size = sc_const_value(&r->s);
		return 0;
	case A_RINGBUF_MEM:
		if (r->type != VT_MEM || !(r->flags & VF_RINGBUF) || (r->flags & VF_NULL))
			return expect(env, regno, "ringbuf_mem");
		if (r->off || !sc_is_const(&r->s) || sc_const_value(&r->s))
			return verr(env, EACCES, "R%u must have zero offset when passed to release func", regno);
		if (!r->ref_id || ref_index(env->cur, r->ref_id) < 0)
			return verr(env, EINVAL, "R%u must be referenced when passed to release function", regno);
		meta->release_ref = r->ref_id;
		return 0;
	case A_FUNC:
		if (r->type != VT_FUNC)
			return expect(env, regno, "func");
		if (r->off || !sc_is_const(&r->s) || sc_const_value(&r->s))
			return verr(env, EACCES, "R%u func pointer with a modified offset", regno);
		meta->func_subprog = r->aux;
		meta->have_func = true;
		return 0;
	case A_STACK_OR_NULL:
		if (vreg_is_null_const(r)) {
			v_mark_precise(env, regno);
			return 0;
		}
		if (r->type != VT_STACK)
			return expect(env, regno, "fp");
		return 0;
	case A_SPIN_LOCK:
		return spin_lock_arg(env, regno, p->id == FN_SPIN_LOCK);
	default:
		return verr(env, EINVAL, "R%u unknown argument kind", regno);
	}
}

static void clear_pkt(struct vreg *r, void *ctx)
{
	const struct venv *env = ctx;

	if (vreg_is_pkt(r) || r->type == VT_PKT_END) {
		if (env->priv)
			vreg_mark_unknown(r);
		else
			vreg_mark_not_init(r);
	}
}

static int set_return(struct venv *env, const struct vproto *p, const struct call_meta *meta)
{
	struct vstate *st = env->cur;
	struct vreg *r0 = &vcur_regs(env)[BPF_REG_0];

	switch (p->ret) {
	case R_VOID:
		vreg_mark_not_init(r0);
		return 0;
	case R_MAP_VALUE_OR_NULL:
		*r0 = (struct vreg){ .type = VT_MAP_VALUE, .flags = VF_NULL, .map = meta->map, .id = ++env->id_gen };
		sc_set_const(&r0->s, 0);
		if (meta->map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS || meta->map->type == BJ_MAP_TYPE_HASH_OF_MAPS) {
			if (!meta->map->inner)
				return verr(env, EINVAL, "map-in-map without an inner map template");
			r0->type = VT_MAP_PTR;
			r0->map = meta->map->inner;
		} else if ((meta->map->type == BJ_MAP_TYPE_ARRAY || meta->map->type == BJ_MAP_TYPE_PERCPU_ARRAY) &&
			   meta->const_key >= 0 && (uint64_t)meta->const_key < meta->map->max_entries) {
			r0->flags = 0;
			r0->id = 0;
		} else if (meta->map->type == BJ_MAP_TYPE_XSKMAP || meta->map->type == BJ_MAP_TYPE_DEVMAP ||
			   meta->map->type == BJ_MAP_TYPE_DEVMAP_HASH || meta->map->type == 16) {
			/* An entry the program may only test against NULL. */
			r0->type = VT_MEM;
			r0->flags |= VF_RDONLY;
			r0->map = NULL;
			r0->aux = 0;
		}
		break;
	case R_RINGBUF_MEM_OR_NULL:
		if (st->nrefs == V_MAX_REFS)
			return verr(env, EACCES, "too many references held");
		*r0 = (struct vreg){ .type = VT_MEM, .flags = VF_NULL | VF_RINGBUF, .aux = (uint32_t)meta->alloc_size };
		sc_set_const(&r0->s, 0);
		r0->id = r0->ref_id = ++env->id_gen;
		st->refs[st->nrefs++] = (struct vref){ .id = r0->ref_id, .insn = st->insn };
		if (meta->alloc_size > UINT32_MAX)
			r0->aux = UINT32_MAX;
		break;
	default:
		vreg_mark_unknown(r0);
		break;
	}
	return 0;
}

static void clear_caller_saved(struct venv *env)
{
	struct vframe *f = vcur_frame(env);

	for (uint32_t r = BPF_REG_1; r <= BPF_REG_5; r++) {
		vreg_mark_not_init(&f->regs[r]);
		v_mark_written(env, r);
	}
	v_mark_written(env, BPF_REG_0);
}

static int new_frame(struct venv *env, uint32_t callsite, uint32_t subprog, struct vframe **out)
{
	struct vstate *st = env->cur;
	struct vframe *f;

	if (st->curframe + 1 >= V_MAX_FRAMES)
		return verr(env, E2BIG, "the call stack of %u frames is too deep", st->curframe + 2);
	f = vframe_new();
	if (!f)
		return verr(env, ENOMEM, "out of memory");
	f->callsite = (int32_t)callsite;
	f->subprog = subprog;
	f->regs[BPF_REG_10] = (struct vreg){ .type = VT_STACK, .frameno = (uint8_t)(st->curframe + 1) };
	sc_set_const(&f->regs[BPF_REG_10].s, 0);
	f->scratched = 0x7ff;
	*out = f;
	return 0;
}

static void push_frame(struct venv *env, struct vframe *f)
{
	struct vstate *st = env->cur;

	st->frame[++st->curframe] = f;
	st->insn = env->subprogs[f->subprog].start;
}

static struct vsnap *snapshot(struct venv *env)
{
	struct vstate *st = env->cur;
	struct vsnap *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->refcnt = 1;
	s->nframes = st->curframe + 1;
	for (uint32_t i = 0; i < s->nframes; i++) {
		s->frame[i] = vframe_dup(st->frame[i]);
		if (!s->frame[i]) {
			vsnap_put(s);
			return NULL;
		}
	}
	return s;
}

/*
 * A callback may run any number of times. Each return to the call site starts another iteration from the
 * caller's state then; once that state is covered by the one an earlier iteration started from, every
 * further iteration is too and the path ends. In between, differing slots are widened so this converges.
 */
static int enter_callback(struct venv *env, const struct vproto *p, const struct call_meta *meta, uint32_t idx)
{
	struct vstate *st = env->cur;
	struct vframe *caller = vcur_frame(env), *f;
	struct vstate *done;
	struct vsnap *snap;
	int err;

	if (st->reentry) {
		struct vsnap *prev = st->reentry;
		bool covered = prev->nframes == st->curframe + 1 &&
			       vframes_within(env, prev->frame, st->frame, prev->nframes);

		st->reentry = NULL;
		if (covered) {
			vsnap_put(prev);
			return 1;
		}
		if (prev->nframes == st->curframe + 1)
			vframes_widen(prev->frame, st->frame, prev->nframes);
		vsnap_put(prev);
	}
	if (!meta->have_func || meta->func_subprog >= env->n_subprogs)
		return verr(env, EINVAL, "callback of %s#%d is not a subprogram", vhelper_name(p->id), p->id);
	if ((err = new_frame(env, idx, meta->func_subprog, &f)))
		return err;
	if ((err = v_push_state(env, idx + 1, idx, &done))) {
		vframe_free(f);
		return err;
	}
	{
		struct vframe *df = done->frame[done->curframe];

		for (uint32_t r = BPF_REG_1; r <= BPF_REG_5; r++)
			vreg_mark_not_init(&df->regs[r]);
		vreg_mark_unknown(&df->regs[BPF_REG_0]);
	}
	snap = snapshot(env);
	if (!snap) {
		vframe_free(f);
		return verr(env, ENOMEM, "out of memory");
	}
	f->callback = true;
	f->cb_lo = 0;
	f->cb_hi = 1;
	f->snap = snap;
	f->entry_nrefs = st->nrefs;
	if (p->cb == CB_LOOP) {
		vreg_mark_unknown(&f->regs[BPF_REG_1]);
		f->regs[BPF_REG_2] = caller->regs[BPF_REG_3];
	} else {
		f->regs[BPF_REG_1] = (struct vreg){ .type = VT_MAP_PTR, .map = meta->map };
		f->regs[BPF_REG_2] = (struct vreg){ .type = VT_MAP_KEY, .map = meta->map };
		f->regs[BPF_REG_3] = (struct vreg){ .type = VT_MAP_VALUE, .map = meta->map };
		for (uint32_t r = BPF_REG_1; r <= BPF_REG_3; r++)
			sc_set_const(&f->regs[r].s, 0);
		f->regs[BPF_REG_4] = caller->regs[BPF_REG_3];
	}
	push_frame(env, f);
	return 0;
}

static bool in_callback(const struct vstate *st)
{
	for (uint32_t i = 1; i <= st->curframe; i++)
		if (st->frame[i]->callback)
			return true;
	return false;
}

static int helper_unavailable(struct venv *env, int32_t id)
{
	if (id < 0 || !strcmp(vhelper_name(id), "unknown"))
		return verr(env, EINVAL, "invalid func %s#%d", vhelper_name(id), id);
	return verr(env, EINVAL, "program of this type cannot use helper %s#%d", vhelper_name(id), id);
}

int v_check_helper_call(struct venv *env, const struct bj_insn *in, uint32_t idx)
{
	struct vstate *st = env->cur;
	struct vproto tmp;
	const struct vproto *p = find_proto(env, in->imm, &tmp);
	struct call_meta meta = { .const_key = -1 };
	int err;

	if (!p || !(p->progs & (1u << env->type)) || ((p->flags & PF_PRIV) && !env->priv))
		return helper_unavailable(env, in->imm);
	if (st->lock_held && p->id != FN_SPIN_UNLOCK)
		return verr(env, EINVAL, "function calls are not allowed while holding a lock");
	for (uint32_t a = 0; a < 5; a++) {
		if ((err = check_arg(env, p, a, &meta)))
			return err;
		meta.prev_arg = p->args[a];
	}
	if (meta.map && (err = map_func_compat(env, meta.map, p->id)))
		return err;
	if (p->id == FN_TAIL_CALL && st->nrefs)
		return verr(env, EINVAL, "tail_call would lead to reference leak");
	if (p->id == FN_TAIL_CALL && in_callback(st))
		return verr(env, EINVAL, "tail_call is not allowed in callbacks");
	if (p->id == FN_TAIL_CALL)
		env->subprogs[vcur_frame(env)->subprog].has_tail_call = true;
	if (p->cb)
		return enter_callback(env, p, &meta, idx);
	if (meta.release_ref)
		release_ref(env, meta.release_ref);
	if (p->flags & PF_PKT_CHANGE)
		v_for_each_reg(st, clear_pkt, env);
	clear_caller_saved(env);
	if ((err = set_return(env, p, &meta)))
		return err;
	st->insn = idx + 1;
	return 0;
}

/* As Linux, subprograms may be called with a lock held (their helper calls are refused then). */
int v_check_local_call(struct venv *env, uint32_t idx, uint32_t target)
{
	struct vframe *caller = vcur_frame(env), *f;
	int err;

	if ((err = new_frame(env, idx, env->insn_subprog[target], &f)))
		return err;
	for (uint32_t r = BPF_REG_1; r <= BPF_REG_5; r++)
		f->regs[r] = caller->regs[r];
	clear_caller_saved(env);
	vreg_mark_not_init(&caller->regs[BPF_REG_0]);
	push_frame(env, f);
	return 0;
}

static int check_return_code(struct venv *env)
{
	struct vstate *st = env->cur;
	const struct vreg *r0 = &vcur_regs(env)[BPF_REG_0];

	if (v_ptr_leak(env, r0))
		return verr(env, EACCES, "R0 leaks addr as return value");
	if (st->nrefs) {
		verr(env, EINVAL, "Unreleased reference id=%u alloc_insn=%u", st->refs[0].id, st->refs[0].insn);
		return verr(env, EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
	}
	return 0;
}

static int callback_exit(struct venv *env, struct vframe *callee)
{
	struct vstate *st = env->cur;
	const struct vreg *r0 = &callee->regs[BPF_REG_0];

	if (r0->type != VT_SCALAR)
		return verr(env, EACCES, "R0 not a scalar value");
	v_mark_precise(env, BPF_REG_0);
	if (r0->s.smin < callee->cb_lo || r0->s.smax > callee->cb_hi)
		return verr(env, EINVAL,
			    "At callback return the register R0 has smin=%" PRId64 " smax=%" PRId64
			    " should have been in [%d, %d]",
			    r0->s.smin, r0->s.smax, callee->cb_lo, callee->cb_hi);
	if (st->nrefs > callee->entry_nrefs)
		return verr(env, EINVAL, "Unreleased reference id=%u alloc_insn=%u", st->refs[st->nrefs - 1].id,
			    st->refs[st->nrefs - 1].insn);
	st->reentry = callee->snap;
	callee->snap = NULL;
	st->insn = (uint32_t)callee->callsite;
	return 0;
}

int v_check_exit(struct venv *env)
{
	struct vstate *st = env->cur;
	struct vframe *callee = vcur_frame(env);
	int err;

	if ((err = v_check_read(env, BPF_REG_0)))
		return err;
	if (st->lock_held && st->curframe == 0)
		return verr(env, EINVAL, "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region");
	if (st->lock_held && callee->callback)
		return verr(env, EINVAL, "bpf_spin_unlock is missing");
	if (st->curframe == 0) {
		if ((err = check_return_code(env)))
			return err;
		return 1;
	}
	if (callee->callback) {
		if ((err = callback_exit(env, callee)))
			return err;
	} else {
		const struct vreg *r0 = &callee->regs[BPF_REG_0];

		if (r0->type == VT_STACK && r0->frameno == st->curframe)
			return verr(env, EINVAL, "cannot return stack pointer to the caller");
		st->frame[st->curframe - 1]->regs[BPF_REG_0] = *r0;
		st->insn = (uint32_t)callee->callsite + 1;
	}
	st->frame[st->curframe] = NULL;
	st->curframe--;
	vframe_free(callee);
	vcur_frame(env)->scratched |= 1;
	vcur_frame(env)->written |= 1;
	return 0;
}
