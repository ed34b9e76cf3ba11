/* SPDX-License-Identifier: Apache-2.0 */
/*
 * BPF ELF objects (clang -O2 -g -target bpf, libbpf conventions): their programs after relocation and the
 * specifications of their maps. Opening an object creates nothing: the caller turns the map specs into maps
 * (in table order) and the programs into bj_progs.
 *
 * Program sections (libbpf's names and matching rules):
 *   xdp                       BJ_PROG_TYPE_XDP
 *   xdp/devmap, xdp/cpumap    BJ_PROG_TYPE_XDP, attach BJ_ATTACH_XDP_DEVMAP / BJ_ATTACH_XDP_CPUMAP
 *   socket                    BJ_PROG_TYPE_SOCKET_FILTER
 *   tc, classifier, tcx/ingress, tcx/egress, tc/ingress, tc/egress   BJ_PROG_TYPE_SCHED_CLS
 *   bpfjet, bpfjet/<any>      BJ_PROG_TYPE_MEM: r1 = a memory buffer, r2 = its length (bpfjet only; the
 *                             kernel has no such type)
 * Any other executable section except .text (xdp.frags, kprobe/..., ...) is refused. A section holds one or
 * more programs, one per global function symbol; .text holds subprograms, which are appended to each
 * program that calls them (or takes their address), as libbpf does.
 *
 * Map references in the relocated instructions use bpfjet's ld_imm64 forms (see insn.h):
 *   src = 5 (BPF_PSEUDO_MAP_IDX):       imm = index in the object's map table, next imm = 0;
 *   src = 6 (BPF_PSEUDO_MAP_IDX_VALUE): imm = index, next imm = byte offset in the value (global data).
 * Subprogram addresses (callbacks) stay src = 4 (BPF_PSEUDO_FUNC) with imm relative to the next insn;
 * bpf-to-bpf calls stay src = 1 with imm relative to the next insn.
 *
 * Not supported (open fails naming the section and instruction): CO-RE relocations, kfunc calls and other
 * externs (.kconfig, .ksyms), struct_ops, legacy maps with non-zero extra bytes.
 *
 * Loading (bj_object__load, as libbpf's bpf_object__load) creates every map from its spec and every program
 * with the object's map table; the object then owns them until bj_object__close.
 */
#ifndef BPFJET_OBJECT_H
#define BPFJET_OBJECT_H

#include <bpfjet/insn.h>
#include <bpfjet/map.h>
#include <bpfjet/prog.h>

struct bj_object;
struct bj_program;
struct bj_map_spec;
struct btf;

/* Where a map spec comes from. */
enum bj_map_origin {
	BJ_MAP_ORIGIN_BTF = 0, /* a BTF-defined map in .maps */
	BJ_MAP_ORIGIN_LEGACY,  /* struct bpf_map_def in the legacy "maps" section */
	BJ_MAP_ORIGIN_DATA,    /* .data, .data.* */
	BJ_MAP_ORIGIN_RODATA,  /* .rodata, .rodata.*: BPF_F_RDONLY_PROG, frozen after the initial update */
	BJ_MAP_ORIGIN_BSS,     /* .bss, .bss.* */
};

#define BJ_PIN_NONE 0
#define BJ_PIN_BY_NAME 1 /* LIBBPF_PIN_BY_NAME */

/* One source line of a program (from .BTF.ext), for diagnostics. */
struct bj_line_info {
	uint32_t insn;     /* instruction index in the relocated program */
	uint32_t line;
	uint32_t col;
	const char *file;  /* borrowed from the object's BTF */
	const char *text;  /* the source line, may be "" */
};

/* An initial slot of a program array or map-in-map, from a static initialiser of `values`. */
struct bj_map_slot {
	uint32_t index;
	const struct bj_program *prog;    /* PROG_ARRAY */
	const struct bj_map_spec *map;    /* ARRAY_OF_MAPS / HASH_OF_MAPS */
};

/* Receives one message per line: warnings about what was skipped, and the reason a load fails. */
typedef void (*bj_object_log_fn)(void *ctx, const char *msg);

struct bj_object_opts {
	size_t sz;
	/* Name of the object (prefix of global data map names); default: the file name up to its first '.'. */
	const char *object_name;
	bj_object_log_fn log;
	void *log_ctx;
};

/*
 * Opens an object: parses the ELF file, its BTF, maps and programs, and relocates every program.
 * Returns 0, or -errno with err (if not NULL) naming the section, the instruction and the problem:
 * -EINVAL malformed object, -ENOTSUP a feature bpfjet does not support, -ENOMEM.
 */
BJ_API int bj_object__open_file(const char *path, const struct bj_object_opts *opts, struct bj_object **out,
				struct bj_error *err);
/* Same, from memory (the bytes are copied). */
BJ_API int bj_object__open_mem(const void *buf, size_t size, const struct bj_object_opts *opts,
			       struct bj_object **out, struct bj_error *err);
BJ_API void bj_object__close(struct bj_object *obj);

BJ_API const char *bj_object__name(const struct bj_object *obj);
/* The "license" section's string, or "" when there is none. */
BJ_API const char *bj_object__license(const struct bj_object *obj);
/* The object's BTF (NULL when it has none), with the DATASEC sizes and offsets left as clang wrote them. */
BJ_API const struct btf *bj_object__btf(const struct bj_object *obj);

/* Programs, in section order then symbol order. */
BJ_API size_t bj_object__prog_count(const struct bj_object *obj);
BJ_API const struct bj_program *bj_object__prog(const struct bj_object *obj, size_t i);
BJ_API const struct bj_program *bj_object__find_prog(const struct bj_object *obj, const char *name);

