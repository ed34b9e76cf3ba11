/* SPDX-License-Identifier: Apache-2.0 */
/* Opening and closing objects, and the getters of the object model. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

void ld_log(struct loader *L, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!L->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	L->log(L->log_ctx, msg);
}

int ld_fail(struct loader *L, int errnum, size_t shndx, long insn, const char *fmt, ...)
{
	char what[200], where[160] = "";
	long offset = -1;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (shndx && shndx < L->n_secs) {
		const struct sec *s = &L->secs[shndx];
		offset = (long)s->sh.sh_offset + (insn >= 0 ? insn * 8 : 0);
		if (insn >= 0)
			snprintf(where, sizeof(where), "section '%s': insn %ld: ", s->name, insn);
		else
			snprintf(where, sizeof(where), "section '%s': ", s->name);
	} else if (insn >= 0) {
		snprintf(where, sizeof(where), "insn %ld: ", insn);
	}
	ld_log(L, "%s%s", where, what);
	return bj_fail(L->err, errnum, insn, offset, "%s%s", where, what);
}

void bj_object__close(struct bj_object *obj)
{
	if (!obj)
		return;
	ld_unload(obj);
	for (size_t i = 0; i < obj->n_progs; i++)
		ld_program_free(obj->progs[i]);
	for (size_t i = 0; i < obj->n_maps; i++)
		ld_map_spec_free(obj->maps[i]);
	free(obj->progs);
	free(obj->maps);
	btf__free(obj->btf);
	free(obj->name);
	free(obj->license);
	free(obj);
}

static const struct sec *find_kind(const struct loader *L, enum sec_kind kind)
{
	for (size_t i = 1; i < L->n_secs; i++)
		if (L->secs[i].kind == kind)
			return &L->secs[i];
	return NULL;
}

static int load_btf(struct loader *L)
{
	const struct sec *s = find_kind(L, SEC_BTF), *ext = find_kind(L, SEC_BTF_EXT);

	if (!s)
		return 0;
	L->obj->btf = btf__new(s->data, (uint32_t)s->size);
	if (!L->obj->btf)
		return ld_fail(L, EINVAL, (size_t)(s - L->secs), -1, "malformed BTF: %s", strerror(errno));
	if (!ext)
		return 0;
	/* libbpf's parser validates the layout; the records are then read directly. */
	struct btf_ext *e = btf_ext__new(ext->data, (uint32_t)ext->size);
	if (!e)
		return ld_fail(L, EINVAL, (size_t)(ext - L->secs), -1, "malformed BTF.ext: %s", strerror(errno));
	btf_ext__free(e);
	L->btf_ext = ext->data;
	L->btf_ext_size = ext->size;
	return 0;
}

static int read_license(struct loader *L)
{
	const struct sec *s = find_kind(L, SEC_LICENSE);
	const char *lic = "";

	if (s) {
		if (!s->data || !memchr(s->data, '\0', s->size))
			return ld_fail(L, EINVAL, (size_t)(s - L->secs), -1, "license is not a NUL-terminated string");
		lic = (const char *)s->data;
	}
	L->obj->license = strdup(lic);
	return L->obj->license ? 0 : -ENOMEM;
}

static int open_image(struct loader *L)
{
	int ret = ld_elf_parse(L);

	ret = ret ?: load_btf(L);
	ret = ret ?: ld_check_core_relos(L);
	ret = ret ?: read_license(L);
	ret = ret ?: ld_collect_funcs(L);
	ret = ret ?: ld_check_relocs(L);
	ret = ret ?: ld_collect_maps(L);
	ret = ret ?: ld_build_programs(L);
	return ret ?: ld_collect_map_slots(L);
}

static void loader_release(struct loader *L)
{
	for (size_t i = 0; i < L->n_secs; i++)
		free(L->secs[i].rels);
	free(L->secs);
	free(L->syms);
	free(L->funcs);
	if (L->elf)
		elf_end(L->elf);
	free(L->image);
}

