/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Loading an opened object, as libbpf's bpf_object__load: maps from their specs, then programs with the
 * object's map table, then the initial slots that name programs or maps. Any failure undoes everything.
 */
#include <bpf/btf.h>
#include <bpfjet/helpers.h>
#include <bpfjet/verifier.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/loader.h"
#include "maps/map_internal.h"

/* Verifier log per program when a level is asked: Linux's default maximum for privileged loaders. */
#define LOG_BUF_SIZE (16u << 20)
/* Enough for the path to the error at level 0. */
#define LOG_BUF_SMALL (64u << 10)

/*
 * Maps pinned by name by the loads of this process. A pin is a socket this process serves, so the list is
 * process-wide: a second object loaded with the same pin root shares the map, as with bpffs.
 */
struct ld_pin {
	char *path;
	struct bj_map *map;
	unsigned users;
	struct ld_pin *next;
};

static struct ld_pin *pins;
static pthread_mutex_t pins_lock = PTHREAD_MUTEX_INITIALIZER;

struct load_ctx {
	struct bj_object *obj;
	const struct bj_object_load_opts *opts;
	struct bj_error *err;
	struct bj_map **table;
	/*
	 * The embedder's helpers; sk_buff programs get the refusing sk_buff helpers before them (XDP programs
	 * get the XDP runtime's from bj_prog__create itself). The same for prototypes.
	 */
	const struct bj_helper *helpers;
	struct bj_helper *skb_helpers;
	size_t n_type_skb, n_helpers;
	struct bj_helper_proto *skb_protos;
	size_t n_protos;
};

static void load_log(const struct load_ctx *c, const char *msg)
{
	bj_object_log_fn fn = BJ_OPTS_GET(c->opts, log, NULL);

	if (fn)
		fn(BJ_OPTS_GET(c->opts, log_ctx, NULL), msg);
}

/* Sends a multi-line text to the log callback one line at a time. */
static void log_lines(const struct load_ctx *c, char *text)
{
	for (char *line = text, *nl; line && *line; line = nl ? nl + 1 : NULL) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		load_log(c, line);
	}
}

/* ---- maps ---- */

/* Offset of a struct bpf_spin_lock member of the value type, or -1 (Linux looks at the top level only). */
static int32_t spin_lock_offset(const struct btf *btf, uint32_t type_id)
{
	const struct btf_type *t;
	int id;

	if (!btf || !type_id || (id = btf__resolve_type(btf, type_id)) < 0)
		return -1;
	t = btf__type_by_id(btf, (uint32_t)id);
	if (!t || !btf_is_struct(t))
		return -1;
	const struct btf_member *m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		int mid = btf__resolve_type(btf, m->type);
		const struct btf_type *mt = mid < 0 ? NULL : btf__type_by_id(btf, (uint32_t)mid);
		if (mt && btf_is_struct(mt) && !strcmp(btf__name_by_offset(btf, mt->name_off), "bpf_spin_lock"))
			return (int32_t)(btf_member_bit_offset(t, i) / 8);
	}
	return -1;
}

static int create_map(const struct load_ctx *c, const struct bj_map_spec *s, struct bj_map *inner,
		      struct bj_map **out)
{
	int32_t lock = spin_lock_offset(c->obj->btf, s->value_type_id);
	struct bj_error merr = { .insn = -1, .offset = -1 };
	int ret;

	BJ_OPTS(bj_map_opts, mo, .name = s->name, .map_flags = s->flags, .n_workers = BJ_OPTS_GET(c->opts, n_workers, 0),
		.inner_map = inner, .has_spin_lock = lock >= 0, .spin_lock_off = lock >= 0 ? (uint32_t)lock : 0);
	ret = bj_map__create((enum bj_map_type)s->type, s->key_size, s->value_size, s->max_entries, &mo, out, &merr);
	if (ret)
		return bj_fail(c->err, -ret, -1, -1, "map '%s': %s", s->name, merr.msg);
	return 0;
}

/* Global data: the initial bytes as the embedder left them, then .rodata frozen, as libbpf does. */
static int init_global_data(const struct load_ctx *c, const struct bj_map_spec *s)
{
	uint32_t zero = 0;
	int ret;

	if (!s->init)
		return 0;
	ret = bj_map__update_elem(s->map, &zero, s->init, BJ_ANY);
	if (!ret && s->origin == BJ_MAP_ORIGIN_RODATA)
		ret = bj_map__freeze(s->map);
	if (ret)
		return bj_fail(c->err, -ret, -1, -1, "map '%s': cannot set its initial value: %s", s->name, strerror(-ret));
	return 0;
}

