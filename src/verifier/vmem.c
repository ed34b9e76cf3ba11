/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory accesses: context per program type, packet, map values and keys, ring-buffer memory and the
 * stack with its slot tracking (Linux's check_mem_access and check_stack_{read,write}_*).
 */
#include <bpfjet/map.h>
#include <errno.h>
#include <inttypes.h>

#include "verifier/vstate.h"

#define XDP_MD_SIZE 24
#define SKB_SIZE 192

void v_coerce_size(struct vreg *r, uint32_t size, bool sext)
{
	if (r->type != VT_SCALAR || size >= 8)
		return;
	if (sext)
		sc_coerce_size_sext(&r->s, (uint8_t)size);
	else
		sc_coerce_size(&r->s, (uint8_t)size);
}

/* Linux's __check_mem_access. */
static int mem_access_msg(struct venv *env, uint32_t regno, int64_t off, int64_t size, uint64_t mem_size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	bool size_ok = size > 0 || (size == 0 && zero_ok);

	if (off >= 0 && size_ok && (uint64_t)off + (uint64_t)size <= mem_size)
		return 0;
	switch (r->type) {
	case VT_MAP_KEY:
		return verr(env, EACCES, "invalid access to map key, key_size=%" PRIu64 " off=%" PRId64 " size=%" PRId64,
			    mem_size, off, size);
	case VT_MAP_VALUE:
		return verr(env, EACCES,
			    "invalid access to map value, value_size=%" PRIu64 " off=%" PRId64 " size=%" PRId64, mem_size,
			    off, size);
	case VT_PKT:
	case VT_PKT_META:
		return verr(env, EACCES, "invalid access to packet, off=%" PRId64 " size=%" PRId64 ", R%u(id=%u,off=%" PRId64
			    ",r=%" PRIu64 ")", off, size, regno, r->id, off, mem_size);
	default:
		return verr(env, EACCES, "invalid access to memory, mem_size=%" PRIu64 " off=%" PRId64 " size=%" PRId64,
			    mem_size, off, size);
	}
}

/* Linux's check_mem_region_access: fixed offset plus every value of the variable one. */
static int mem_region_access(struct venv *env, uint32_t regno, int64_t off, int64_t size, uint64_t mem_size,
			     bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	int err;

	if (r->s.smin < 0 && (r->s.smin == INT64_MIN || off + r->s.smin != (int64_t)(int32_t)(off + r->s.smin) ||
			      r->s.smin + off < 0))
		return verr(env, EACCES,
			    "R%u min value is negative, either use unsigned index or do a if (index >=0) check.", regno);
	if ((err = mem_access_msg(env, regno, r->s.smin + off, size, mem_size, zero_ok)))
		return verr(env, -err, "R%u min value is outside of the allowed memory range", regno);
	if (r->s.umax >= (uint64_t)V_MAX_VAR_OFF)
		return verr(env, EACCES, "R%u unbounded memory access, make sure to bounds check any such access", regno);
	if ((err = mem_access_msg(env, regno, (int64_t)r->s.umax + off, size, mem_size, zero_ok)))
		return verr(env, -err, "R%u max value is outside of the allowed memory range", regno);
	return 0;
}

static int packet_access(struct venv *env, uint32_t regno, int64_t off, int64_t size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	int err;

	if (r->s.smin < 0)
		return verr(env, EACCES,
			    "R%u min value is negative, either use unsigned index or do a if (index >=0) check.", regno);
	if ((err = mem_access_msg(env, regno, off, size, r->aux, zero_ok)))
		return verr(env, -err, "R%u offset is outside of the packet", regno);
	return 0;
}

static int map_access_type(struct venv *env, uint32_t regno, int64_t off, int64_t size, enum vaccess t)
{
	const struct bj_verifier_map *m = vcur_regs(env)[regno].map;

	if (t == VA_WRITE && (m->flags & BJ_F_RDONLY_PROG))
		return verr(env, EACCES, "write into map forbidden, value_size=%u off=%" PRId64 " size=%" PRId64,
			    m->value_size, off, size);
	if (t == VA_READ && (m->flags & BJ_F_WRONLY_PROG))
		return verr(env, EACCES, "read from map forbidden, value_size=%u off=%" PRId64 " size=%" PRId64,
			    m->value_size, off, size);
	return 0;
}

static int map_access(struct venv *env, uint32_t regno, int64_t off, int64_t size, bool zero_ok)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	const struct bj_verifier_map *m = r->map;
	int err;

	if ((err = mem_region_access(env, regno, off, size, m->value_size, zero_ok)))
		return err;
	if (m->spin_lock_off >= 0) {
		int64_t lo = r->s.smin + off, hi = (int64_t)r->s.umax + off + size;

		if (lo < m->spin_lock_off + 4 && m->spin_lock_off < hi)
			return verr(env, EACCES, "bpf_spin_lock cannot be accessed directly by load/store");
	}
	return 0;
}

