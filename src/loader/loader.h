/* SPDX-License-Identifier: Apache-2.0 */
/* The ELF loader's internals: the object model and the state of one open. */
#ifndef BJ_LOADER_H
#define BJ_LOADER_H

#include <bpfjet/object.h>
#include <gelf.h>
#include <linux/bpf.h>

#include "common/common.h"

/* Relocation types LLVM 13+ emits that older <elf.h> lacks. */
#ifndef R_BPF_64_ABS64
#define R_BPF_64_ABS64 2
#endif
#ifndef R_BPF_64_ABS32
#define R_BPF_64_ABS32 3
#endif

struct bj_map_spec {
	char *name;
	char *sec_name; /* global data maps: their section */
	enum bj_map_origin origin;
	uint32_t type, key_size, value_size, max_entries, flags, numa_node, pinning;
	uint64_t map_extra;
	uint32_t key_type_id, value_type_id;
	struct bj_map_spec *inner;
	struct bj_map_slot *slots;
	size_t n_slots;
	uint8_t *init; /* global data maps: value_size bytes */
	/* Where the definition lives, to resolve relocations: section, symbol value and size. */
	size_t shndx;
	uint64_t sym_off, sym_size;
	long values_off; /* byte offset of `values` in the definition, or -1 */
	/* After bj_object__load: the map (a reference), and its entry in the process's pins when pinned by name. */
	struct bj_map *map;
	struct ld_pin *pin;
};

struct bj_program {
	char *name;
	char *sec_name;
	enum bj_prog_type type;
	enum bj_attach attach;
	struct bj_insn *insns;
	size_t n_insns;
	struct bj_line_info *lines;
	size_t n_lines;
	struct bj_prog *prog; /* after bj_object__load */
};

struct bj_object {
	char *name;
	char *license;
	struct btf *btf;
	struct bj_program **progs;
	size_t n_progs;
	struct bj_map_spec **maps;
	size_t n_maps;
	bool loaded;
};

enum sec_kind {
	SEC_IGNORE = 0,
	SEC_PROG,
	SEC_TEXT,
	SEC_MAPS,
	SEC_LEGACY_MAPS,
	SEC_DATA,
	SEC_RODATA,
	SEC_BSS,
	SEC_LICENSE,
	SEC_SYMTAB,
	SEC_BTF,
	SEC_BTF_EXT,
};

struct sec {
	const char *name;
	GElf_Shdr sh;
	const uint8_t *data; /* NULL for SHT_NOBITS */
	size_t size;
	enum sec_kind kind;
	/* SEC_PROG */
	enum bj_prog_type prog_type;
	enum bj_attach attach;
	/* Relocations against this section, sorted by offset. */
	GElf_Rel *rels;
	size_t n_rels;
	size_t rel_shndx;
	/* Global data sections: index of their map, or -1. */
	long map_idx;
};

/* A function in a code section: an entry program or a subprogram. */
struct func {
	const char *name;
	size_t shndx;
	size_t start; /* instruction index in the section */
	size_t n;
	bool entry;
};

struct sym {
	GElf_Sym s;
	const char *name;
};

/* The state of one bj_object__open_*: everything here dies when the open returns. */
struct loader {
	struct bj_object *obj;
	struct bj_error *err;
	bj_object_log_fn log;
	void *log_ctx;
	uint8_t *image;
	size_t size;
	Elf *elf;
	struct sec *secs;
	size_t n_secs;
	size_t symtab_shndx;
	struct sym *syms;
	size_t n_syms;
	struct func *funcs;
	size_t n_funcs;
	size_t text_shndx, maps_shndx, legacy_maps_shndx; /* 0 when absent */
	const uint8_t *btf_ext;
	size_t btf_ext_size;
};

/* Fails the open: fills err, logs the message, returns -errnum. `shndx`/`insn` locate it (0 / -1 = none). */
int ld_fail(struct loader *L, int errnum, size_t shndx, long insn, const char *fmt, ...) BJ_PRINTF(5, 6);
void ld_log(struct loader *L, const char *fmt, ...) BJ_PRINTF(2, 3);

/* elf.c: sections, symbols, relocations. */
int ld_elf_parse(struct loader *L);
const struct sym *ld_sym(const struct loader *L, size_t idx);
const GElf_Rel *ld_find_rel(const struct sec *s, uint64_t offset);

/* btf_ext.c: line info and CO-RE relocations from .BTF.ext. */
int ld_check_core_relos(struct loader *L);
struct line_rec {
	size_t shndx;
	uint32_t insn; /* in the section */
	struct bj_line_info info;
};
int ld_line_records(struct loader *L, struct line_rec **out, size_t *n);

/* maps.c: map specs. */
int ld_collect_maps(struct loader *L);
int ld_collect_map_slots(struct loader *L);
long ld_map_at(const struct loader *L, size_t shndx, uint64_t off);
void ld_map_spec_free(struct bj_map_spec *m);

/* load.c: destroys what bj_object__load created (programs, maps, pins); the specs stay. */
void ld_unload(struct bj_object *obj);

/* reloc.c: programs. */
int ld_collect_funcs(struct loader *L);
int ld_check_relocs(struct loader *L);
int ld_build_programs(struct loader *L);
void ld_program_free(struct bj_program *p);

#endif