static bool pin_compatible(const struct bj_map *m, const struct bj_map_spec *s)
{
	return bj_map__type(m) == (enum bj_map_type)s->type && bj_map__key_size(m) == s->key_size &&
	       bj_map__value_size(m) == s->value_size && bj_map__max_entries(m) == s->max_entries &&
	       bj_map__flags(m) == s->flags;
}

static struct ld_pin *find_pin(const char *path)
{
	for (struct ld_pin *p = pins; p; p = p->next)
		if (!strcmp(p->path, path))
			return p;
	return NULL;
}

/* A path that exists but is no pin of this process: refused while another process serves it, else stale. */
static int clear_foreign_pin(const struct load_ctx *c, const struct bj_map_spec *s, const char *path)
{
	struct bj_map *remote;
	struct stat st;

	if (lstat(path, &st))
		return 0;
	if (!bj_map__open_pinned(path, &remote, NULL)) {
		bj_map__destroy(remote);
		return bj_fail(c->err, EBUSY, -1, -1,
				 "map '%s': %s is pinned by another process; programs can only use maps of their own "
				 "process", s->name, path);
	}
	if (!S_ISSOCK(st.st_mode))
		return bj_fail(c->err, EEXIST, -1, -1, "map '%s': pin path %s exists and is not a map pin", s->name, path);
	unlink(path);
	return 0;
}

static int pin_new(const struct load_ctx *c, struct bj_map_spec *s, char *path)
{
	struct bj_error perr = { .insn = -1, .offset = -1 };
	struct ld_pin *p;
	int ret;

	if ((ret = clear_foreign_pin(c, s, path)) || (ret = create_map(c, s, NULL, &s->map)) ||
	    (ret = init_global_data(c, s)))
		return ret;
	if (!(p = calloc(1, sizeof(*p))))
		return bj_fail(c->err, ENOMEM, -1, -1, "out of memory");
	if ((ret = bj_map__pin(s->map, path, &perr))) {
		free(p);
		return bj_fail(c->err, -ret, -1, -1, "map '%s': %s", s->name, perr.msg);
	}
	p->path = path;
	p->map = s->map;
	p->users = 1;
	p->next = pins;
	pins = p;
	s->pin = p;
	return 0;
}

static int create_pinned(const struct load_ctx *c, struct bj_map_spec *s, const char *root)
{
	char *path;
	struct ld_pin *p;
	int ret;

	if (asprintf(&path, "%s/%s", root, s->name) < 0)
		return bj_fail(c->err, ENOMEM, -1, -1, "out of memory");
	pthread_mutex_lock(&pins_lock);
	p = find_pin(path);
	if (!p) {
		ret = pin_new(c, s, path);
		if (ret)
			free(path);
	} else if (!pin_compatible(p->map, s)) {
		ret = bj_fail(c->err, EINVAL, -1, -1, "map '%s': the map pinned at %s has other attributes", s->name, path);
		free(path);
	} else {
		bj_map_get(p->map);
		s->map = p->map;
		s->pin = p;
		p->users++;
		free(path);
		ret = 0;
	}
	pthread_mutex_unlock(&pins_lock);
	return ret;
}

static void unpin(struct bj_map_spec *s)
{
	struct ld_pin *p = s->pin;

	if (!p)
		return;
	s->pin = NULL;
	pthread_mutex_lock(&pins_lock);
	if (--p->users == 0) {
		for (struct ld_pin **pp = &pins; *pp; pp = &(*pp)->next)
			if (*pp == p) {
				*pp = p->next;
				break;
			}
		bj_map__unpin(p->map);
		free(p->path);
		free(p);
	}
	pthread_mutex_unlock(&pins_lock);
}

static int create_one_map(const struct load_ctx *c, struct bj_map_spec *s)
{
	const char *root = BJ_OPTS_GET(c->opts, pin_root, NULL);
	struct bj_map *inner = NULL;
	int ret;

	if (s->pinning == BJ_PIN_BY_NAME && root) {
		if (s->inner)
			return bj_fail(c->err, EOPNOTSUPP, -1, -1, "map '%s': pinning a map-in-map is not supported", s->name);
		return create_pinned(c, s, root);
	}
	if (s->inner && (ret = create_map(c, s->inner, NULL, &inner)))
		return ret;
	ret = create_map(c, s, inner, &s->map);
	/* The outer map holds its own reference on the template. */
	bj_map__destroy(inner);
	return ret ?: init_global_data(c, s);
}