/* A frozen read-only map's bytes are constants (Linux's bpf_map_direct_read). */
static bool frozen_read(const struct vreg *r, int64_t off, uint32_t size, bool sext, uint64_t *val)
{
	const struct bj_verifier_map *m = r->map;
	const uint8_t *p;
	uint64_t v = 0;

	if (!m->frozen || !m->frozen_value || !(m->flags & BJ_F_RDONLY_PROG) || !sc_is_const(&r->s))
		return false;
	off += (int64_t)sc_const_value(&r->s);
	if (off < 0 || (uint64_t)off + size > m->value_size)
		return false;
	p = (const uint8_t *)m->frozen_value + off;
	for (uint32_t i = 0; i < size; i++)
		v |= (uint64_t)p[i] << (8 * i);
	if (sext && size < 8) {
		uint64_t sign = 1ull << (8 * size - 1);

		v = (v ^ sign) - sign;
	}
	*val = v;
	return true;
}

static bool xdp_ctx_access(const struct venv *env, int32_t off, uint32_t size, enum vaccess t, bool ldsx,
			   uint8_t *rtype)
{
	if (off < 0 || off >= XDP_MD_SIZE || off % (int32_t)size || size != 4 || t == VA_WRITE)
		return false;
	if (off == 20 && env->attach != BJ_ATTACH_XDP_DEVMAP)
		return false;
	*rtype = off == 0 ? VT_PKT : off == 4 ? VT_PKT_END : off == 8 ? VT_PKT_META : VT_SCALAR;
	return !(ldsx && *rtype != VT_SCALAR);
}

/* struct __sk_buff: the fields Linux's bpf_skb_is_valid_access and the per-type checks allow. */
static bool skb_ctx_access(const struct venv *env, int32_t off, uint32_t size, enum vaccess t, bool ldsx,
			   uint8_t *rtype)
{
	bool tc = env->type == BJ_PROG_TYPE_SCHED_CLS;
	bool cb = off >= 48 && off < 68;

	*rtype = VT_SCALAR;
	if (off < 0 || off >= SKB_SIZE || off % (int32_t)size)
		return false;
	if (off >= 88 && off < 140)     /* family .. local_port: sk_skb and sock_ops only */
		return false;
	if (off >= 144 && off < 152)    /* flow_keys */
		return false;
	if (off >= 168 && off < 176)    /* sk: a socket pointer bpfjet does not model */
		return false;
	if (off >= 180 && off < 184)    /* tstamp_type and padding */
		return false;
	if (!tc && ((off >= 72 && off < 84) || off == 140 || (off >= 152 && off < 164) || off >= 184))
		return false;   /* tc_classid, data, data_end, data_meta, tstamp, wire_len, hwtstamp */
	if (t == VA_WRITE) {
		bool ok = cb || (tc && (off == 8 || off == 44 || off == 32 || off == 72 || off == 12 || off == 152));

		if (!ok)
			return false;
	}
	if (cb)
		return off + (int32_t)size <= 68;
	if (off == 76 || off == 80 || off == 140) {
		if (size != 4 || ldsx)
			return false;
		*rtype = off == 76 ? VT_PKT : off == 80 ? VT_PKT_END : VT_PKT_META;
		return true;
	}
	if (off == 152 || off == 184)
		return size == 8 && !(off == 184 && t == VA_WRITE);
	if (t == VA_WRITE)
		return size == 4;
	return size <= 4 && (off & 3) + (int32_t)size <= 4;
}

