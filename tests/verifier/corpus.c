/* SPDX-License-Identifier: Apache-2.0 */
#include "corpus.h"

#include <bpf/btf.h>
#include <bpfjet/asm.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* enum bpf_map_type values by the names the headers use. */
static const struct {
	const char *name;
	uint32_t type;
} map_types[] = {
	{ "hash", 1 },      { "array", 2 },     { "prog_array", 3 }, { "perf_event_array", 4 },
	{ "percpu_hash", 5 }, { "percpu_array", 6 }, { "lru_hash", 9 }, { "devmap", 14 },
	{ "cpumap", 16 },   { "xskmap", 17 },   { "devmap_hash", 25 }, { "ringbuf", 27 },
};

static const char *const type_names[] = {
	[BJ_PROG_TYPE_MEM] = "mem",
	[BJ_PROG_TYPE_XDP] = "xdp",
	[BJ_PROG_TYPE_SOCKET_FILTER] = "socket",
	[BJ_PROG_TYPE_SCHED_CLS] = "tc",
};

const char *vc_type_name(enum bj_prog_type type)
{
	return (unsigned)type < sizeof(type_names) / sizeof(type_names[0]) ? type_names[type] : "?";
}

static int fail(char *why, size_t len, int errnum, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int fail(char *why, size_t len, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -errnum;
}

static struct vc_case *new_case(struct vc_corpus *corpus)
{
	struct vc_case *cases = realloc(corpus->cases, (corpus->n + 1) * sizeof(*cases));

	if (!cases)
		return NULL;
	corpus->cases = cases;
	memset(&cases[corpus->n], 0, sizeof(cases[0]));
	return &cases[corpus->n++];
}

static char *read_text(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = NULL;
	long size;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc((size_t)size + 1)) != NULL) {
		if (fread(text, 1, (size_t)size, f) != (size_t)size) {
			free(text);
			text = NULL;
		} else {
			text[size] = '\0';
		}
	}
	fclose(f);
	return text;
}

/* "accept" or "reject MESSAGE". */
static int parse_verdict(const char *s, struct vc_verdict *v)
{
	while (*s == ' ')
		s++;
	v->known = true;
	if (!strncmp(s, "accept", 6) && (s[6] == '\0' || s[6] == ' ')) {
		v->accept = true;
		return 0;
	}
	if (strncmp(s, "reject", 6) || (s[6] && s[6] != ' '))
		return -EINVAL;
	v->accept = false;
	snprintf(v->msg, sizeof(v->msg), "%s", s[6] ? s + 7 : "");
	return 0;
}

