/* SPDX-License-Identifier: Apache-2.0 */
#include "interp/interp.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "interp/interp_ops.h"

/* One decoded instruction. ld_imm64 keeps its two slots so that slot index = instruction index. */
struct bj_dinsn {
	const void *handler;
	uint8_t dst;
	uint8_t src;
	int16_t off;
	int32_t imm;
	union {
		const struct bj_dinsn *target; /* jumps, local calls */
		bj_helper_fn fn;               /* helper calls */
		uint64_t k;                    /* ld_imm64 */
	} u;
};

struct bj_interp {
	bj_helper_fn const *helpers;
	bool checked;
	size_t n;
	bool *cb_entry; /* targets of ld_imm64 BPF_PSEUDO_FUNC: what a helper may call back */
	struct bj_dinsn insns[];
};

/*
 * Where one invocation of the loop starts: the program's entry, or a callback's subprogram. All invocations
 * of one run share one stack block of BJ_MAX_CALL_DEPTH frames; a callback's frame lies below its caller's,
 * so pointers into the caller's frames (a callback's usual context) stay valid and, in checked mode, allowed.
 */
struct interp_entry {
	const struct bj_dinsn *pc;
	uint64_t args[5];
	uint64_t pkt_len;   /* legacy packet loads read [args[0], args[0] + pkt_len) */
	uintptr_t stack_top; /* top of the run's stack block */
	uintptr_t fp;        /* r10 of the first frame */
	unsigned depth;      /* frames of callers already in the block */
};

/* The run-wide state of a top-level invocation that callbacks need. */
struct interp_top {
	struct bj_callback_hook hook;
	const struct bj_interp *ip;
	uintptr_t stack_top;
};

struct interp_frame {
	const struct bj_dinsn *ret;
	uint64_t saved[4]; /* r6-r9 of the caller */
};

enum access_kind { ACCESS_LOAD, ACCESS_STORE, ACCESS_ATOMIC };

