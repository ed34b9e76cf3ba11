/* SPDX-License-Identifier: Apache-2.0 */
/* Map specs: BTF-defined maps in .maps, legacy struct bpf_map_def in "maps", and global data sections. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loader/loader.h"

/* Highest map type a definition may name (BPF_MAP_TYPE_ARENA in Linux 6.9); the maps module decides support. */
#define MAX_MAP_TYPE 33
#define LEGACY_DEF_SIZE 20
#define OBJ_NAME_LEN 16 /* BPF_OBJ_NAME_LEN */
/* .bss has no bytes in the file, so its size is only a claim: cap it above any kernel array value (4 MiB). */
#define MAX_DATA_SECTION (16u << 20)

void ld_map_spec_free(struct bj_map_spec *m)
{
	if (!m)
		return;
	ld_map_spec_free(m->inner);
	free(m->name);
	free(m->sec_name);
	free(m->slots);
	free(m->init);
	free(m);
}

static struct bj_map_spec *new_spec(const char *name)
{
	struct bj_map_spec *m = calloc(1, sizeof(*m));

	if (m && !(m->name = strdup(name))) {
		free(m);
		return NULL;
	}
	if (m)
		m->values_off = -1;
	return m;
}

static int add_map(struct loader *L, struct bj_map_spec *m)
{
	struct bj_object *obj = L->obj;
	struct bj_map_spec **maps = realloc(obj->maps, (obj->n_maps + 1) * sizeof(*maps));

	if (!maps) {
		ld_map_spec_free(m);
		return -ENOMEM;
	}
	obj->maps = maps;
	obj->maps[obj->n_maps++] = m;
	return 0;
}

/* ---- BTF-defined maps ---- */

static const struct btf_type *skip_mods(const struct btf *btf, uint32_t id, uint32_t *res_id)
{
	const struct btf_type *t = btf__type_by_id(btf, id);

	for (int depth = 0; t && (btf_is_mod(t) || btf_is_typedef(t)) && depth < 32; depth++) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	if (res_id)
		*res_id = id;
	return t;
}

/* __uint(name, N) is `int (*name)[N]`: the value is the array's element count. */
static bool field_uint(const struct btf *btf, const struct btf_member *m, uint32_t *val)
{
	const struct btf_type *t = skip_mods(btf, m->type, NULL);

	if (!t || !btf_is_ptr(t))
		return false;
	const struct btf_type *a = skip_mods(btf, t->type, NULL);
	if (!a || !btf_is_array(a))
		return false;
	*val = btf_array(a)->nelems;
	return true;
}

/* __ulong(name, N) is an enum with the single enumerator N; older headers used __uint. */
static bool field_ulong(const struct btf *btf, const struct btf_member *m, uint64_t *val)
{
	const struct btf_type *t = skip_mods(btf, m->type, NULL);
	uint32_t v32;

	if (t && btf_is_enum(t) && btf_vlen(t) == 1) {
		*val = (uint32_t)btf_enum(t)->val;
		return true;
	}
	if (t && btf_is_enum64(t) && btf_vlen(t) == 1) {
		*val = btf_enum64_value(btf_enum64(t));
		return true;
	}
	if (!field_uint(btf, m, &v32))
		return false;
	*val = v32;
	return true;
}

struct def_ctx {
	struct loader *L;
	const struct btf *btf;
	const char *map;
	size_t shndx;
	bool inner;
};

static int def_fail(struct def_ctx *c, const char *fmt, const char *a)
{
	return ld_fail(c->L, EINVAL, c->shndx, -1, "map '%s': %s%s", c->map, fmt, a);
}

/* __type(name, T) is `typeof(T) *name`: the type and its size. */
static int field_type(struct def_ctx *c, const struct btf_member *m, const char *fname, uint32_t *id, uint32_t *size)
{
	const struct btf_type *t = skip_mods(c->btf, m->type, NULL);

	if (!t || !btf_is_ptr(t))
		return def_fail(c, "field is not a pointer to a type: ", fname);
	long long sz = btf__resolve_size(c->btf, t->type);
	if (sz <= 0 || sz > UINT32_MAX)
		return def_fail(c, "cannot size the type of ", fname);
	if (*size && *size != (uint32_t)sz)
		return ld_fail(c->L, EINVAL, c->shndx, -1, "map '%s': %s size %u disagrees with its type's size %lld",
			       c->map, fname, *size, sz);
	*id = t->type;
	*size = (uint32_t)sz;
	return 0;
}

static int parse_def(struct def_ctx *c, const struct btf_type *def, struct bj_map_spec *m);

