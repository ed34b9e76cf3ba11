/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier's driver, in the shape of Linux's bpf_check: a static pass (subprograms, control flow,
 * liveness), then do_check walks every path with a stack of pending states, prunes at the points Linux
 * prunes (is_state_visited), and checks the stack depth of call chains.
 */
#include <bpfjet/map.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "verifier/vstate.h"

static bool is_pseudo_func(const struct bj_insn *in)
{
	return in->code == BJ_LDDW && in->src == BPF_PSEUDO_FUNC;
}

static bool is_helper_call(const struct bj_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL) && in->src == 0;
}

static bool is_cond_jump(const struct bj_insn *in)
{
	return bj_insn_is_jump(in) && BJ_OP(in->code) != BPF_JA;
}

static long jump_target(const struct venv *env, uint32_t i)
{
	return bj_insn_target(env->insns, i);
}

/* --- static pass --- */

static int find_subprogs(struct venv *env)
{
	uint32_t *starts = calloc(env->n + 1, sizeof(*starts));
	uint32_t ns = 0;

	if (!starts)
		return -ENOMEM;
	for (size_t i = 0; i < env->n; i++) {
		const struct bj_insn *in = &env->insns[i];

		if (env->iflags[i] & IF_SECOND_HALF)
			continue;
		if (in->code == BJ_LDDW)
			env->iflags[i + 1] |= IF_SECOND_HALF;
		if (bj_insn_is_local_call(in) || is_pseudo_func(in)) {
			long t = bj_insn_is_local_call(in) ? jump_target(env, (uint32_t)i) : (long)i + 1 + in->imm;

			if (!env->priv) {
				free(starts);
				env->err_insn = (int)i;
				return verr(env, EACCES,
					    "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN");
			}
			starts[t] = 1;
		}
	}
	starts[0] = 1;
	for (size_t i = 0; i < env->n; i++)
		ns += starts[i];
	env->subprogs = calloc(ns, sizeof(*env->subprogs));
	env->insn_subprog = calloc(env->n, sizeof(*env->insn_subprog));
	if (!env->subprogs || !env->insn_subprog) {
		free(starts);
		return -ENOMEM;
	}
	ns = 0;
	for (size_t i = 0; i < env->n; i++) {
		if (starts[i]) {
			if (ns)
				env->subprogs[ns - 1].end = (uint32_t)i;
			env->subprogs[ns++].start = (uint32_t)i;
		}
		env->insn_subprog[i] = ns - 1;
	}
	env->subprogs[ns - 1].end = (uint32_t)env->n;
	env->n_subprogs = ns;
	free(starts);
	return 0;
}

/* Successors of instruction i inside its subprogram; returns how many (0-2). */
static int successors(const struct venv *env, uint32_t i, uint32_t succ[2])
{
	const struct bj_insn *in = &env->insns[i];
	uint8_t cls = BJ_CLASS(in->code), op = BJ_OP(in->code);
	int n = 0;

	if (cls == BPF_JMP || cls == BPF_JMP32) {
		if (op == BPF_EXIT)
			return 0;
		if (op == BPF_JA) {
			succ[0] = (uint32_t)jump_target(env, i);
			return 1;
		}
		if (op != BPF_CALL)
			succ[n++] = (uint32_t)jump_target(env, i);
	}
	succ[n++] = i + (in->code == BJ_LDDW ? 2 : 1);
	return n;
}

/* Linux's check_cfg: every instruction reachable; under the strict policy, no loops. */
static int check_cfg(struct venv *env)
{
	uint8_t *color = calloc(env->n, 1); /* 0 new, 1 on the DFS stack, 2 done */
	uint32_t *stack = malloc(env->n * sizeof(*stack));
	uint8_t *next_edge = calloc(env->n, 1);
	size_t sp = 0;
	int err = 0;

	if (!color || !stack || !next_edge) {
		err = -ENOMEM;
		goto out;
	}
	stack[sp++] = 0;
	color[0] = 1;
	while (sp && !err) {
		uint32_t i = stack[sp - 1], succ[3];
		int ns = successors(env, i, succ);
		const struct bj_insn *in = &env->insns[i];

		if (bj_insn_is_local_call(in))
			succ[ns++] = (uint32_t)jump_target(env, i);
		else if (is_pseudo_func(in))
			succ[ns++] = (uint32_t)(i + 1 + in->imm);
		if (next_edge[i] >= ns) {
			color[i] = 2;
			sp--;
			continue;
		}
		uint32_t t = succ[next_edge[i]++];

		if (t >= env->n) {
			env->err_insn = (int)i;
			err = verr(env, EINVAL, "jump out of range from insn %u to %u", i, t);
		} else if (color[t] == 1 && !env->priv) {
			env->err_insn = (int)i;
			err = verr(env, EINVAL, "back-edge from insn %u to %u", i, t);
		} else if (color[t] == 0) {
			color[t] = 1;
			stack[sp++] = t;
		}
	}
	for (size_t i = 0; i < env->n && !err; i++) {
		if (!color[i] && !(env->iflags[i] & IF_SECOND_HALF)) {
			env->err_insn = (int)i;
			err = verr(env, EINVAL, "unreachable insn %zu", i);
		}
	}
out:
	free(color);
	free(stack);
	free(next_edge);
	return err;
}