/* ALU semantics of RFC 9669 §4.1; the 32-bit forms return uint32_t, so the upper half ends up zero. */
static inline uint64_t add64(uint64_t a, uint64_t b) { return a + b; }
static inline uint32_t add32(uint32_t a, uint32_t b) { return a + b; }
static inline uint64_t sub64(uint64_t a, uint64_t b) { return a - b; }
static inline uint32_t sub32(uint32_t a, uint32_t b) { return a - b; }
static inline uint64_t mul64(uint64_t a, uint64_t b) { return a * b; }
static inline uint32_t mul32(uint32_t a, uint32_t b) { return a * b; }
static inline uint64_t or64(uint64_t a, uint64_t b) { return a | b; }
static inline uint32_t or32(uint32_t a, uint32_t b) { return a | b; }
static inline uint64_t and64(uint64_t a, uint64_t b) { return a & b; }
static inline uint32_t and32(uint32_t a, uint32_t b) { return a & b; }
static inline uint64_t xor64(uint64_t a, uint64_t b) { return a ^ b; }
static inline uint32_t xor32(uint32_t a, uint32_t b) { return a ^ b; }
static inline uint64_t mov64(uint64_t a, uint64_t b) { (void)a; return b; }
static inline uint32_t mov32(uint32_t a, uint32_t b) { (void)a; return b; }
static inline uint64_t lsh64(uint64_t a, uint64_t b) { return a << (b & 63); }
static inline uint32_t lsh32(uint32_t a, uint32_t b) { return a << (b & 31); }
static inline uint64_t rsh64(uint64_t a, uint64_t b) { return a >> (b & 63); }
static inline uint32_t rsh32(uint32_t a, uint32_t b) { return a >> (b & 31); }
static inline uint64_t arsh64(uint64_t a, uint64_t b) { return (uint64_t)((int64_t)a >> (b & 63)); }
static inline uint32_t arsh32(uint32_t a, uint32_t b) { return (uint32_t)((int32_t)a >> (b & 31)); }
/* Division by zero gives 0; modulo by zero leaves the dividend. */
static inline uint64_t div64(uint64_t a, uint64_t b) { return b ? a / b : 0; }
static inline uint32_t div32(uint32_t a, uint32_t b) { return b ? a / b : 0; }
static inline uint64_t mod64(uint64_t a, uint64_t b) { return b ? a % b : a; }
static inline uint32_t mod32(uint32_t a, uint32_t b) { return b ? a % b : a; }
/* Signed: x / -1 is -x with wrap-around (INT_MIN / -1 = INT_MIN), x % -1 is 0; both would trap in C. */
static inline uint64_t sdiv64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return 0;
	if ((int64_t)b == -1)
		return -a;
	return (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint32_t sdiv32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return 0;
	if ((int32_t)b == -1)
		return -a;
	return (uint32_t)((int32_t)a / (int32_t)b);
}
static inline uint64_t smod64(uint64_t a, uint64_t b)
{
	if (b == 0)
		return a;
	if ((int64_t)b == -1)
		return 0;
	return (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint32_t smod32(uint32_t a, uint32_t b)
{
	if (b == 0)
		return a;
	if ((int32_t)b == -1)
		return 0;
	return (uint32_t)((int32_t)a % (int32_t)b);
}

/* Byte order conversions of BPF_END (ALU class): to_le is a truncation on a little-endian host. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
static inline uint64_t to_le16(uint16_t v) { return v; }
static inline uint64_t to_le32(uint32_t v) { return v; }
static inline uint64_t to_le64(uint64_t v) { return v; }
static inline uint64_t to_be16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint64_t to_be32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t to_be64(uint64_t v) { return __builtin_bswap64(v); }
#else
static inline uint64_t to_le16(uint16_t v) { return __builtin_bswap16(v); }
static inline uint64_t to_le32(uint32_t v) { return __builtin_bswap32(v); }
static inline uint64_t to_le64(uint64_t v) { return __builtin_bswap64(v); }
static inline uint64_t to_be16(uint16_t v) { return v; }
static inline uint64_t to_be32(uint32_t v) { return v; }
static inline uint64_t to_be64(uint64_t v) { return v; }
#endif

/* Jump conditions over operands of unsigned type U / signed type S (64 or 32 bits). */
#define COND_EQ(a, b, U, S) ((U)(a) == (U)(b))
#define COND_NE(a, b, U, S) ((U)(a) != (U)(b))
#define COND_SET(a, b, U, S) (((U)(a) & (U)(b)) != 0)
#define COND_GT(a, b, U, S) ((U)(a) > (U)(b))
#define COND_GE(a, b, U, S) ((U)(a) >= (U)(b))
#define COND_LT(a, b, U, S) ((U)(a) < (U)(b))
#define COND_LE(a, b, U, S) ((U)(a) <= (U)(b))
#define COND_SGT(a, b, U, S) ((S)(U)(a) > (S)(U)(b))
#define COND_SGE(a, b, U, S) ((S)(U)(a) >= (S)(U)(b))
#define COND_SLT(a, b, U, S) ((S)(U)(a) < (S)(U)(b))
#define COND_SLE(a, b, U, S) ((S)(U)(a) <= (S)(U)(b))

/*
 * Checked mode: an access must lie inside the live stack frames (the caller's frames stay reachable, as a
 * callee may get pointers into them) or inside one region; stores and atomics need a writable one;
 * atomics must be naturally aligned.
 */
static inline bool interp_access_ok(const struct bj_run *run, uintptr_t stack_lo, uintptr_t stack_top,
				    uint64_t addr, unsigned size, enum access_kind kind)
{
	uint64_t end = addr + size;

	if (kind == ACCESS_ATOMIC && (addr & (size - 1)))
		return false;
	if (end < addr)
		return false;
	if (addr >= stack_lo && end <= stack_top)
		return true;
	for (unsigned i = 0; i < run->n_regions; i++) {
		const struct bj_region *g = &run->regions[i];
		if (addr >= g->start && end <= g->end)
			return kind == ACCESS_LOAD || g->writable;
	}
	return false;
}

static __attribute__((cold, noinline)) void interp_fault_access(struct bj_run *run, long insn,
								 enum access_kind kind, uint64_t addr,
								 unsigned size)
{
	static const char *const names[] = { "load", "store", "atomic" };
	const char *what = kind == ACCESS_ATOMIC && (addr & (size - 1)) ? "misaligned" : "out of bounds";

	bj_run_fault(run, EFAULT, insn, "%s %s of %u byte%s at 0x%" PRIx64 " at insn %ld", what, names[kind], size,
		     size == 1 ? "" : "s", addr, insn);
}

/*
 * The handler addresses that the decoder stores are those of one function body: a clone (GCC's IPA-CP
 * specialises functions for constant arguments) would have its own labels.
 */
#ifdef __clang__
#define BJ_NOCLONE
#else
#define BJ_NOCLONE __attribute__((noclone))
#endif

#define CHECKED 0
#define INTERP_FN interp_run_fast
#include "interp/interp_exec.h"
#undef CHECKED
#undef INTERP_FN

#define CHECKED 1
#define INTERP_FN interp_run_checked
#include "interp/interp_exec.h"
#undef CHECKED
#undef INTERP_FN

/* Decoding: the internal operation of one instruction. */

#define ALU_OP(N, is32, x) (OP_##N##64_K + ((is32) ? 2 : 0) + ((x) ? 1 : 0))
#define JMP_OP(N, is32, x) (OP_##N##_K + ((is32) ? 2 : 0) + ((x) ? 1 : 0))

static enum bj_interp_op decode_alu_binary(const struct bj_insn *in, bool is32, bool x)
{
	bool sign = in->off == 1;

	switch (BJ_OP(in->code)) {
	case BPF_ADD: return ALU_OP(ADD, is32, x);
	case BPF_SUB: return ALU_OP(SUB, is32, x);
	case BPF_MUL: return ALU_OP(MUL, is32, x);
	case BPF_DIV: return sign ? ALU_OP(SDIV, is32, x) : ALU_OP(DIV, is32, x);
	case BPF_OR: return ALU_OP(OR, is32, x);
	case BPF_AND: return ALU_OP(AND, is32, x);
	case BPF_LSH: return ALU_OP(LSH, is32, x);
	case BPF_RSH: return ALU_OP(RSH, is32, x);
	case BPF_MOD: return sign ? ALU_OP(SMOD, is32, x) : ALU_OP(MOD, is32, x);
	case BPF_XOR: return ALU_OP(XOR, is32, x);
	case BPF_MOV: return ALU_OP(MOV, is32, x);
	default: return ALU_OP(ARSH, is32, x);
	}
}

static enum bj_interp_op decode_alu(const struct bj_insn *in)
{
	bool is32 = BJ_CLASS(in->code) == BPF_ALU, x = BJ_SRCBIT(in->code);
	int w = in->imm;

	switch (BJ_OP(in->code)) {
	case BPF_NEG:
		return is32 ? OP_NEG32 : OP_NEG64;
	case BPF_END:
		if (!is32)
			return w == 16 ? OP_BSWAP16 : w == 32 ? OP_BSWAP32 : OP_BSWAP64;
		if (x)
			return w == 16 ? OP_BE16 : w == 32 ? OP_BE32 : OP_BE64;
		return w == 16 ? OP_LE16 : w == 32 ? OP_LE32 : OP_LE64;
	case BPF_MOV:
		if (x && in->off == 8)
			return is32 ? OP_MOVSX32_8 : OP_MOVSX64_8;
		if (x && in->off == 16)
			return is32 ? OP_MOVSX32_16 : OP_MOVSX64_16;
		if (x && in->off == 32)
			return OP_MOVSX64_32;
		return ALU_OP(MOV, is32, x);
	default:
		return decode_alu_binary(in, is32, x);
	}
}

static enum bj_interp_op decode_jmp(const struct bj_insn *in)
{
	bool is32 = BJ_CLASS(in->code) == BPF_JMP32, x = BJ_SRCBIT(in->code);

	switch (BJ_OP(in->code)) {
	case BPF_JA: return OP_JA;
	case BPF_CALL: return x ? OP_CALLX : in->src == BPF_PSEUDO_CALL ? OP_CALL_LOCAL : OP_CALL;
	case BPF_EXIT: return OP_EXIT;
	case BPF_JEQ: return JMP_OP(JEQ, is32, x);
	case BPF_JGT: return JMP_OP(JGT, is32, x);
	case BPF_JGE: return JMP_OP(JGE, is32, x);
	case BPF_JSET: return JMP_OP(JSET, is32, x);
	case BPF_JNE: return JMP_OP(JNE, is32, x);
	case BPF_JSGT: return JMP_OP(JSGT, is32, x);
	case BPF_JSGE: return JMP_OP(JSGE, is32, x);
	case BPF_JLT: return JMP_OP(JLT, is32, x);
	case BPF_JLE: return JMP_OP(JLE, is32, x);
	case BPF_JSLT: return JMP_OP(JSLT, is32, x);
	default: return JMP_OP(JSLE, is32, x);
	}
}

static enum bj_interp_op decode_atomic(const struct bj_insn *in)
{
	bool dw = BJ_SIZE(in->code) == BPF_DW;
	enum bj_interp_op w;

	switch (in->imm) {
	case BPF_ADD: w = OP_A32_ADD; break;
	case BPF_OR: w = OP_A32_OR; break;
	case BPF_AND: w = OP_A32_AND; break;
	case BPF_XOR: w = OP_A32_XOR; break;
	case BPF_ADD | BPF_FETCH: w = OP_A32_FADD; break;
	case BPF_OR | BPF_FETCH: w = OP_A32_FOR; break;
	case BPF_AND | BPF_FETCH: w = OP_A32_FAND; break;
	case BPF_XOR | BPF_FETCH: w = OP_A32_FXOR; break;
	case BPF_XCHG: w = OP_A32_XCHG; break;
	default: w = OP_A32_CMPXCHG; break;
	}
	return w + (dw ? 1 : 0); /* OP_A64_x follows OP_A32_x */
}

/* Size-indexed (BJ_SIZE >> 3: W, H, B, DW) operations of the memory classes. */
static const enum bj_interp_op ldx_ops[4] = { OP_LDXW, OP_LDXH, OP_LDXB, OP_LDXDW };
static const enum bj_interp_op ldsx_ops[4] = { OP_LDXSW, OP_LDXSH, OP_LDXSB, OP_LDXDW };
static const enum bj_interp_op st_ops[4] = { OP_STW, OP_STH, OP_STB, OP_STDW };
static const enum bj_interp_op stx_ops[4] = { OP_STXW, OP_STXH, OP_STXB, OP_STXDW };
static const enum bj_interp_op ldabs_ops[4] = { OP_LDABSW, OP_LDABSH, OP_LDABSB, OP_LDABSW };
static const enum bj_interp_op ldind_ops[4] = { OP_LDINDW, OP_LDINDH, OP_LDINDB, OP_LDINDW };

static enum bj_interp_op decode_op(const struct bj_insn *in)
{
	unsigned sz = BJ_SIZE(in->code) >> 3;

	switch (BJ_CLASS(in->code)) {
	case BPF_ALU:
	case BPF_ALU64:
		return decode_alu(in);
	case BPF_JMP:
	case BPF_JMP32:
		return decode_jmp(in);
	case BPF_LDX:
		return BJ_MODE(in->code) == BPF_MEMSX ? ldsx_ops[sz] : ldx_ops[sz];
	case BPF_ST:
		return st_ops[sz];
	case BPF_STX:
		return BJ_MODE(in->code) == BPF_ATOMIC ? decode_atomic(in) : stx_ops[sz];
	default: /* BPF_LD */
		if (in->code == BJ_LDDW)
			return OP_LDDW;
		return BJ_MODE(in->code) == BPF_ABS ? ldabs_ops[sz] : ldind_ops[sz];
	}
}

static void decode_one(struct bj_interp *ip, const struct bj_insn *insns, size_t i, enum bj_interp_op op,
		       bj_helper_fn const *helpers, const void *const *labels)
{
	const struct bj_insn *in = &insns[i];
	struct bj_dinsn *d = &ip->insns[i];

	*d = (struct bj_dinsn){ .handler = labels[op], .dst = in->dst, .src = in->src, .off = in->off, .imm = in->imm };
	if (op == OP_LDDW && in->src == BPF_PSEUDO_FUNC) {
		/* The callee's instruction index: the callback hook checks it against cb_entry. */
		d->u.k = (uint64_t)((int64_t)i + 1 + in->imm);
		ip->cb_entry[d->u.k] = true;
	} else if (op == OP_LDDW)
		d->u.k = bj_lddw_imm(in);
	else if (op == OP_CALL)
		d->u.fn = helpers[in->imm];
	else if (op == OP_CALL_LOCAL || bj_insn_is_jump(in))
		d->u.target = &ip->insns[bj_insn_target(insns, i)];
}

int bj_interp_create(const struct bj_insn *insns, size_t n, bj_helper_fn const *helpers, bool checked,
		     struct bj_interp **out, struct bj_error *err)
{
	const void *const *labels;
	struct bj_interp *ip;

	ip = calloc(1, sizeof(*ip) + n * sizeof(ip->insns[0]));
	if (!ip)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %zu decoded instructions", n);
	ip->helpers = helpers;
	ip->checked = checked;
	ip->n = n;
	ip->cb_entry = calloc(n, sizeof(*ip->cb_entry));
	if (!ip->cb_entry) {
		free(ip);
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %zu decoded instructions", n);
	}
	if (checked)
		interp_run_checked(NULL, NULL, NULL, &labels);
	else
		interp_run_fast(NULL, NULL, NULL, &labels);
	for (size_t i = 0; i < n; i++) {
		enum bj_interp_op op = decode_op(&insns[i]);

		decode_one(ip, insns, i, op, helpers, labels);
		if (op == OP_LDDW)
			i++;
	}
	*out = ip;
	return 0;
}

void bj_interp_free(struct bj_interp *ip)
{
	if (!ip)
		return;
	free(ip->cb_entry);
	free(ip);
}

static uint64_t interp_enter(const struct bj_interp *ip, const struct interp_entry *e, struct bj_run *run)
{
	if (ip->checked)
		return interp_run_checked(ip, e, run, NULL);
	return interp_run_fast(ip, e, run, NULL);
}

static uint64_t interp_callback(struct bj_run *run, const struct bj_callback_hook *hook, uint64_t fn,
				const uint64_t args[5])
{
	const struct interp_top *top = (const struct interp_top *)hook;
	const struct bj_interp *ip = top->ip;
	struct interp_entry e = { .stack_top = top->stack_top, .fp = run->call_fp - BJ_STACK_SIZE };
	uintptr_t fp = run->call_fp;
	uint64_t r0;

	if (fn >= ip->n || !ip->cb_entry[fn]) {
		bj_run_fault(run, EINVAL, -1, "callback %llu is not a subprogram that the program refers to",
			     (unsigned long long)fn);
		return 0;
	}
	e.depth = (unsigned)((top->stack_top - fp) / BJ_STACK_SIZE) + 1;
	if (e.depth >= BJ_MAX_CALL_DEPTH) {
		bj_run_fault(run, E2BIG, -1, "callback at insn %llu: call depth exceeds the limit of %d frames",
			     (unsigned long long)fn, BJ_MAX_CALL_DEPTH);
		return 0;
	}
	e.pc = &ip->insns[fn];
	memcpy(e.args, args, sizeof(e.args));
	r0 = interp_enter(ip, &e, run);
	run->call_fp = fp;
	return r0;
}

uint64_t bj_interp_run(const struct bj_interp *ip, void *r1, uint64_t r2, struct bj_run *run)
{
	uint8_t stack[BJ_MAX_CALL_DEPTH * BJ_STACK_SIZE] __attribute__((aligned(16)));
	struct interp_top top = { { interp_callback }, ip, (uintptr_t)(stack + sizeof(stack)) };
	struct interp_entry e = { ip->insns, { (uintptr_t)r1, r2 }, r2, top.stack_top, top.stack_top, 0 };

	run->callback = &top.hook;
	run->stack_lo = (uintptr_t)stack;
	run->stack_hi = top.stack_top;
	return interp_enter(ip, &e, run);
}