static int ctx_access(struct venv *env, uint32_t regno, int32_t off, uint32_t size, enum vaccess t, bool ldsx,
		      uint8_t *rtype)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	bool ok = false;

	if (r->off)
		return verr(env, EACCES, "dereference of modified ctx ptr R%u off=%d disallowed", regno, r->off);
	if (!sc_is_const(&r->s) || sc_const_value(&r->s)) {
		char tb[48];

		tnum_sbin(tb, sizeof(tb), r->s.var_off);
		return verr(env, EACCES, "variable ctx access var_off=%s disallowed", tb);
	}
	if (env->type == BJ_PROG_TYPE_XDP)
		ok = xdp_ctx_access(env, off, size, t, ldsx, rtype);
	else if (env->type == BJ_PROG_TYPE_SOCKET_FILTER || env->type == BJ_PROG_TYPE_SCHED_CLS)
		ok = skb_ctx_access(env, off, size, t, ldsx, rtype);
	if (!ok)
		return verr(env, EACCES, "invalid bpf_context access off=%d size=%u", off, size);
	return 0;
}

/* --- the stack --- */

static struct vframe *stack_frame(struct venv *env, const struct vreg *r)
{
	return env->cur->frame[r->frameno];
}

static int stack_reserve(struct venv *env, struct vframe *f, int64_t min_off)
{
	uint32_t depth = (uint32_t)-min_off;
	struct vsubprog *sp = &env->subprogs[f->subprog];

	if (depth > sp->stack_depth)
		sp->stack_depth = depth;
	if (vframe_grow_stack(f, (depth + 7) / 8))
		return verr(env, ENOMEM, "out of memory");
	return 0;
}

static uint8_t *slot_kind(struct vframe *f, int64_t addr)
{
	int64_t b = -addr - 1;

	return &f->stack[b / 8].kind[b % 8];
}

static struct vslot *slot_of(struct vframe *f, int64_t addr)
{
	return &f->stack[(-addr - 1) / 8];
}

static void scrub_spill(struct vslot *s)
{
	if (s->kind[7] != SK_SPILL)
		return;
	for (int i = 0; i < 8; i++)
		if (s->kind[i] == SK_SPILL)
			s->kind[i] = SK_MISC;
	s->spill = (struct vreg){ 0 };
}

static void mark_scratched(struct vframe *f, int64_t addr)
{
	f->slots_scratched |= 1ull << ((-addr - 1) / 8);
}

static void save_spill(struct vslot *s, const struct vreg *r, uint32_t size)
{
	int i;

	s->spill = *r;
	for (i = 7; i > 7 - (int)size; i--)
		s->kind[i] = SK_SPILL;
	for (; i >= 0; i--)
		if (s->kind[i] != SK_ZERO && s->kind[i] != SK_INVALID)
			s->kind[i] = SK_MISC;
}

/* Bits a scalar may need (Linux's get_reg_width). */
static uint32_t reg_width(const struct vreg *r)
{
	return r->s.umax ? 64 - (uint32_t)__builtin_clzll(r->s.umax) : 0;
}

