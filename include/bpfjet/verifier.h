/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier: proves a program safe before it runs, in the style of Linux's (kernel/bpf/verifier.c):
 * abstract interpretation over every path, register types, tracked numbers (tnum and signed/unsigned 32-
 * and 64-bit bounds), packet ranges, stack slots, helper prototypes, context rules per program type, state
 * pruning and a complexity limit. A program it accepts runs without runtime checks.
 *
 * It reads the program as the loader leaves it: map references are ld_imm64 pseudo forms whose imm is an
 * index into opts->maps (src 1 BPF_PSEUDO_MAP_FD and 5 BPF_PSEUDO_MAP_IDX: the map; src 2 BPF_PSEUDO_MAP_VALUE
 * and 6 BPF_PSEUDO_MAP_IDX_VALUE: the address of its value, offset in the next imm), src 4 BPF_PSEUDO_FUNC a
 * subprogram's address, calls with src 1 local calls.
 */
#ifndef BPFJET_VERIFIER_H
#define BPFJET_VERIFIER_H

#include <bpfjet/insn.h>
#include <bpfjet/object.h>
#include <bpfjet/prog.h>

/* What the verifier knows of a map the program refers to. */
struct bj_verifier_map {
	uint32_t type;          /* enum bj_map_type / bpf_map_type */
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t flags;         /* BJ_F_RDONLY_PROG, BJ_F_WRONLY_PROG, ... */
	int32_t spin_lock_off;  /* offset of a struct bpf_spin_lock in the value, -1 when none */
	bool frozen;            /* a frozen read-only map: its contents are known constants (.rodata) */
	const void *frozen_value; /* frozen ARRAY with one entry: the value's bytes, for constant loads */
	const struct bj_verifier_map *inner; /* ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map's template */
	const char *name;       /* for the log (map=name), may be NULL */
};

/* Argument and return kinds of an embedder's helper (a subset of the kernel's bpf_arg_type). */
enum bj_helper_arg {
	BJ_ARG_NONE = 0,            /* unused argument */
	BJ_ARG_ANYTHING,            /* any initialised value; a pointer is not dereferenced */
	BJ_ARG_SCALAR,              /* a number, not a pointer */
	BJ_ARG_PTR_TO_MEM,          /* readable memory whose size is the next argument */
	BJ_ARG_PTR_TO_MEM_OR_NULL,
	BJ_ARG_PTR_TO_UNINIT_MEM,   /* writable memory whose size is the next argument (need not be initialised) */
	BJ_ARG_CONST_SIZE,          /* size of the previous memory argument, > 0, known bounds */
	BJ_ARG_CONST_SIZE_OR_ZERO,
	BJ_ARG_PTR_TO_CTX,
	BJ_ARG_CONST_MAP_PTR,
};

enum bj_helper_ret {
	BJ_RET_INTEGER = 0,
	BJ_RET_VOID,
};

struct bj_helper_proto {
	uint32_t id;
	enum bj_helper_ret ret;
	enum bj_helper_arg args[5];
};

struct bj_verifier_opts {
	size_t sz;
	enum bj_prog_type type;
	enum bj_attach attach;
	enum bj_verifier_policy policy;
	/* The maps the pseudo ld_imm64 forms index. */
	const struct bj_verifier_map *maps;
	size_t n_maps;
	/* BJ_PROG_TYPE_MEM: r1 points to mem_size readable and writable bytes and r2 holds mem_size. */
	uint32_t mem_size;
	/* Prototypes of helpers beyond Linux's (or replacing one): calls to ids with no prototype are refused. */
	const struct bj_helper_proto *protos;
	size_t n_protos;
	/* Log in Linux's format: 0 none (the reason is still in err), 1 the path to the error, 2 every
	 * instruction walked. Truncated to log_size bytes, always NUL-terminated when log_size > 0. */
	uint32_t log_level;
	char *log_buf;
	size_t log_size;
	/* Source lines printed in the log before the instructions they cover (from .BTF.ext). */
	const struct bj_line_info *line_info;
	size_t n_line_info;
	/* Instructions processed before the program is refused as too complex; 0 = Linux's 1,000,000. */
	uint64_t insn_limit;
};

struct bj_verifier_stats {
	uint64_t insns_processed;
	uint64_t duration_ns;
	uint32_t total_states;
	uint32_t peak_states;
	uint32_t max_states_per_insn;
	uint32_t stack_depth;   /* deepest frame, bytes */
};

/*
 * Verifies insns. Returns 0 when the program is safe, or -errno with err naming the instruction and the
 * reason: -EACCES the program breaks a rule, -E2BIG too complex (insn_limit reached), -EINVAL malformed
 * program or options, -ENOMEM. stats (may be NULL) is filled in both cases.
 */
BJ_API int bj_verify(const struct bj_insn *insns, size_t n, const struct bj_verifier_opts *opts,
		     struct bj_verifier_stats *stats, struct bj_error *err);

#endif
