/* SPDX-License-Identifier: Apache-2.0 */
/* ELF structure: header checks, section classification, the symbol table and relocation sections. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

#ifndef EM_BPF
#define EM_BPF 247
#endif

static bool has_prefix(const char *s, const char *pfx)
{
	return strncmp(s, pfx, strlen(pfx)) == 0;
}

/* Exact name, or name + "." + anything (".data", ".data.stats"). */
static bool is_dot_family(const char *s, const char *base)
{
	size_t n = strlen(base);
	return strncmp(s, base, n) == 0 && (s[n] == '\0' || s[n] == '.');
}

static int check_header(struct loader *L)
{
	GElf_Ehdr eh;

	if (elf_kind(L->elf) != ELF_K_ELF)
		return ld_fail(L, EINVAL, 0, -1, "not an ELF file");
	if (!gelf_getehdr(L->elf, &eh))
		return ld_fail(L, EINVAL, 0, -1, "bad ELF header: %s", elf_errmsg(-1));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64)
		return ld_fail(L, EINVAL, 0, -1, "ELF class %u is not ELFCLASS64", eh.e_ident[EI_CLASS]);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	const unsigned host_data = ELFDATA2LSB;
#else
	const unsigned host_data = ELFDATA2MSB;
#endif
	if (eh.e_ident[EI_DATA] != host_data)
		return ld_fail(L, EINVAL, 0, -1, "ELF byte order %u does not match the host (%u)", eh.e_ident[EI_DATA],
			       host_data);
	if (eh.e_ident[EI_VERSION] != EV_CURRENT || eh.e_version != EV_CURRENT)
		return ld_fail(L, EINVAL, 0, -1, "unknown ELF version %u", eh.e_ident[EI_VERSION]);
	if (eh.e_ident[EI_OSABI] != ELFOSABI_NONE)
		return ld_fail(L, EINVAL, 0, -1, "unexpected ELF OS ABI %u", eh.e_ident[EI_OSABI]);
	if (eh.e_machine != EM_BPF)
		return ld_fail(L, EINVAL, 0, -1, "ELF machine %u is not EM_BPF (247)", eh.e_machine);
	if (eh.e_shentsize != sizeof(Elf64_Shdr))
		return ld_fail(L, EINVAL, 0, -1, "section header entry size %u is not %zu", eh.e_shentsize,
			       sizeof(Elf64_Shdr));
	if (eh.e_type != ET_REL)
		return ld_fail(L, EINVAL, 0, -1, "ELF type %u is not ET_REL (a relocatable object)", eh.e_type);
	return 0;
}

struct sec_def {
	const char *name;
	bool prefix_ok; /* libbpf's "name+": also name/anything */
	enum bj_prog_type type;
	enum bj_attach attach;
	const char *refused; /* why the section is not supported, or NULL */
};

static const struct sec_def sec_defs[] = {
	{ "xdp", false, BJ_PROG_TYPE_XDP, BJ_ATTACH_NONE, NULL },
	{ "xdp/devmap", false, BJ_PROG_TYPE_XDP, BJ_ATTACH_XDP_DEVMAP, NULL },
	{ "xdp/cpumap", false, BJ_PROG_TYPE_XDP, BJ_ATTACH_XDP_CPUMAP, NULL },
	{ "xdp.frags", false, 0, 0, "multi-buffer XDP programs (xdp.frags) are not supported" },
	{ "xdp.frags/devmap", false, 0, 0, "multi-buffer XDP programs (xdp.frags) are not supported" },
	{ "xdp.frags/cpumap", false, 0, 0, "multi-buffer XDP programs (xdp.frags) are not supported" },
	{ "socket", false, BJ_PROG_TYPE_SOCKET_FILTER, BJ_ATTACH_NONE, NULL },
	{ "tc", false, BJ_PROG_TYPE_SCHED_CLS, BJ_ATTACH_NONE, NULL },
	{ "classifier", false, BJ_PROG_TYPE_SCHED_CLS, BJ_ATTACH_NONE, NULL },
	{ "tc/ingress", false, BJ_PROG_TYPE_SCHED_CLS, BJ_ATTACH_NONE, NULL },
	{ "tc/egress", false, BJ_PROG_TYPE_SCHED_CLS, BJ_ATTACH_NONE, NULL },
	{ "tcx/ingress", false, BJ_PROG_TYPE_SCHED_CLS, BJ_ATTACH_NONE, NULL },
	{ "tcx/egress", false, BJ_PROG_TYPE_SCHED_CLS, BJ_ATTACH_NONE, NULL },
	{ "bpfjet", true, BJ_PROG_TYPE_MEM, BJ_ATTACH_NONE, NULL },
};

