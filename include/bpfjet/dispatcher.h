/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dispatcher: a generated multi-way branch that turns the indirect call to a JIT-compiled program into
 * compares and direct jumps (the kernel's BPF dispatcher, kernel/bpf/dispatcher.c, for user space).
 *
 * A dispatcher is a piece of x86-64 code with the signature bj_dispatch_fn: it looks `target` up among the
 * attached programs and tail-jumps to it with r1, r2 and run untouched, so the program returns straight to the
 * caller. A target that is not attached (or not reachable by a rel32 jump) is reached by an indirect jump:
 * slower, still correct. Attach and detach regenerate the code into the idle half of a double-buffered image
 * and switch to it with one atomic patch of a jmp rel32; code memory is never writable and executable at once.
 *
 * Thread safety: attach/detach/update serialise on the dispatcher and may run while other threads call through
 * it. Callers either use bj_dispatcher__call() or bracket calls through bj_dispatcher__entry() with
 * bj_dispatcher_read_lock()/unlock(); an update returns only after every such section that may have seen the
 * old code has ended, so after bj_dispatcher__detach() returns no caller is still running the detached program.
 */
#ifndef BPFJET_DISPATCHER_H
#define BPFJET_DISPATCHER_H

#include <bpfjet/bpfjet.h>
#include <pthread.h>
#include <stdbool.h>

struct bj_run;

/* A JIT-compiled program's native entry (the same type as the JIT's bj_jit_entry). */
typedef uint64_t (*bj_prog_fn)(void *r1, uint64_t r2, struct bj_run *run);
/* The dispatcher's code: calls target(r1, r2, run). */
typedef uint64_t (*bj_dispatch_fn)(void *r1, uint64_t r2, struct bj_run *run, bj_prog_fn target);

struct bj_dispatcher;

/* How each node compares the target (rcx) against an attached program's address. */
enum bj_dispatcher_cmp {
	BJ_DISPATCHER_CMP_DEFAULT = 0,
	BJ_DISPATCHER_CMP_BIAS,   /* once: r11 = rcx - image; per node: cmp r11, imm32 (programs within ±2 GiB) */
	BJ_DISPATCHER_CMP_MOVABS, /* per node: movabs r11, addr; cmp rcx, r11 */
	BJ_DISPATCHER_CMP_TABLE,  /* per node: cmp rcx, [rip + table slot] */
};

/*
 * The shape of the search.
 * HOT (the default): a compare chain over the few most called programs, in order of use, then `jmp rcx` for
 * everything else. A predicted indirect jump costs about what a predicted compare does, and an unpredictable
 * target costs one mispredicted indirect jump instead of a walk of coin-flip compares. Which programs are hot
 * comes from sampling (bj_dispatcher__call, bj_dispatcher__sample: a program needs a fifth of the samples, so
 * a uniformly random load leaves the chain empty) and from bj_dispatcher__set_priority(); with too few samples
 * yet, attach order. The image is re-laid out through the ordinary double-buffered update when that set or its order changes.
 * TREE: every program (up to capacity) reached by direct jumps, in a binary tree of compare chains like the
 * kernel's dispatcher: the right shape when indirect jumps themselves are expensive (retpolines, IBRS).
 */
enum bj_dispatcher_layout {
	BJ_DISPATCHER_LAYOUT_DEFAULT = 0,
	BJ_DISPATCHER_LAYOUT_HOT,
	BJ_DISPATCHER_LAYOUT_TREE,
};

#define BJ_DISPATCHER_DEFAULT_CAPACITY 256u
#define BJ_DISPATCHER_DEFAULT_HOT 4u
#define BJ_DISPATCHER_MAX_HOT 16u
#define BJ_DISPATCHER_MAX_CAPACITY 1024u

struct bj_dispatcher_opts {
	size_t sz;
	/* Programs reached by a direct jump (default 256, at most 1024); more may be attached: the extra ones
	 * use the indirect fallback until an earlier one is detached. */
	unsigned capacity;
	/* Ranges of at most this many programs are searched by a linear compare chain, larger ones split in a
	 * binary tree (default 4; 1 gives the kernel's pure binary search). */
	unsigned linear_max;
	enum bj_dispatcher_cmp cmp;
	enum bj_dispatcher_layout layout;
	/* HOT: length of the compare chain (default 4, at most 16). */
	unsigned hot;
	/* HOT: minimum time between relayouts triggered by sampling in bj_dispatcher__call() (default 100 ms);
	 * with manual_relayout only bj_dispatcher__relayout() and priority changes reorder. */
	unsigned relayout_ms;
	bool manual_relayout;
};

BJ_API int bj_dispatcher__create(const struct bj_dispatcher_opts *opts, struct bj_dispatcher **out);
BJ_API void bj_dispatcher__destroy(struct bj_dispatcher *d);

/* Adds one user of `prog` (refcounted: the n-th attach of the same program takes no new slot). */
BJ_API int bj_dispatcher__attach(struct bj_dispatcher *d, bj_prog_fn prog);
/* Drops one user of `prog`; -ENOENT when it is not attached. */
BJ_API int bj_dispatcher__detach(struct bj_dispatcher *d, bj_prog_fn prog);
/* Replaces one user of `from` by one of `to` with a single regeneration (either may be NULL), like the
 * kernel's bpf_dispatcher_change_prog(). */
BJ_API int bj_dispatcher__update(struct bj_dispatcher *d, bj_prog_fn from, bj_prog_fn to);

/* Runs target(r1, r2, run) through the dispatcher inside a read-side section. */
BJ_API uint64_t bj_dispatcher__call(struct bj_dispatcher *d, void *r1, uint64_t r2, struct bj_run *run,
				    bj_prog_fn target);
/*
 * Sampling, for the HOT layout: counts `target` once in every 64 calls per thread (a thread-local countdown and
 * a relaxed, possibly lossy counter: no atomic read-modify-write). bj_dispatcher__call() does it itself;
 * callers of bj_dispatcher__current() or __entry() may call it per call or per batch.
 */
BJ_API void bj_dispatcher__sample(struct bj_dispatcher *d, bj_prog_fn target);
/* Re-lays out the hot chain from the samples and priorities now (outside any read-side section); samples then
 * decay by half. 0 or -errno. */
BJ_API int bj_dispatcher__relayout(struct bj_dispatcher *d);
/* Programs with a higher priority come first in the hot chain, ahead of sampled ones (0, the default, means
 * "by samples"). -ENOENT when `prog` is not attached. Re-lays out at once. */
BJ_API int bj_dispatcher__set_priority(struct bj_dispatcher *d, bj_prog_fn prog, unsigned priority);

/* The dispatcher's code, for callers that call it many times inside one read-side section. Its address never
 * changes during the dispatcher's life. */
BJ_API bj_dispatch_fn bj_dispatcher__entry(const struct bj_dispatcher *d);
/* The current half of the image itself, one jump shorter than the entry; valid until the read-side section
 * in which it was loaded ends (updates wait for that section before reusing it). */
BJ_API bj_dispatch_fn bj_dispatcher__current(struct bj_dispatcher *d);

/* True when `prog` is reached by a direct jump (attached, within capacity, in the hot chain for HOT, and
 * within ±2 GiB). */
BJ_API bool bj_dispatcher__is_direct(struct bj_dispatcher *d, bj_prog_fn prog);
/* Attached programs (distinct), and how many of them the current image reaches directly. */
BJ_API size_t bj_dispatcher__n_progs(struct bj_dispatcher *d, size_t *n_direct);
/* The current image (the active half) and its length, for dumps and disassembly checks. */
BJ_API const uint8_t *bj_dispatcher__image(struct bj_dispatcher *d, size_t *len);

/*
 * Read-side sections (process-wide, nestable, per thread). Cheap: two stores to a thread-local counter; the
 * updater pays for the ordering with a process-wide barrier (membarrier). A thread must not attach or
 * detach from inside a section (-EDEADLK).
 */
BJ_API void bj_dispatcher_read_lock(void);
BJ_API void bj_dispatcher_read_unlock(void);

/* A hint for code memory: mapping JIT code near it keeps it within rel32 reach of dispatchers and static
 * calls (both are placed near the library's own code). */
BJ_API void *bj_dispatcher_code_hint(void);

/*
 * Static calls: a call site that is a direct call to a per-site trampoline whose `jmp rel32` is rewritten to
 * the current program, for the common case of one program (the original DEFINE_XDP_CALL / xdp_call_update
 * API). The trampoline lives in its own page of the executable's text; the first update replaces that page
 * with a shared memory mapping (read-execute, with a separate read-write alias) so it can be patched live.
 * A program out of rel32 reach is reached through an indirect jump in the same page. With no program the
 * call returns 0.
 *
 *   BJ_DEFINE_XDP_CALL(rx);                           at file scope
 *   BJ_XDP_CALL_UPDATE(rx, NULL, prog);               0, or -EBUSY when `from` is not the current program
 *   uint64_t ret = BJ_XDP_CALL(rx, ctx, r2, run);
 */
struct bj_static_call {
	void *tramp;
	pthread_mutex_t lock;
	uint8_t *rw; /* read-write alias of the trampoline page, once remapped */
};

BJ_API int bj_static_call__update(struct bj_static_call *sc, bj_prog_fn from, bj_prog_fn to);
/* The current program (NULL for none) and whether the trampoline jumps to it directly. */
BJ_API bj_prog_fn bj_static_call__target(struct bj_static_call *sc, bool *direct);

#define BJ_STATIC_CALL_PAGE 4096
#define BJ__STR(x) #x
#define BJ__XSTR(x) BJ__STR(x)

/* Trampoline page: +0 jmp rel32 (an aligned 8-byte word, patched with one atomic store), +16 the body used
 * with no program (return 0), +32 jmp *[rip + slot], +48 slot. */
#define BJ_DEFINE_XDP_CALL(name)                                                                          \
	__asm__(".pushsection .text.bj_xdp_call." #name ",\"ax\",@progbits\n"                              \
		".balign " BJ__XSTR(BJ_STATIC_CALL_PAGE) "\n"                                                   \
		".globl bj_xdp_call_tramp_" #name "\n"                                                         \
		".hidden bj_xdp_call_tramp_" #name "\n"                                                        \
		".type bj_xdp_call_tramp_" #name ", @function\n"                                               \
		"bj_xdp_call_tramp_" #name ":\n"                                                               \
		".byte 0xe9; .long 11; .byte 0xcc, 0xcc, 0xcc\n"                                                \
		".fill 8, 1, 0xcc\n"                                                                            \
		".byte 0x31, 0xc0, 0xc3\n"                                                                     \
		".fill 13, 1, 0xcc\n"                                                                           \
		".byte 0xff, 0x25; .long 10\n"                                                                  \
		".fill 10, 1, 0xcc\n"                                                                           \
		".quad 0\n"                                                                                      \
		".balign " BJ__XSTR(BJ_STATIC_CALL_PAGE) ", 0xcc\n"                                             \
		".popsection\n");                                                                               \
	__attribute__((visibility("hidden"))) uint64_t bj_xdp_call_tramp_##name(void *, uint64_t,            \
										 struct bj_run *);            \
	struct bj_static_call bj_xdp_call_##name = { (void *)bj_xdp_call_tramp_##name,                     \
						     PTHREAD_MUTEX_INITIALIZER, NULL }

#define BJ_DECLARE_XDP_CALL(name)                                                                         \
	__attribute__((visibility("hidden"))) uint64_t bj_xdp_call_tramp_##name(void *, uint64_t,            \
										 struct bj_run *);            \
	extern struct bj_static_call bj_xdp_call_##name

#define BJ_XDP_CALL_UPDATE(name, from, to) bj_static_call__update(&bj_xdp_call_##name, (from), (to))
#define BJ_XDP_CALL(name, r1, r2, run) bj_xdp_call_tramp_##name((r1), (r2), (run))

#endif