static char *default_name(const char *path)
{
	const char *base = path ? strrchr(path, '/') : NULL;

	base = base ? base + 1 : path ? path : "object";
	return strndup(base, strcspn(base, "."));
}

static int open_common(const void *buf, size_t size, const char *path, const struct bj_object_opts *opts,
		       struct bj_object **out, struct bj_error *err)
{
	struct loader L = { .err = err };
	int ret;

	if (!out || (!buf && size))
		return bj_fail(err, EINVAL, -1, -1, "no object or output pointer");
	*out = NULL;
	if (!BJ_OPTS_VALID(opts, struct bj_object_opts))
		return bj_fail(err, EINVAL, -1, -1, "unknown non-zero bytes in bj_object_opts");
	L.log = BJ_OPTS_GET(opts, log, NULL);
	L.log_ctx = BJ_OPTS_GET(opts, log_ctx, NULL);
	const char *name = BJ_OPTS_GET(opts, object_name, NULL);
	L.obj = calloc(1, sizeof(*L.obj));
	L.image = malloc(size ? size : 1);
	if (!L.obj || !L.image || !(L.obj->name = name ? strdup(name) : default_name(path))) {
		ret = bj_fail(err, ENOMEM, -1, -1, "out of memory");
		goto out;
	}
	memcpy(L.image, buf, size);
	L.size = size;
	ret = open_image(&L);
	if (ret == -ENOMEM)
		bj_fail(err, ENOMEM, -1, -1, "out of memory");
out:
	loader_release(&L);
	if (ret) {
		bj_object__close(L.obj);
		return ret;
	}
	*out = L.obj;
	return 0;
}

int bj_object__open_mem(const void *buf, size_t size, const struct bj_object_opts *opts, struct bj_object **out,
			struct bj_error *err)
{
	return open_common(buf, size, NULL, opts, out, err);
}

int bj_object__open_file(const char *path, const struct bj_object_opts *opts, struct bj_object **out,
			 struct bj_error *err)
{
	if (!path)
		return bj_fail(err, EINVAL, -1, -1, "no path");
	FILE *f = fopen(path, "rb");
	if (!f)
		return bj_fail(err, errno, -1, -1, "%s: %s", path, strerror(errno));
	uint8_t *buf = NULL;
	size_t len = 0, cap = 0, got;
	do {
		if (len == cap) {
			uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				fclose(f);
				return bj_fail(err, ENOMEM, -1, -1, "out of memory");
			}
			buf = nb;
		}
		got = fread(buf + len, 1, cap - len, f);
		len += got;
	} while (got);
	int rerr = ferror(f);
	fclose(f);
	if (rerr) {
		free(buf);
		return bj_fail(err, EIO, -1, -1, "%s: read error", path);
	}
	int ret = open_common(buf, len, path, opts, out, err);
	free(buf);
	return ret;
}

const char *bj_object__name(const struct bj_object *obj)
{
	return obj->name;
}

const char *bj_object__license(const struct bj_object *obj)
{
	return obj->license;
}

const struct btf *bj_object__btf(const struct bj_object *obj)
{
	return obj->btf;
}

size_t bj_object__prog_count(const struct bj_object *obj)
{
	return obj->n_progs;
}

const struct bj_program *bj_object__prog(const struct bj_object *obj, size_t i)
{
	return i < obj->n_progs ? obj->progs[i] : NULL;
}

const struct bj_program *bj_object__find_prog(const struct bj_object *obj, const char *name)
{
	for (size_t i = 0; name && i < obj->n_progs; i++)
		if (!strcmp(obj->progs[i]->name, name))
			return obj->progs[i];
	return NULL;
}

size_t bj_object__map_count(const struct bj_object *obj)
{
	return obj->n_maps;
}

