/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The interpreter loop, instantiated twice by interp.c: with CHECKED 0 (fast) and 1 (checked), as the
 * function INTERP_FN. Called with labels_out set, it only hands back its table of handler addresses, which
 * the decoder stores in each slot; the addresses are only meaningful inside this very function.
 */

#define LBL_ALU4(N) [OP_##N##64_K] = &&L_##N##64_K, [OP_##N##64_X] = &&L_##N##64_X, \
		    [OP_##N##32_K] = &&L_##N##32_K, [OP_##N##32_X] = &&L_##N##32_X,
#define LBL_JMP4(N) [OP_##N##_K] = &&L_##N##_K, [OP_##N##_X] = &&L_##N##_X, \
		    [OP_##N##32_K] = &&L_##N##32_K, [OP_##N##32_X] = &&L_##N##32_X,
#define LBL_ATOMIC2(N) [OP_A32_##N] = &&L_A32_##N, [OP_A64_##N] = &&L_A64_##N,
#define LBL_ONE(N) [OP_##N] = &&L_##N,

static __attribute__((noinline, hot)) BJ_NOCLONE uint64_t
INTERP_FN(const struct bj_interp *ip, const struct interp_entry *e, struct bj_run *run,
	  const void *const **labels_out)
{
	static const void *const labels[OP__COUNT] = {
		BJ_ALU_NAMES(LBL_ALU4) BJ_JMP_NAMES(LBL_JMP4) BJ_ATOMIC_NAMES(LBL_ATOMIC2) BJ_OTHER_OPS(LBL_ONE)
	};
	struct interp_frame frames[BJ_MAX_CALL_DEPTH];
	const struct bj_dinsn *pc, *base;
	uint64_t r[BJ_NREGS] = { 0 };
	const uint8_t *pkt;
	uint64_t pkt_len, budget;
	uintptr_t stack_top, stack_lo;
	unsigned depth = 0, depth0;

	if (labels_out) {
		*labels_out = labels;
		return 0;
	}
	base = ip->insns;
	pc = e->pc;
	pkt = (const uint8_t *)(uintptr_t)e->args[0];
	pkt_len = e->pkt_len;
	stack_top = e->stack_top;
	stack_lo = e->fp - BJ_STACK_SIZE;
	depth0 = e->depth;
	budget = run->budget;
	memcpy(&r[1], e->args, sizeof(e->args));
	r[10] = e->fp;
	if (CHECKED)
		memset((void *)stack_lo, 0, BJ_STACK_SIZE);

#define DST r[pc->dst]
#define SRC r[pc->src]
#define K64 ((uint64_t)(int64_t)pc->imm)
#define K32 ((uint32_t)pc->imm)
#define INSN_IDX ((long)(pc - base))
#define DISPATCH()                                                                                        \
	do {                                                                                              \
		if (CHECKED && BJ_UNLIKELY(budget-- == 0))                                                \
			goto out_of_budget;                                                               \
		goto *pc->handler;                                                                        \
	} while (0)
#define NEXT()                                                                                            \
	do {                                                                                              \
		pc++;                                                                                     \
		DISPATCH();                                                                               \
	} while (0)
#define JUMP()                                                                                            \
	do {                                                                                              \
		pc = pc->u.target;                                                                        \
		DISPATCH();                                                                               \
	} while (0)
/* Address of a `size`-byte access at base register + off; in checked mode, stops the run if it is bad. */
#define ACCESS(basereg, size, kind)                                                                       \
	({                                                                                                \
		uint64_t a_ = (basereg) + (uint64_t)(int64_t)pc->off;                                     \
		if (CHECKED && BJ_UNLIKELY(!interp_access_ok(run, stack_lo, stack_top, a_, (size), (kind)))) { \
			interp_fault_access(run, INSN_IDX, (kind), a_, (size));                           \
			goto out;                                                                         \
		}                                                                                         \
		(void *)(uintptr_t)a_;                                                                    \
	})

	DISPATCH();

#define ALU4(N, FN64, FN32)                                                                               \
	L_##N##64_K : DST = FN64(DST, K64);                                                               \
	NEXT();                                                                                           \
	L_##N##64_X : DST = FN64(DST, SRC);                                                               \
	NEXT();                                                                                           \
	L_##N##32_K : DST = FN32((uint32_t)DST, K32);                                                     \
	NEXT();                                                                                           \
	L_##N##32_X : DST = FN32((uint32_t)DST, (uint32_t)SRC);                                           \
	NEXT();

	ALU4(ADD, add64, add32)
	ALU4(SUB, sub64, sub32)
	ALU4(MUL, mul64, mul32)
	ALU4(DIV, div64, div32)
	ALU4(SDIV, sdiv64, sdiv32)
	ALU4(OR, or64, or32)
	ALU4(AND, and64, and32)
	ALU4(LSH, lsh64, lsh32)
	ALU4(RSH, rsh64, rsh32)
	ALU4(MOD, mod64, mod32)
	ALU4(SMOD, smod64, smod32)
	ALU4(XOR, xor64, xor32)
	ALU4(MOV, mov64, mov32)
	ALU4(ARSH, arsh64, arsh32)
#undef ALU4

L_NEG64:
	DST = -DST;
	NEXT();
L_NEG32:
	DST = (uint32_t)-(uint32_t)DST;
	NEXT();
L_MOVSX64_8:
	DST = (uint64_t)(int64_t)(int8_t)SRC;
	NEXT();
L_MOVSX64_16:
	DST = (uint64_t)(int64_t)(int16_t)SRC;
	NEXT();
L_MOVSX64_32:
	DST = (uint64_t)(int64_t)(int32_t)SRC;
	NEXT();
L_MOVSX32_8:
	DST = (uint32_t)(int32_t)(int8_t)SRC;
	NEXT();
L_MOVSX32_16:
	DST = (uint32_t)(int32_t)(int16_t)SRC;
	NEXT();
L_BSWAP16:
	DST = __builtin_bswap16((uint16_t)DST);
	NEXT();
L_BSWAP32:
	DST = __builtin_bswap32((uint32_t)DST);
	NEXT();
L_BSWAP64:
	DST = __builtin_bswap64(DST);
	NEXT();
L_LE16:
	DST = to_le16((uint16_t)DST);
	NEXT();
L_LE32:
	DST = to_le32((uint32_t)DST);
	NEXT();
L_LE64:
	DST = to_le64(DST);
	NEXT();
L_BE16:
	DST = to_be16((uint16_t)DST);
	NEXT();
L_BE32:
	DST = to_be32((uint32_t)DST);
	NEXT();
L_BE64:
	DST = to_be64(DST);
	NEXT();

#define JMP4(N, COND)                                                                                     \
	L_##N##_K : if (COND(DST, K64, uint64_t, int64_t)) JUMP();                                        \
	NEXT();                                                                                           \
	L_##N##_X : if (COND(DST, SRC, uint64_t, int64_t)) JUMP();                                        \
	NEXT();                                                                                           \
	L_##N##32_K : if (COND(DST, K64, uint32_t, int32_t)) JUMP();                                      \
	NEXT();                                                                                           \
	L_##N##32_X : if (COND(DST, SRC, uint32_t, int32_t)) JUMP();                                      \
	NEXT();

	JMP4(JEQ, COND_EQ)
	JMP4(JGT, COND_GT)
	JMP4(JGE, COND_GE)
	JMP4(JSET, COND_SET)
	JMP4(JNE, COND_NE)
	JMP4(JSGT, COND_SGT)
	JMP4(JSGE, COND_SGE)
	JMP4(JLT, COND_LT)
	JMP4(JLE, COND_LE)
	JMP4(JSLT, COND_SLT)
	JMP4(JSLE, COND_SLE)
#undef JMP4

L_JA:
	JUMP();
/* A helper may call back into the program (run->call_fp, budget) and may stop it or tail call. */
#define CALL_HELPER(fn)                                                                                   \
	do {                                                                                              \
		run->call_fp = r[10];                                                                     \
		if (CHECKED)                                                                              \
			run->budget = budget;                                                             \
		r[0] = (fn)(r[1], r[2], r[3], r[4], r[5], run);                                           \
		if (CHECKED)                                                                              \
			budget = run->budget;                                                             \
		if (BJ_UNLIKELY(run->fault || run->tail_prog))                                            \
			goto helper_stop;                                                                 \
	} while (0)
L_CALL:
	CALL_HELPER(pc->u.fn);
	NEXT();
L_CALLX: {
	uint64_t id = DST;
	bj_helper_fn fn = id < BJ_HELPER_ID_MAX ? ip->helpers[id] : NULL;

	if (BJ_UNLIKELY(!fn)) {
		bj_run_fault(run, EINVAL, INSN_IDX, "callx r%u: unknown helper %" PRIu64 " at insn %ld", pc->dst, id,
			     INSN_IDX);
		goto out;
	}
	CALL_HELPER(fn);
	NEXT();
}
L_CALL_LOCAL:
	if (BJ_UNLIKELY(depth0 + depth + 1 >= BJ_MAX_CALL_DEPTH)) {
		bj_run_fault(run, E2BIG, INSN_IDX, "call depth %u exceeds the limit of %d frames at insn %ld",
			     depth0 + depth + 2,
			     BJ_MAX_CALL_DEPTH, INSN_IDX);
		goto out;
	}
	frames[depth].ret = pc + 1;
	memcpy(frames[depth].saved, &r[6], sizeof(frames[depth].saved));
	depth++;
	r[10] -= BJ_STACK_SIZE;
	stack_lo -= BJ_STACK_SIZE;
	if (CHECKED)
		memset((void *)stack_lo, 0, BJ_STACK_SIZE);
	JUMP();
L_EXIT:
	if (depth == 0)
		goto out;
	depth--;
	memcpy(&r[6], frames[depth].saved, sizeof(frames[depth].saved));
	r[10] += BJ_STACK_SIZE;
	stack_lo += BJ_STACK_SIZE;
	pc = frames[depth].ret;
	DISPATCH();

#define LOAD(T, EXT)                                                                                      \
	{                                                                                                 \
		T v_;                                                                                     \
		memcpy(&v_, ACCESS(SRC, sizeof(T), ACCESS_LOAD), sizeof(T));                              \
		DST = (uint64_t)(EXT)v_;                                                                  \
		NEXT();                                                                                   \
	}
L_LDXB:
	LOAD(uint8_t, uint64_t)
L_LDXH:
	LOAD(uint16_t, uint64_t)
L_LDXW:
	LOAD(uint32_t, uint64_t)
L_LDXDW:
	LOAD(uint64_t, uint64_t)
L_LDXSB:
	LOAD(int8_t, int64_t)
L_LDXSH:
	LOAD(int16_t, int64_t)
L_LDXSW:
	LOAD(int32_t, int64_t)
#undef LOAD

#define STORE(T, VAL)                                                                                     \
	{                                                                                                 \
		T v_ = (T)(VAL);                                                                          \
		memcpy(ACCESS(DST, sizeof(T), ACCESS_STORE), &v_, sizeof(T));                             \
		NEXT();                                                                                   \
	}
L_STB:
	STORE(uint8_t, pc->imm)
L_STH:
	STORE(uint16_t, pc->imm)
L_STW:
	STORE(uint32_t, pc->imm)
L_STDW:
	STORE(uint64_t, K64)
L_STXB:
	STORE(uint8_t, SRC)
L_STXH:
	STORE(uint16_t, SRC)
L_STXW:
	STORE(uint32_t, SRC)
L_STXDW:
	STORE(uint64_t, SRC)
#undef STORE

#define ATOMIC_OPS(W, T)                                                                                  \
	L_A##W##_ADD : __atomic_fetch_add((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC, __ATOMIC_SEQ_CST); \
	NEXT();                                                                                           \
	L_A##W##_OR : __atomic_fetch_or((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC, __ATOMIC_SEQ_CST); \
	NEXT();                                                                                           \
	L_A##W##_AND : __atomic_fetch_and((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC, __ATOMIC_SEQ_CST); \
	NEXT();                                                                                           \
	L_A##W##_XOR : __atomic_fetch_xor((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC, __ATOMIC_SEQ_CST); \
	NEXT();                                                                                           \
	L_A##W##_FADD : SRC = __atomic_fetch_add((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC,     \
						 __ATOMIC_SEQ_CST);                                       \
	NEXT();                                                                                           \
	L_A##W##_FOR : SRC = __atomic_fetch_or((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC,       \
					       __ATOMIC_SEQ_CST);                                         \
	NEXT();                                                                                           \
	L_A##W##_FAND : SRC = __atomic_fetch_and((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC,     \
						 __ATOMIC_SEQ_CST);                                       \
	NEXT();                                                                                           \
	L_A##W##_FXOR : SRC = __atomic_fetch_xor((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC,     \
						 __ATOMIC_SEQ_CST);                                       \
	NEXT();                                                                                           \
	L_A##W##_XCHG : SRC = __atomic_exchange_n((T *)ACCESS(DST, sizeof(T), ACCESS_ATOMIC), (T)SRC,    \
						  __ATOMIC_SEQ_CST);                                      \
	NEXT();                                                                                           \
	L_A##W##_CMPXCHG : {                                                                              \
		T *p_ = ACCESS(DST, sizeof(T), ACCESS_ATOMIC);                                            \
		T old_ = (T)r[0];                                                                         \
		__atomic_compare_exchange_n(p_, &old_, (T)SRC, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
		r[0] = old_;                                                                              \
		NEXT();                                                                                   \
	}
	ATOMIC_OPS(32, uint32_t)
	ATOMIC_OPS(64, uint64_t)