/* Maps: BTF-defined, legacy, then global data, in that order; a map's position is its index. */
BJ_API size_t bj_object__map_count(const struct bj_object *obj);
BJ_API struct bj_map_spec *bj_object__map(struct bj_object *obj, size_t i);
/* By name; a global data map is also found by its section name (".rodata", ".data.stats"). */
BJ_API struct bj_map_spec *bj_object__find_map(struct bj_object *obj, const char *name);
/* Index of a map in the table, or -ENOENT. */
BJ_API long bj_object__map_index(const struct bj_object *obj, const struct bj_map_spec *map);

struct bj_object_load_opts {
	size_t sz;
	enum bj_engine engine;
	enum bj_verifier_policy policy;
	/*
	 * The verifier's log, one line per call: at level 0 only for a rejected program (verified again at
	 * level 1 to show the path to the error), at 1 and 2 for every program (2: every instruction walked).
	 * The reason a load fails is in err.
	 */
	uint32_t log_level;
	bj_object_log_fn log;
	void *log_ctx;
	/* Slots of per-CPU values (one per worker thread); 0 = number of configured CPUs. */
	uint32_t n_workers;
	/*
	 * Directory for maps with `pinning = LIBBPF_PIN_BY_NAME`: each is pinned at <pin_root>/<name>, or, when a
	 * load of this process pinned a compatible map there already, that map is shared. A pin lasts while an
	 * object of this process uses it. NULL: no pinning.
	 */
	const char *pin_root;
	/*
	 * As bj_prog_opts: run every program checked instead of verifying it, or trust it (no checks). Checked
	 * runs may touch the value areas of the program's arrays (global data) and what helpers hand back
	 * (map values, ring buffer records): at most 8 regions per run, the packet's included.
	 */
	bool unverified;
	bool unchecked;
	bool blind;
	/* Create only the program of this name (the others stay NULL, as with libbpf's autoload off). */
	const char *prog_name;
	/* BJ_PROG_TYPE_MEM programs are verified for buffers of this size (runs then need that much); 0: they
	 * run checked. */
	uint32_t mem_size;
	/* Helpers for every program besides the built-in (and, for XDP programs, the XDP) ones, with their
	 * prototypes for the verifier, and the pointer they receive through bj_run__user(). */
	const struct bj_helper *helpers;
	size_t n_helpers;
	const struct bj_helper_proto *protos;
	size_t n_protos;
	void *user;
};

/*
 * Creates the maps (inner templates of map-in-maps, global data from the possibly edited initial values,
 * .rodata frozen after it is written, pins) and the programs (verified unless asked otherwise, then the
 * initial slots of program arrays and map-in-maps). Returns 0, or -errno with err naming the map or the
 * program, and for a program the verifier rejects, the instruction and the reason (err.insn is set; the
 * log goes to opts->log). On failure nothing stays created and the object can be closed. -EBUSY when the
 * object is loaded already.
 */
BJ_API int bj_object__load(struct bj_object *obj, const struct bj_object_load_opts *opts, struct bj_error *err);
BJ_API bool bj_object__loaded(const struct bj_object *obj);
/* The created program and map (borrowed, owned by the object), or NULL before load. */
BJ_API struct bj_prog *bj_program__prog(const struct bj_program *prog);
BJ_API struct bj_map *bj_map_spec__map(const struct bj_map_spec *map);

BJ_API const char *bj_program__name(const struct bj_program *prog);
BJ_API const char *bj_program__section(const struct bj_program *prog);
BJ_API enum bj_prog_type bj_program__type(const struct bj_program *prog);
BJ_API enum bj_attach bj_program__attach(const struct bj_program *prog);
/* The instructions after relocation, with the used subprograms appended. */
BJ_API const struct bj_insn *bj_program__insns(const struct bj_program *prog, size_t *n);
/* Line info sorted by instruction; NULL and *n = 0 when the object has no .BTF.ext. */
BJ_API const struct bj_line_info *bj_program__line_info(const struct bj_program *prog, size_t *n);
/* The line info entry that covers instruction `insn` (the last one at or before it), or NULL. */
BJ_API const struct bj_line_info *bj_program__line_of(const struct bj_program *prog, size_t insn);

BJ_API const char *bj_map_spec__name(const struct bj_map_spec *map);
BJ_API enum bj_map_origin bj_map_spec__origin(const struct bj_map_spec *map);
/* enum bpf_map_type values. */
BJ_API uint32_t bj_map_spec__type(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__key_size(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__value_size(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__max_entries(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__flags(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__numa_node(const struct bj_map_spec *map);
BJ_API uint64_t bj_map_spec__map_extra(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__pinning(const struct bj_map_spec *map);
/* BTF type ids of key and value (0 = none), in bj_object__btf(). */
BJ_API uint32_t bj_map_spec__key_type_id(const struct bj_map_spec *map);
BJ_API uint32_t bj_map_spec__value_type_id(const struct bj_map_spec *map);
/* The inner map of a map-in-map (from `values`), or NULL. */
BJ_API const struct bj_map_spec *bj_map_spec__inner(const struct bj_map_spec *map);
BJ_API const struct bj_map_slot *bj_map_spec__init_slots(const struct bj_map_spec *map, size_t *n);
/* Initial contents of a global data map (value_size bytes; zeroes for .bss), or NULL for other maps. */
BJ_API const void *bj_map_spec__initial_value(const struct bj_map_spec *map, size_t *size);
/*
 * The same bytes, writable: the embedder sets `const volatile` configuration in .rodata (or initial values
 * in .data/.bss) here before bj_object__load creates the maps, as with libbpf skeletons. After the load,
 * the map (bj_map_spec__map) holds the live values.
 */
BJ_API void *bj_map_spec__initial_value_mut(struct bj_map_spec *map, size_t *size);

#endif