struct bj_map_spec *bj_object__map(struct bj_object *obj, size_t i)
{
	return i < obj->n_maps ? obj->maps[i] : NULL;
}

struct bj_map_spec *bj_object__find_map(struct bj_object *obj, const char *name)
{
	for (size_t i = 0; name && i < obj->n_maps; i++)
		if (!strcmp(obj->maps[i]->name, name))
			return obj->maps[i];
	for (size_t i = 0; name && i < obj->n_maps; i++)
		if (obj->maps[i]->sec_name && !strcmp(obj->maps[i]->sec_name, name))
			return obj->maps[i];
	return NULL;
}

long bj_object__map_index(const struct bj_object *obj, const struct bj_map_spec *map)
{
	for (size_t i = 0; i < obj->n_maps; i++)
		if (obj->maps[i] == map)
			return (long)i;
	return -ENOENT;
}

const char *bj_program__name(const struct bj_program *prog)
{
	return prog->name;
}

const char *bj_program__section(const struct bj_program *prog)
{
	return prog->sec_name;
}

enum bj_prog_type bj_program__type(const struct bj_program *prog)
{
	return prog->type;
}

enum bj_attach bj_program__attach(const struct bj_program *prog)
{
	return prog->attach;
}

const struct bj_insn *bj_program__insns(const struct bj_program *prog, size_t *n)
{
	if (n)
		*n = prog->n_insns;
	return prog->insns;
}

const struct bj_line_info *bj_program__line_info(const struct bj_program *prog, size_t *n)
{
	if (n)
		*n = prog->n_lines;
	return prog->n_lines ? prog->lines : NULL;
}

const struct bj_line_info *bj_program__line_of(const struct bj_program *prog, size_t insn)
{
	size_t lo = 0, hi = prog->n_lines;

	/* The last entry at or before insn: entries cover the instructions up to the next one. */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (prog->lines[mid].insn <= insn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &prog->lines[lo - 1] : NULL;
}

const char *bj_map_spec__name(const struct bj_map_spec *m)
{
	return m->name;
}

enum bj_map_origin bj_map_spec__origin(const struct bj_map_spec *m)
{
	return m->origin;
}

uint32_t bj_map_spec__type(const struct bj_map_spec *m)
{
	return m->type;
}

uint32_t bj_map_spec__key_size(const struct bj_map_spec *m)
{
	return m->key_size;
}

uint32_t bj_map_spec__value_size(const struct bj_map_spec *m)
{
	return m->value_size;
}

uint32_t bj_map_spec__max_entries(const struct bj_map_spec *m)
{
	return m->max_entries;
}

uint32_t bj_map_spec__flags(const struct bj_map_spec *m)
{
	return m->flags;
}

uint32_t bj_map_spec__numa_node(const struct bj_map_spec *m)
{
	return m->numa_node;
}

uint64_t bj_map_spec__map_extra(const struct bj_map_spec *m)
{
	return m->map_extra;
}

uint32_t bj_map_spec__pinning(const struct bj_map_spec *m)
{
	return m->pinning;
}

uint32_t bj_map_spec__key_type_id(const struct bj_map_spec *m)
{
	return m->key_type_id;
}

uint32_t bj_map_spec__value_type_id(const struct bj_map_spec *m)
{
	return m->value_type_id;
}

const struct bj_map_spec *bj_map_spec__inner(const struct bj_map_spec *m)
{
	return m->inner;
}

const struct bj_map_slot *bj_map_spec__init_slots(const struct bj_map_spec *m, size_t *n)
{
	if (n)
		*n = m->n_slots;
	return m->slots;
}

const void *bj_map_spec__initial_value(const struct bj_map_spec *m, size_t *size)
{
	if (size)
		*size = m->init ? m->value_size : 0;
	return m->init;
}

void *bj_map_spec__initial_value_mut(struct bj_map_spec *m, size_t *size)
{
	if (size)
		*size = m->init ? m->value_size : 0;
	return m->init;
}
