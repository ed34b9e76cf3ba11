/* SPDX-License-Identifier: Apache-2.0 */
/* ALU instructions: scalars through scalar.h, pointers by Linux's adjust_ptr_min_max_vals rules. */
#include <errno.h>
#include <inttypes.h>

#include "verifier/vstate.h"

static const char *const alu_str[16] = { "+=", "-=", "*=", "/=", "|=", "&=", "<<=", ">>=",
					 "neg", "%=", "^=", "=", "s>>=", "endian" };

static const char *alu_name(uint8_t op)
{
	const char *s = alu_str[op >> 4];

	return s ? s : "?";
}

void v_scalar_of_imm(struct bj_scalar *s, int32_t imm, bool alu32)
{
	sc_set_const(s, alu32 ? (uint64_t)(uint32_t)imm : (uint64_t)(int64_t)imm);
}

static bool add_overflows(int64_t a, int64_t b, int64_t *res)
{
	return __builtin_add_overflow(a, b, res);
}

static bool sub_overflows(int64_t a, int64_t b, int64_t *res)
{
	return __builtin_sub_overflow(a, b, res);
}

/* Linux's check_reg_sane_offset. */
static int sane_offset(struct venv *env, const struct vreg *r, const struct vreg *ptr)
{
	char tb[32];

	if (r->type == VT_SCALAR && sc_is_const(&r->s)) {
		int64_t v = (int64_t)sc_const_value(&r->s);

		if (v >= V_MAX_VAR_OFF || v <= -V_MAX_VAR_OFF)
			return verr(env, EACCES, "math between %s pointer and %" PRId64 " is not allowed",
				    vreg_type_str(ptr, tb, sizeof(tb)), v);
		return 0;
	}
	if (r->off >= V_MAX_VAR_OFF || r->off <= -V_MAX_VAR_OFF)
		return verr(env, EACCES, "%s pointer offset %d is not allowed", vreg_type_str(ptr, tb, sizeof(tb)),
			    r->off);
	if (r->s.smin == INT64_MIN)
		return verr(env, EACCES, "math between %s pointer and register with unbounded min value is not allowed",
			    vreg_type_str(ptr, tb, sizeof(tb)));
	if (r->s.smin <= -V_MAX_VAR_OFF || r->s.smin >= V_MAX_VAR_OFF)
		return verr(env, EACCES, "value %" PRId64 " makes %s pointer be out of bounds", r->s.smin,
			    vreg_type_str(ptr, tb, sizeof(tb)));
	return 0;
}

static bool ptr_arith_allowed(const struct vreg *ptr, const struct bj_scalar *off, uint8_t op)
{
	switch (ptr->type) {
	case VT_CTX:
	case VT_MAP_VALUE:
	case VT_MAP_KEY:
	case VT_STACK:
	case VT_PKT_META:
	case VT_PKT:
	case VT_MEM:
	case VT_FUNC:
		return true;
	case VT_MAP_PTR:
		return op == BPF_ADD && sc_is_const(off) && sc_const_value(off) == 0;
	default:
		return false;
	}
}

/* Unprivileged rules (Linux's sanitize_check_bounds): the result must stay inside its object. */
static int strict_bounds(struct venv *env, uint32_t dst, const struct vreg *r)
{
	char tb[48];

	if (env->priv)
		return 0;
	if (r->type == VT_STACK) {
		if (!sc_is_const(&r->s)) {
			tnum_sbin(tb, sizeof(tb), r->s.var_off);
			return verr(env, EACCES, "R%u variable stack access prohibited for !root, var_off=%s off=%d", dst,
				    tb, r->off);
		}
		int64_t off = r->off + (int64_t)sc_const_value(&r->s);
		if (off < -V_STACK || off >= 0)
			return verr(env, EACCES, "R%u stack pointer arithmetic goes out of range, prohibited for !root; off=%" PRId64,
				    dst, off);
	}
	if (r->type == VT_MAP_VALUE) {
		int64_t lo = r->off + r->s.smin;
		uint64_t hi = (uint64_t)(int64_t)r->off + r->s.umax;

		if (r->s.smin < 0 || lo < 0 || r->s.umax >= (uint64_t)V_MAX_VAR_OFF || hi >= r->map->value_size)
			return verr(env, EACCES, "R%u pointer arithmetic of map value goes out of range, prohibited for !root",
				    dst);
	}
	return 0;
}