static int create_maps(struct load_ctx *c)
{
	struct bj_object *obj = c->obj;

	if (obj->n_maps && !(c->table = calloc(obj->n_maps, sizeof(*c->table))))
		return bj_fail(c->err, ENOMEM, -1, -1, "out of memory");
	for (size_t i = 0; i < obj->n_maps; i++) {
		int ret = create_one_map(c, obj->maps[i]);
		if (ret)
			return ret;
		c->table[i] = obj->maps[i]->map;
	}
	return 0;
}

/* ---- programs ---- */

/*
 * Socket and tc programs run on an sk_buff, which bpfjet does not provide: they load and verify, and
 * their packet helpers stop a run with -EOPNOTSUPP instead of leaving the call unresolved.
 */
static uint64_t skb_helper_refused(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				   struct bj_run *run)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5;
	bj_run__fail(run, EOPNOTSUPP, "sk_buff helpers are not run by bpfjet (socket and tc programs load only)");
	return 0;
}

static const struct bj_helper skb_helpers[] = {
	{ 9, "bpf_skb_store_bytes", skb_helper_refused },
	{ 26, "bpf_skb_load_bytes", skb_helper_refused },
	{ 68, "bpf_skb_load_bytes_relative", skb_helper_refused },
};

/* Their prototypes in Linux (net/core/filter.c), so the verifier checks the calls as Linux would. */
static const struct bj_helper_proto skb_protos[] = {
	{ 9, BJ_RET_INTEGER, { BJ_ARG_PTR_TO_CTX, BJ_ARG_SCALAR, BJ_ARG_PTR_TO_MEM, BJ_ARG_CONST_SIZE, BJ_ARG_SCALAR } },
	{ 26, BJ_RET_INTEGER, { BJ_ARG_PTR_TO_CTX, BJ_ARG_SCALAR, BJ_ARG_PTR_TO_UNINIT_MEM, BJ_ARG_CONST_SIZE } },
	{ 68, BJ_RET_INTEGER,
	  { BJ_ARG_PTR_TO_CTX, BJ_ARG_SCALAR, BJ_ARG_PTR_TO_UNINIT_MEM, BJ_ARG_CONST_SIZE, BJ_ARG_SCALAR } },
};

/* A program type's own helpers followed by the embedder's (which may replace them). */
static struct bj_helper *join_helpers(const struct bj_helper *type, size_t n_type, const struct bj_helper *user,
				      size_t n_user)
{
	struct bj_helper *h = calloc(n_type + n_user + 1, sizeof(*h));

	if (!h)
		return NULL;
	memcpy(h, type, n_type * sizeof(*type));
	if (n_user)
		memcpy(h + n_type, user, n_user * sizeof(*user));
	return h;
}

static int collect_protos(struct load_ctx *c)
{
	size_t n_user = BJ_OPTS_GET(c->opts, n_protos, 0);
	const struct bj_helper_proto *user = BJ_OPTS_GET(c->opts, protos, NULL);

	if (n_user && !user)
		return bj_fail(c->err, EINVAL, -1, -1, "bj_object_load_opts: n_protos is %zu but protos is NULL", n_user);
	c->skb_protos = calloc(BJ_ARRAY_SIZE(skb_protos) + n_user, sizeof(*c->skb_protos));
	if (!c->skb_protos)
		return bj_fail(c->err, ENOMEM, -1, -1, "out of memory");
	memcpy(c->skb_protos, skb_protos, sizeof(skb_protos));
	if (n_user)
		memcpy(c->skb_protos + BJ_ARRAY_SIZE(skb_protos), user, n_user * sizeof(*user));
	c->n_protos = n_user;
	return 0;
}