static const struct sec_def *find_sec_def(const char *name)
{
	for (size_t i = 0; i < BJ_ARRAY_SIZE(sec_defs); i++) {
		const struct sec_def *d = &sec_defs[i];
		size_t n = strlen(d->name);
		if (!strcmp(name, d->name) || (d->prefix_ok && !strncmp(name, d->name, n) && name[n] == '/'))
			return d;
	}
	return NULL;
}

static int classify_code(struct loader *L, size_t idx)
{
	struct sec *s = &L->secs[idx];

	if (s->size % sizeof(struct bj_insn))
		return ld_fail(L, EINVAL, idx, -1, "size %zu is not a whole number of instructions", s->size);
	if (!strcmp(s->name, ".text")) {
		s->kind = SEC_TEXT;
		L->text_shndx = idx;
		return 0;
	}
	const struct sec_def *d = find_sec_def(s->name);
	if (!d)
		return ld_fail(L, ENOTSUP, idx, -1, "unsupported program section (bpfjet runs xdp, socket, tc and bpfjet programs)");
	if (d->refused)
		return ld_fail(L, ENOTSUP, idx, -1, "%s", d->refused);
	s->kind = SEC_PROG;
	s->prog_type = d->type;
	s->attach = d->attach;
	return 0;
}

static int classify(struct loader *L, size_t idx)
{
	struct sec *s = &L->secs[idx];
	const char *n = s->name;

	switch (s->sh.sh_type) {
	case SHT_SYMTAB:
		if (L->symtab_shndx)
			return ld_fail(L, EINVAL, idx, -1, "more than one symbol table");
		L->symtab_shndx = idx;
		s->kind = SEC_SYMTAB;
		return 0;
	case SHT_REL:
	case SHT_RELA:
	case SHT_STRTAB:
		return 0; /* handled with their target / by libelf */
	case SHT_NOBITS:
		if (is_dot_family(n, ".bss"))
			s->kind = SEC_BSS;
		return 0;
	case SHT_PROGBITS:
		break;
	default:
		return 0;
	}
	if (s->sh.sh_flags & SHF_EXECINSTR)
		return classify_code(L, idx);
	if (!strcmp(n, "license"))
		s->kind = SEC_LICENSE;
	else if (!strcmp(n, ".maps"))
		s->kind = SEC_MAPS, L->maps_shndx = idx;
	else if (!strcmp(n, "maps"))
		s->kind = SEC_LEGACY_MAPS, L->legacy_maps_shndx = idx;
	else if (!strcmp(n, ".BTF"))
		s->kind = SEC_BTF;
	else if (!strcmp(n, ".BTF.ext"))
		s->kind = SEC_BTF_EXT;
	else if (is_dot_family(n, ".data"))
		s->kind = SEC_DATA;
	else if (is_dot_family(n, ".rodata"))
		s->kind = SEC_RODATA;
	else if (!strcmp(n, ".kconfig") || !strcmp(n, ".ksyms"))
		return ld_fail(L, ENOTSUP, idx, -1, "extern variables and kernel symbols are not supported");
	else if (has_prefix(n, ".struct_ops") || has_prefix(n, ".addr_space"))
		return ld_fail(L, ENOTSUP, idx, -1, "section kind not supported");
	else if (!has_prefix(n, ".debug") && strcmp(n, "version") && strcmp(n, ".llvm_addrsig"))
		ld_log(L, "section '%s': ignored", n);
	return 0;
}