static int adjust_ptr(struct venv *env, const struct bj_insn *in, const struct vreg *ptr, const struct vreg *offr,
		      bool off_is_dst)
{
	uint32_t dst = in->dst;
	struct vreg *d = &vcur_regs(env)[dst];
	const struct bj_scalar *o = &offr->s;
	uint8_t op = BJ_OP(in->code);
	bool known = sc_is_const(o);
	int64_t smin = o->smin, smax = o->smax;
	uint64_t umin = o->umin, umax = o->umax;
	struct vreg res;
	char tb[32];
	int err;

	if (BJ_CLASS(in->code) != BPF_ALU64) {
		if (op == BPF_SUB && env->priv) {
			vreg_mark_unknown(d);
			return 0;
		}
		return verr(env, EACCES, "R%u 32-bit pointer arithmetic prohibited", dst);
	}
	if (ptr->flags & VF_NULL)
		return verr(env, EACCES, "R%u pointer arithmetic on %s prohibited, null-check it first", dst,
			    vreg_type_str(ptr, tb, sizeof(tb)));
	if (!ptr_arith_allowed(ptr, o, op))
		return verr(env, EACCES, "R%u pointer arithmetic on %s prohibited", dst, vreg_type_str(ptr, tb, sizeof(tb)));
	if ((known && (smin != smax || umin != umax)) || smin > smax || umin > umax) {
		/* Bounds from a dead branch: the value is meaningless. */
		vreg_mark_unknown(d);
		return 0;
	}
	if (!env->priv && !known && (smin < 0) != (smax < 0))
		return verr(env, EACCES,
			    "R%u has unknown scalar with mixed signed bounds, pointer arithmetic with it prohibited for !root",
			    dst);
	if ((err = sane_offset(env, offr, ptr)) || (err = sane_offset(env, ptr, ptr)))
		return err;

	res = *ptr;
	switch (op) {
	case BPF_ADD:
		if (known && (int64_t)ptr->off + smin == (int64_t)(int32_t)(ptr->off + smin)) {
			res.off = (int32_t)(ptr->off + smin);
			break;
		}
		if (add_overflows(ptr->s.smin, smin, &res.s.smin) || add_overflows(ptr->s.smax, smax, &res.s.smax)) {
			res.s.smin = INT64_MIN;
			res.s.smax = INT64_MAX;
		}
		if (ptr->s.umin + umin < ptr->s.umin || ptr->s.umax + umax < ptr->s.umax) {
			res.s.umin = 0;
			res.s.umax = UINT64_MAX;
		} else {
			res.s.umin = ptr->s.umin + umin;
			res.s.umax = ptr->s.umax + umax;
		}
		res.s.var_off = tnum_add(ptr->s.var_off, o->var_off);
		if (vreg_is_pkt(ptr)) {
			res.id = ++env->id_gen;
			res.aux = 0;
		}
		break;
	case BPF_SUB:
		if (off_is_dst)
			return verr(env, EACCES, "R%u tried to subtract pointer from scalar", dst);
		if (ptr->type == VT_STACK)
			return verr(env, EACCES, "R%u subtraction from stack pointer prohibited", dst);
		if (known && (int64_t)ptr->off - smin == (int64_t)(int32_t)(ptr->off - smin)) {
			res.off = (int32_t)(ptr->off - smin);
			break;
		}
		if (sub_overflows(ptr->s.smin, smax, &res.s.smin) || sub_overflows(ptr->s.smax, smin, &res.s.smax)) {
			res.s.smin = INT64_MIN;
			res.s.smax = INT64_MAX;
		}
		if (ptr->s.umin < umax) {
			res.s.umin = 0;
			res.s.umax = UINT64_MAX;
		} else {
			res.s.umin = ptr->s.umin - umax;
			res.s.umax = ptr->s.umax - umin;
		}
		res.s.var_off = tnum_sub(ptr->s.var_off, o->var_off);
		if (vreg_is_pkt(ptr)) {
			res.id = ++env->id_gen;
			if (smin < 0)
				res.aux = 0;
		}
		break;
	case BPF_AND:
	case BPF_OR:
	case BPF_XOR:
		return verr(env, EACCES, "R%u bitwise operator %s on pointer prohibited", dst, alu_name(op));
	default:
		return verr(env, EACCES, "R%u pointer arithmetic with %s operator prohibited", dst, alu_name(op));
	}
	/* Pointers carry no 32-bit bounds (Linux's __mark_reg32_unbounded). */
	res.s.s32_min = INT32_MIN;
	res.s.s32_max = INT32_MAX;
	res.s.u32_min = 0;
	res.s.u32_max = UINT32_MAX;
	sc_sync(&res.s);
	if ((err = sane_offset(env, &res, ptr)))
		return err;
	if ((err = strict_bounds(env, dst, &res)))
		return err;
	*d = res;
	return 0;
}

