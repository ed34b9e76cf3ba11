/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier's abstract state and environment, shared by its files: register types as Linux names them
 * (enum bpf_reg_type), stack slots (STACK_INVALID/SPILL/MISC/ZERO), frames of bpf-to-bpf calls and
 * callbacks, explored states kept for pruning.
 */
#ifndef BJ_VERIFIER_VSTATE_H
#define BJ_VERIFIER_VSTATE_H

#include <bpfjet/verifier.h>
#include <stdarg.h>

#include "common/common.h"
#include "isa/isa.h"
#include "verifier/scalar.h"

#define V_MAX_FRAMES 8
#define V_STACK 512
#define V_MAX_REFS 16
/* Linux's BPF_MAX_VAR_OFF, BPF_MAX_VAR_SIZ and MAX_PACKET_OFF. */
#define V_MAX_VAR_OFF (1ll << 29)
#define V_MAX_VAR_SIZ (1ll << 29)
#define V_MAX_PACKET_OFF 0xffff
/* Linux's BPF_COMPLEXITY_LIMIT_JMP_SEQ and BPF_COMPLEXITY_LIMIT_STATES. */
#define V_MAX_PENDING 8192
#define V_MAX_STATES_PER_INSN 64
/* Memory the explored states may take before no more are stored (pruning then stops growing). */
#define V_STATE_BYTES_MAX (64u << 20)
/* Memory the pending states may take before the program is refused as too complex. */
#define V_PENDING_BYTES_MAX (128u << 20)

enum vtype {
	VT_NOT_INIT = 0,
	VT_SCALAR,
	VT_CTX,
	VT_MAP_PTR,   /* CONST_PTR_TO_MAP */
	VT_MAP_VALUE,
	VT_MAP_KEY,
	VT_STACK,
	VT_PKT_META,
	VT_PKT,
	VT_PKT_END,
	VT_MEM,
	VT_FUNC,
};

/* Type flags, as Linux's PTR_MAYBE_NULL, MEM_RDONLY, MEM_RINGBUF. */
#define VF_NULL 0x1
#define VF_RDONLY 0x2
#define VF_RINGBUF 0x4

struct vreg {
	struct bj_scalar s;   /* a scalar's value, or a pointer's variable offset */
	const struct bj_verifier_map *map; /* map_ptr, map_value, map_key */
	int32_t off;          /* pointers: fixed offset */
	uint32_t id;          /* null checks, packet pointers of one base, linked scalars */
	uint32_t ref_id;      /* ring-buffer reservations: the reference it holds */
	uint32_t aux;         /* pkt: range; mem: size; func: subprogram index */
	uint8_t type;
	uint8_t flags;
	uint8_t frameno;      /* stack pointers: the frame */
	uint8_t precise;      /* scalars: some explored path depends on this exact range (Linux's precise) */
};

enum { SK_INVALID = 0, SK_SPILL, SK_MISC, SK_ZERO };

/* One 8-byte stack slot: kind[i] is the byte at fp - 8 * slot - 1 - i, as Linux's slot_type. */
struct vslot {
	uint8_t kind[8];
	struct vreg spill;
};

struct vsnap;

struct vframe {
	struct vreg regs[BJ_NREGS];
	int32_t callsite;     /* the call instruction, -1 in the main frame */
	uint32_t subprog;
	uint32_t nslots;      /* slots allocated, from fp-8 down */
	uint16_t scratched;   /* registers the current instruction touched (for the log) */
	uint16_t written;     /* registers written since the last stored state (the log's _w) */
	uint64_t slots_scratched;
	bool callback;
	int32_t cb_lo, cb_hi; /* callbacks: the return range */
	uint32_t entry_nrefs; /* callbacks: references held when the iteration began */
	struct vsnap *snap;   /* callbacks: the caller's state when this iteration began */
	struct vslot *stack;
};

struct vref {
	uint32_t id;
	uint32_t insn;
};

/* One executed instruction, for backtracking precision marks (Linux's jmp_history, for every insn). */
struct vhist {
	uint32_t idx;
	uint8_t frame;   /* the frame it ran in */
	uint8_t flags;   /* HF_* */
	uint8_t sframe;  /* a load or store of one stack slot at a fixed offset: its frame */
	int8_t spi;      /* ... and its slot, or -1 */
};
#define HF_CB_EXIT 0x1