static int read_section(struct loader *L, Elf_Scn *scn, size_t idx, size_t shstrndx)
{
	struct sec *s = &L->secs[idx];

	s->map_idx = -1;
	if (!gelf_getshdr(scn, &s->sh))
		return ld_fail(L, EINVAL, 0, -1, "section #%zu: bad section header: %s", idx, elf_errmsg(-1));
	s->name = elf_strptr(L->elf, shstrndx, s->sh.sh_name);
	if (!s->name)
		return ld_fail(L, EINVAL, 0, -1, "section #%zu: bad name offset %u", idx, s->sh.sh_name);
	if (s->sh.sh_type == SHT_NOBITS) {
		s->size = s->sh.sh_size;
		return classify(L, idx);
	}
	if (s->sh.sh_type != SHT_NULL &&
	    (s->sh.sh_offset > L->size || s->sh.sh_size > L->size - s->sh.sh_offset))
		return ld_fail(L, EINVAL, idx, -1, "offset %#llx + size %#llx is outside the file (%zu bytes)",
			       (unsigned long long)s->sh.sh_offset, (unsigned long long)s->sh.sh_size, L->size);
	Elf_Data *d = elf_rawdata(scn, NULL);
	if (!d && s->sh.sh_size)
		return ld_fail(L, EINVAL, idx, -1, "unreadable data: %s", elf_errmsg(-1));
	s->data = d ? d->d_buf : NULL;
	s->size = d ? d->d_size : 0;
	return classify(L, idx);
}

static int read_sections(struct loader *L)
{
	size_t n, shstrndx;

	if (elf_getshdrnum(L->elf, &n) || elf_getshdrstrndx(L->elf, &shstrndx))
		return ld_fail(L, EINVAL, 0, -1, "bad section header table: %s", elf_errmsg(-1));
	if (n == 0 || n > 65535)
		return ld_fail(L, EINVAL, 0, -1, "%zu sections", n);
	L->secs = calloc(n, sizeof(*L->secs));
	if (!L->secs)
		return -ENOMEM;
	L->n_secs = n;
	for (size_t i = 1; i < n; i++) {
		Elf_Scn *scn = elf_getscn(L->elf, i);
		if (!scn)
			return ld_fail(L, EINVAL, 0, -1, "section #%zu: %s", i, elf_errmsg(-1));
		int ret = read_section(L, scn, i, shstrndx);
		if (ret)
			return ret;
	}
	return 0;
}

static int read_symbols(struct loader *L)
{
	if (!L->symtab_shndx)
		return ld_fail(L, EINVAL, 0, -1, "no symbol table");
	struct sec *st = &L->secs[L->symtab_shndx];
	Elf_Data *d = elf_getdata(elf_getscn(L->elf, L->symtab_shndx), NULL);

	if (!d || st->sh.sh_entsize != sizeof(Elf64_Sym))
		return ld_fail(L, EINVAL, L->symtab_shndx, -1, "bad symbol table: %s", elf_errmsg(-1));
	if (st->sh.sh_link == 0 || st->sh.sh_link >= L->n_secs || L->secs[st->sh.sh_link].sh.sh_type != SHT_STRTAB)
		return ld_fail(L, EINVAL, L->symtab_shndx, -1, "bad string table index %u", st->sh.sh_link);
	L->n_syms = d->d_size / sizeof(Elf64_Sym);
	L->syms = calloc(L->n_syms ? L->n_syms : 1, sizeof(*L->syms));
	if (!L->syms)
		return -ENOMEM;
	for (size_t i = 0; i < L->n_syms; i++) {
		struct sym *y = &L->syms[i];
		if (!gelf_getsym(d, (int)i, &y->s))
			return ld_fail(L, EINVAL, L->symtab_shndx, -1, "symbol #%zu unreadable", i);
		y->name = elf_strptr(L->elf, st->sh.sh_link, y->s.st_name);
		if (!y->name)
			return ld_fail(L, EINVAL, L->symtab_shndx, -1, "symbol #%zu: bad name offset %u", i, y->s.st_name);
		if (GELF_ST_TYPE(y->s.st_info) == STT_SECTION && y->s.st_shndx < L->n_secs)
			y->name = L->secs[y->s.st_shndx].name;
	}
	return 0;
}

