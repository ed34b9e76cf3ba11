/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Programs: functions from the symbol table, relocation checks, and for each entry program the relocated
 * instructions with the subprograms it uses appended (libbpf's bpf_object__reloc_code()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "isa/isa.h"
#include "loader/loader.h"

#define PSEUDO_MAP_IDX 5
#define PSEUDO_MAP_IDX_VALUE 6

static bool is_code(const struct sec *s)
{
	return s->kind == SEC_PROG || s->kind == SEC_TEXT;
}

static bool is_call(const struct bj_insn *in)
{
	return in->code == (BPF_JMP | BPF_CALL);
}

static int cmp_func(const void *a, const void *b)
{
	const struct func *x = a, *y = b;

	if (x->shndx != y->shndx)
		return x->shndx < y->shndx ? -1 : 1;
	return x->start < y->start ? -1 : x->start > y->start;
}

static int add_func(struct loader *L, const struct sym *y)
{
	size_t shndx = y->s.st_shndx;
	const struct sec *s = &L->secs[shndx];
	unsigned bind = GELF_ST_BIND(y->s.st_info);

	if (y->s.st_value % 8 || y->s.st_size % 8 || y->s.st_size == 0 || y->s.st_value > s->size ||
	    y->s.st_size > s->size - y->s.st_value)
		return ld_fail(L, EINVAL, shndx, -1, "function '%s' at %llu+%llu is not a run of whole instructions in the section",
			       y->name, (unsigned long long)y->s.st_value, (unsigned long long)y->s.st_size);
	if (s->kind == SEC_PROG && bind != STB_GLOBAL && bind != STB_WEAK)
		return ld_fail(L, EINVAL, shndx, (long)(y->s.st_value / 8),
			       "program '%s' is static; programs must be global functions", y->name);
	L->funcs[L->n_funcs++] = (struct func){
		.name = y->name, .shndx = shndx, .start = y->s.st_value / 8, .n = y->s.st_size / 8,
		.entry = s->kind == SEC_PROG,
	};
	return 0;
}

int ld_collect_funcs(struct loader *L)
{
	L->funcs = calloc(L->n_syms ? L->n_syms : 1, sizeof(*L->funcs));
	if (!L->funcs)
		return -ENOMEM;
	for (size_t i = 1; i < L->n_syms; i++) {
		const struct sym *y = &L->syms[i];
		if (GELF_ST_TYPE(y->s.st_info) != STT_FUNC || y->s.st_shndx == SHN_UNDEF || y->s.st_shndx >= L->n_secs ||
		    !is_code(&L->secs[y->s.st_shndx]))
			continue;
		int ret = add_func(L, y);
		if (ret)
			return ret;
	}
	qsort(L->funcs, L->n_funcs, sizeof(*L->funcs), cmp_func);
	for (size_t i = 1; i < L->n_funcs; i++) {
		const struct func *a = &L->funcs[i - 1], *b = &L->funcs[i];
		if (a->shndx == b->shndx && a->start + a->n > b->start)
			return ld_fail(L, EINVAL, b->shndx, (long)b->start, "functions '%s' and '%s' overlap", a->name,
				       b->name);
	}
	return 0;
}

static int check_rel(struct loader *L, size_t shndx, size_t i)
{
	const struct sec *s = &L->secs[shndx];
	const GElf_Rel *r = &s->rels[i];
	unsigned type = GELF_R_TYPE(r->r_info);
	long insn = (long)(r->r_offset / 8);

	if (type == R_BPF_NONE)
		return 0;
	if (type != R_BPF_64_64 && type != R_BPF_64_32)
		return ld_fail(L, EINVAL, shndx, insn, "relocation #%zu has unsupported type %u", i, type);
	if (r->r_offset % 8 || r->r_offset >= s->size)
		return ld_fail(L, EINVAL, shndx, insn, "relocation #%zu at offset %llu is not on an instruction of the section",
			       i, (unsigned long long)r->r_offset);
	struct bj_insn in;
	memcpy(&in, s->data + r->r_offset, sizeof(in));
	if (bj_insn_is_lddw(&in)) {
		if (r->r_offset + 16 > s->size)
			return ld_fail(L, EINVAL, shndx, insn, "relocated ld_imm64 is cut by the end of the section");
		return 0;
	}
	if (!is_call(&in))
		return ld_fail(L, EINVAL, shndx, insn, "relocation #%zu is on opcode %#x, neither ld_imm64 nor call", i,
			       in.code);
	return 0;
}

int ld_check_relocs(struct loader *L)
{
	for (size_t shndx = 1; shndx < L->n_secs; shndx++) {
		if (!is_code(&L->secs[shndx]))
			continue;
		for (size_t i = 0; i < L->secs[shndx].n_rels; i++) {
			int ret = check_rel(L, shndx, i);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ---- building one program ---- */

struct piece {
	const struct func *f;
	size_t start; /* first instruction in the program */
};

struct build {
	struct loader *L;
	struct bj_insn *out;
	size_t n, cap;
	struct piece *pieces;
	size_t n_pieces;
};

static const struct func *func_at(const struct loader *L, size_t shndx, long long insn)
{
	for (size_t i = 0; i < L->n_funcs; i++) {
		const struct func *f = &L->funcs[i];
		if (f->shndx == shndx && insn >= (long long)f->start && insn < (long long)(f->start + f->n))
			return f;
	}
	return NULL;
}

/* The piece holding f, appending f's instructions first if this program does not have them yet. */
static long piece_of(struct build *b, const struct func *f)
{
	for (size_t i = 0; i < b->n_pieces; i++)
		if (b->pieces[i].f == f)
			return (long)i;
	if (b->n + f->n > BJ_MAX_INSNS)
		return ld_fail(b->L, E2BIG, f->shndx, (long)f->start, "program exceeds %u instructions", BJ_MAX_INSNS);
	if (b->n + f->n > b->cap) {
		size_t cap = (b->n + f->n) * 2;
		struct bj_insn *out = realloc(b->out, cap * sizeof(*out));
		if (!out)
			return -ENOMEM;
		b->out = out;
		b->cap = cap;
	}
	struct piece *p = realloc(b->pieces, (b->n_pieces + 1) * sizeof(*p));
	if (!p)
		return -ENOMEM;
	b->pieces = p;
	memcpy(b->out + b->n, b->L->secs[f->shndx].data + f->start * 8, f->n * 8);
	b->pieces[b->n_pieces] = (struct piece){ f, b->n };
	b->n += f->n;
	return (long)b->n_pieces++;
}

/* Points the call or BPF_PSEUDO_FUNC at `at` to instruction `target` of section `shndx`. */
static int link_to(struct build *b, size_t at, size_t src_shndx, long src_insn, size_t shndx, long long target)
{
	const struct func *f = func_at(b->L, shndx, target);

	if (!f)
		return ld_fail(b->L, EINVAL, src_shndx, src_insn,
			       "target instruction %lld of section '%s' is in no function", target, b->L->secs[shndx].name);
	long q = piece_of(b, f);
	if (q < 0)
		return (int)q;
	b->out[at].imm = (int32_t)((long long)(b->pieces[q].start + (target - f->start)) - (long long)at - 1);
	return 0;
}

static int rel_lddw(struct build *b, size_t at, const struct sym *y, size_t shndx, long insn)
{
	struct loader *L = b->L;
	struct bj_insn *in = &b->out[at];
	const struct sec *t = &L->secs[y->s.st_shndx];

	if (t->kind == SEC_MAPS || t->kind == SEC_LEGACY_MAPS) {
		long idx = ld_map_at(L, y->s.st_shndx, y->s.st_value);
		if (idx < 0)
			return ld_fail(L, EINVAL, shndx, insn, "'%s' is not a map definition in '%s'", y->name, t->name);
		in[0].src = PSEUDO_MAP_IDX;
		in[0].imm = (int32_t)idx;
		in[1].imm = 0;
		return 0;
	}
	if (t->map_idx >= 0) {
		long long off = (long long)y->s.st_value + in[0].imm;
		if (off < 0 || (unsigned long long)off > t->size)
			return ld_fail(L, EINVAL, shndx, insn, "offset %lld is outside '%s' (%zu bytes)", off, t->name, t->size);
		in[0].src = PSEUDO_MAP_IDX_VALUE;
		in[0].imm = (int32_t)t->map_idx;
		in[1].imm = (int32_t)off;
		return 0;
	}
	if (t->kind == SEC_TEXT) {
		long long byte = (long long)y->s.st_value + in[0].imm;
		if (byte % 8)
			return ld_fail(L, EINVAL, shndx, insn, "address of '%s'+%d is not an instruction", y->name, in[0].imm);
		in[0].src = BPF_PSEUDO_FUNC;
		in[1].imm = 0;
		return link_to(b, at, shndx, insn, y->s.st_shndx, byte / 8);
	}
	return ld_fail(L, EINVAL, shndx, insn, "ld_imm64 of '%s' in section '%s', which holds no map, data or subprogram",
		       y->name, t->name);
}

static int rel_call(struct build *b, size_t at, const struct sym *y, size_t shndx, long insn)
{
	struct loader *L = b->L;
	const struct bj_insn *in = &b->out[at];

	if (in->src != BPF_PSEUDO_CALL)
		return ld_fail(L, EINVAL, shndx, insn, "relocated call to '%s' is not a bpf-to-bpf call (src %u)", y->name,
			       in->src);
	if (y->s.st_shndx != L->text_shndx)
		return ld_fail(L, EINVAL, shndx, insn, "call to '%s' in section '%s': subprograms must be in .text", y->name,
			       L->secs[y->s.st_shndx].name);
	return link_to(b, at, shndx, insn, y->s.st_shndx, (long long)(y->s.st_value / 8) + in->imm + 1);
}

static int apply_rel(struct build *b, size_t at, const GElf_Rel *r, size_t shndx, long insn)
{
	struct loader *L = b->L;
	const struct sym *y = ld_sym(L, GELF_R_SYM(r->r_info));
	bool lddw = bj_insn_is_lddw(&b->out[at]);

	if (y->s.st_shndx == SHN_UNDEF)
		return lddw ? ld_fail(L, ENOTSUP, shndx, insn, "extern '%s' (kconfig or ksym) is not supported", y->name)
			    : ld_fail(L, ENOTSUP, shndx, insn, "call to kernel function '%s' (kfunc) is not supported", y->name);
	if (y->s.st_shndx >= L->n_secs)
		return ld_fail(L, EINVAL, shndx, insn, "relocation against '%s' in section index %#x", y->name, y->s.st_shndx);
	return lddw ? rel_lddw(b, at, y, shndx, insn) : rel_call(b, at, y, shndx, insn);
}

/*
 * Relocates piece p from its instruction *j on. Returns 1 (with *j past the instruction) as soon as a call
 * appended a new subprogram, which the caller relocates before resuming here: the depth-first order gives
 * the same layout as libbpf.
 */
static int relocate_from(struct build *b, size_t p, size_t *j)
{
	const struct func *f = b->pieces[p].f;
	const struct sec *s = &b->L->secs[f->shndx];

	while (*j < f->n) {
		size_t at = b->pieces[p].start + *j, had = b->n_pieces;
		long insn = (long)(f->start + *j);
		const GElf_Rel *r = ld_find_rel(s, (uint64_t)insn * 8);
		bool lddw = bj_insn_is_lddw(&b->out[at]);
		int ret = 0;

		if (lddw && *j + 1 >= f->n)
			return ld_fail(b->L, EINVAL, f->shndx, insn, "ld_imm64 cut by the end of function '%s'", f->name);
		if (r && GELF_R_TYPE(r->r_info) != R_BPF_NONE)
			ret = apply_rel(b, at, r, f->shndx, insn);
		else if (bj_insn_is_local_call(&b->out[at]))
			/* A static callee in the same section needs no relocation: imm is already relative. */
			ret = link_to(b, at, f->shndx, insn, f->shndx, (long long)insn + b->out[at].imm + 1);
		else if (lddw && b->out[at].src == BPF_PSEUDO_FUNC)
			ret = ld_fail(b->L, EINVAL, f->shndx, insn, "subprogram address without a relocation");
		if (ret)
			return ret;
		*j += 1 + lddw;
		if (b->n_pieces > had)
			return 1;
	}
	return 0;
}

struct frame {
	size_t piece, j;
};

static int relocate_all(struct build *b)
{
	struct frame *stack = malloc(b->L->n_funcs * sizeof(*stack) + sizeof(*stack));
	size_t depth = 1;
	int ret = 0;

	if (!stack)
		return -ENOMEM;
	stack[0] = (struct frame){ 0, 0 };
	while (depth && ret >= 0) {
		ret = relocate_from(b, stack[depth - 1].piece, &stack[depth - 1].j);
		if (ret == 1)
			stack[depth++] = (struct frame){ b->n_pieces - 1, 0 };
		else if (ret == 0)
			depth--;
	}
	free(stack);
	return ret < 0 ? ret : 0;
}

static int cmp_line(const void *a, const void *b)
{
	const struct bj_line_info *x = a, *y = b;
	return x->insn < y->insn ? -1 : x->insn > y->insn;
}

static int attach_lines(struct build *b, struct bj_program *prog, const struct line_rec *recs, size_t n_recs)
{
	size_t n = 0;

	for (size_t pass = 0; pass < 2; pass++) {
		n = 0;
		for (size_t p = 0; p < b->n_pieces; p++) {
			const struct func *f = b->pieces[p].f;
			for (size_t i = 0; i < n_recs; i++) {
				const struct line_rec *r = &recs[i];
				if (r->shndx != f->shndx || r->insn < f->start || r->insn >= f->start + f->n)
					continue;
				if (pass == 1) {
					prog->lines[n] = r->info;
					prog->lines[n].insn = (uint32_t)(b->pieces[p].start + r->insn - f->start);
				}
				n++;
			}
		}
		if (pass == 0 && n && !(prog->lines = calloc(n, sizeof(*prog->lines))))
			return -ENOMEM;
	}
	prog->n_lines = n;
	qsort(prog->lines, n, sizeof(*prog->lines), cmp_line);
	return 0;
}

void ld_program_free(struct bj_program *p)
{
	if (!p)
		return;
	free(p->name);
	free(p->sec_name);
	free(p->insns);
	free(p->lines);
	free(p);
}

static int build_program(struct loader *L, const struct func *entry, const struct line_rec *recs, size_t n_recs,
			 struct bj_program **out)
{
	struct build b = { .L = L };
	struct bj_program *prog = calloc(1, sizeof(*prog));
	long ret = prog ? piece_of(&b, entry) : -ENOMEM;

	if (ret >= 0)
		ret = relocate_all(&b);
	if (ret >= 0)
		ret = attach_lines(&b, prog, recs, n_recs);
	if (ret >= 0) {
		const struct sec *s = &L->secs[entry->shndx];
		prog->name = strdup(entry->name);
		prog->sec_name = strdup(s->name);
		prog->type = s->prog_type;
		prog->attach = s->attach;
		prog->insns = b.out;
		prog->n_insns = b.n;
		b.out = NULL;
		ret = prog->name && prog->sec_name ? 0 : -ENOMEM;
	}
	free(b.out);
	free(b.pieces);
	if (ret < 0) {
		ld_program_free(prog);
		return (int)ret;
	}
	*out = prog;
	return 0;
}

int ld_build_programs(struct loader *L)
{
	struct line_rec *recs;
	size_t n_recs, n_entries = 0;
	int ret = ld_line_records(L, &recs, &n_recs);

	if (ret)
		return ret;
	for (size_t i = 0; i < L->n_funcs; i++)
		n_entries += L->funcs[i].entry;
	L->obj->progs = calloc(n_entries ? n_entries : 1, sizeof(*L->obj->progs));
	if (!L->obj->progs)
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < L->n_funcs; i++) {
		if (!L->funcs[i].entry)
			continue;
		ret = build_program(L, &L->funcs[i], recs, n_recs, &L->obj->progs[L->obj->n_progs]);
		L->obj->n_progs += !ret;
	}
	free(recs);
	return ret;
}