/* Registers and stack slots per frame whose values precision is asked for. */
struct vmasks {
	uint16_t reg[V_MAX_FRAMES];
	uint64_t stk[V_MAX_FRAMES];
};

struct vstate {
	struct vframe *frame[V_MAX_FRAMES];
	uint32_t curframe;
	uint32_t insn;
	uint32_t prev_insn;
	uint32_t nrefs;
	struct vref refs[V_MAX_REFS];
	const struct bj_verifier_map *lock_map; /* held bpf_spin_lock: its map and the pointer's id */
	uint32_t lock_id;
	bool lock_held;
	struct vsnap *reentry; /* a callback returned: the state its iteration started from */
	struct vexplored *parent;
	size_t log_pos;
	/* Instructions run since the parent explored state. */
	struct vhist *hist;
	uint32_t nhist, cap_hist;
};

/* The caller's frames when a callback iteration starts, shared by the states of that iteration. */
struct vsnap {
	uint32_t refcnt;
	uint32_t nframes;
	struct vframe *frame[V_MAX_FRAMES];
};

struct vexplored {
	struct vexplored *next;
	struct vexplored *parent;
	uint32_t branches;
	uint32_t hits, misses;
	/*
	 * thin: only a piece of history (st has no frames) that keeps backtracking short where no state is
	 * stored; done: what backtracking already marked from here (thin nodes).
	 */
	bool thin;
	struct vmasks done;
	struct vstate st;
};
/* History entries a state collects before a thin node cuts it. */
#define V_HIST_SEGMENT 256

struct vsubprog {
	uint32_t start, end;
	uint32_t stack_depth;
	bool has_tail_call;
	bool walked;            /* visited by the stack depth check, with walked_before bytes of callers */
	uint32_t walked_before;
};

/* Per instruction flags. */
#define IF_PRUNE 0x1
#define IF_SECOND_HALF 0x2
#define IF_CALLBACK_CALL 0x8

struct vlog {
	char *buf;
	size_t size;
	size_t pos;       /* logical end; bytes past size were dropped */
	uint32_t level;
};

struct venv {
	const struct bj_insn *insns;
	size_t n;
	enum bj_prog_type type;
	enum bj_attach attach;
	bool priv;            /* BJ_VERIFIER_PRIVILEGED: allow_ptr_leaks, allow_uninit_stack, bpf_capable */
	const struct bj_verifier_map *maps;
	size_t n_maps;
	uint32_t mem_size;
	const struct bj_helper_proto *protos;
	size_t n_protos;
	const struct bj_line_info *line_info;
	size_t n_line_info;
	const struct bj_line_info *prev_linfo;
	uint64_t insn_limit;

	struct vlog log;
	size_t prev_log_pos;      /* where the last instruction's line ended, for the state after it */
	size_t prev_insn_print_len;

	uint8_t *iflags;
	uint16_t *live;           /* registers live before each instruction */
	struct vsubprog *subprogs;
	uint32_t n_subprogs;
	uint32_t *insn_subprog;

	struct vstate *cur;
	struct vstate **pending;
	size_t n_pending, cap_pending;
	struct vexplored **explored;
	uint32_t *n_explored;
	struct vexplored *retired; /* no longer searched, still some states' ancestors */
	size_t state_bytes;
	size_t pending_bytes;

	uint32_t id_gen;
	uint64_t insn_processed;
	uint64_t prev_insn_processed;
	uint64_t jmps_processed;
	uint64_t prev_jmps_processed;
	uint32_t total_states, cur_states, peak_states, max_states_per_insn;
	uint64_t start_ns;

	int err_insn;
	char errmsg[256];
};

/* vlog.c */
void vlog_printf(struct venv *env, const char *fmt, ...) BJ_PRINTF(2, 3);
void vlog_reset(struct venv *env, size_t pos);
/* After a reset into a line that was continued: ends it again. */
void vlog_end_line(struct venv *env);
/* Records the reason (the last message wins) and logs it; returns -errnum. */
int verr(struct venv *env, int errnum, const char *fmt, ...) BJ_PRINTF(3, 4);
const char *vreg_type_str(const struct vreg *r, char *buf, size_t size);
void vlog_reg(struct venv *env, const struct vframe *f, const struct vreg *r);
void vlog_state(struct venv *env, const struct vstate *st, bool all);
void vlog_insn(struct venv *env, uint32_t idx);
void vlog_linfo(struct venv *env, uint32_t idx);
void vlog_insn_state(struct venv *env);
const char *vhelper_name(int32_t id);

