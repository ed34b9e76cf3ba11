/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The XDP runtime: runs an XDP program over batches of frames (include/bpfjet/io.h) with the kernel's
 * context, helpers and actions, and moves the frames on by verdict.
 *
 * Contexts and frames live below 4 GiB, so the 32-bit data/data_end/data_meta fields of struct xdp_md hold
 * real pointers: programs compiled for the kernel run unmodified on every engine, with no context rewriting.
 * Batches handed to bj_xdp__run_batch must therefore be created with bj_batch_opts.below_4g (and AF_XDP
 * backends opened with bj_io_opts.below_4g); bj_xdp__run_io does that itself.
 *
 * Execution: one program call per frame, or batched, where the program runs once per batch and loops over the
 * frames itself (the program is rewritten: a prologue and an epilogue that stores each verdict and advances
 * to the next frame), or, on the JIT, a generated native loop that calls the compiled program per frame and
 * prefetches the next frame's packet. All give the same verdicts, bytes and map effects.
 */
#ifndef BPFJET_XDP_H
#define BPFJET_XDP_H

#include <bpfjet/io.h>
#include <bpfjet/prog.h>
#include <stdbool.h>

/* enum xdp_action. Other return values are kept as they are and counted as BJ_XDP_ACTION_OTHER. */
enum bj_xdp_action {
	BJ_XDP_ABORTED = 0,
	BJ_XDP_DROP = 1,
	BJ_XDP_PASS = 2,
	BJ_XDP_TX = 3,
	BJ_XDP_REDIRECT = 4,
};
#define BJ_XDP_N_ACTIONS 5

/* The program-visible context: the kernel's struct xdp_md, six u32. */
struct bj_xdp_md {
	uint32_t data;
	uint32_t data_end;
	uint32_t data_meta;
	uint32_t ingress_ifindex;
	uint32_t rx_queue_index;
	uint32_t egress_ifindex;
};

/* Layout of the kernel's buffer: xdp_frame reserve at the start of the headroom, skb_shared_info at the end. */
#define BJ_XDP_FRAME_RESERVE 40u
#define BJ_XDP_ETH_HLEN 14u
#define BJ_XDP_META_MAX 252u

/* Linux helper IDs the runtime provides. */
#define BJ_XDP_FN_REDIRECT 23
#define BJ_XDP_FN_XDP_ADJUST_HEAD 44
#define BJ_XDP_FN_REDIRECT_MAP 51
#define BJ_XDP_FN_XDP_ADJUST_META 54
#define BJ_XDP_FN_XDP_ADJUST_TAIL 65
#define BJ_XDP_FN_XDP_GET_BUFF_LEN 188
#define BJ_XDP_FN_XDP_LOAD_BYTES 189
#define BJ_XDP_FN_XDP_STORE_BYTES 190
/* bpf_redirect_map flags (DEVMAP and DEVMAP_HASH only). */
#define BJ_XDP_F_BROADCAST (1ull << 3)
#define BJ_XDP_F_EXCLUDE_INGRESS (1ull << 4)

/*
 * The XDP helpers (bpf_xdp_adjust_head/meta/tail, bpf_redirect, bpf_redirect_map, bpf_xdp_get_buff_len,
 * bpf_xdp_load_bytes/store_bytes), for bj_prog_opts.helpers.
 * They work only inside runs of a bj_xdp runner; elsewhere they stop the run with -EINVAL.
 */
BJ_API const struct bj_helper *bj_xdp_helpers(size_t *n);

enum bj_xdp_exec {
	BJ_XDP_EXEC_AUTO = 0,     /* batched (the rewrite, on the program's engine) when the program allows it */
	BJ_XDP_EXEC_PER_PACKET,   /* one program call per frame */
	BJ_XDP_EXEC_REWRITE,      /* the rewritten program loops over the batch (either engine) */
	BJ_XDP_EXEC_NATIVE_LOOP,  /* JIT only: a generated x86-64 loop calls the compiled program per frame */
};

/* Where a REDIRECT frame goes: the last successful bpf_redirect*() of its run. */
enum bj_xdp_target_kind {
	BJ_XDP_TARGET_NONE = 0,   /* REDIRECT without a successful bpf_redirect*(): an error, the frame is dropped */
	BJ_XDP_TARGET_IFINDEX,    /* bpf_redirect(ifindex, 0) */
	BJ_XDP_TARGET_MAP,        /* bpf_redirect_map(): map, key, and the entry (devmap value or xsk) */
};

struct bj_xdp_target {
	enum bj_xdp_target_kind kind;
	uint32_t ifindex;         /* IFINDEX: the device; MAP on a devmap: the entry's ifindex */
	struct bj_map *map;
	uint32_t key;
	uint64_t flags;           /* BJ_XDP_F_BROADCAST / BJ_XDP_F_EXCLUDE_INGRESS */
	void *entry;              /* devmap: the value (struct bpf_devmap_val layout); XSKMAP: the socket */
};

struct bj_xdp;