static void mark_prune_points(struct venv *env)
{
	for (uint32_t i = 0; i < env->n; i++) {
		const struct bj_insn *in = &env->insns[i];

		if (env->iflags[i] & IF_SECOND_HALF)
			continue;
		if (is_cond_jump(in) || in->code == (BPF_JMP | BPF_CALL))
			env->iflags[i] |= IF_PRUNE;
		if (bj_insn_is_jump(in) && BJ_OP(in->code) == BPF_JA)
			env->iflags[jump_target(env, i)] |= IF_PRUNE;
		if (bj_insn_is_local_call(in) && i + 1 < env->n)
			env->iflags[i + 1] |= IF_PRUNE;
		if (is_helper_call(in) && (in->imm == 181 || in->imm == 164))
			env->iflags[i] |= IF_CALLBACK_CALL;
	}
}

/* Registers an instruction reads and writes, for liveness. */
static void use_def(const struct bj_insn *in, uint16_t *use, uint16_t *def)
{
	uint8_t cls = BJ_CLASS(in->code), op = BJ_OP(in->code), mode = BJ_MODE(in->code);
	bool x = BJ_SRCBIT(in->code) == BPF_X;

	*use = *def = 0;
	switch (cls) {
	case BPF_ALU:
	case BPF_ALU64:
		if (op != BPF_MOV)
			*use |= 1u << in->dst;
		if (x && op != BPF_NEG && op != BPF_END)
			*use |= 1u << in->src;
		*def = 1u << in->dst;
		break;
	case BPF_LDX:
		*use = 1u << in->src;
		*def = 1u << in->dst;
		break;
	case BPF_ST:
		*use = 1u << in->dst;
		break;
	case BPF_STX:
		*use = (1u << in->dst) | (1u << in->src);
		if (mode == BPF_ATOMIC && in->imm == BPF_CMPXCHG) {
			*use |= 1;
			*def = 1;
		} else if (mode == BPF_ATOMIC && (in->imm & BPF_FETCH)) {
			*def = 1u << in->src;
		}
		break;
	case BPF_LD:
		if (in->code == BJ_LDDW) {
			*def = 1u << in->dst;
		} else {
			*use = 1u << BPF_REG_6;
			if (mode == BPF_IND)
				*use |= 1u << in->src;
			*def = 0x3f;
		}
		break;
	default:
		if (op == BPF_CALL) {
			*use = 0x3e;
			*def = 0x3f;
		} else if (op == BPF_EXIT) {
			*use = 1;
		} else if (op != BPF_JA) {
			*use = 1u << in->dst;
			if (x)
				*use |= 1u << in->src;
		}
		break;
	}
	/* r10 is always live: it is the frame. */
	*use |= 1u << BPF_REG_10;
	*use &= 0x7ff;
	*def &= 0x3ff;
}

static int compute_liveness(struct venv *env)
{
	uint16_t *use = malloc(env->n * sizeof(*use)), *def = malloc(env->n * sizeof(*def));
	bool changed = true;
	int passes = 0;

	env->live = calloc(env->n + 1, sizeof(*env->live));
	if (!use || !def || !env->live) {
		free(use);
		free(def);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < env->n; i++)
		use_def(&env->insns[i], &use[i], &def[i]);
	while (changed) {
		if (++passes > 64) {
			/* Deeply nested loops: give up on precision rather than time; all live is always sound. */
			for (uint32_t i = 0; i < env->n; i++)
				env->live[i] = 0x7ff;
			break;
		}
		changed = false;
		for (uint32_t k = (uint32_t)env->n; k-- > 0;) {
			uint32_t succ[2];
			uint16_t out = 0, in;
			int ns;

			if (env->iflags[k] & IF_SECOND_HALF)
				continue;
			ns = successors(env, k, succ);
			for (int j = 0; j < ns; j++)
				if (succ[j] < env->n)
					out |= env->live[succ[j]];
			in = use[k] | (out & ~def[k]);
			if (in != env->live[k]) {
				env->live[k] = in;
				changed = true;
			}
		}
	}
	free(use);
	free(def);
	return 0;
}

/* --- states --- */

static size_t state_size(const struct vstate *st)
{
	size_t sz = sizeof(struct vexplored);

	for (uint32_t i = 0; i <= st->curframe; i++)
		sz += sizeof(struct vframe) + st->frame[i]->nslots * sizeof(struct vslot);
	return sz;
}

int v_push_state(struct venv *env, uint32_t insn, uint32_t prev, struct vstate **out)
{
	struct vstate *st;

	if (env->n_pending >= V_MAX_PENDING || env->pending_bytes > V_PENDING_BYTES_MAX)
		return verr(env, E2BIG, "The sequence of %zu jumps is too complex.", env->n_pending);
	if (env->n_pending == env->cap_pending) {
		size_t cap = env->cap_pending ? 2 * env->cap_pending : 64;
		struct vstate **p = realloc(env->pending, cap * sizeof(*p));

		if (!p)
			return verr(env, ENOMEM, "out of memory");
		env->pending = p;
		env->cap_pending = cap;
	}
	st = vstate_new();
	if (!st || vstate_copy(st, env->cur)) {
		vstate_free(st);
		return verr(env, ENOMEM, "out of memory");
	}
	st->insn = insn;
	st->prev_insn = prev;
	st->log_pos = env->log.pos;
	if (st->parent)
		st->parent->branches++;
	env->pending_bytes += state_size(st);
	env->pending[env->n_pending++] = st;
	*out = st;
	return 0;
}

