/* SPDX-License-Identifier: Apache-2.0 */
/* Programs: create from instructions, choose an engine, run like BPF_PROG_TEST_RUN. */
#ifndef BPFJET_PROG_H
#define BPFJET_PROG_H

#include <bpfjet/insn.h>
#include <stdbool.h>

struct bj_prog;
struct bj_map;
struct bj_helper_proto;
struct bj_line_info;
/* One run of a program; helpers receive it as their sixth argument. */
struct bj_run;

/* Helper IDs below BJ_HELPER_ID_MAX. Linux's IDs keep their meaning; embedders should use 512 and up. */
#define BJ_HELPER_ID_MAX 1024
#define BJ_HELPER_ID_USER_MIN 512

typedef uint64_t (*bj_helper_fn)(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				 struct bj_run *run);

/* Receives each bpf_trace_printk message (formatted, without a terminating NUL; len bytes). */
typedef void (*bj_trace_fn)(void *ctx, const char *msg, size_t len);

struct bj_helper {
	uint32_t id;
	const char *name;
	bj_helper_fn fn;
};

/* What r1 is when the program starts, and which context fields and helpers it may use. */
enum bj_prog_type {
	BJ_PROG_TYPE_MEM = 0,      /* r1 = a memory buffer, r2 = its length (raw programs, conformance) */
	BJ_PROG_TYPE_XDP,          /* r1 = struct xdp_md */
	BJ_PROG_TYPE_SOCKET_FILTER,/* r1 = struct __sk_buff */
	BJ_PROG_TYPE_SCHED_CLS,    /* r1 = struct __sk_buff (tc) */
};

enum bj_attach {
	BJ_ATTACH_NONE = 0,
	BJ_ATTACH_XDP_DEVMAP, /* XDP program run on egress from a devmap (may read egress_ifindex) */
	BJ_ATTACH_XDP_CPUMAP,
};

/* What the loader is allowed, as Linux distinguishes a privileged loader (CAP_BPF/root) from others. */
enum bj_verifier_policy {
	BJ_VERIFIER_PRIVILEGED = 0, /* what Linux allows root: e.g. reads of padding in a stack-built map key */
	BJ_VERIFIER_STRICT,         /* Linux's unprivileged rules: no uninitialised stack reads, no pointer leaks */
};

enum bj_engine {
	BJ_ENGINE_INTERP = 0,
	BJ_ENGINE_JIT = 1,
};

struct bj_prog_opts {
	size_t sz;
	const char *name;
	enum bj_prog_type type;
	enum bj_engine engine;
	/* Extra helpers, or replacements for built-in ones (an entry with a built-in id replaces it). */
	const struct bj_helper *helpers;
	size_t n_helpers;
	/*
	 * Programs that are not verified (see `unverified` below) run in checked mode: every memory access is
	 * checked against the regions the run may touch, and an instruction budget stops runaway loops.
	 * `unchecked` opts out of both verification and checks (for trusted code and benchmarks).
	 */
	bool unchecked;
	/* Instructions a checked run may execute before it is stopped (0 = default, 1<<26). */
	uint64_t insn_budget;
	/* Blind constants in JIT output. */
	bool blind;
	/* The embedder's pointer, handed to helpers through bj_run__user(). */
	void *user;
	/*
	 * Maps the program refers to (a reference is taken on each): ld_imm64 src 1/5 hold an index into this
	 * table, src 2/6 an index and an offset in the next imm (include/bpfjet/verifier.h). They are resolved
	 * into the maps' addresses after verification.
	 */
	struct bj_map *const *maps;
	size_t n_maps;
	/*
	 * Verification (include/bpfjet/verifier.h) runs by default and a verified program runs without
	 * runtime checks. `unverified` skips it and the program runs in checked mode; `unchecked` (trusted
	 * code) skips both. A BJ_PROG_TYPE_MEM program is verified only when mem_size says how large its
	 * buffer is (runs then need at least that much data); without it, it runs checked.
	 */
	bool unverified;
	uint32_t mem_size;
	enum bj_verifier_policy policy;
	/* Prototypes of the extra helpers, for the verifier. */
	const struct bj_helper_proto *protos;
	size_t n_protos;
	/* The verifier's log (see bj_verifier_opts): level, buffer, and source lines to print in it. */
	uint32_t log_level;
	char *log_buf;
	size_t log_size;
	const struct bj_line_info *line_info;
	size_t n_line_info;
	/* XDP programs run from a devmap may read egress_ifindex. */
	enum bj_attach attach;
	/* Where bpf_trace_printk writes (NULL: stderr, one line per message), and its first argument. */
	bj_trace_fn trace;
	void *trace_ctx;
};

/* Validates and copies the instructions; prepares the chosen engine (pre-decoding or JIT compilation). */
BJ_API int bj_prog__create(const struct bj_insn *insns, size_t n, const struct bj_prog_opts *opts,
			   struct bj_prog **out, struct bj_error *err);
BJ_API void bj_prog__destroy(struct bj_prog *prog);
BJ_API const struct bj_insn *bj_prog__insns(const struct bj_prog *prog, size_t *n);
BJ_API enum bj_engine bj_prog__engine(const struct bj_prog *prog);

/* As BPF_PROG_TEST_RUN: the program runs `repeat` times on a fresh copy of data_in. */
struct bj_run_opts {
	size_t sz;
	const void *data_in;
	void *data_out;          /* receives the data after the last run, may be NULL */
	uint32_t data_size_in;
	uint32_t data_size_out;  /* in: capacity of data_out; out: bytes the program left */
	uint32_t repeat;         /* 0 and 1 both mean once */
	uint64_t retval;         /* out: r0, all 64 bits */
	uint64_t duration_ns;    /* out: mean time per run */
};

/*
 * Runs a program whose r1 is a memory buffer and r2 its length. Returns 0, or a negative errno when the
 * run was stopped (checked mode: out-of-bounds access, budget exhausted, unknown helper), with err
 * naming the instruction.
 */
BJ_API int bj_prog__run(struct bj_prog *prog, struct bj_run_opts *opts, struct bj_error *err);

/* Runs once on the caller's memory, in place: r1 = mem, r2 = len. Same return convention. */
BJ_API int bj_prog__exec(struct bj_prog *prog, void *mem, size_t len, uint64_t *r0, struct bj_error *err);

/* For helpers: the embedder's pointer given in bj_prog_opts.user. */
BJ_API void *bj_run__user(const struct bj_run *run);

#endif
