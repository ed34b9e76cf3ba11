/* SPDX-License-Identifier: Apache-2.0 */
/*
 * .BTF.ext: line info (instruction -> source line) and CO-RE relocations. libbpf validates the blob with
 * btf_ext__new() but keeps its records private, so the record tables are walked here, bounds-checked.
 */
#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

#define BTF_EXT_MAGIC 0xeB9F

struct ext_hdr {
	uint16_t magic;
	uint8_t version;
	uint8_t flags;
	uint32_t hdr_len;
	uint32_t func_info_off, func_info_len;
	uint32_t line_info_off, line_info_len;
	uint32_t core_relo_off, core_relo_len; /* only when hdr_len covers them */
};

/* Called for each record of an info table: the code section it belongs to and the record bytes. */
typedef int (*rec_fn)(struct loader *L, size_t shndx, const uint8_t *rec, void *ctx);

static size_t find_code_section(const struct loader *L, const char *name)
{
	for (size_t i = 1; i < L->n_secs; i++)
		if ((L->secs[i].kind == SEC_PROG || L->secs[i].kind == SEC_TEXT) && !strcmp(L->secs[i].name, name))
			return i;
	return 0;
}

static uint32_t rd32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static int load_header(struct loader *L, struct ext_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (!L->btf_ext || !L->obj->btf)
		return -ENOENT;
	memcpy(h, L->btf_ext, L->btf_ext_size < sizeof(*h) ? L->btf_ext_size : sizeof(*h));
	if (h->hdr_len < offsetof(struct ext_hdr, core_relo_off))
		return -ENOENT;
	if (h->hdr_len < sizeof(*h))
		h->core_relo_off = h->core_relo_len = 0;
	return 0;
}

/* Walks one info table: u32 record size, then per section {u32 name offset, u32 count, records}. */
static int walk_info(struct loader *L, uint32_t off, uint32_t len, uint32_t min_rec, rec_fn fn, void *ctx)
{
	uint64_t start = (uint64_t)rd32(L->btf_ext + offsetof(struct ext_hdr, hdr_len)) + off;

	if (len == 0)
		return 0;
	if (start + len > L->btf_ext_size || len < 4)
		return ld_fail(L, EINVAL, 0, -1, "section '.BTF.ext': info table at %u+%u is outside the section", off, len);
	const uint8_t *p = L->btf_ext + start, *end = p + len;
	uint32_t rec_size = rd32(p);
	if (rec_size < min_rec)
		return ld_fail(L, EINVAL, 0, -1, "section '.BTF.ext': record size %u is below %u", rec_size, min_rec);
	p += 4;
	while (p < end) {
		if (end - p < 8)
			return ld_fail(L, EINVAL, 0, -1, "section '.BTF.ext': truncated info table");
		const char *sec_name = btf__name_by_offset(L->obj->btf, rd32(p));
		uint32_t count = rd32(p + 4);
		p += 8;
		if ((uint64_t)count * rec_size > (uint64_t)(end - p))
			return ld_fail(L, EINVAL, 0, -1, "section '.BTF.ext': %u records overrun the table", count);
		size_t shndx = sec_name ? find_code_section(L, sec_name) : 0;
		for (uint32_t i = 0; i < count && shndx; i++) {
			int ret = fn(L, shndx, p + (size_t)i * rec_size, ctx);
			if (ret)
				return ret;
		}
		p += (size_t)count * rec_size;
	}
	return 0;
}

static int refuse_core_relo(struct loader *L, size_t shndx, const uint8_t *rec, void *ctx)
{
	(void)ctx;
	const char *access = btf__name_by_offset(L->obj->btf, rd32(rec + 8));
	return ld_fail(L, ENOTSUP, shndx, rd32(rec) / 8, "CO-RE relocation (access '%s') is not supported",
		       access ? access : "?");
}

int ld_check_core_relos(struct loader *L)
{
	struct ext_hdr h;

	if (load_header(L, &h))
		return 0;
	return walk_info(L, h.core_relo_off, h.core_relo_len, 16, refuse_core_relo, NULL);
}

struct line_acc {
	struct line_rec *recs;
	size_t n, cap;
};

static int add_line(struct loader *L, size_t shndx, const uint8_t *rec, void *ctx)
{
	struct line_acc *a = ctx;
	uint32_t insn_off = rd32(rec), line_col = rd32(rec + 12);
	const char *file = btf__name_by_offset(L->obj->btf, rd32(rec + 4));
	const char *text = btf__name_by_offset(L->obj->btf, rd32(rec + 8));

	if (insn_off % 8 || insn_off / 8 >= L->secs[shndx].size / 8)
		return ld_fail(L, EINVAL, shndx, insn_off / 8, "line info for an instruction outside the section");
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;
		struct line_rec *r = realloc(a->recs, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		a->recs = r;
		a->cap = cap;
	}
	a->recs[a->n++] = (struct line_rec){
		.shndx = shndx,
		.insn = insn_off / 8,
		.info = { .line = line_col >> 10, .col = line_col & 0x3ff, .file = file ? file : "", .text = text ? text : "" },
	};
	return 0;
}

int ld_line_records(struct loader *L, struct line_rec **out, size_t *n)
{
	struct ext_hdr h;
	struct line_acc a = { 0 };

	*out = NULL;
	*n = 0;
	if (load_header(L, &h))
		return 0;
	int ret = walk_info(L, h.line_info_off, h.line_info_len, 16, add_line, &a);
	if (ret) {
		free(a.recs);
		return ret;
	}
	*out = a.recs;
	*n = a.n;
	return 0;
}
