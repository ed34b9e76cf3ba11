/* SPDX-License-Identifier: Apache-2.0 */
/* The XDP module inside: per-worker run state shared by the runner, the helpers and the batch loops. */
#ifndef BJ_XDP_INT_H
#define BJ_XDP_INT_H

#include <bpfjet/xdp.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/run.h"

/*
 * One frame's context as the program and the batch loops see it (below 4 GiB): the xdp_md, then the verdict
 * the batch epilogue stores. The loops step by sizeof(struct bj_xdp_slot).
 */
struct bj_xdp_slot {
	struct bj_xdp_md md;
	uint64_t action;
};
#define BJ_XDP_SLOT_SIZE 32
#define BJ_XDP_SLOT_ACTION 24
/* Written into every slot's action before a rewritten run that can stop early (checked, or calling helpers):
 * the first slot still holding it after a fault is the frame that faulted. */
#define BJ_XDP_ACTION_UNSET 0xdeadbeef0badf00dull

/*
 * bpf_redirect and bpf_redirect_map as the rewritten program calls them: the same arguments plus the current
 * frame's context in the first free argument register (r3, r4), so that the target lands on that frame without
 * a call per frame to say which frame runs. Ids no Linux helper uses, below the embedders' range.
 */
#define BJ_XDP_FN_REDIRECT_AT (BJ_HELPER_ID_USER_MIN - 1)
#define BJ_XDP_FN_REDIRECT_MAP_AT (BJ_HELPER_ID_USER_MIN - 2)

struct bj_xdp_counters {
	_Atomic uint64_t packets, batches, actions[BJ_XDP_N_ACTIONS], other, faults, tx, tx_errors, redirected,
		redirect_errors, busy_ticks;
};

struct bj_xdp_worker {
	struct bj_run run;          /* run.env points back here */
	struct bj_xdp *x;
	unsigned index;
	struct bj_xdp_slot *slots;  /* cap + 1 (the extra one keeps the native loop's prefetch load in bounds) */
	size_t slots_len;
	uint32_t cap;
	uint32_t n;                 /* frames of the batch being run */
	struct bj_frame *frames;
	struct bj_xdp_target *targets;
	uint64_t cur_ctx;           /* the context of the frame running, where bpf_redirect*() records its target */
	struct bj_frame **out;      /* delivery scratch: 2 * cap pointers */
	struct bj_frame **all;      /* &all_of[i] for i < all_n: a batch whose frames all leave */
	struct bj_frame *all_of;
	uint32_t all_n;
	/* What the last batch left to deliver (set by bj_xdp__run_batch): delivery skips its scans when 0. */
	uint32_t n_tx, n_pass, n_redirect;
	struct bj_xdp_counters stats;
	/* bj_xdp__start */
	pthread_t thread;
	bool started;
	struct bj_io *io;
	int ret;
	struct bj_error err;
} __attribute__((aligned(64)));

/* The frame behind a context pointer of the worker's current batch, or NULL (not one of ours). */
struct bj_frame *bj_xdp_frame_of(struct bj_xdp_worker *w, uint64_t ctx, uint32_t *index);
/* Points slot i's xdp_md at frame f's current data, data_end and data_meta. */
static inline void bj_xdp_slot_sync(struct bj_xdp_slot *s, const struct bj_frame *f)
{
	uintptr_t buf = (uintptr_t)f->buf;

	s->md.data = (uint32_t)(buf + f->data);
	s->md.data_end = (uint32_t)(buf + f->data_end);
	s->md.data_meta = (uint32_t)(buf + f->data_meta);
}

_Static_assert(offsetof(struct bj_xdp_target, kind) == 0 && offsetof(struct bj_xdp_target, ifindex) == 4,
	       "delivery compares kind and ifindex as one word");

/* Where bpf_redirect*() of the running frame records its target. */
static inline struct bj_xdp_target *bj_xdp_cur_target(struct bj_xdp_worker *w)
{
	return &w->targets[(w->cur_ctx - (uintptr_t)w->slots) / BJ_XDP_SLOT_SIZE];
}

/* The _AT helpers for checked programs, which check that ctx names a slot of the batch (a checked program can
 * reach the stack slot the loop keeps it in), and for trusted ones, which do not. */
uint64_t bj_xdp_redirect_at(uint64_t ifindex, uint64_t flags, uint64_t ctx, uint64_t r4, uint64_t r5,
			    struct bj_run *run);
uint64_t bj_xdp_redirect_map_at(uint64_t map, uint64_t key, uint64_t flags, uint64_t ctx, uint64_t r5,
				struct bj_run *run);
uint64_t bj_xdp_redirect_at_trusted(uint64_t ifindex, uint64_t flags, uint64_t ctx, uint64_t r4, uint64_t r5,
				    struct bj_run *run);
uint64_t bj_xdp_redirect_map_at_trusted(uint64_t map, uint64_t key, uint64_t flags, uint64_t ctx, uint64_t r5,
					struct bj_run *run);

/*
 * The batch rewrite: `insns` becomes a program called with r1 = the first slot and r2 = the number of frames
 * (at least 1), which runs the original main program once per slot. `subst` (BJ_XDP_SUBST_*): the helpers whose
 * calls become their _AT form; only the runtime's own bpf_redirect*() keep targets per frame, so a program whose
 * embedder replaced them keeps its calls. Fails with -EOPNOTSUPP or -E2BIG (err says why) when the program
 * cannot loop (tail calls, indirect calls, stack pointer uses it cannot follow, too deep a stack, a substituted
 * helper called from a subprogram, which cannot see the current frame).
 */
#define BJ_XDP_SUBST_REDIRECT 1u
#define BJ_XDP_SUBST_REDIRECT_MAP 2u
int bj_xdp_rewrite(const struct bj_insn *insns, size_t n, unsigned subst, struct bj_insn **out, size_t *out_n,
		   struct bj_error *err);
/*
 * The xdp_md fields the program may read (bit k: the u32 at offset 4k), following the context pointer through
 * copies; BJ_XDP_CTX_ALL when it does anything else with it (arithmetic, spills, helper or subprogram calls).
 */
#define BJ_XDP_CTX_ALL 0x3fu
#define BJ_XDP_CTX_DATA 0x1u
#define BJ_XDP_CTX_DATA_END 0x2u
uint32_t bj_xdp_ctx_fields(const struct bj_insn *insns, size_t n);
/* Whether the program calls helper `id` anywhere. */
bool bj_xdp_calls_helper(const struct bj_insn *insns, size_t n, int32_t id);

/* The native loop: uint64_t loop(struct bj_xdp_slot *slots, uint64_t n, struct bj_run *run) returns how many
 * frames completed (fewer than n when run->fault stopped one). */
typedef uint64_t (*bj_xdp_loop_fn)(struct bj_xdp_slot *slots, uint64_t n, struct bj_run *run);
struct bj_xdp_loop;
/* `track`: the program uses bpf_redirect*(), so the loop keeps the worker's cur_ctx on the running frame. */
int bj_xdp_loop_build(void *entry, bool track, struct bj_xdp_loop **out, struct bj_error *err);
bj_xdp_loop_fn bj_xdp_loop_fn_of(const struct bj_xdp_loop *l);
const uint8_t *bj_xdp_loop_image(const struct bj_xdp_loop *l, size_t *len);
void bj_xdp_loop_free(struct bj_xdp_loop *l);

#endif