static int stack_write_fixed(struct venv *env, struct vframe *f, int64_t o, uint32_t size, int value_regno,
			     const struct bj_insn *in)
{
	struct vslot *s = slot_of(f, o);
	const struct vreg *vr = value_regno >= 0 ? &vcur_regs(env)[value_regno] : NULL;
	bool st_imm = !vr && in && BJ_CLASS(in->code) == BPF_ST;
	uint8_t kind;

	mark_scratched(f, o);
	if (!env->priv && s->kind[7] == SK_SPILL && s->spill.type != VT_SCALAR && size != 8)
		return verr(env, EACCES, "attempt to corrupt spilled pointer on stack");
	if (vr && !(o % 8) && vr->type == VT_SCALAR && env->priv) {
		save_spill(s, vr, size);
		if (reg_width(vr) > 8 * size)
			s->spill.id = 0;
		return 0;
	}
	if (st_imm && !(o % 8) && env->priv) {
		struct vreg k;

		vreg_mark_const(&k, (uint64_t)(int64_t)in->imm);
		save_spill(s, &k, size);
		return 0;
	}
	if (vr && vreg_is_pointer(vr)) {
		if (size != 8) {
			vlog_linfo(env, env->cur->insn);
			return verr(env, EACCES, "invalid size of register spill");
		}
		if (f != vcur_frame(env) && vr->type == VT_STACK)
			return verr(env, EINVAL, "cannot spill pointers to stack into stack frame of the caller");
		save_spill(s, vr, 8);
		return 0;
	}
	scrub_spill(s);
	kind = (vr && vreg_is_null_const(vr)) || (st_imm && in->imm == 0) ? SK_ZERO : SK_MISC;
	if (kind == SK_ZERO && vr)
		v_mark_precise(env, (uint32_t)value_regno);
	for (uint32_t i = 0; i < size; i++)
		*slot_kind(f, o + i) = kind;
	return 0;
}

static int stack_read_bytes(struct venv *env, struct vframe *f, int64_t o, uint32_t size, uint32_t *zeros,
			    uint32_t *spills)
{
	*zeros = *spills = 0;
	for (uint32_t i = 0; i < size; i++) {
		uint8_t k = *slot_kind(f, o + i);

		if (k == SK_SPILL)
			(*spills)++;
		else if (k == SK_ZERO)
			(*zeros)++;
		else if (k == SK_INVALID && !env->priv)
			return verr(env, EACCES, "invalid read from stack off %" PRId64 "+%u size %u", o, i, size);
	}
	return 0;
}

static int stack_read_fixed(struct venv *env, struct vframe *f, int64_t o, uint32_t size, int dst)
{
	struct vslot *s = slot_of(f, o);
	struct vreg *regs = vcur_regs(env);
	uint32_t zeros, spills;
	int err;

	mark_scratched(f, o);
	if (s->kind[7] == SK_SPILL) {
		uint32_t spill_size = 1;

		for (int i = 7; i > 0 && s->kind[i - 1] == SK_SPILL; i--)
			spill_size++;
		if (size == 8 && spill_size == 8) {
			if (dst >= 0)
				regs[dst] = s->spill;
			else if (v_ptr_leak(env, &s->spill))
				return verr(env, EACCES, "leaking pointer from stack off %" PRId64, o);
			return 0;
		}
		if (s->spill.type != VT_SCALAR) {
			vlog_linfo(env, env->cur->insn);
			return verr(env, EACCES, "invalid size of register fill");
		}
		if (dst < 0)
			return 0;
		if (size <= spill_size && !(o % 8)) {
			regs[dst] = s->spill;
			if (reg_width(&s->spill) > 8 * size)
				regs[dst].id = 0;
			return 0;
		}
		if ((err = stack_read_bytes(env, f, o, size, &zeros, &spills)))
			return err;
		if (spills == size && vreg_is_null_const(&s->spill)) {
			v_mark_precise_slot(env, (uint32_t)(f->regs[BPF_REG_10].frameno), (uint32_t)((-o - 1) / 8));
			vreg_mark_const(&regs[dst], 0);
		} else if (zeros == size) {
			vreg_mark_const(&regs[dst], 0);
		} else
			vreg_mark_unknown(&regs[dst]);
		return 0;
	}
	if ((err = stack_read_bytes(env, f, o, size, &zeros, &spills)))
		return err;
	if (dst >= 0) {
		if (zeros == size)
			vreg_mark_const(&regs[dst], 0);
		else
			vreg_mark_unknown(&regs[dst]);
	}
	return 0;
}