/* vstate.c */
struct vstate *vstate_new(void);
void vstate_free(struct vstate *st);
int vstate_copy(struct vstate *dst, const struct vstate *src);
struct vframe *vframe_new(void);
struct vframe *vframe_dup(const struct vframe *src);
void vframe_free(struct vframe *f);
int vframe_grow_stack(struct vframe *f, uint32_t nslots);
void vsnap_put(struct vsnap *s);
struct vsnap *vsnap_get(struct vsnap *s);
bool vstates_equal(struct venv *env, const struct vstate *old, const struct vstate *cur, bool exact);
bool vframes_within(struct venv *env, struct vframe *const *old, struct vframe *const *cur, uint32_t n);
/* Makes cur cover old too (callback iterations): slots that differ become unknown. */
void vframes_widen(struct vframe *const *old, struct vframe **cur, uint32_t n);

/* vregs.c: register helpers */
void vreg_mark_unknown(struct vreg *r);
void vreg_mark_const(struct vreg *r, uint64_t v);
void vreg_mark_not_init(struct vreg *r);
bool vreg_is_pointer(const struct vreg *r);
bool vreg_is_null_const(const struct vreg *r);
bool vreg_is_pkt(const struct vreg *r);
/* Linux's is_pointer_value: a pointer, when the policy forbids leaking it. */
bool v_ptr_leak(const struct venv *env, const struct vreg *r);
static inline struct vframe *vcur_frame(const struct venv *env)
{
	return env->cur->frame[env->cur->curframe];
}
static inline struct vreg *vcur_regs(const struct venv *env)
{
	return vcur_frame(env)->regs;
}
int v_check_read(struct venv *env, uint32_t regno);
void v_mark_written(struct venv *env, uint32_t regno);
void v_for_each_reg(struct vstate *st, void (*fn)(struct vreg *r, void *ctx), void *ctx);

/* vmem.c: memory accesses */
enum vaccess { VA_READ, VA_WRITE };
int v_check_mem_access(struct venv *env, uint32_t regno, int32_t off, uint32_t size, enum vaccess t,
		       int value_regno, bool ldsx, bool atomic);
int v_check_helper_mem(struct venv *env, uint32_t regno, int64_t size, bool zero_ok, bool raw);
int v_check_stack_range(struct venv *env, uint32_t regno, int32_t off, int64_t size, bool zero_ok, bool raw);
void v_coerce_size(struct vreg *r, uint32_t size, bool sext);

/* valu.c */
int v_check_alu(struct venv *env, const struct bj_insn *in);
void v_scalar_of_imm(struct bj_scalar *s, int32_t imm, bool alu32);

/* vprecise.c */
int v_hist_push(struct venv *env, uint32_t idx);
/* Hands a long history over to a thin node, so that backtracking stays short. */
int v_hist_cut(struct venv *env);
/* The current instruction accessed one stack slot at a fixed offset. */
void v_hist_stack(struct venv *env, uint32_t frame, int64_t addr);
/* The current instruction depends on the exact value of register regno (of the current frame). */
void v_mark_precise(struct venv *env, uint32_t regno);
void v_mark_precise_slot(struct venv *env, uint32_t frame, uint32_t spi);
/* cur was pruned by e: what e's exploration needed precise, cur's ancestors need too. */
void v_propagate_precision(struct venv *env, const struct vexplored *e);

/* vcall.c */
int v_check_helper_call(struct venv *env, const struct bj_insn *in, uint32_t idx);
int v_check_local_call(struct venv *env, uint32_t idx, uint32_t target);
/* An exit: 1 when the path ends (main frame), 0 to continue in the caller, -errno. */
int v_check_exit(struct venv *env);
int v_push_state(struct venv *env, uint32_t insn, uint32_t prev, struct vstate **out);

#endif