/* `values` (last member): program-array slots, or the inner map of a map-in-map. */
static int field_values(struct def_ctx *c, const struct btf_type *def, int i, struct bj_map_spec *m)
{
	const struct btf_member *mem = &btf_members(def)[i];

	if (c->inner)
		return def_fail(c, "an inner map cannot have 'values'", "");
	if (i != btf_vlen(def) - 1)
		return def_fail(c, "'values' must be the last field", "");
	const struct btf_type *arr = skip_mods(c->btf, mem->type, NULL);
	if (!arr || !btf_is_array(arr))
		return def_fail(c, "'values' is not an array", "");
	const struct btf_type *ptr = skip_mods(c->btf, btf_array(arr)->type, NULL);
	if (!ptr || !btf_is_ptr(ptr))
		return def_fail(c, "'values' is not an array of pointers", "");
	uint32_t target_id;
	const struct btf_type *target = skip_mods(c->btf, ptr->type, &target_id);
	if (m->value_size && m->value_size != 4)
		return def_fail(c, "'values' needs a 4-byte value", "");
	m->value_size = 4;
	m->values_off = btf_member_bit_offset(def, i) / 8;
	if (m->type == BPF_MAP_TYPE_PROG_ARRAY) {
		if (!target || !btf_is_func_proto(target))
			return def_fail(c, "'values' of a program array must be functions", "");
		return 0;
	}
	if (m->type != BPF_MAP_TYPE_ARRAY_OF_MAPS && m->type != BPF_MAP_TYPE_HASH_OF_MAPS)
		return def_fail(c, "'values' is only for map-in-map and program arrays", "");
	if (!target || !btf_is_struct(target))
		return def_fail(c, "'values' must point to an inner map definition", "");
	char name[256];
	snprintf(name, sizeof(name), "%s.inner", m->name);
	if (!(m->inner = new_spec(name)))
		return -ENOMEM;
	m->inner->origin = BJ_MAP_ORIGIN_BTF;
	struct def_ctx ic = { c->L, c->btf, m->inner->name, c->shndx, true };
	return parse_def(&ic, target, m->inner);
}

static int parse_member(struct def_ctx *c, const struct btf_type *def, int i, struct bj_map_spec *m)
{
	const struct btf_member *mem = &btf_members(def)[i];
	const char *f = btf__name_by_offset(c->btf, mem->name_off);
	struct { const char *name; uint32_t *dst; } ints[] = {
		{ "type", &m->type }, { "max_entries", &m->max_entries }, { "map_flags", &m->flags },
		{ "numa_node", &m->numa_node }, { "key_size", &m->key_size }, { "value_size", &m->value_size },
		{ "pinning", &m->pinning },
	};

	if (!f || !*f)
		return def_fail(c, "unnamed field", "");
	for (size_t k = 0; k < BJ_ARRAY_SIZE(ints); k++) {
		if (strcmp(f, ints[k].name))
			continue;
		uint32_t v;
		if (!field_uint(c->btf, mem, &v))
			return def_fail(c, "field is not __uint(): ", f);
		if (*ints[k].dst && *ints[k].dst != v)
			return def_fail(c, "conflicting values for ", f);
		*ints[k].dst = v;
		return 0;
	}
	if (!strcmp(f, "key"))
		return field_type(c, mem, "key", &m->key_type_id, &m->key_size);
	if (!strcmp(f, "value"))
		return field_type(c, mem, "value", &m->value_type_id, &m->value_size);
	if (!strcmp(f, "values"))
		return field_values(c, def, i, m);
	if (!strcmp(f, "map_extra"))
		return field_ulong(c->btf, mem, &m->map_extra) ? 0 : def_fail(c, "bad field ", f);
	return def_fail(c, "unknown field ", f);
}

static int parse_def(struct def_ctx *c, const struct btf_type *def, struct bj_map_spec *m)
{
	if (!btf_is_struct(def))
		return def_fail(c, "definition is not a struct", "");
	/* `type` first: `values` depends on it wherever it is declared. */
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < btf_vlen(def); i++) {
			const char *f = btf__name_by_offset(c->btf, btf_members(def)[i].name_off);
			bool is_type = f && !strcmp(f, "type");
			if (is_type != (pass == 0))
				continue;
			int ret = parse_member(c, def, i, m);
			if (ret)
				return ret;
		}
	}
	if (m->type == 0)
		return def_fail(c, "missing 'type'", "");
	if (m->type > MAX_MAP_TYPE)
		return ld_fail(c->L, EINVAL, c->shndx, -1, "map '%s': unknown map type %u", c->map, m->type);
	if (m->pinning != BJ_PIN_NONE && m->pinning != BJ_PIN_BY_NAME)
		return ld_fail(c->L, EINVAL, c->shndx, -1, "map '%s': unknown pinning %u", c->map, m->pinning);
	return 0;
}