static void drop_last_pending(struct venv *env)
{
	struct vstate *st = env->pending[--env->n_pending];

	env->pending_bytes -= state_size(st);
	for (struct vexplored *p = st->parent; p; p = p->parent)
		if (--p->branches)
			break;
	vstate_free(st);
}

static void update_branch_counts(struct vexplored *p)
{
	for (; p; p = p->parent)
		if (--p->branches)
			break;
}

static void clear_written(struct vstate *st)
{
	for (uint32_t i = 0; i <= st->curframe; i++)
		st->frame[i]->written = 0;
}

/* 1: an explored state covers the current one (prune), 0: go on, -errno. */
static int is_state_visited(struct venv *env, uint32_t idx)
{
	struct vstate *cur = env->cur;
	bool force = env->iflags[idx] & IF_CALLBACK_CALL;
	bool add = force || (env->jmps_processed - env->prev_jmps_processed >= 2 &&
			     env->insn_processed - env->prev_insn_processed >= 8);
	struct vexplored *e, **link;
	size_t sz;

	for (link = &env->explored[idx]; (e = *link);) {
		uint32_t n = force && e->branches ? 64 : 3;

		if (e->branches) {
			/* Still being explored: pruning against it would assume what it is meant to prove. */
			if (!force && vstates_equal(env, &e->st, cur, true)) {
				vlog_linfo(env, idx);
				return verr(env, EINVAL, "infinite loop detected at insn %u", idx);
			}
			if (!force && env->jmps_processed - env->prev_jmps_processed < 20 &&
			    env->insn_processed - env->prev_insn_processed < 100)
				add = false;
		} else if (vstates_equal(env, &e->st, cur, false)) {
			e->hits++;
			v_propagate_precision(env, e);
			return 1;
		}
		/* Linux's eviction: a state that keeps missing is not worth comparing against any more. */
		if (++e->misses > e->hits * n + n) {
			*link = e->next;
			e->next = env->retired;
			env->retired = e;
			env->n_explored[idx]--;
			env->cur_states--;
			continue;
		}
		link = &e->next;
	}
	sz = state_size(cur);
	if (!add || env->n_explored[idx] >= V_MAX_STATES_PER_INSN || env->state_bytes + sz > V_STATE_BYTES_MAX)
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e || vstate_copy(&e->st, cur)) {
		free(e);
		return verr(env, ENOMEM, "out of memory");
	}
	e->branches = 1;
	e->parent = cur->parent;
	e->st.parent = NULL;
	cur->parent = e;
	cur->nhist = 0;
	e->next = env->explored[idx];
	env->explored[idx] = e;
	if (++env->n_explored[idx] > env->max_states_per_insn)
		env->max_states_per_insn = env->n_explored[idx];
	env->state_bytes += sz;
	env->total_states++;
	if (++env->cur_states > env->peak_states)
		env->peak_states = env->cur_states;
	env->prev_jmps_processed = env->jmps_processed;
	env->prev_insn_processed = env->insn_processed;
	clear_written(cur);
	return 0;
}

/* --- instructions --- */

static int check_ld_imm64(struct venv *env, const struct bj_insn *in, uint32_t idx)
{
	struct vreg *d = &vcur_regs(env)[in->dst];
	uint32_t k = (uint32_t)in->imm;

	switch (in->src) {
	case 0:
		vreg_mark_const(d, bj_lddw_imm(in));
		break;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		if (k >= env->n_maps)
			return verr(env, EINVAL, "fd %d is not pointing to valid bpf_map", in->imm);
		*d = (struct vreg){ .type = VT_MAP_PTR, .map = &env->maps[k] };
		sc_set_const(&d->s, 0);
		break;
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE: {
		const struct bj_verifier_map *m;
		uint32_t off = (uint32_t)in[1].imm;

		if (k >= env->n_maps)
			return verr(env, EINVAL, "fd %d is not pointing to valid bpf_map", in->imm);
		m = &env->maps[k];
		if (m->type != BJ_MAP_TYPE_ARRAY || m->max_entries != 1)
			return verr(env, EINVAL, "no direct value access support for this map type");
		if (off >= m->value_size)
			return verr(env, EINVAL, "direct value offset of %u is not allowed", off);
		*d = (struct vreg){ .type = VT_MAP_VALUE, .map = m, .off = (int32_t)off };
		sc_set_const(&d->s, 0);
		break;
	}
	case BPF_PSEUDO_FUNC:
		*d = (struct vreg){ .type = VT_FUNC, .aux = env->insn_subprog[idx + 1 + in->imm] };
		sc_set_const(&d->s, 0);
		break;
	default:
		return verr(env, EINVAL, "pseudo btf_id loads are not supported");
	}
	v_mark_written(env, in->dst);
	env->cur->insn = idx + 2;
	return 0;
}