static int cmp_rel(const void *a, const void *b)
{
	const GElf_Rel *x = a, *y = b;
	return x->r_offset < y->r_offset ? -1 : x->r_offset > y->r_offset;
}

/* Relocations of program and .maps sections are kept; others (debug info, BTF) do not matter to a loader. */
static bool rels_wanted(const struct sec *target)
{
	return target->kind == SEC_PROG || target->kind == SEC_TEXT || target->kind == SEC_MAPS;
}

static int read_rel_section(struct loader *L, size_t idx)
{
	struct sec *s = &L->secs[idx];
	size_t target = s->sh.sh_info;

	if (target == 0 || target >= L->n_secs)
		return ld_fail(L, EINVAL, idx, -1, "relocates section #%zu, which does not exist", target);
	struct sec *t = &L->secs[target];
	if (!rels_wanted(t))
		return 0;
	if (s->sh.sh_type == SHT_RELA)
		return ld_fail(L, ENOTSUP, idx, -1, "RELA relocations are not used by BPF objects");
	if (s->sh.sh_link != L->symtab_shndx)
		return ld_fail(L, EINVAL, idx, -1, "refers to symbol table #%u, not #%zu", s->sh.sh_link, L->symtab_shndx);
	if (s->sh.sh_entsize != sizeof(Elf64_Rel))
		return ld_fail(L, EINVAL, idx, -1, "entry size %llu is not %zu", (unsigned long long)s->sh.sh_entsize,
			       sizeof(Elf64_Rel));
	if (t->rels)
		return ld_fail(L, EINVAL, idx, -1, "second relocation section for '%s'", t->name);
	Elf_Data *d = elf_getdata(elf_getscn(L->elf, idx), NULL);
	size_t n = d ? d->d_size / sizeof(Elf64_Rel) : 0;
	t->rels = calloc(n ? n : 1, sizeof(*t->rels));
	if (!t->rels)
		return -ENOMEM;
	t->rel_shndx = idx;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getrel(d, (int)i, &t->rels[i]))
			return ld_fail(L, EINVAL, idx, -1, "relocation #%zu unreadable", i);
		size_t symi = GELF_R_SYM(t->rels[i].r_info);
		if (symi == 0 || symi >= L->n_syms)
			return ld_fail(L, EINVAL, target, (long)(t->rels[i].r_offset / 8),
				       "relocation #%zu refers to symbol #%zu (the table has %zu)", i, symi, L->n_syms);
	}
	t->n_rels = n;
	qsort(t->rels, n, sizeof(*t->rels), cmp_rel);
	return 0;
}

int ld_elf_parse(struct loader *L)
{
	int ret;

	elf_version(EV_CURRENT);
	L->elf = elf_memory((char *)L->image, L->size);
	if (!L->elf)
		return ld_fail(L, EINVAL, 0, -1, "not an ELF file: %s", elf_errmsg(-1));
	if ((ret = check_header(L)) || (ret = read_sections(L)) || (ret = read_symbols(L)))
		return ret;
	for (size_t i = 1; i < L->n_secs; i++) {
		unsigned t = L->secs[i].sh.sh_type;
		if ((t == SHT_REL || t == SHT_RELA) && (ret = read_rel_section(L, i)))
			return ret;
	}
	return 0;
}

const struct sym *ld_sym(const struct loader *L, size_t idx)
{
	return idx < L->n_syms ? &L->syms[idx] : NULL;
}

const GElf_Rel *ld_find_rel(const struct sec *s, uint64_t offset)
{
	size_t lo = 0, hi = s->n_rels;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (s->rels[mid].r_offset < offset)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->n_rels && s->rels[lo].r_offset == offset ? &s->rels[lo] : NULL;
}