static int check_shift_div(struct venv *env, const struct bj_insn *in)
{
	uint8_t op = BJ_OP(in->code);
	bool alu32 = BJ_CLASS(in->code) == BPF_ALU;

	if (BJ_SRCBIT(in->code) == BPF_X)
		return 0;
	if ((op == BPF_DIV || op == BPF_MOD) && in->imm == 0)
		return verr(env, EINVAL, "div by zero");
	if ((op == BPF_LSH || op == BPF_RSH || op == BPF_ARSH) && (in->imm < 0 || in->imm >= (alu32 ? 32 : 64)))
		return verr(env, EINVAL, "invalid shift %d", in->imm);
	return 0;
}

static int check_mov(struct venv *env, const struct bj_insn *in)
{
	struct vreg *regs = vcur_regs(env);
	struct vreg *d = &regs[in->dst];
	bool alu32 = BJ_CLASS(in->code) == BPF_ALU;
	int err;

	if (BJ_SRCBIT(in->code) == BPF_K) {
		vreg_mark_const(d, alu32 ? (uint64_t)(uint32_t)in->imm : (uint64_t)(int64_t)in->imm);
		v_mark_written(env, in->dst);
		return 0;
	}
	if ((err = v_check_read(env, in->src)))
		return err;
	struct vreg *s = &regs[in->src];
	if (in->off) {
		/* movsx */
		if (s->type != VT_SCALAR) {
			if (!env->priv)
				return verr(env, EACCES, "R%u sign-extension part of pointer", in->src);
			vreg_mark_unknown(d);
		} else {
			struct vreg tmp = *s;

			sc_alu(&tmp.s, &s->s, BPF_MOV, alu32, in->off, 0, false);
			tmp.id = 0;
			*d = tmp;
		}
	} else if (!alu32) {
		if (s->type == VT_SCALAR && !s->id && !sc_is_const(&s->s))
			s->id = ++env->id_gen; /* linked copies: a bound learned on one holds for the other */
		*d = *s;
	} else if (s->type != VT_SCALAR) {
		if (!env->priv)
			return verr(env, EACCES, "R%u partial copy of pointer", in->src);
		vreg_mark_unknown(d);
		sc_zext32(&d->s);
	} else {
		struct vreg tmp = *s;

		sc_zext32(&tmp.s);
		tmp.id = 0;
		*d = tmp;
	}
	v_mark_written(env, in->dst);
	return 0;
}

int v_check_alu(struct venv *env, const struct bj_insn *in)
{
	struct vreg *regs = vcur_regs(env);
	uint8_t op = BJ_OP(in->code);
	bool alu32 = BJ_CLASS(in->code) == BPF_ALU;
	struct vreg *d = &regs[in->dst];
	struct vreg imm;
	const struct vreg *s;
	int err;

	if (op == BPF_MOV)
		return check_mov(env, in);
	if ((err = check_shift_div(env, in)) || (err = v_check_read(env, in->dst)))
		return err;
	if (op == BPF_NEG || op == BPF_END) {
		if (d->type != VT_SCALAR) {
			if (!env->priv)
				return verr(env, EACCES, "R%u pointer arithmetic prohibited", in->dst);
			vreg_mark_unknown(d);
		} else {
			sc_alu(&d->s, &d->s, op, alu32, in->off, in->imm, BJ_SRCBIT(in->code) == BPF_TO_BE || !alu32);
			d->id = 0;
		}
		v_mark_written(env, in->dst);
		return 0;
	}
	if (BJ_SRCBIT(in->code) == BPF_X) {
		if ((err = v_check_read(env, in->src)))
			return err;
		s = &regs[in->src];
	} else {
		imm = (struct vreg){ .type = VT_SCALAR };
		v_scalar_of_imm(&imm.s, in->imm, alu32);
		s = &imm;
	}
	v_mark_written(env, in->dst);
	if (d->type != VT_SCALAR && s->type != VT_SCALAR) {
		if (op == BPF_SUB && env->priv) {
			vreg_mark_unknown(d);
			return 0;
		}
		return verr(env, EACCES, "R%u pointer %s pointer prohibited", in->dst, alu_name(op));
	}
	if (d->type != VT_SCALAR) {
		struct vreg ptr = *d;

		if (BJ_SRCBIT(in->code) == BPF_X)
			v_mark_precise(env, in->src);
		return adjust_ptr(env, in, &ptr, s, false);
	}
	if (s->type != VT_SCALAR) {
		struct vreg ptr = *s, off = *d;

		v_mark_precise(env, in->dst);
		return adjust_ptr(env, in, &ptr, &off, true);
	}
	sc_alu(&d->s, &s->s, op, alu32, in->off, in->imm, false);
	d->id = 0;
	return 0;
}