static int check_ld_abs(struct venv *env, const struct bj_insn *in, uint32_t idx)
{
	struct vreg *regs = vcur_regs(env);
	int err;

	if (env->type != BJ_PROG_TYPE_SOCKET_FILTER && env->type != BJ_PROG_TYPE_SCHED_CLS)
		return verr(env, EINVAL, "BPF_LD_[ABS|IND] instructions not allowed for this program type");
	if (env->n_subprogs > 1)
		return verr(env, EINVAL, "BPF_LD_[ABS|IND] instructions cannot be mixed with bpf-to-bpf calls");
	if (env->cur->nrefs)
		return verr(env, EINVAL, "BPF_LD_[ABS|IND] cannot be mixed with socket references");
	if (env->cur->lock_held)
		return verr(env, EINVAL, "BPF_LD_[ABS|IND] cannot be used inside bpf_spin_lock-ed region");
	if ((err = v_check_read(env, BPF_REG_6)))
		return err;
	if (BJ_MODE(in->code) == BPF_IND && (err = v_check_read(env, in->src)))
		return err;
	if (regs[BPF_REG_6].type != VT_CTX)
		return verr(env, EINVAL, "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
	for (uint32_t r = BPF_REG_1; r <= BPF_REG_5; r++) {
		vreg_mark_not_init(&regs[r]);
		v_mark_written(env, r);
	}
	vreg_mark_unknown(&regs[BPF_REG_0]);
	v_mark_written(env, BPF_REG_0);
	env->cur->insn = idx + 1;
	return 0;
}

static int check_atomic(struct venv *env, const struct bj_insn *in)
{
	struct vreg *regs = vcur_regs(env);
	uint32_t size = bj_size_bytes(in->code);
	int load_reg = -1, err;

	if ((err = v_check_read(env, in->src)) || (err = v_check_read(env, in->dst)))
		return err;
	if (in->imm == BPF_CMPXCHG) {
		if ((err = v_check_read(env, BPF_REG_0)))
			return err;
		if (v_ptr_leak(env, &regs[BPF_REG_0]))
			return verr(env, EACCES, "R0 leaks addr into mem");
	}
	if (v_ptr_leak(env, &regs[in->src]))
		return verr(env, EACCES, "R%u leaks addr into mem", in->src);
	if (in->imm & BPF_FETCH)
		load_reg = in->imm == BPF_CMPXCHG ? BPF_REG_0 : in->src;
	if ((err = v_check_mem_access(env, in->dst, in->off, size, VA_READ, -1, false, true)))
		return err;
	if (load_reg >= 0) {
		if ((err = v_check_mem_access(env, in->dst, in->off, size, VA_READ, load_reg, false, true)))
			return err;
		v_mark_written(env, (uint32_t)load_reg);
	}
	return v_check_mem_access(env, in->dst, in->off, size, VA_WRITE, -1, false, true);
}

static int check_load_store(struct venv *env, const struct bj_insn *in, uint32_t idx)
{
	uint8_t cls = BJ_CLASS(in->code);
	uint32_t size = bj_size_bytes(in->code);
	int err;

	if (cls == BPF_LDX) {
		if ((err = v_check_read(env, in->src)))
			return err;
		err = v_check_mem_access(env, in->src, in->off, size, VA_READ, in->dst, BJ_MODE(in->code) == BPF_MEMSX,
					 false);
		v_mark_written(env, in->dst);
	} else if (cls == BPF_ST) {
		if ((err = v_check_read(env, in->dst)))
			return err;
		err = v_check_mem_access(env, in->dst, in->off, size, VA_WRITE, -1, false, false);
	} else if (BJ_MODE(in->code) == BPF_ATOMIC) {
		err = check_atomic(env, in);
	} else {
		if ((err = v_check_read(env, in->src)) || (err = v_check_read(env, in->dst)))
			return err;
		err = v_check_mem_access(env, in->dst, in->off, size, VA_WRITE, in->src, false, false);
	}
	if (err)
		return err;
	env->cur->insn = idx + 1;
	return 0;
}

struct scalar_link {
	uint32_t id;
	const struct bj_scalar *s;
};

static void copy_linked(struct vreg *r, void *ctx)
{
	const struct scalar_link *l = ctx;

	if (r->type == VT_SCALAR && r->id == l->id)
		r->s = *l->s;
}

/* Linux's find_equal_scalars: what a branch teaches about a scalar holds for its copies. */
static void propagate_linked(struct vstate *st, const struct vreg *r)
{
	struct scalar_link l = { r->id, &r->s };

	if (r->type == VT_SCALAR && r->id)
		v_for_each_reg(st, copy_linked, &l);
}

struct null_mark {
	struct venv *env;
	uint32_t id;
	bool is_null;
};

static void mark_null_reg(struct vreg *r, void *ctx)
{
	const struct null_mark *m = ctx;

	if (!(r->flags & VF_NULL) || r->id != m->id)
		return;
	if (m->is_null) {
		vreg_mark_const(r, 0);
		return;
	}
	r->flags &= (uint8_t)~VF_NULL;
	if (!(r->type == VT_MAP_VALUE && r->map && r->map->spin_lock_off >= 0))
		r->id = 0;
}

/* Linux's mark_ptr_or_null_regs. */
static void mark_ptr_or_null(struct venv *env, struct vstate *st, uint32_t id, uint32_t ref_id, bool is_null)
{
	struct null_mark m = { env, id, is_null };

	if (is_null && ref_id) {
		for (uint32_t i = 0; i < st->nrefs; i++) {
			if (st->refs[i].id == ref_id) {
				st->refs[i] = st->refs[--st->nrefs];
				break;
			}
		}
	}
	v_for_each_reg(st, mark_null_reg, &m);
}

struct pkt_mark {
	uint8_t type;
	uint32_t id;
	uint32_t range;
};

static void mark_pkt_range(struct vreg *r, void *ctx)
{
	const struct pkt_mark *m = ctx;

	if (r->type == m->type && r->id == m->id && r->aux < m->range)
		r->aux = m->range;
}

/* Linux's find_good_pkt_pointers (open: the comparison was strict, so one byte more is in the packet). */
static void find_good_pkt_pointers(struct vstate *st, const struct vreg *ptr, bool open)
{
	struct pkt_mark m = { ptr->type, ptr->id, 0 };

	if (ptr->off < 0 || (ptr->off == 0 && open))
		return;
	if (ptr->s.umax > V_MAX_PACKET_OFF || ptr->s.umax + (uint64_t)ptr->off > V_MAX_PACKET_OFF)
		return;
	m.range = (uint32_t)ptr->off + (open ? 1 : 0);
	v_for_each_reg(st, mark_pkt_range, &m);
}

static bool is_init_pkt(const struct vreg *r)
{
	return r->type == VT_PKT && r->off == 0 && sc_is_const(&r->s) && sc_const_value(&r->s) == 0;
}

/* Linux's try_match_pkt_pointers; cur is the fall-through state, other the jump target. */
static bool match_pkt_pointers(const struct bj_insn *in, const struct vreg *dst, const struct vreg *src,
			       struct vstate *cur, struct vstate *other)
{
	bool dst_side, src_side;
	uint8_t op = BJ_OP(in->code);

	if (BJ_CLASS(in->code) == BPF_JMP32 || BJ_SRCBIT(in->code) != BPF_X)
		return false;
	dst_side = (dst->type == VT_PKT && src->type == VT_PKT_END) || (dst->type == VT_PKT_META && is_init_pkt(src));
	src_side = (dst->type == VT_PKT_END && src->type == VT_PKT) || (is_init_pkt(dst) && src->type == VT_PKT_META);
	if (!dst_side && !src_side)
		return false;
	switch (op) {
	case BPF_JGT:
		if (dst_side)
			find_good_pkt_pointers(cur, dst, false);
		else
			find_good_pkt_pointers(other, src, true);
		return true;
	case BPF_JLT:
		if (dst_side)
			find_good_pkt_pointers(other, dst, true);
		else
			find_good_pkt_pointers(cur, src, false);
		return true;
	case BPF_JGE:
		if (dst_side)
			find_good_pkt_pointers(cur, dst, true);
		else
			find_good_pkt_pointers(other, src, false);
		return true;
	case BPF_JLE:
		if (dst_side)
			find_good_pkt_pointers(other, dst, false);
		else
			find_good_pkt_pointers(cur, src, true);
		return true;
	default:
		return false;
	}
}

static bool never_null(const struct vreg *r)
{
	return !(r->flags & VF_NULL) && (r->type == VT_MAP_VALUE || r->type == VT_MAP_KEY || r->type == VT_MEM);
}

static int branch_taken(const struct vreg *dst, const struct vreg *src, uint8_t op, bool jmp32)
{
	if (dst->type == VT_SCALAR && src->type == VT_SCALAR)
		return sc_branch_taken(&dst->s, &src->s, op, jmp32);
	if (vreg_is_pointer(dst) && vreg_is_null_const(src) && never_null(dst)) {
		if (op == BPF_JEQ)
			return 0;
		if (op == BPF_JNE)
			return 1;
	}
	return -1;
}

/* Narrows the scalars of a comparison in one branch; false when that branch cannot be taken. */
static bool refine_branch(struct vstate *st, const struct bj_insn *in, const struct vreg *src_in, bool taken)
{
	struct vframe *f = st->frame[st->curframe];
	struct vreg *d = &f->regs[in->dst];
	bool x = BJ_SRCBIT(in->code) == BPF_X;
	struct vreg tmp = *src_in;
	struct vreg *s = x ? &f->regs[in->src] : &tmp;

	if (d->type != VT_SCALAR || s->type != VT_SCALAR || d == s)
		return true;
	if (!sc_refine(&d->s, &s->s, BJ_OP(in->code), BJ_CLASS(in->code) == BPF_JMP32, taken))
		return false;
	propagate_linked(st, d);
	if (x)
		propagate_linked(st, s);
	return true;
}

static int check_cond_jmp(struct venv *env, const struct bj_insn *in, uint32_t idx)
{
	struct vreg *regs = vcur_regs(env);
	uint8_t op = BJ_OP(in->code);
	bool jmp32 = BJ_CLASS(in->code) == BPF_JMP32;
	bool x = BJ_SRCBIT(in->code) == BPF_X;
	uint32_t target = (uint32_t)jump_target(env, idx);
	struct vreg imm = { .type = VT_SCALAR }, src, dst;
	struct vstate *other;
	bool ok_taken, ok_fall;
	int pred, err;

	if (x) {
		if ((err = v_check_read(env, in->src)))
			return err;
		if (!(vreg_is_pkt(&regs[in->dst]) || regs[in->dst].type == VT_PKT_END) ||
		    !(vreg_is_pkt(&regs[in->src]) || regs[in->src].type == VT_PKT_END)) {
			if (v_ptr_leak(env, &regs[in->src]))
				return verr(env, EACCES, "R%u pointer comparison prohibited", in->src);
		}
		src = regs[in->src];
	} else {
		sc_set_const(&imm.s, (uint64_t)(int64_t)in->imm);
		src = imm;
	}
	if ((err = v_check_read(env, in->dst)))
		return err;
	dst = regs[in->dst];
	pred = branch_taken(&dst, &src, op, jmp32);
	if (pred >= 0) {
		/* The other way is pruned because of these values: states that differ in them differ. */
		v_mark_precise(env, in->dst);
		if (x)
			v_mark_precise(env, in->src);
		env->cur->insn = pred ? target : idx + 1;
		return 0;
	}
	if ((err = v_push_state(env, target, idx, &other)))
		return err;
	ok_taken = refine_branch(other, in, &src, true);
	ok_fall = refine_branch(env->cur, in, &src, false);
	if (!ok_taken || !ok_fall) {
		v_mark_precise(env, in->dst);
		if (x)
			v_mark_precise(env, in->src);
	}
	if (!jmp32 && (op == BPF_JEQ || op == BPF_JNE) && (dst.flags & VF_NULL) && vreg_is_null_const(&src)) {
		if (x)
			v_mark_precise(env, in->src);
		mark_ptr_or_null(env, env->cur, dst.id, dst.ref_id, op == BPF_JNE);
		mark_ptr_or_null(env, other, dst.id, dst.ref_id, op == BPF_JEQ);
	} else if (!match_pkt_pointers(in, &dst, &src, env->cur, other) && v_ptr_leak(env, &dst)) {
		return verr(env, EACCES, "R%u pointer comparison prohibited", in->dst);
	}
	if (!ok_taken)
		drop_last_pending(env);
	if (!ok_fall)
		return 1;
	env->cur->insn = idx + 1;
	return 0;
}

static int check_jmp(struct venv *env, const struct bj_insn *in, uint32_t idx)
{
	uint8_t op = BJ_OP(in->code);

	switch (op) {
	case BPF_JA:
		env->cur->insn = (uint32_t)jump_target(env, idx);
		return 0;
	case BPF_EXIT:
		return v_check_exit(env);
	case BPF_CALL:
		if (BJ_SRCBIT(in->code) == BPF_X)
			return verr(env, EINVAL, "BPF_CALL uses reserved fields");
		if (in->src == BPF_PSEUDO_CALL)
			return v_check_local_call(env, idx, (uint32_t)jump_target(env, idx));
		if (in->src == BPF_PSEUDO_KFUNC_CALL)
			return verr(env, EINVAL, "calling kernel functions is not supported");
		return v_check_helper_call(env, in, idx);
	default:
		return check_cond_jmp(env, in, idx);
	}
}

static int do_insn(struct venv *env, uint32_t idx)
{
	const struct bj_insn *in = &env->insns[idx];
	int err;

	switch (BJ_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		if ((err = v_check_alu(env, in)))
			return err;
		env->cur->insn = idx + 1;
		return 0;
	case BPF_LDX:
	case BPF_ST:
	case BPF_STX:
		return check_load_store(env, in, idx);
	case BPF_LD:
		if (in->code == BJ_LDDW)
			return check_ld_imm64(env, in, idx);
		return check_ld_abs(env, in, idx);
	default:
		env->jmps_processed++;
		return check_jmp(env, in, idx);
	}
}

static int pop_state(struct venv *env)
{
	struct vstate *st = env->pending[--env->n_pending];

	env->pending_bytes -= state_size(st);
	vstate_free(env->cur);
	env->cur = st;
	if (env->log.level == 1) {
		vlog_reset(env, st->log_pos);
		vlog_end_line(env);
	}
	if (env->log.level >= 2) {
		vlog_printf(env, "\nfrom %u to %u:", st->prev_insn, st->insn);
		vlog_state(env, st, true);
	}
	env->prev_log_pos = 0;
	return 0;
}

static int do_check(struct venv *env)
{
	for (;;) {
		uint32_t idx = env->cur->insn;
		int r;

		if (idx >= env->n)
			return verr(env, EINVAL, "invalid insn idx %u insn_cnt %zu", idx, env->n);
		if (++env->insn_processed > env->insn_limit) {
			env->insn_processed--;
			return verr(env, E2BIG, "BPF program is too large. Processed %" PRIu64 " insn",
				    env->insn_processed + 1);
		}
		r = 0;
		if (env->iflags[idx] & IF_PRUNE)
			r = is_state_visited(env, idx);
		if (r < 0)
			return r;
		if (r == 1) {
			vlog_insn_state(env);
			vlog_printf(env, "%u: safe\n", idx);
		} else {
			vlog_insn_state(env);
			vlog_linfo(env, idx);
			vlog_insn(env, idx);
			if ((r = v_hist_cut(env)) || (r = v_hist_push(env, idx)))
				return r;
			r = do_insn(env, idx);
			if (r < 0)
				return r;
		}
		if (r == 0)
			continue;
		update_branch_counts(env->cur->parent);
		env->cur->parent = NULL;
		if (!env->n_pending)
			return 0;
		pop_state(env);
	}
}

/* Linux's check_max_stack_depth: frames of a call chain share MAX_BPF_STACK, each rounded up to 32. */
static int chain_depth(struct venv *env, uint32_t sp, uint32_t depth_before, uint32_t level, uint32_t callsite)
{
	struct vsubprog *s = &env->subprogs[sp];
	uint32_t own = s->stack_depth ? (s->stack_depth + 31) / 32 * 32 : 32;
	uint32_t total = depth_before + own;
	int err;

	/* Deeper chains were walked already from here with at least this much stack below: nothing new. */
	if (level >= V_MAX_FRAMES || (s->walked && depth_before <= s->walked_before))
		return 0;
	s->walked = true;
	s->walked_before = depth_before;
	if (total > V_STACK)
		err = verr(env, EACCES, "combined stack size of %u calls is %u. Too large", level + 1, total);
	else if (s->has_tail_call && level > 0 && depth_before > 256)
		err = verr(env, EINVAL, "tail_calls are not allowed when call stack of previous frames is %u bytes. Too large",
			   depth_before);
	else
		err = 0;
	if (err) {
		env->err_insn = (int)callsite;
		return err;
	}
	for (uint32_t i = s->start; i < s->end; i++) {
		const struct bj_insn *in = &env->insns[i];
		long t;

		if (env->iflags[i] & IF_SECOND_HALF)
			continue;
		if (bj_insn_is_local_call(in))
			t = jump_target(env, i);
		else if (is_pseudo_func(in))
			t = (long)i + 1 + in->imm;
		else
			continue;
		if ((err = chain_depth(env, env->insn_subprog[t], total, level + 1, i)))
			return err;
	}
	return 0;
}

/* --- entry --- */

static int init_state(struct venv *env)
{
	struct vframe *f;

	env->cur = vstate_new();
	f = vframe_new();
	if (!env->cur || !f) {
		vframe_free(f);
		return -ENOMEM;
	}
	env->cur->frame[0] = f;
	f->regs[BPF_REG_10] = (struct vreg){ .type = VT_STACK };
	sc_set_const(&f->regs[BPF_REG_10].s, 0);
	if (env->type == BJ_PROG_TYPE_MEM) {
		f->regs[BPF_REG_1] = (struct vreg){ .type = VT_MEM, .aux = env->mem_size };
		sc_set_const(&f->regs[BPF_REG_1].s, 0);
		vreg_mark_const(&f->regs[BPF_REG_2], env->mem_size);
	} else {
		f->regs[BPF_REG_1] = (struct vreg){ .type = VT_CTX };
		sc_set_const(&f->regs[BPF_REG_1].s, 0);
	}
	f->scratched = 0x7ff;
	return 0;
}

static void free_explored_list(struct vexplored *e)
{
	struct vexplored *next;

	for (; e; e = next) {
		next = e->next;
		for (uint32_t f = 0; f < V_MAX_FRAMES; f++)
			vframe_free(e->st.frame[f]);
		vsnap_put(e->st.reentry);
		free(e->st.hist);
		free(e);
	}
}

static void free_env(struct venv *env)
{
	vstate_free(env->cur);
	for (size_t i = 0; i < env->n_pending; i++)
		vstate_free(env->pending[i]);
	free(env->pending);
	if (env->explored)
		for (size_t i = 0; i < env->n; i++)
			free_explored_list(env->explored[i]);
	free_explored_list(env->retired);
	free(env->explored);
	free(env->n_explored);
	free(env->iflags);
	free(env->live);
	free(env->subprogs);
	free(env->insn_subprog);
}

static void print_stats(struct venv *env, uint64_t ns)
{
	vlog_printf(env, "verification time %" PRIu64 " usec\n", ns / 1000);
	vlog_printf(env, "stack depth ");
	for (uint32_t i = 0; i < env->n_subprogs; i++)
		vlog_printf(env, "%u%s", env->subprogs[i].stack_depth, i + 1 < env->n_subprogs ? "+" : "");
	vlog_printf(env, "\n");
	vlog_printf(env,
		    "processed %" PRIu64 " insns (limit %" PRIu64 ") max_states_per_insn %u total_states %u peak_states %u mark_read 0\n",
		    env->insn_processed, env->insn_limit, env->max_states_per_insn, env->total_states, env->peak_states);
}

static void fill_stats(const struct venv *env, struct bj_verifier_stats *stats, uint64_t ns)
{
	uint32_t depth = 0;

	if (!stats)
		return;
	for (uint32_t i = 0; i < env->n_subprogs; i++)
		if (env->subprogs[i].stack_depth > depth)
			depth = env->subprogs[i].stack_depth;
	*stats = (struct bj_verifier_stats){
		.insns_processed = env->insn_processed,
		.duration_ns = ns,
		.total_states = env->total_states,
		.peak_states = env->peak_states,
		.max_states_per_insn = env->max_states_per_insn,
		.stack_depth = depth,
	};
}

static int setup_env(struct venv *env, const struct bj_insn *insns, size_t n, const struct bj_verifier_opts *opts)
{
	env->insns = insns;
	env->n = n;
	env->type = BJ_OPTS_GET(opts, type, BJ_PROG_TYPE_MEM);
	env->attach = BJ_OPTS_GET(opts, attach, BJ_ATTACH_NONE);
	env->priv = BJ_OPTS_GET(opts, policy, BJ_VERIFIER_PRIVILEGED) == BJ_VERIFIER_PRIVILEGED;
	env->maps = BJ_OPTS_GET(opts, maps, NULL);
	env->n_maps = env->maps ? BJ_OPTS_GET(opts, n_maps, 0) : 0;
	env->mem_size = BJ_OPTS_GET(opts, mem_size, 0);
	env->protos = BJ_OPTS_GET(opts, protos, NULL);
	env->n_protos = env->protos ? BJ_OPTS_GET(opts, n_protos, 0) : 0;
	env->line_info = BJ_OPTS_GET(opts, line_info, NULL);
	env->n_line_info = env->line_info ? BJ_OPTS_GET(opts, n_line_info, 0) : 0;
	env->insn_limit = BJ_OPTS_GET(opts, insn_limit, 0);
	if (!env->insn_limit)
		env->insn_limit = 1000000;
	env->log.level = BJ_OPTS_GET(opts, log_level, 0);
	env->log.buf = BJ_OPTS_GET(opts, log_buf, NULL);
	env->log.size = env->log.buf ? BJ_OPTS_GET(opts, log_size, 0) : 0;
	if (env->log.size)
		env->log.buf[0] = '\0';
	env->err_insn = -1;
	if ((unsigned)env->type > BJ_PROG_TYPE_SCHED_CLS)
		return verr(env, EINVAL, "unknown program type %u", (unsigned)env->type);
	if (env->log.level > 2 || (env->log.level && env->log.size < 128 && env->log.buf))
		return verr(env, EINVAL, "log level %u / log size %zu invalid", env->log.level, env->log.size);
	for (size_t i = 0; i < env->n_maps; i++) {
		const struct bj_verifier_map *m = &env->maps[i];

		if (m->spin_lock_off >= 0 && (uint64_t)m->spin_lock_off + 4 > m->value_size)
			return verr(env, EINVAL, "map %zu: bpf_spin_lock at %d outside its %u-byte value", i,
				    m->spin_lock_off, m->value_size);
	}
	if (!insns || !n || n > BJ_MAX_INSNS)
		return 0; /* bj_insns_validate says what is wrong */
	env->iflags = calloc(n + 1, 1);
	env->explored = calloc(n, sizeof(*env->explored));
	env->n_explored = calloc(n, sizeof(*env->n_explored));
	if (!env->iflags || !env->explored || !env->n_explored)
		return verr(env, ENOMEM, "out of memory");
	return 0;
}

int bj_verify(const struct bj_insn *insns, size_t n, const struct bj_verifier_opts *opts,
	      struct bj_verifier_stats *stats, struct bj_error *err)
{
	struct venv env = { 0 };
	uint64_t t0 = bj_clock_ns(CLOCK_MONOTONIC), ns;
	int ret;

	if (stats)
		*stats = (struct bj_verifier_stats){ 0 };
	if (!BJ_OPTS_VALID(opts, struct bj_verifier_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_verifier_opts: unknown non-zero fields");
	ret = setup_env(&env, insns, n, opts);
	if (!ret && (ret = bj_insns_validate(insns, n, err))) {
		/* Malformed: the log says why too, and is a string as promised. */
		vlog_printf(&env, "%s\n", err ? err->msg : "malformed program");
		free_env(&env);
		return ret;
	}
	if (!ret)
		ret = find_subprogs(&env);
	if (!ret)
		ret = check_cfg(&env);
	if (!ret) {
		mark_prune_points(&env);
		ret = compute_liveness(&env);
	}
	if (!ret)
		ret = init_state(&env);
	if (!ret)
		ret = do_check(&env);
	if (!ret)
		ret = chain_depth(&env, 0, 0, 0, 0);
	ns = bj_clock_ns(CLOCK_MONOTONIC) - t0;
	if (env.log.level)
		print_stats(&env, ns);
	fill_stats(&env, stats, ns);
	if (ret == -ENOMEM && !env.errmsg[0])
		snprintf(env.errmsg, sizeof(env.errmsg), "out of memory");
	if (ret)
		bj_fail(err, -ret, env.err_insn, -1, "%s", env.errmsg);
	free_env(&env);
	return ret;
}