/* Bounds of an access at r + off of size bytes (Linux's check_stack_access_within_bounds). */
static int stack_bounds(struct venv *env, uint32_t regno, int64_t off, int64_t size, const char *what,
			int64_t *min_off, int64_t *max_off)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	char tb[48];

	if (sc_is_const(&r->s)) {
		*min_off = (int64_t)sc_const_value(&r->s) + off;
		*max_off = *min_off + size;
	} else {
		if (r->s.smax >= V_MAX_VAR_OFF || r->s.smin <= -V_MAX_VAR_OFF)
			return verr(env, EACCES, "invalid unbounded variable-offset%s stack R%u", what, regno);
		*min_off = r->s.smin + off;
		*max_off = r->s.smax + off + size;
	}
	if (*min_off < -V_STACK || *max_off > 0 || size < 0) {
		/* Linux: below the frame is EACCES, into non-negative offsets EINVAL. */
		int errnum = *min_off < -V_STACK ? EACCES : EINVAL;

		if (sc_is_const(&r->s))
			return verr(env, errnum, "invalid%s stack R%u off=%" PRId64 " size=%" PRId64, what, regno, off,
				    size);
		tnum_sbin(tb, sizeof(tb), r->s.var_off);
		return verr(env, errnum, "invalid variable-offset%s stack R%u var_off=%s off=%" PRId64 " size=%" PRId64,
			    what, regno, tb, off, size);
	}
	return 0;
}

static int stack_write_var(struct venv *env, struct vframe *f, int64_t lo, int64_t hi, int value_regno,
			   const struct bj_insn *in)
{
	const struct vreg *vr = value_regno >= 0 ? &vcur_regs(env)[value_regno] : NULL;
	bool zero = (vr && vreg_is_null_const(vr)) || (!vr && in && BJ_CLASS(in->code) == BPF_ST && in->imm == 0);

	if (zero && vr)
		v_mark_precise(env, (uint32_t)value_regno);

	for (int64_t a = lo; a < hi; a++) {
		uint8_t *k = slot_kind(f, a);

		mark_scratched(f, a);
		if (*k == SK_SPILL)
			scrub_spill(slot_of(f, a));
		if (*k == SK_INVALID && !env->priv)
			return verr(env, EINVAL, "uninit stack in range of var-offset write prohibited for !root; insn %u, off: %" PRId64,
				    env->cur->insn, a);
		/* The write may miss any one byte: a zero stays a zero only when zero is written. */
		*k = zero && *k == SK_ZERO ? SK_ZERO : *k == SK_INVALID ? SK_INVALID : SK_MISC;
	}
	return 0;
}

static int stack_read_var(struct venv *env, struct vframe *f, uint32_t regno, int64_t lo, int64_t hi, int dst)
{
	for (int64_t a = lo; a < hi; a++) {
		uint8_t k = *slot_kind(f, a);

		mark_scratched(f, a);
		if (k == SK_INVALID && !env->priv) {
			char tb[48];

			tnum_sbin(tb, sizeof(tb), vcur_regs(env)[regno].s.var_off);
			return verr(env, EACCES, "invalid variable-offset read from stack R%u var_off=%s", regno, tb);
		}
	}
	if (dst >= 0)
		vreg_mark_unknown(&vcur_regs(env)[dst]);
	return 0;
}

static int stack_access(struct venv *env, uint32_t regno, int32_t off, uint32_t size, enum vaccess t,
			int value_regno)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	struct vframe *f = stack_frame(env, r);
	int64_t total = (int64_t)r->off + off, lo, hi;
	int err;

	if (!tnum_is_aligned(tnum_add(r->s.var_off, tnum_const((uint64_t)total)), size)) {
		char tb[48];

		tnum_sbin(tb, sizeof(tb), r->s.var_off);
		return verr(env, EACCES, "misaligned stack access off %s+%d+%d size %u", tb, r->off, off, size);
	}
	if ((err = stack_bounds(env, regno, total, size, t == VA_READ ? " read from" : " write to", &lo, &hi)) ||
	    (err = stack_reserve(env, f, lo)))
		return err;
	if (sc_is_const(&r->s)) {
		const struct bj_insn *in = &env->insns[env->cur->insn];

		v_hist_stack(env, r->frameno, lo);
		if (t == VA_WRITE)
			return stack_write_fixed(env, f, lo, size, value_regno, in);
		return stack_read_fixed(env, f, lo, size, value_regno);
	}
	if (t == VA_WRITE)
		return stack_write_var(env, f, lo, hi, value_regno, &env->insns[env->cur->insn]);
	return stack_read_var(env, f, regno, lo, hi, value_regno);
}