static int parse_type(const char *s, enum bj_prog_type *type)
{
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++) {
		if (!strcmp(s, type_names[i])) {
			*type = (enum bj_prog_type)i;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_map(const char *s, struct bj_verifier_map *m)
{
	char name[32];
	int used = 0;

	*m = (struct bj_verifier_map){ .spin_lock_off = -1 };
	if (sscanf(s, "%31s key=%u value=%u entries=%u%n", name, &m->key_size, &m->value_size, &m->max_entries,
		   &used) != 4)
		return -EINVAL;
	if (s[used] && sscanf(s + used, " flags=%i", (int *)&m->flags) != 1)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(map_types) / sizeof(map_types[0]); i++) {
		if (!strcmp(name, map_types[i].name)) {
			m->type = map_types[i].type;
			return 0;
		}
	}
	return -EINVAL;
}

static int parse_asm_header_line(struct vc_case *c, const char *key, const char *value)
{
	if (!strcmp(key, "type"))
		return parse_type(value, &c->type);
	if (!strcmp(key, "attach")) {
		if (!strcmp(value, "devmap"))
			c->attach = BJ_ATTACH_XDP_DEVMAP;
		else if (!strcmp(value, "cpumap"))
			c->attach = BJ_ATTACH_XDP_CPUMAP;
		else
			return -EINVAL;
		return 0;
	}
	if (!strcmp(key, "mem_size"))
		return sscanf(value, "%u", &c->mem_size) == 1 ? 0 : -EINVAL;
	if (!strcmp(key, "map")) {
		if (c->n_maps == VC_MAX_MAPS)
			return -E2BIG;
		return parse_map(value, &c->maps[c->n_maps++]);
	}
	if (!strcmp(key, "expect"))
		return parse_verdict(value, &c->expect);
	if (!strcmp(key, "strict"))
		return parse_verdict(value, &c->strict);
	return 0; /* other comments are prose */
}

/* The header is the leading block of `#` lines; `# key: value` lines in it describe the program. */
static int parse_asm_header(struct vc_case *c, char *text, char *why, size_t why_len)
{
	int line_no = 0;

	for (char *line = text; line && *line == '#'; line_no++) {
		char *end = strchr(line, '\n'), key[32];
		int used = 0;

		if (end)
			*end = '\0';
		if (sscanf(line, "# %31[a-z_]:%n", key, &used) == 1 && used) {
			char *value = line + used;
			while (*value == ' ')
				value++;
			if (parse_asm_header_line(c, key, value))
				return fail(why, why_len, EINVAL, "%s:%d: bad header line: %s", c->name, line_no + 1, line);
		}
		if (end)
			*end = '\n';
		line = end ? end + 1 : NULL;
	}
	if (!c->expect.known)
		return fail(why, why_len, EINVAL, "%s: no `# expect:` line", c->name);
	return 0;
}

static int load_asm(struct vc_corpus *corpus, const char *dir, const char *file, char *why, size_t why_len)
{
	char path[PATH_MAX];
	struct vc_case *c = new_case(corpus);
	struct bj_error err;
	char *text;
	int ret;

	if (!c)
		return -ENOMEM;
	if (snprintf(c->name, sizeof(c->name), "asm/%s", file) >= (int)sizeof(c->name) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return fail(why, why_len, ENAMETOOLONG, "%s/%s: name too long", dir, file);
	c->origin = VC_ASM;
	text = read_text(path);
	if (!text)
		return fail(why, why_len, errno ? errno : EIO, "%s: cannot read", path);
	ret = parse_asm_header(c, text, why, why_len);
	if (!ret && bj_asm(text, &c->insns, &c->n, &err))
		ret = fail(why, why_len, EINVAL, "%s:%ld: %s", path, err.offset, err.msg);
	free(text);
	return ret;
}

/* Offset of a struct bpf_spin_lock member of the value type, or -1. */
static int32_t spin_lock_offset(const struct btf *btf, uint32_t value_type_id)
{
	const struct btf_type *t;
	const struct btf_member *m;

	if (!btf || !value_type_id)
		return -1;
	t = btf__type_by_id(btf, btf__resolve_type(btf, value_type_id));
	if (!t || !btf_is_struct(t))
		return -1;
	m = btf_members(t);
	for (uint16_t i = 0; i < btf_vlen(t); i++, m++) {
		const struct btf_type *mt = btf__type_by_id(btf, btf__resolve_type(btf, m->type));
		if (mt && btf_is_struct(mt) && !strcmp(btf__name_by_offset(btf, mt->name_off), "bpf_spin_lock"))
			return (int32_t)(btf_member_bit_offset(t, i) / 8);
	}
	return -1;
}

static void verifier_map_of(const struct bj_object *obj, const struct bj_map_spec *spec, struct bj_verifier_map *m)
{
	size_t size;

	*m = (struct bj_verifier_map){
		.type = bj_map_spec__type(spec),
		.key_size = bj_map_spec__key_size(spec),
		.value_size = bj_map_spec__value_size(spec),
		.max_entries = bj_map_spec__max_entries(spec),
		.flags = bj_map_spec__flags(spec),
		.spin_lock_off = spin_lock_offset(bj_object__btf(obj), bj_map_spec__value_type_id(spec)),
	};
	if (bj_map_spec__origin(spec) == BJ_MAP_ORIGIN_RODATA) {
		m->frozen = true;
		m->frozen_value = bj_map_spec__initial_value(spec, &size);
	}
}

static int add_object(struct vc_corpus *corpus, struct bj_object *obj)
{
	struct bj_object **objects = realloc(corpus->objects, (corpus->n_objects + 1) * sizeof(*objects));

	if (!objects)
		return -ENOMEM;
	corpus->objects = objects;
	objects[corpus->n_objects++] = obj;
	return 0;
}

/* `// expect PROG: ...` and `// strict PROG: ...` lines of a C source. */
static int find_c_verdicts(const char *source_text, const char *prog, struct vc_case *c)
{
	char key[160];
	const char *p;

	for (int strict = 0; strict < 2; strict++) {
		snprintf(key, sizeof(key), "// %s %s:", strict ? "strict" : "expect", prog);
		p = strstr(source_text, key);
		if (!p)
			continue;
		char line[VC_MSG_LEN + 16];
		const char *start = p + strlen(key), *end = strchr(start, '\n');
		size_t len = end ? (size_t)(end - start) : strlen(start);
		snprintf(line, sizeof(line), "%.*s", (int)len, start);
		if (parse_verdict(line, strict ? &c->strict : &c->expect))
			return -EINVAL;
	}
	return 0;
}

static int load_object(struct vc_corpus *corpus, enum vc_origin origin, const char *source, const char *object,
		       const char *label, char *why, size_t why_len)
{
	struct bj_object *obj = NULL;
	struct bj_error err;
	char *text = NULL;
	int ret;

	if (origin == VC_C && !(text = read_text(source)))
		return fail(why, why_len, errno ? errno : EIO, "%s: cannot read", source);
	ret = bj_object__open_file(object, NULL, &obj, &err);
	if (ret) {
		free(text);
		return fail(why, why_len, -ret, "%s: %s", object, err.msg);
	}
	ret = add_object(corpus, obj);
	for (size_t i = 0; !ret && i < bj_object__prog_count(obj); i++) {
		const struct bj_program *p = bj_object__prog(obj, i);
		struct vc_case *c = new_case(corpus);
		const struct bj_insn *insns;

		if (!c) {
			ret = -ENOMEM;
			break;
		}
		c->origin = origin;
		if (snprintf(c->name, sizeof(c->name), "%s:%s", label, bj_program__name(p)) >= (int)sizeof(c->name) ||
		    snprintf(c->object, sizeof(c->object), "%s", object) >= (int)sizeof(c->object) ||
		    snprintf(c->prog, sizeof(c->prog), "%s", bj_program__name(p)) >= (int)sizeof(c->prog)) {
			ret = fail(why, why_len, ENAMETOOLONG, "%s: name too long", object);
			break;
		}
		c->type = bj_program__type(p);
		c->attach = bj_program__attach(p);
		c->n_maps = bj_object__map_count(obj);
		if (c->n_maps > VC_MAX_MAPS) {
			ret = fail(why, why_len, E2BIG, "%s: more than %d maps", object, VC_MAX_MAPS);
			break;
		}
		for (size_t m = 0; m < c->n_maps; m++) {
			const struct bj_map_spec *spec = bj_object__map(obj, m);
			verifier_map_of(obj, spec, &c->maps[m]);
			if (bj_map_spec__inner(spec))
				verifier_map_of(obj, bj_map_spec__inner(spec), &c->inner[m]);
		}
		insns = bj_program__insns(p, &c->n);
		c->insns = malloc(c->n * sizeof(*insns));
		if (!c->insns) {
			ret = -ENOMEM;
			break;
		}
		memcpy(c->insns, insns, c->n * sizeof(*insns));
		if (origin == VC_EXAMPLE) {
			c->expect = (struct vc_verdict){ .known = true, .accept = true };
		} else if (find_c_verdicts(text, c->prog, c) || !c->expect.known) {
			ret = fail(why, why_len, EINVAL, "%s: no valid `// expect %s:` line", source, c->prog);
		}
	}
	free(text);
	return ret;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of the files in dir ending with suffix (a NULL-terminated array to free with free_names). */
static char **list_dir(const char *dir, const char *suffix, size_t *n)
{
	DIR *d = opendir(dir);
	char **names = NULL;
	struct dirent *e;
	size_t len = strlen(suffix);

	*n = 0;
	if (!d)
		return NULL;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char **nn;
		if (l <= len || strcmp(e->d_name + l - len, suffix))
			continue;
		nn = realloc(names, (*n + 2) * sizeof(*names));
		if (!nn)
			break;
		names = nn;
		names[(*n)++] = strdup(e->d_name);
		names[*n] = NULL;
	}
	closedir(d);
	if (names)
		qsort(names, *n, sizeof(*names), cmp_str);
	return names;
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static int load_objects(struct vc_corpus *corpus, enum vc_origin origin, const char *src_dir, const char *obj_dir,
			const char *label, char *why, size_t why_len)
{
	size_t n;
	char **names = list_dir(src_dir, ".bpf.c", &n);
	int ret = names ? 0 : fail(why, why_len, ENOENT, "%s: no .bpf.c sources", src_dir);

	for (size_t i = 0; !ret && i < n; i++) {
		char source[PATH_MAX], object[PATH_MAX], lab[160];
		size_t stem = strlen(names[i]) - strlen(".c");
		if (snprintf(source, sizeof(source), "%s/%s", src_dir, names[i]) >= (int)sizeof(source) ||
		    snprintf(object, sizeof(object), "%s/%.*s.o", obj_dir, (int)stem, names[i]) >= (int)sizeof(object) ||
		    snprintf(lab, sizeof(lab), "%s/%.*s.o", label, (int)stem, names[i]) >= (int)sizeof(lab))
			ret = fail(why, why_len, ENAMETOOLONG, "%s/%s: name too long", src_dir, names[i]);
		else
			ret = load_object(corpus, origin, source, object, lab, why, why_len);
	}
	free_names(names, n);
	return ret;
}

int vc_corpus_load(const char *src_root, const char *build_root, struct vc_corpus *corpus, char *why,
		   size_t why_len)
{
	char dir[PATH_MAX], obj_dir[PATH_MAX];
	size_t n;
	char **names;
	int ret = 0;

	memset(corpus, 0, sizeof(*corpus));
	snprintf(dir, sizeof(dir), "%s/tests/verifier/asm", src_root);
	names = list_dir(dir, ".s", &n);
	if (!names)
		return fail(why, why_len, ENOENT, "%s: no .s programs", dir);
	for (size_t i = 0; !ret && i < n; i++)
		ret = load_asm(corpus, dir, names[i], why, why_len);
	free_names(names, n);
	if (!ret) {
		snprintf(dir, sizeof(dir), "%s/tests/verifier/c", src_root);
		snprintf(obj_dir, sizeof(obj_dir), "%s/tests/verifier", build_root);
		ret = load_objects(corpus, VC_C, dir, obj_dir, "c", why, why_len);
	}
	if (!ret) {
		snprintf(dir, sizeof(dir), "%s/examples/bpf", src_root);
		snprintf(obj_dir, sizeof(obj_dir), "%s/examples", build_root);
		ret = load_objects(corpus, VC_EXAMPLE, dir, obj_dir, "examples", why, why_len);
	}
	if (ret) {
		vc_corpus_free(corpus);
		return ret;
	}
	/* Only now: the cases array moved while it grew. An inner map's type is never 0 (unspec). */
	for (size_t i = 0; i < corpus->n; i++)
		for (size_t m = 0; m < corpus->cases[i].n_maps; m++)
			if (corpus->cases[i].inner[m].type)
				corpus->cases[i].maps[m].inner = &corpus->cases[i].inner[m];
	return 0;
}

void vc_corpus_free(struct vc_corpus *corpus)
{
	for (size_t i = 0; i < corpus->n; i++)
		free(corpus->cases[i].insns);
	free(corpus->cases);
	for (size_t i = 0; i < corpus->n_objects; i++)
		bj_object__close(corpus->objects[i]);
	free(corpus->objects);
	memset(corpus, 0, sizeof(*corpus));
}

int vc_verify(const struct vc_case *c, enum bj_verifier_policy policy, uint32_t log_level, char *log,
	      size_t log_size, char *msg, size_t msg_len, struct bj_verifier_stats *stats)
{
	BJ_OPTS(bj_verifier_opts, opts, .type = c->type, .attach = c->attach, .policy = policy, .maps = c->maps,
		.n_maps = c->n_maps, .mem_size = c->mem_size, .log_level = log_level, .log_buf = log,
		.log_size = log_size);
	struct bj_error err = { .msg = "" };
	int ret = bj_verify(c->insns, c->n, &opts, stats, &err);

	if (msg && msg_len)
		snprintf(msg, msg_len, "%s", ret ? err.msg : "");
	return ret;
}