/* Receives REDIRECT frames with the same target in bulk, after each batch. Returns how many it took. */
typedef uint32_t (*bj_xdp_redirect_fn)(void *ctx, unsigned worker, const struct bj_xdp_target *target,
				       struct bj_frame *const *frames, uint32_t n);

struct bj_xdp_opts {
	size_t sz;
	enum bj_xdp_exec exec;
	uint32_t batch_size;      /* frames per program call when batched; 0 = 64 */
	unsigned n_workers;       /* worker threads (one per queue); 0 = 1 */
	/* JIT programs: called through this dispatcher (several programs in the process); without one the
	 * runner takes the module's static call if it is free, else calls the entry directly. */
	struct bj_dispatcher *dispatcher;
	bj_xdp_redirect_fn redirect;
	void *redirect_ctx;
	/* PASS frames leave with the TX frames, in order (a pcap file stands for both the wire and the stack). */
	bool pass_to_tx;
};

/*
 * Prepares a runner for an XDP program (created with type BJ_PROG_TYPE_XDP and the helpers of
 * bj_xdp_helpers()); the program must outlive the runner. -EOPNOTSUPP for a batched mode the program cannot
 * use (tail calls, stack too deep: err says why; AUTO falls back instead). Multi-buffer (xdp.frags) programs
 * are refused by the loader.
 */
BJ_API int bj_xdp__create(struct bj_prog *prog, const struct bj_xdp_opts *opts, struct bj_xdp **out,
			  struct bj_error *err);
BJ_API void bj_xdp__destroy(struct bj_xdp *x);
/* The mode in use (AUTO resolved) and, when it is per-packet although batching was asked, why. */
BJ_API enum bj_xdp_exec bj_xdp__exec(const struct bj_xdp *x, const char **fallback_reason);
BJ_API const char *bj_xdp_action__name(uint32_t action);

/*
 * Runs the program on every frame of b on behalf of `worker`: sets each frame's action and its data,
 * data_end and data_meta offsets. A run stopped by a fault (checked mode) gives that frame XDP_ABORTED.
 * Counts into the worker's statistics. -EINVAL when a frame lies above 4 GiB and the program reads its context
 * (one that never does cannot see the frame's pointers, and runs on such frames).
 */
BJ_API int bj_xdp__run_batch(struct bj_xdp *x, unsigned worker, struct bj_batch *b, struct bj_error *err);
/* The redirect target of frame i of the worker's last batch (kind NONE unless its action is REDIRECT). */
BJ_API const struct bj_xdp_target *bj_xdp__target(const struct bj_xdp *x, unsigned worker, uint32_t i);
/*
 * After bj_xdp__run_batch: TX frames (and PASS ones with pass_to_tx) leave through io in one bulk, REDIRECT
 * frames go to the redirect callback grouped by target. Returns 0 or -errno.
 */
BJ_API int bj_xdp__deliver(struct bj_xdp *x, unsigned worker, struct bj_batch *b, struct bj_io *io,
			   struct bj_error *err);

struct bj_xdp_stats {
	size_t sz;
	uint64_t packets;
	uint64_t batches;
	uint64_t actions[BJ_XDP_N_ACTIONS];
	uint64_t other;           /* return values outside enum xdp_action (treated as ABORTED) */
	uint64_t faults;          /* runs stopped in checked mode (counted in ABORTED too) */
	uint64_t tx;              /* frames the io accepted for transmission */
	uint64_t tx_errors;       /* TX or PASS frames the io refused */
	uint64_t redirected;      /* frames the redirect callback took */
	uint64_t redirect_errors; /* REDIRECT frames without a target or refused */
	uint64_t busy_ns;         /* time spent running the program */
};

/* The sum over the workers (safe to call while workers run). */
BJ_API int bj_xdp__stats(struct bj_xdp *x, struct bj_xdp_stats *st);
BJ_API void bj_xdp__reset_stats(struct bj_xdp *x);

struct bj_xdp_loop_opts {
	size_t sz;
	uint64_t duration_ms;     /* stop after this long (0 = no limit) */
	uint64_t max_packets;     /* stop after this many packets per worker (0 = no limit) */
	bool no_delivery;         /* run and count only: nothing is transmitted or redirected */
};

/*
 * Receives from io, runs and delivers, batch after batch, on the calling thread as `worker`, inside an epoch
 * section per batch, until the end of the input, a stop request, or a limit. Returns 0 or -errno.
 */
BJ_API int bj_xdp__run_io(struct bj_xdp *x, unsigned worker, struct bj_io *io, const struct bj_xdp_loop_opts *opts,
			  struct bj_error *err);
/* One thread per io (worker i serves ios[i]; n <= n_workers), each running bj_xdp__run_io. */
BJ_API int bj_xdp__start(struct bj_xdp *x, struct bj_io *const *ios, unsigned n,
			 const struct bj_xdp_loop_opts *opts);
/* Asks the loops to stop after their current batch (async-signal-safe). */
BJ_API void bj_xdp__stop(struct bj_xdp *x);
/* Waits for the threads of bj_xdp__start; returns the first worker error, or 0. */
BJ_API int bj_xdp__join(struct bj_xdp *x, struct bj_error *err);

#endif
