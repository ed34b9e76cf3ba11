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
/* Written into every slot's action before a batched run: the first slot still holding it after a fault is the
 * frame that faulted. */
#define BJ_XDP_ACTION_UNSET 0xdeadbeef0badf00dull

/*
 * The helper the batch epilogue calls after each frame of a program that uses bpf_redirect*(): r1 = the
 * frame's context, r2 = its verdict. It moves the pending redirect target to that frame when the verdict
 * is REDIRECT and clears it, as a fresh per-packet run would. An id no Linux helper uses, and below the
 * embedders' range.
 */
#define BJ_XDP_FN_CAPTURE (BJ_HELPER_ID_USER_MIN - 1)

struct bj_xdp_counters {
	_Atomic uint64_t packets, batches, actions[BJ_XDP_N_ACTIONS], other, faults, tx, tx_errors, redirected,
		redirect_errors, busy_ns;
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
	struct bj_xdp_target pending;
	struct bj_frame **out;      /* delivery scratch: cap pointers */
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

uint64_t bj_xdp_capture(uint64_t ctx, uint64_t verdict, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run);

/*
 * The batch rewrite: `insns` becomes a program called with r1 = the first slot and r2 = the number of frames,
 * which runs the original main program once per slot. Fails with -EOPNOTSUPP or -E2BIG (err says why) when
 * the program cannot loop (tail calls, indirect calls, stack pointer uses it cannot follow, too deep a stack).
 * `capture`: call BJ_XDP_FN_CAPTURE after each frame.
 */
int bj_xdp_rewrite(const struct bj_insn *insns, size_t n, bool capture, struct bj_insn **out, size_t *out_n,
		   struct bj_error *err);
/* Whether the program calls helper `id` anywhere. */
bool bj_xdp_calls_helper(const struct bj_insn *insns, size_t n, int32_t id);

/* The native loop: uint64_t loop(struct bj_xdp_slot *slots, uint64_t n, struct bj_run *run) returns how many
 * frames completed (fewer than n when run->fault stopped one). */
typedef uint64_t (*bj_xdp_loop_fn)(struct bj_xdp_slot *slots, uint64_t n, struct bj_run *run);
struct bj_xdp_loop;
int bj_xdp_loop_build(void *entry, bool capture, struct bj_xdp_loop **out, struct bj_error *err);
bj_xdp_loop_fn bj_xdp_loop_fn_of(const struct bj_xdp_loop *l);
const uint8_t *bj_xdp_loop_image(const struct bj_xdp_loop *l, size_t *len);
void bj_xdp_loop_free(struct bj_xdp_loop *l);

#endif