static int collect_helpers(struct load_ctx *c)
{
	size_t n_user = BJ_OPTS_GET(c->opts, n_helpers, 0);
	const struct bj_helper *user = BJ_OPTS_GET(c->opts, helpers, NULL);

	if (n_user && !user)
		return bj_fail(c->err, EINVAL, -1, -1, "bj_object_load_opts: n_helpers is %zu but helpers is NULL", n_user);
	c->skb_helpers = join_helpers(skb_helpers, BJ_ARRAY_SIZE(skb_helpers), user, n_user);
	if (!c->skb_helpers)
		return bj_fail(c->err, ENOMEM, -1, -1, "out of memory");
	c->helpers = user;
	c->n_type_skb = BJ_ARRAY_SIZE(skb_helpers);
	c->n_helpers = n_user;
	return collect_protos(c);
}

static bool on_skb(enum bj_prog_type type)
{
	return type == BJ_PROG_TYPE_SOCKET_FILTER || type == BJ_PROG_TYPE_SCHED_CLS;
}

static void helpers_for(const struct load_ctx *c, enum bj_prog_type type, const struct bj_helper **h, size_t *n,
			const struct bj_helper_proto **protos, size_t *n_protos)
{
	size_t n_skb_protos = on_skb(type) ? BJ_ARRAY_SIZE(skb_protos) : 0;

	*protos = c->skb_protos + BJ_ARRAY_SIZE(skb_protos) - n_skb_protos;
	*n_protos = n_skb_protos + c->n_protos;
	if (on_skb(type)) {
		*h = c->skb_helpers;
		*n = c->n_type_skb + c->n_helpers;
	} else {
		*h = c->helpers;
		*n = c->n_helpers;
	}
}

static int try_create(const struct load_ctx *c, struct bj_program *p, uint32_t level, char *log, size_t log_size,
		      struct bj_error *perr)
{
	const struct bj_helper_proto *protos;
	const struct bj_helper *helpers;
	size_t n_helpers, n_protos;

	helpers_for(c, p->type, &helpers, &n_helpers, &protos, &n_protos);
	BJ_OPTS(bj_prog_opts, po, .name = p->name, .type = p->type, .attach = p->attach,
		.engine = BJ_OPTS_GET(c->opts, engine, BJ_ENGINE_INTERP), .policy = BJ_OPTS_GET(c->opts, policy, 0),
		.helpers = helpers, .n_helpers = n_helpers,
		.protos = protos, .n_protos = n_protos,
		.maps = c->table, .n_maps = c->obj->n_maps, .unverified = BJ_OPTS_GET(c->opts, unverified, false),
		.unchecked = BJ_OPTS_GET(c->opts, unchecked, false), .blind = BJ_OPTS_GET(c->opts, blind, false),
		.user = BJ_OPTS_GET(c->opts, user, NULL), .log_level = level, .log_buf = log, .log_size = log_size,
		.line_info = p->lines, .n_line_info = p->n_lines, .mem_size = BJ_OPTS_GET(c->opts, mem_size, 0));
	log[0] = '\0';
	return bj_prog__create(p->insns, p->n_insns, &po, &p->prog, perr);
}

static int create_prog(const struct load_ctx *c, struct bj_program *p)
{
	uint32_t level = BJ_OPTS_GET(c->opts, log_level, 0);
	size_t log_size = level ? LOG_BUF_SIZE : LOG_BUF_SMALL;
	struct bj_error perr = { .insn = -1, .offset = -1 };
	char *log = malloc(log_size);
	int ret;

	if (!log)
		return bj_fail(c->err, ENOMEM, -1, -1, "out of memory for the verifier log");
	ret = try_create(c, p, level, log, log_size, &perr);
	/* As libbpf: a rejected program is verified again with a log, so the path to the error can be shown. */
	if (ret == -EACCES && !level && BJ_OPTS_GET(c->opts, log, NULL))
		ret = try_create(c, p, 1, log, log_size, &perr);
	if (ret || level)
		log_lines(c, log);
	if (ret && perr.insn >= 0)
		ret = bj_fail(c->err, -ret, perr.insn, -1, "program '%s' (section '%s'): insn %ld: %s", p->name, p->sec_name,
				perr.insn, perr.msg);
	else if (ret)
		ret = bj_fail(c->err, -ret, -1, -1, "program '%s' (section '%s'): %s", p->name, p->sec_name, perr.msg);
	free(log);
	return ret;
}

static int create_progs(struct load_ctx *c)
{
	const char *only = BJ_OPTS_GET(c->opts, prog_name, NULL);
	int ret = collect_helpers(c);

	if (!ret && only && !bj_object__find_prog(c->obj, only))
		ret = bj_fail(c->err, ENOENT, -1, -1, "no program named '%s' in object '%s'", only, c->obj->name);
	for (size_t i = 0; !ret && i < c->obj->n_progs; i++)
		if (!only || !strcmp(c->obj->progs[i]->name, only))
			ret = create_prog(c, c->obj->progs[i]);
	return ret;
}