/* --- entry points --- */

static int store_leak(struct venv *env, int value_regno, const char *where)
{
	if (value_regno >= 0 && v_ptr_leak(env, &vcur_regs(env)[value_regno]))
		return verr(env, EACCES, "R%d leaks addr into %s", value_regno, where);
	return 0;
}

static bool may_write_packet(const struct venv *env)
{
	return env->type == BJ_PROG_TYPE_XDP || env->type == BJ_PROG_TYPE_SCHED_CLS;
}

int v_check_mem_access(struct venv *env, uint32_t regno, int32_t off, uint32_t size, enum vaccess t,
		       int value_regno, bool ldsx, bool atomic)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *r = &regs[regno];
	int64_t total = (int64_t)r->off + off;
	uint8_t rtype = VT_SCALAR;
	bool known = false;
	uint64_t kval = 0;
	char tb[32];
	int err;

	if (r->flags & VF_NULL)
		return verr(env, EACCES, "R%u invalid mem access '%s'", regno, vreg_type_str(r, tb, sizeof(tb)));
	/* Atomics need natural alignment on every kind of memory (Linux's strict_alignment_once). */
	if (atomic && vreg_is_pointer(r) && r->type != VT_STACK &&
	    !tnum_is_aligned(tnum_add(r->s.var_off, tnum_const((uint64_t)total)), size)) {
		char tn[48];

		tnum_sbin(tn, sizeof(tn), r->s.var_off);
		return verr(env, EACCES, "misaligned %saccess off %s+%d+%d size %u",
			    r->type == VT_MAP_VALUE ? "value " : r->type == VT_CTX ? "context " : "", tn, r->off, off, size);
	}
	switch (r->type) {
	case VT_MAP_VALUE:
		if (t == VA_WRITE && (err = store_leak(env, value_regno, "map")))
			return err;
		if ((err = map_access_type(env, regno, total, size, t)) || (err = map_access(env, regno, total, size, false)))
			return err;
		if (t == VA_READ && !atomic)
			known = frozen_read(r, total, size, ldsx, &kval);
		break;
	case VT_MEM:
		if (t == VA_WRITE && (r->flags & VF_RDONLY))
			return verr(env, EACCES, "R%u cannot write into %s", regno, vreg_type_str(r, tb, sizeof(tb)));
		if (t == VA_WRITE && (err = store_leak(env, value_regno, "mem")))
			return err;
		if ((err = mem_region_access(env, regno, total, size, r->aux, false)))
			return err;
		break;
	case VT_CTX:
		if (atomic)
			goto atomic_forbidden;
		if (t == VA_WRITE && (err = store_leak(env, value_regno, "ctx")))
			return err;
		if ((err = ctx_access(env, regno, off, size, t, ldsx, &rtype)))
			return err;
		break;
	case VT_STACK:
		err = stack_access(env, regno, off, size, t, value_regno);
		if (!err && t == VA_READ && value_regno >= 0)
			v_coerce_size(&regs[value_regno], size, ldsx);
		return err;
	case VT_PKT:
	case VT_PKT_META:
		if (atomic)
			goto atomic_forbidden;
		if (t == VA_WRITE && !may_write_packet(env))
			return verr(env, EACCES, "cannot write into packet");
		if (t == VA_WRITE && (err = store_leak(env, value_regno, "packet")))
			return err;
		if ((err = packet_access(env, regno, total, size, false)))
			return err;
		break;
	case VT_MAP_KEY:
		if (t == VA_WRITE)
			return verr(env, EACCES, "write to change key R%u not allowed", regno);
		if ((err = mem_region_access(env, regno, total, size, r->map->key_size, false)))
			return err;
		break;
	default:
		return verr(env, EACCES, "R%u invalid mem access '%s'", regno, vreg_type_str(r, tb, sizeof(tb)));
	}
	if (t == VA_READ && value_regno >= 0) {
		struct vreg *d = &regs[value_regno];

		if (rtype != VT_SCALAR) {
			*d = (struct vreg){ .type = rtype };
			sc_set_const(&d->s, 0);
		} else if (known) {
			vreg_mark_const(d, kval);
		} else {
			vreg_mark_unknown(d);
			if (ldsx)
				sc_set_unknown_sext(&d->s, (uint8_t)size);
			else if (size < 8)
				sc_set_unknown_size(&d->s, (uint8_t)size);
		}
	}
	return 0;