#undef ATOMIC_OPS

L_LDDW:
	DST = pc->u.k;
	pc += 2;
	DISPATCH();

/*
 * Legacy packet loads from [r1, r1 + r2) as they were at entry, in network byte order; an offset outside it
 * ends the program with r0 = 0, as in Linux. Checked mode also holds the buffer to the regions.
 */
#define LOAD_PKT(T, SWAP, OFF)                                                                            \
	{                                                                                                 \
		uint64_t o_ = (uint32_t)(OFF);                                                            \
		T v_;                                                                                     \
		if (BJ_UNLIKELY(o_ + sizeof(T) > pkt_len)) {                                              \
			r[0] = 0;                                                                         \
			goto out;                                                                         \
		}                                                                                         \
		if (CHECKED && BJ_UNLIKELY(!interp_access_ok(run, stack_lo, stack_top, (uintptr_t)pkt + o_, \
							     sizeof(T), ACCESS_LOAD))) {          \
			interp_fault_access(run, INSN_IDX, ACCESS_LOAD, (uintptr_t)pkt + o_, sizeof(T));  \
			goto out;                                                                         \
		}                                                                                         \
		memcpy(&v_, pkt + o_, sizeof(T));                                                         \
		r[0] = SWAP(v_);                                                                          \
		NEXT();                                                                                   \
	}
