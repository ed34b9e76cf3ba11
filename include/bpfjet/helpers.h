/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Built-in helpers: Linux's helper IDs (enum bpf_func_id in include/uapi/linux/bpf.h) with Linux's semantics
 * and return codes. Every program gets the generic ones below, and XDP programs also the XDP helpers of
 * bj_xdp_helpers() (include/bpfjet/xdp.h); an entry of bj_prog_opts.helpers with the same ID replaces one.
 *
 * Embedders add their own helpers through bj_prog_opts.helpers under IDs from BJ_HELPER_ID_USER_MIN (512)
 * up to BJ_HELPER_ID_MAX - 1: Linux's IDs stay below 512, so such helpers never clash with a program
 * compiled for Linux. A helper receives r1-r5 and the run (struct bj_run, opaque), returns r0, and may stop
 * the run with bj_run__fail.
 *
 * Maps: r1 of the map helpers is the struct bj_map * that a resolved map reference loads (ld_imm64 of the
 * map). Per-CPU maps give the slot of the run's worker (bj_run__worker). The helpers run inside the map
 * epoch section that the runtime holds around each run, so a value pointer stays valid until the run ends.
 *
 * Checked runs (programs that no verifier has proven safe) check what helpers are given, as Linux's verifier
 * would have: a map must be one of bj_prog_opts.maps (inner maps of map-in-map work only in unchecked runs),
 * memory must lie in the run's regions or stack, a spin lock in a region, one at a time. What a helper hands
 * back (a map value, a ring buffer record) becomes a region of the run. A violation stops the run (-EINVAL,
 * -EFAULT, -EDEADLK); a run that ends holding a lock or ring buffer records gives them back.
 *
 * Callbacks (bpf_loop, bpf_for_each_map_elem): the callback is a subprogram whose address the program
 * loads with ld_imm64 BPF_PSEUDO_FUNC. It runs on a 512-byte frame of its own below its caller's (frames
 * count toward the limit of 8), in the program's mode (checked or not); a fault inside it stops the whole
 * run, and bpf_tail_call inside it is refused (the run stops with -EINVAL).
 */
#ifndef BPFJET_HELPERS_H
#define BPFJET_HELPERS_H

#include <bpfjet/prog.h>

enum bj_helper_id {
	BJ_FN_MAP_LOOKUP_ELEM = 1,
	BJ_FN_MAP_UPDATE_ELEM = 2,
	BJ_FN_MAP_DELETE_ELEM = 3,
	BJ_FN_KTIME_GET_NS = 5,          /* CLOCK_MONOTONIC */
	BJ_FN_TRACE_PRINTK = 6,
	BJ_FN_GET_PRANDOM_U32 = 7,       /* per-run generator, seeded from getrandom() */
	BJ_FN_GET_SMP_PROCESSOR_ID = 8,  /* the worker index */
	BJ_FN_TAIL_CALL = 12,
	BJ_FN_CSUM_DIFF = 28,
	BJ_FN_GET_NUMA_NODE_ID = 42,     /* always 0 */
	BJ_FN_MAP_PUSH_ELEM = 87,
	BJ_FN_MAP_POP_ELEM = 88,
	BJ_FN_MAP_PEEK_ELEM = 89,
	BJ_FN_SPIN_LOCK = 93,
	BJ_FN_SPIN_UNLOCK = 94,
	BJ_FN_JIFFIES64 = 118,           /* CLOCK_MONOTONIC_COARSE in units of 1/BJ_JIFFIES_HZ s */
	BJ_FN_KTIME_GET_BOOT_NS = 125,   /* CLOCK_BOOTTIME */
	BJ_FN_RINGBUF_OUTPUT = 130,
	BJ_FN_RINGBUF_RESERVE = 131,
	BJ_FN_RINGBUF_SUBMIT = 132,
	BJ_FN_RINGBUF_DISCARD = 133,
	BJ_FN_RINGBUF_QUERY = 134,
	BJ_FN_KTIME_GET_COARSE_NS = 160, /* CLOCK_MONOTONIC_COARSE */
	BJ_FN_FOR_EACH_MAP_ELEM = 164,
	BJ_FN_LOOP = 181,
};

/* bpf_loop's limit on nr_loops (Linux's BPF_MAX_LOOPS); beyond it the helper returns -E2BIG. */
#define BJ_MAX_LOOPS (1u << 23)
/* bpf_jiffies64 counts at this rate; Linux's depends on its configuration (CONFIG_HZ). */
#define BJ_JIFFIES_HZ 1000
/* bpf_trace_printk formats at most this many bytes (Linux's MAX_BPRINTF_BUF); the rest is cut. */
#define BJ_TRACE_PRINTK_MAX 1024

/*
 * The generic built-in helpers (every entry above), for embedders who build their own tables.
 *
 * bpf_trace_printk(fmt, fmt_size, a1, a2, a3) accepts Linux's subset: %d %i %u %x %X with the l and ll
 * modifiers, %p, %s, %c, %%, flags "0 +-" and a width; at most 3 arguments; fmt must hold a NUL within
 * fmt_size bytes and only printable ASCII or white space. It returns the length of the message (before any
 * cut at BJ_TRACE_PRINTK_MAX - 1) or -EINVAL. %p prints the value as 16 hex digits (Linux's %px).
 *
 * bpf_ringbuf_submit/discard need the record to have been reserved in the same run (at most 8 at once).
 */
BJ_API const struct bj_helper *bj_helpers(size_t *n);

/* For embedders' helpers: the worker (per-CPU slot) the run belongs to. */
BJ_API unsigned bj_run__worker(const struct bj_run *run);
/* Stops the run: the engine unwinds after the helper returns and the run reports -errnum and msg. */
BJ_API void bj_run__fail(struct bj_run *run, int errnum, const char *msg);
/*
 * Calls back into the running program: fn is a value the program loaded with ld_imm64 BPF_PSEUDO_FUNC,
 * r1-r5 its arguments. Returns the callback's r0. When the callback faults (or fn names no subprogram of
 * the program, or frames run out), the run is stopped: the helper should return at once.
 */
BJ_API uint64_t bj_run__callback(struct bj_run *run, uint64_t fn, uint64_t r1, uint64_t r2, uint64_t r3,
				 uint64_t r4, uint64_t r5);
/* True once the run has been stopped (by a fault, in a callback or by a helper). */
BJ_API bool bj_run__stopped(const struct bj_run *run);

#endif
