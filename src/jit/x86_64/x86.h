/* SPDX-License-Identifier: Apache-2.0 */
/*
 * x86-64 encoders and the lowering of BPF instructions. Emitters return void: the first failure is kept
 * in ctx->err and later emissions are ignored, so callers check once per pass. With ctx->buf NULL the
 * emitters only count bytes (sizing passes).
 */
#ifndef BJ_JIT_X86_H
#define BJ_JIT_X86_H

#include <stdint.h>

#include "isa/isa.h"
#include "jit/jit.h"

enum x86_reg {
	RAX = 0, RCX, RDX, RBX, RSP, RBP, RSI, RDI,
	R8, R9, R10, R11, R12, R13, R14, R15,
};

/* Scratch registers that BPF never sees, and the register holding `struct bj_run *` for the whole run. */
#define AUX1 R10
#define AUX2 R11
#define RUN R12

enum x86_cc {
	CC_O = 0, CC_NO, CC_B, CC_AE, CC_E, CC_NE, CC_BE, CC_A,
	CC_S, CC_NS, CC_P, CC_NP, CC_L, CC_GE, CC_LE, CC_G,
};

/* Code after the program body that many instructions jump to. */
enum jit_label {
	LBL_FAULT,       /* edx = insn, ecx = fault kind, r11 = detail: records the fault, then unwinds */
	LBL_HELPER_FAULT,/* edx = insn of a helper call that stopped the run: names it, then unwinds */
	LBL_UNWIND,      /* the run already has its fault: return from the outermost frame */
	LBL_CHECK,       /* checked-mode access check: r11 = address, r10d = packed (insn, write, size) */
	LBL_MAIN_EXIT,   /* main program epilogue */
	LBL_CALLBACK,    /* entry from C for callbacks: (run, fn, args, fp), see lower_tail */
	LBL_CB_EXIT,     /* the callback entry's epilogue */
	LBL_COUNT,
};

/* bpf_tail_call: after it, code unwinds when run->tail_prog is set. */
#define BJ_FUNC_TAIL_CALL 12

/* Fault kinds passed to bj_jit_fault in ecx. */
enum jit_fault_kind {
	JIT_FAULT_BUDGET = 1,
	JIT_FAULT_DEPTH,
	JIT_FAULT_HELPER,
};

struct jit_ctx {
	const struct bj_insn *insns;
	size_t n;
	bool checked, blind;
	bj_helper_fn const *helpers;     /* compile-time table, for `call imm` */
	bj_helper_fn *callx_table;       /* BJ_HELPER_ID_MAX entries, read at run time by callx */
	uint64_t blind_key;

	uint8_t *buf;                    /* NULL while sizing */
	size_t cap, len;
	uintptr_t base;                  /* run-time address of the image's first byte */
	size_t reserve;                  /* bytes reserved at base: bounds every call distance */

	uint32_t *addrs;                 /* n + 1: where each insn's block starts (updated in place) */
	bool *is_entry;                  /* insn starts a subprogram (target of a local call) */
	bool *is_target;                 /* insn is a jump target (peepholes must not fuse across it) */
	uint32_t *loop_end;              /* for a loop head (target of a backward jump): the last jump to it */
	uint32_t *sole_jumper;           /* for a jump target: the one jump to it, or JIT_NO_SOLE_JUMPER */
	bool align_loops;                /* small loops are padded so as not to straddle a cache line */
	uint32_t labels[LBL_COUNT];
	uint32_t stack_size;             /* bytes of BPF stack: 512 per possible frame */
	bool bmi2;                       /* shlx/shrx/sarx may be emitted */
	bool needs_run;                  /* r12 and the stack bounds in the run are set up (calls, checked mode) */
	uint16_t used_regs;              /* bit r: BPF register r appears in the program (all when it calls) */
	bool changed;                    /* some address moved during this pass */
	bool in_subprog;                 /* the instruction being lowered belongs to a subprogram */
	bool duplicating;                /* lowering a copy of a block (taildup.c): no copies inside it */
	bool has_callbacks;              /* the program loads subprogram addresses (ld_imm64 BPF_PSEUDO_FUNC) */
	uintptr_t callback_hook;         /* the code's struct bj_callback_hook, stored in the run at entry */
	size_t hoisted_load;             /* 1 + a load already emitted with the address before it (lower_lea_chain) */