static const struct sym *find_object_sym(const struct loader *L, size_t shndx, const char *name)
{
	for (size_t i = 1; i < L->n_syms; i++) {
		const struct sym *y = &L->syms[i];
		if (y->s.st_shndx == shndx && GELF_ST_TYPE(y->s.st_info) != STT_SECTION && !strcmp(y->name, name))
			return y;
	}
	return NULL;
}

static int btf_map(struct loader *L, const struct btf_var_secinfo *vi)
{
	const struct btf *btf = L->obj->btf;
	const struct btf_type *var = btf__type_by_id(btf, vi->type);
	size_t shndx = L->maps_shndx;

	if (!var || !btf_is_var(var))
		return ld_fail(L, EINVAL, shndx, -1, "BTF type #%u in DATASEC '.maps' is not a variable", vi->type);
	const char *name = btf__name_by_offset(btf, var->name_off);
	const struct sym *y = name ? find_object_sym(L, shndx, name) : NULL;
	if (!y)
		return ld_fail(L, EINVAL, shndx, -1, "map '%s' has no symbol", name ? name : "?");
	if (y->s.st_value > L->secs[shndx].size || y->s.st_size > L->secs[shndx].size - y->s.st_value)
		return ld_fail(L, EINVAL, shndx, -1, "map '%s' lies outside the section", name);
	struct bj_map_spec *m = new_spec(name);
	if (!m)
		return -ENOMEM;
	m->origin = BJ_MAP_ORIGIN_BTF;
	m->shndx = shndx;
	m->sym_off = y->s.st_value;
	m->sym_size = y->s.st_size;
	struct def_ctx c = { L, btf, m->name, shndx, false };
	int ret = parse_def(&c, skip_mods(btf, var->type, NULL) ?: var, m);
	if (ret) {
		ld_map_spec_free(m);
		return ret;
	}
	return add_map(L, m);
}