/* ---- initial slots ---- */

static int fill_slot(const struct load_ctx *c, const struct bj_map_spec *s, const struct bj_map_slot *slot)
{
	int ret;

	if (s->type == BJ_MAP_TYPE_PROG_ARRAY) {
		if (!slot->prog->prog)
			return 0; /* not created (prog_name) */
		ret = bj_map__set_prog(s->map, slot->index, slot->prog->prog);
		if (ret)
			return bj_fail(c->err, -ret, -1, -1, "map '%s': cannot put program '%s' in slot %u: %s", s->name,
					 slot->prog->name, slot->index, strerror(-ret));
		return 0;
	}
	if (s->key_size != sizeof(slot->index))
		return bj_fail(c->err, EINVAL, -1, -1, "map '%s': initial slots need 4-byte keys, not %u", s->name, s->key_size);
	ret = bj_map__set_inner(s->map, &slot->index, slot->map->map, BJ_ANY);
	if (ret)
		return bj_fail(c->err, -ret, -1, -1, "map '%s': cannot put map '%s' in slot %u: %s", s->name, slot->map->name,
				 slot->index, strerror(-ret));
	return 0;
}

static int fill_slots(const struct load_ctx *c)
{
	for (size_t i = 0; i < c->obj->n_maps; i++) {
		const struct bj_map_spec *s = c->obj->maps[i];
		for (size_t k = 0; k < s->n_slots; k++) {
			int ret = fill_slot(c, s, &s->slots[k]);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* ---- load and unload ---- */

int bj_object__load(struct bj_object *obj, const struct bj_object_load_opts *opts, struct bj_error *err)
{
	struct load_ctx c = { .obj = obj, .opts = opts, .err = err };
	int ret;

	if (!obj)
		return bj_fail(err, EINVAL, -1, -1, "bj_object__load: no object");
	if (!BJ_OPTS_VALID(opts, struct bj_object_load_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_object_load_opts: unknown non-zero fields (size %zu)", opts->sz);
	if (obj->loaded)
		return bj_fail(err, EBUSY, -1, -1, "object '%s' is loaded already", obj->name);
	ret = create_maps(&c);
	if (!ret)
		ret = create_progs(&c);
	if (!ret)
		ret = fill_slots(&c);
	obj->loaded = true;
	if (ret)
		ld_unload(obj);
	free(c.table);
	free(c.skb_helpers);
	free(c.skb_protos);
	return ret;
}

static bool owns_prog(const struct bj_object *obj, const struct bj_prog *prog)
{
	for (size_t i = 0; i < obj->n_progs; i++)
		if (obj->progs[i]->prog == prog)
			return true;
	return false;
}

/* Program arrays do not own their programs (and may be shared through a pin): this object's leave first. */
static void clear_prog_slots(const struct bj_object *obj, struct bj_map_spec *s)
{
	if (!s->map || s->type != BJ_MAP_TYPE_PROG_ARRAY)
		return;
	for (uint32_t i = 0; i < s->max_entries; i++) {
		struct bj_prog *p = bj_map_prog_array_get(s->map, i);
		if (p && owns_prog(obj, p))
			bj_map__set_prog(s->map, i, NULL);
	}
}

void ld_unload(struct bj_object *obj)
{
	if (!obj->loaded)
		return;
	for (size_t i = 0; i < obj->n_maps; i++)
		clear_prog_slots(obj, obj->maps[i]);
	for (size_t i = 0; i < obj->n_progs; i++) {
		bj_prog__destroy(obj->progs[i]->prog);
		obj->progs[i]->prog = NULL;
	}
	for (size_t i = 0; i < obj->n_maps; i++) {
		struct bj_map_spec *s = obj->maps[i];
		unpin(s);
		bj_map__destroy(s->map);
		s->map = NULL;
	}
	obj->loaded = false;
}

bool bj_object__loaded(const struct bj_object *obj)
{
	return obj->loaded;
}

struct bj_prog *bj_program__prog(const struct bj_program *prog)
{
	return prog->prog;
}

struct bj_map *bj_map_spec__map(const struct bj_map_spec *map)
{
	return map->map;
}