	int err;
	long err_insn;
	char err_msg[128];
};

#define JIT_NO_SOLE_JUMPER UINT32_MAX

#define JIT_CACHE_LINE 64

/* Bytes an instruction may take at most: sizes the first pass and the reservation. */
#define JIT_MAX_INSN_BYTES 160
#define JIT_MAX_TAIL_BYTES 512

/* Subprogram prologue: push rbx, r13, r14, r15, rbp; lea rbp, [rbp-512]. */
#define JIT_SUBPROG_PROLOGUE_LEN 15

/* Runtime entry points the image calls. */
int bj_jit_check(struct bj_run *run, uintptr_t addr, uint32_t packed);
void bj_jit_fault(struct bj_run *run, uint32_t kind, uint32_t insn, uint64_t detail);

/* encode.c: one x86 instruction each. */
void emit_bytes(struct jit_ctx *c, const void *p, size_t n);
void emit1(struct jit_ctx *c, uint8_t b);
void emit_nops(struct jit_ctx *c, size_t n);
void emit_fail(struct jit_ctx *c, int err, const char *msg);
void emit_alu_rr(struct jit_ctx *c, uint8_t op, bool w, int dst, int src);
void emit_alu_ri(struct jit_ctx *c, int ext, bool w, int dst, int32_t imm);
void emit_mov_rr(struct jit_ctx *c, bool w, int dst, int src);
void emit_mov_imm64(struct jit_ctx *c, int dst, uint64_t imm);
void emit_mov_imm32(struct jit_ctx *c, bool sext64, int dst, int32_t imm);
void emit_rm_mem(struct jit_ctx *c, const uint8_t *op, size_t oplen, bool w, int reg, int base, int32_t disp,
		 bool byte_reg, uint8_t prefix);
void emit_unary(struct jit_ctx *c, uint8_t op, int ext, bool w, int rm);
void emit_shift_imm(struct jit_ctx *c, int ext, bool w, int dst, uint8_t imm);
void emit_imul_rr(struct jit_ctx *c, bool w, int dst, int src);
void emit_imul_ri(struct jit_ctx *c, bool w, int dst, int src, int32_t imm);
void emit_shiftx(struct jit_ctx *c, int ext, bool w, int dst, int src, int count);
void emit_rm_mem_index(struct jit_ctx *c, const uint8_t *op, size_t oplen, bool w, int reg, int base, int index,
		       int32_t disp);
void emit_push(struct jit_ctx *c, int r);
void emit_pop(struct jit_ctx *c, int r);
void emit_lea(struct jit_ctx *c, int dst, int base, int32_t disp);
void emit_jmp_to(struct jit_ctx *c, uint32_t target);
void emit_jcc_to(struct jit_ctx *c, int cc, uint32_t target);
void emit_call_abs(struct jit_ctx *c, uintptr_t fn);
size_t emit_jcc8_fwd(struct jit_ctx *c, int cc);
size_t emit_jmp8_fwd(struct jit_ctx *c);
void patch_rel8(struct jit_ctx *c, size_t at);

/* lower.c (jump_addr, is_ja: shared with taildup.c) */
uint32_t jump_addr(const struct jit_ctx *c, long t);
bool is_ja(const struct bj_insn *in);
void lower_main_prologue(struct jit_ctx *c);
void lower_subprog_prologue(struct jit_ctx *c);
void lower_insn(struct jit_ctx *c, size_t i, size_t *consumed);
void lower_tail(struct jit_ctx *c);

/* taildup.c */
bool lower_taildup(struct jit_ctx *c, size_t i, int cc, long t, size_t fall);

#endif