static int collect_btf_maps(struct loader *L)
{
	const struct btf *btf = L->obj->btf;

	if (!L->maps_shndx)
		return 0;
	if (!btf)
		return ld_fail(L, EINVAL, L->maps_shndx, -1, "BTF-defined maps need a .BTF section");
	int id = btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC);
	if (id < 0)
		return ld_fail(L, EINVAL, L->maps_shndx, -1, "no DATASEC '.maps' in the BTF");
	const struct btf_type *ds = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *vi = btf_var_secinfos(ds);
	for (int i = 0; i < btf_vlen(ds); i++) {
		int ret = btf_map(L, &vi[i]);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- legacy maps ---- */

static int legacy_map(struct loader *L, const struct sym *y, size_t def_sz)
{
	const struct sec *s = &L->secs[L->legacy_maps_shndx];
	uint32_t def[5];

	if (y->s.st_value > s->size || def_sz > s->size - y->s.st_value)
		return ld_fail(L, EINVAL, L->legacy_maps_shndx, -1, "map '%s' lies outside the section", y->name);
	const uint8_t *p = s->data + y->s.st_value;
	for (size_t i = LEGACY_DEF_SIZE; i < def_sz; i++)
		if (p[i])
			return ld_fail(L, ENOTSUP, L->legacy_maps_shndx, -1,
				       "map '%s': definition has non-zero bytes past the %d known ones", y->name,
				       LEGACY_DEF_SIZE);
	memcpy(def, p, sizeof(def));
	struct bj_map_spec *m = new_spec(y->name);
	if (!m)
		return -ENOMEM;
	*m = (struct bj_map_spec){ .name = m->name, .origin = BJ_MAP_ORIGIN_LEGACY, .type = def[0], .key_size = def[1],
				   .value_size = def[2], .max_entries = def[3], .flags = def[4],
				   .shndx = L->legacy_maps_shndx, .sym_off = y->s.st_value, .sym_size = def_sz,
				   .values_off = -1 };
	if (m->type == 0 || m->type > MAX_MAP_TYPE) {
		int ret = ld_fail(L, EINVAL, L->legacy_maps_shndx, -1, "map '%s': unknown map type %u", y->name, m->type);
		ld_map_spec_free(m);
		return ret;
	}
	return add_map(L, m);
}

static int collect_legacy_maps(struct loader *L)
{
	size_t shndx = L->legacy_maps_shndx, n = 0;

	if (!shndx)
		return 0;
	for (size_t i = 1; i < L->n_syms; i++)
		n += L->syms[i].s.st_shndx == shndx && GELF_ST_TYPE(L->syms[i].s.st_info) != STT_SECTION;
	if (n == 0)
		return ld_fail(L, EINVAL, shndx, -1, "no map symbols");
	size_t size = L->secs[shndx].size;
	if (size % n || size / n < LEGACY_DEF_SIZE)
		return ld_fail(L, EINVAL, shndx, -1, "%zu bytes cannot hold %zu map definitions of at least %d bytes",
			       size, n, LEGACY_DEF_SIZE);
	for (size_t i = 1; i < L->n_syms; i++) {
		const struct sym *y = &L->syms[i];
		if (y->s.st_shndx != shndx || GELF_ST_TYPE(y->s.st_info) == STT_SECTION)
			continue;
		int ret = legacy_map(L, y, size / n);
		if (ret)
			return ret;
	}
	return 0;
}

/* ---- global data ---- */

/* libbpf's internal_map_name(): object name prefix + section, or the section alone for ".data.foo". */
static void internal_map_name(const char *obj_name, const char *sec, char *out, size_t out_len)
{
	size_t sfx_len = strlen(sec) > 7 ? strlen(sec) : 7, pfx_len = 0;

	if (sfx_len >= OBJ_NAME_LEN)
		sfx_len = OBJ_NAME_LEN - 1;
	if (!strchr(sec + 1, '.')) {
		pfx_len = OBJ_NAME_LEN - sfx_len - 1;
		if (strlen(obj_name) < pfx_len)
			pfx_len = strlen(obj_name);
	}
	snprintf(out, out_len, "%.*s%.*s", (int)pfx_len, obj_name, (int)sfx_len, sec);
	for (char *p = out; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') && *p != '_' &&
		    *p != '.')
			*p = '_';
}

/* mmapable unless every variable of the section is static, as libbpf decides from the DATASEC. */
static bool section_mmapable(const struct btf *btf, const char *sec, uint32_t *datasec_id)
{
	int id = btf ? btf__find_by_name_kind(btf, sec, BTF_KIND_DATASEC) : -1;

	*datasec_id = 0;
	if (id <= 0)
		return false;
	*datasec_id = (uint32_t)id;
	const struct btf_type *ds = btf__type_by_id(btf, id);
	const struct btf_var_secinfo *vi = btf_var_secinfos(ds);
	for (int i = 0; i < btf_vlen(ds); i++) {
		const struct btf_type *v = btf__type_by_id(btf, vi[i].type);
		if (v && btf_is_var(v) && btf_var(v)->linkage != BTF_VAR_STATIC)
			return true;
	}
	return false;
}

static int data_map(struct loader *L, size_t shndx)
{
	struct sec *s = &L->secs[shndx];
	char name[OBJ_NAME_LEN];
	uint32_t datasec_id;

	if (s->size > MAX_DATA_SECTION)
		return ld_fail(L, EINVAL, shndx, -1, "section of %zu bytes is too big for a map value (limit %u)", s->size,
			       MAX_DATA_SECTION);
	internal_map_name(L->obj->name, s->name, name, sizeof(name));
	struct bj_map_spec *m = new_spec(name);
	if (!m)
		return -ENOMEM;
	m->origin = s->kind == SEC_DATA ? BJ_MAP_ORIGIN_DATA : s->kind == SEC_RODATA ? BJ_MAP_ORIGIN_RODATA
										     : BJ_MAP_ORIGIN_BSS;
	m->type = BPF_MAP_TYPE_ARRAY;
	m->key_size = 4;
	m->value_size = (uint32_t)s->size;
	m->max_entries = 1;
	m->flags = s->kind == SEC_RODATA ? BPF_F_RDONLY_PROG : 0;
	if (section_mmapable(L->obj->btf, s->name, &datasec_id))
		m->flags |= BPF_F_MMAPABLE;
	m->value_type_id = datasec_id;
	m->shndx = shndx;
	m->sec_name = strdup(s->name);
	m->init = calloc(1, s->size);
	if (!m->sec_name || !m->init) {
		ld_map_spec_free(m);
		return -ENOMEM;
	}
	if (s->data)
		memcpy(m->init, s->data, s->size);
	s->map_idx = (long)L->obj->n_maps;
	return add_map(L, m);
}

static int collect_data_maps(struct loader *L)
{
	for (size_t i = 1; i < L->n_secs; i++) {
		enum sec_kind k = L->secs[i].kind;
		if ((k == SEC_DATA || k == SEC_RODATA || k == SEC_BSS) && L->secs[i].size) {
			int ret = data_map(L, i);
			if (ret)
				return ret;
		}
	}
	return 0;
}

int ld_collect_maps(struct loader *L)
{
	int ret = collect_btf_maps(L);

	ret = ret ?: collect_legacy_maps(L);
	return ret ?: collect_data_maps(L);
}

long ld_map_at(const struct loader *L, size_t shndx, uint64_t off)
{
	for (size_t i = 0; i < L->obj->n_maps; i++) {
		const struct bj_map_spec *m = L->obj->maps[i];
		if (m->shndx == shndx && m->sym_off == off && !m->sec_name)
			return (long)i;
	}
	return -1;
}

/* ---- static initialisers of `values` (.rel.maps) ---- */

static const struct bj_program *prog_of_sym(const struct loader *L, const struct sym *y)
{
	if (GELF_ST_TYPE(y->s.st_info) != STT_FUNC || y->s.st_shndx >= L->n_secs ||
	    L->secs[y->s.st_shndx].kind != SEC_PROG)
		return NULL;
	for (size_t i = 0; i < L->obj->n_progs; i++)
		if (!strcmp(L->obj->progs[i]->name, y->name))
			return L->obj->progs[i];
	return NULL;
}

static int add_slot(struct loader *L, struct bj_map_spec *m, const GElf_Rel *r)
{
	size_t shndx = L->maps_shndx;
	const struct sym *y = ld_sym(L, GELF_R_SYM(r->r_info));
	uint64_t rel = r->r_offset - m->sym_off;

	if (m->values_off < 0 || rel < (uint64_t)m->values_off || (rel - m->values_off) % 8)
		return ld_fail(L, EINVAL, shndx, -1, "map '%s': relocation at offset %llu is not a 'values' slot", m->name,
			       (unsigned long long)r->r_offset);
	uint64_t slot = (rel - m->values_off) / 8;
	if (slot >= m->max_entries)
		return ld_fail(L, EINVAL, shndx, -1, "map '%s': slot %llu is beyond max_entries %u", m->name,
			       (unsigned long long)slot, m->max_entries);
	struct bj_map_slot s = { .index = (uint32_t)slot };
	if (m->type == BPF_MAP_TYPE_PROG_ARRAY) {
		if (!(s.prog = prog_of_sym(L, y)))
			return ld_fail(L, EINVAL, shndx, -1, "map '%s': slot %u refers to '%s', which is not a program",
				       m->name, s.index, y->name);
	} else {
		long idx = y->s.st_shndx == shndx ? ld_map_at(L, shndx, y->s.st_value) : -1;
		if (idx < 0)
			return ld_fail(L, EINVAL, shndx, -1, "map '%s': slot %u refers to '%s', which is not a map",
				       m->name, s.index, y->name);
		s.map = L->obj->maps[idx];
	}
	struct bj_map_slot *slots = realloc(m->slots, (m->n_slots + 1) * sizeof(*slots));
	if (!slots)
		return -ENOMEM;
	m->slots = slots;
	m->slots[m->n_slots++] = s;
	return 0;
}

int ld_collect_map_slots(struct loader *L)
{
	const struct sec *s = L->maps_shndx ? &L->secs[L->maps_shndx] : NULL;

	for (size_t i = 0; s && i < s->n_rels; i++) {
		const GElf_Rel *r = &s->rels[i];
		unsigned type = GELF_R_TYPE(r->r_info);
		if (type != R_BPF_64_ABS64 && type != R_BPF_64_64)
			return ld_fail(L, EINVAL, L->maps_shndx, -1, "relocation #%zu has type %u, not R_BPF_64_ABS64", i, type);
		struct bj_map_spec *m = NULL;
		for (size_t k = 0; k < L->obj->n_maps && !m; k++) {
			struct bj_map_spec *c = L->obj->maps[k];
			if (c->shndx == L->maps_shndx && !c->sec_name && r->r_offset >= c->sym_off &&
			    r->r_offset < c->sym_off + c->sym_size)
				m = c;
		}
		if (!m)
			return ld_fail(L, EINVAL, L->maps_shndx, -1, "relocation #%zu at offset %llu is in no map", i,
				       (unsigned long long)r->r_offset);
		int ret = add_slot(L, m, r);
		if (ret)
			return ret;
	}
	return 0;
}