atomic_forbidden:
	return verr(env, EACCES, "BPF_ATOMIC stores into R%u %s is not allowed", regno, vreg_type_str(r, tb, sizeof(tb)));
}

int v_check_stack_range(struct venv *env, uint32_t regno, int32_t off, int64_t size, bool zero_ok, bool raw)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	struct vframe *f = stack_frame(env, r);
	int64_t lo, hi;
	char tb[48];
	int err;

	if (size == 0 && zero_ok)
		return 0;
	if ((err = stack_bounds(env, regno, off, size, raw ? " write to" : " read from", &lo, &hi)) ||
	    (err = stack_reserve(env, f, lo)))
		return err;
	if (!sc_is_const(&r->s)) {
		tnum_sbin(tb, sizeof(tb), r->s.var_off);
		if (!env->priv)
			return verr(env, EACCES, "R%u variable offset stack access prohibited for !root, var_off=%s", regno,
				    tb);
		/* Which bytes a variable-offset helper write covers is unknown: they must be initialised already. */
		raw = false;
	}
	for (int64_t a = lo; a < hi; a++) {
		struct vslot *s = slot_of(f, a);
		uint8_t *k = slot_kind(f, a);

		mark_scratched(f, a);
		if (raw) {
			if (*k == SK_SPILL && !env->priv && s->spill.type != VT_SCALAR)
				return verr(env, EACCES, "attempt to corrupt spilled pointer on stack");
			scrub_spill(s);
			*k = SK_MISC;
			continue;
		}
		if (*k == SK_MISC || *k == SK_ZERO)
			continue;
		if (*k == SK_SPILL && (s->spill.type == VT_SCALAR || env->priv))
			continue;
		if (*k == SK_INVALID && env->priv)
			continue;
		if (sc_is_const(&r->s))
			return verr(env, EACCES, "invalid indirect read from stack R%u off %d+%" PRId64 " size %" PRId64,
				    regno, off, a - lo, size);
		tnum_sbin(tb, sizeof(tb), r->s.var_off);
		return verr(env, EACCES, "invalid indirect read from stack R%u var_off %s+%" PRId64 " size %" PRId64,
			    regno, tb, a - lo, size);
	}
	return 0;
}

int v_check_helper_mem(struct venv *env, uint32_t regno, int64_t size, bool zero_ok, bool raw)
{
	const struct vreg *r = &vcur_regs(env)[regno];
	char tb[32];
	int err;

	switch (r->type) {
	case VT_PKT:
	case VT_PKT_META:
		if (raw && !may_write_packet(env))
			return verr(env, EACCES, "cannot write into packet");
		return packet_access(env, regno, r->off, size, zero_ok);
	case VT_MAP_KEY:
		if (raw)
			return verr(env, EACCES, "R%u cannot write into %s", regno, vreg_type_str(r, tb, sizeof(tb)));
		return mem_region_access(env, regno, r->off, size, r->map->key_size, zero_ok);
	case VT_MAP_VALUE:
		if ((err = map_access_type(env, regno, r->off, size, raw ? VA_WRITE : VA_READ)))
			return err;
		return map_access(env, regno, r->off, size, zero_ok);
	case VT_MEM:
		if (raw && (r->flags & VF_RDONLY))
			return verr(env, EACCES, "R%u cannot write into %s", regno, vreg_type_str(r, tb, sizeof(tb)));
		return mem_region_access(env, regno, r->off, size, r->aux, zero_ok);
	case VT_STACK:
		return v_check_stack_range(env, regno, r->off, size, zero_ok, raw);
	default:
		return verr(env, EACCES, "R%u type=%s expected=fp, pkt, pkt_meta, map_key, map_value, mem", regno,
			    vreg_type_str(r, tb, sizeof(tb)));
	}
}