L_LDABSB:
	LOAD_PKT(uint8_t, (uint8_t), pc->imm)
L_LDABSH:
	LOAD_PKT(uint16_t, to_be16, pc->imm)
L_LDABSW:
	LOAD_PKT(uint32_t, to_be32, pc->imm)
L_LDINDB:
	LOAD_PKT(uint8_t, (uint8_t), SRC + K32)
L_LDINDH:
	LOAD_PKT(uint16_t, to_be16, SRC + K32)
L_LDINDW:
	LOAD_PKT(uint32_t, to_be32, SRC + K32)
#undef LOAD_PKT

helper_stop:
	if (run->fault && run->fault_insn < 0)
		run->fault_insn = INSN_IDX;
	goto out;
out_of_budget:
	bj_run_fault(run, ETIME, INSN_IDX, "instruction budget of %" PRIu64 " exhausted at insn %ld", run->budget,
		     INSN_IDX);
	budget = 0;
out:
	if (CHECKED)
		run->budget = budget;
	return r[0];

#undef DST
#undef SRC
#undef K64
#undef K32
#undef INSN_IDX
#undef DISPATCH
#undef NEXT
#undef JUMP
#undef ACCESS
#undef CALL_HELPER
}

#undef LBL_ALU4
#undef LBL_JMP4
#undef LBL_ATOMIC2
#undef LBL_ONE
