/* SPDX-License-Identifier: Apache-2.0 */
#include "datafile.h"

#include <bpfjet/asm.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum section {
	SEC_NONE, SEC_ASM, SEC_RESULT, SEC_MEM, SEC_RAW, SEC_IGNORED, SEC_ERROR, SEC_ERROR_PATTERN,
	SEC_NO_JIT, SEC_DESCRIPTION, SEC_FLAG,
};

struct reader {
	struct bj_datafile *df;
	const char *dir;
	long lineno;
	enum section sec;
	struct bj_error *err;
	char *asm_buf;   /* growing asm text */
	size_t asm_len;
	uint8_t *mem;
	size_t mem_cap;
	size_t raw_cap;
	char *last;      /* last non-empty line of the current text section */
};

static int fail(struct reader *r, int errnum, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct reader *r, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (r->err) {
		r->err->insn = -1;
		r->err->offset = r->lineno;
		va_start(ap, fmt);
		vsnprintf(r->err->msg, sizeof(r->err->msg), fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

static char *trimmed_dup(const char *p, size_t len)
{
	while (len && (*p == ' ' || *p == '\t'))
		p++, len--;
	while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
		len--;
	char *s = malloc(len + 1);
	if (s) {
		memcpy(s, p, len);
		s[len] = '\0';
	}
	return s;
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap = *cap ? *cap : 64;
	void *na;

	if (need <= *cap)
		return 0;
	while (ncap < need)
		ncap *= 2;
	na = realloc(*arr, ncap * elem);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

static int read_all(const char *path, uint8_t **data, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t cap = 0, n = 0, got;
	int ret = 0;

	if (!f)
		return -errno;
	do {
		if (grow((void **)&buf, &cap, n + 4096, 1)) {
			ret = -ENOMEM;
			break;
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got);
	if (!ret && ferror(f))
		ret = -EIO;
	fclose(f);
	if (ret) {
		free(buf);
		return ret;
	}
	*data = buf;
	*len = n;
	return 0;
}

static char *join_path(const char *dir, const char *name)
{
	size_t len = strlen(dir) + strlen(name) + 2;
	char *p = malloc(len);

	if (p)
		snprintf(p, len, "%s/%s", dir, name);
	return p;
}

/* Splits into whitespace-separated tokens: calls fn on each. */
static int each_token(struct reader *r, const char *p, size_t len, int (*fn)(struct reader *, const char *, size_t))
{
	const char *e = p + len;
	int ret;

	while (p < e) {
		while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		const char *s = p;
		while (p < e && !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
			p++;
		if (p > s && (ret = fn(r, s, (size_t)(p - s))))
			return ret;
	}
	return 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* A memory token: hex bytes (two digits each, several may be run together); `offset:` tokens are skipped. */
static int mem_token(struct reader *r, const char *t, size_t len)
{
	if (t[len - 1] == ':')
		return 0;
	if (len % 2)
		return fail(r, EINVAL, "invalid memory byte '%.*s' (two hex digits each)", (int)(len > 32 ? 32 : len), t);
	for (size_t i = 0; i < len; i += 2) {
		int hi = hexval(t[i]), lo = hexval(t[i + 1]);
		if (hi < 0 || lo < 0)
			return fail(r, EINVAL, "invalid memory byte '%.*s'", (int)(len > 32 ? 32 : len), t);
		if (grow((void **)&r->mem, &r->mem_cap, r->df->mem_len + 1, 1))
			return fail(r, ENOMEM, "out of memory");
		r->mem[r->df->mem_len++] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

static int parse_u64(const char *t, size_t len, uint64_t *v)
{
	char buf[40], *end;
	bool hex = len > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X');

	if (len == 0 || len >= sizeof(buf) || t[0] == '-' || t[0] == '+')
		return -EINVAL;
	memcpy(buf, t, len);
	buf[len] = '\0';
	errno = 0;
	*v = strtoull(buf, &end, hex ? 16 : 10);
	return (*end || errno) ? -EINVAL : 0;
}

static int add_raw(struct reader *r, struct bj_insn in)
{
	struct bj_datafile *df = r->df;

	if (df->n_raw >= BJ_MAX_INSNS)
		return fail(r, E2BIG, "too many raw instructions");
	if (grow((void **)&df->raw, &r->raw_cap, df->n_raw + 1, sizeof(*df->raw)))
		return fail(r, ENOMEM, "out of memory");
	df->raw[df->n_raw++] = in;
	return 0;
}

static int raw_word(struct reader *r, const char *t, size_t len)
{
	uint64_t w;

	if (parse_u64(t, len, &w))
		return fail(r, EINVAL, "invalid raw instruction word '%.*s'", (int)(len > 32 ? 32 : len), t);
	return add_raw(r, (struct bj_insn){ .code = (uint8_t)w, .dst = (w >> 8) & 0xf, .src = (w >> 12) & 0xf,
					    .off = (int16_t)(uint16_t)(w >> 16), .imm = (int32_t)(uint32_t)(w >> 32) });
}

/* The `07 00 01 00 01 00 00 00` form: eight two-digit hex tokens. */
static bool raw_bytes_line(const char *p, size_t len, uint8_t b[8])
{
	unsigned k = 0;

	for (size_t i = 0; i < len;) {
		if (p[i] == ' ' || p[i] == '\t') {
			i++;
			continue;
		}
		if (k == 8 || i + 1 >= len || hexval(p[i]) < 0 || hexval(p[i + 1]) < 0 ||
		    (i + 2 < len && p[i + 2] != ' ' && p[i + 2] != '\t'))
			return false;
		b[k++] = (uint8_t)(hexval(p[i]) << 4 | hexval(p[i + 1]));
		i += 2;
	}
	return k == 8;
}

static int raw_line(struct reader *r, const char *p, size_t len)
{
	uint8_t b[8];

	if (raw_bytes_line(p, len, b))
		return add_raw(r, (struct bj_insn){ .code = b[0], .dst = b[1] & 0xf, .src = b[1] >> 4,
						    .off = (int16_t)(uint16_t)(b[2] | b[3] << 8),
						    .imm = (int32_t)((uint32_t)b[4] | (uint32_t)b[5] << 8 |
								     (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24) });
	return each_token(r, p, len, raw_word);
}

static int asm_append(struct reader *r, const char *p, size_t len)
{
	char *nb = realloc(r->asm_buf, r->asm_len + len + 2);

	if (!nb)
		return fail(r, ENOMEM, "out of memory");
	r->asm_buf = nb;
	memcpy(nb + r->asm_len, p, len);
	r->asm_len += len;
	nb[r->asm_len++] = '\n';
	nb[r->asm_len] = '\0';
	return 0;
}

/* `-- asm @ FILE` / `-- mem @ FILE`. */
static int include_file(struct reader *r, const char *at, enum section sec)
{
	char *name = trimmed_dup(at + 1, strlen(at + 1)), *path;
	uint8_t *data;
	size_t len;
	int ret;

	if (!name)
		return fail(r, ENOMEM, "out of memory");
	if (!r->dir || !*name) {
		ret = fail(r, EINVAL, "cannot resolve include '@ %s'", name);
		free(name);
		return ret;
	}
	path = join_path(r->dir, name);
	free(name);
	if (!path)
		return fail(r, ENOMEM, "out of memory");
	if ((ret = read_all(path, &data, &len))) {
		ret = fail(r, -ret, "cannot read '%s': %s", path, strerror(-ret));
		free(path);
		return ret;
	}
	if (sec == SEC_ASM) {
		free(r->df->asm_file);
		r->df->asm_file = path;
		path = NULL;
		r->df->asm_line = 1;
		for (size_t i = 0, s = 0; i <= len && !ret; i++) {
			if (i == len || data[i] == '\n') {
				const char *line = (const char *)data + s;
				const char *hash = memchr(line, '#', i - s);
				ret = asm_append(r, line, hash ? (size_t)(hash - line) : i - s);
				s = i + 1;
			}
		}
	} else {
		ret = each_token(r, (const char *)data, len, mem_token);
	}
	free(data);
	free(path);
	return ret;
}

static enum section keyword(const char *line, bool *error)
{
	static const struct {
		const char *word;
		enum section sec;
	} order[] = {
		{ "asm", SEC_ASM }, { "result", SEC_RESULT }, { "mem", SEC_MEM }, { "raw", SEC_RAW },
		{ "no register offset", SEC_IGNORED }, { " c", SEC_IGNORED }, { "error", SEC_ERROR },
		{ "no jit", SEC_NO_JIT }, { "description", SEC_DESCRIPTION }, { "pyelf", SEC_FLAG },
		{ "reload", SEC_FLAG }, { "unload", SEC_FLAG },
	};

	*error = false;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if (!strstr(line, order[i].word))
			continue;
		if (order[i].sec == SEC_ERROR && strstr(line, "pattern"))
			return SEC_ERROR_PATTERN;
		return order[i].sec;
	}
	*error = true;
	return SEC_NONE;
}

static int parse_result(struct reader *r, const char *s)
{
	char *end;
	const char *hex;

	/* As upstream: `0x` anywhere means hex, otherwise decimal. */
	hex = strstr(s, "0x");
	errno = 0;
	r->df->result = strtoull(hex ? hex + 2 : s, &end, hex ? 16 : 10);
	if (errno || end == (hex ? hex + 2 : s) || *end || s[0] == '-')
		return fail(r, EINVAL, "invalid result '%.40s'", s);
	r->df->has_result = true;
	return 0;
}

/* Closes a text section: its last non-empty line becomes the value. */
static int end_section(struct reader *r)
{
	struct bj_datafile *df = r->df;
	char **dst = NULL;
	int ret = 0;

	switch (r->sec) {
	case SEC_RESULT:
		ret = r->last ? parse_result(r, r->last) : 0;
		break;
	case SEC_ERROR: dst = &df->error; break;
	case SEC_ERROR_PATTERN: dst = &df->error_pattern; break;
	case SEC_NO_JIT: dst = &df->no_jit_reason; break;
	case SEC_DESCRIPTION: dst = &df->description; break;
	default: break;
	}
	if (dst) {
		free(*dst);
		*dst = r->last ? r->last : strdup("");
		r->last = NULL;
	}
	free(r->last);
	r->last = NULL;
	return ret;
}

static int start_section(struct reader *r, const char *line)
{
	struct bj_datafile *df = r->df;
	bool unknown;
	enum section sec = keyword(line, &unknown);
	const char *at = strchr(line, '@');

	int ret;

	if (unknown)
		return fail(r, EINVAL, "unknown directive '%.60s'", line);
	if ((ret = end_section(r)))
		return ret;
	r->sec = sec;
	switch (sec) {
	case SEC_ASM:
		if (at)
			return include_file(r, at, SEC_ASM);
		free(df->asm_file);
		df->asm_file = NULL;
		if (!r->asm_buf)
			df->asm_line = r->lineno + 1;
		break;
	case SEC_MEM:
		if (at)
			return include_file(r, at, SEC_MEM);
		break;
	case SEC_RAW: df->has_raw = true; break;
	case SEC_RESULT: df->has_result = false; break;
	case SEC_ERROR: df->has_error = true; break;
	case SEC_ERROR_PATTERN: df->has_error_pattern = true; break;
	case SEC_NO_JIT: df->no_jit = true; break;
	case SEC_FLAG:
		df->pyelf |= strstr(line, "pyelf") != NULL;
		df->reload |= strstr(line, "reload") != NULL;
		df->unload |= strstr(line, "unload") != NULL;
		break;
	default:
		break;
	}
	return 0;
}


static int content_line(struct reader *r, const char *p, size_t len)
{
	switch (r->sec) {
	case SEC_ASM:
		return r->df->asm_file ? 0 : asm_append(r, p, len);
	case SEC_MEM:
		return each_token(r, p, len, mem_token);
	case SEC_RAW:
		return raw_line(r, p, len);
	case SEC_RESULT:
	case SEC_ERROR:
	case SEC_ERROR_PATTERN:
	case SEC_NO_JIT:
	case SEC_DESCRIPTION:
		free(r->last);
		r->last = trimmed_dup(p, len);
		return r->last ? 0 : fail(r, ENOMEM, "out of memory");
	default:
		return 0;
	}
}

static bool blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\v' && p[i] != '\f')
			return false;
	return true;
}

static int parse_line(struct reader *r, const char *p, size_t len)
{
	const char *hash = memchr(p, '#', len);
	char *line;
	int ret;

	if (len && p[len - 1] == '\r')
		len--;
	if (hash)
		len = (size_t)(hash - p);
	line = malloc(len + 1);
	if (!line)
		return fail(r, ENOMEM, "out of memory");
	memcpy(line, p, len);
	line[len] = '\0';
	if (strlen(line) != len) {
		ret = fail(r, EINVAL, "NUL byte in the text");
	} else if (strstr(line, "--")) {
		ret = start_section(r, line);
	} else if (blank(line, len)) {
		/* Blank lines still count in the asm text, so that line numbers match the file. */
		ret = r->sec == SEC_ASM && !r->df->asm_file ? asm_append(r, "", 0) : 0;
	} else {
		ret = content_line(r, line, len);
	}
	free(line);
	return ret;
}

int bj_datafile_parse(const uint8_t *data, size_t len, const char *dir, struct bj_datafile *df,
		      struct bj_error *err)
{
	struct reader r = { .df = df, .dir = dir, .err = err };
	int ret = 0;

	memset(df, 0, sizeof(*df));
	for (size_t s = 0, i = 0; i <= len && !ret; i++) {
		if (i == len || data[i] == '\n') {
			r.lineno++;
			if (i > s || i < len)
				ret = parse_line(&r, (const char *)data + s, i - s);
			s = i + 1;
		}
	}
	if (!ret)
		ret = end_section(&r);
	free(r.last);
	df->asm_text = r.asm_buf;
	df->mem = r.mem;
	if (ret)
		bj_datafile_free(df);
	return ret;
}

int bj_datafile_load(const char *path, struct bj_datafile *df, struct bj_error *err)
{
	uint8_t *data;
	size_t len;
	char *dir, *slash;
	int ret = read_all(path, &data, &len);

	if (ret) {
		if (err) {
			err->insn = -1;
			err->offset = -1;
			snprintf(err->msg, sizeof(err->msg), "cannot read: %s", strerror(-ret));
		}
		return ret;
	}
	dir = strdup(path);
	if (!dir) {
		free(data);
		return -ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	ret = bj_datafile_parse(data, len, slash ? dir : ".", df, err);
	free(dir);
	free(data);
	return ret;
}

void bj_datafile_free(struct bj_datafile *df)
{
	if (!df)
		return;
	free(df->asm_text);
	free(df->asm_file);
	free(df->raw);
	free(df->mem);
	free(df->error);
	free(df->error_pattern);
	free(df->no_jit_reason);
	free(df->description);
	memset(df, 0, sizeof(*df));
}

int bj_datafile_program(const struct bj_datafile *df, struct bj_insn **out, size_t *n, struct bj_error *err)
{
	int ret;

	if (df->has_raw) {
		*out = malloc((df->n_raw ? df->n_raw : 1) * sizeof(**out));
		if (!*out)
			return -ENOMEM;
		if (df->n_raw)
			memcpy(*out, df->raw, df->n_raw * sizeof(**out));
		*n = df->n_raw;
		return 0;
	}
	if (!df->asm_text) {
		if (err) {
			err->insn = -1;
			err->offset = -1;
			snprintf(err->msg, sizeof(err->msg), "no program (neither -- asm nor -- raw)");
		}
		return -ENOENT;
	}
	ret = bj_asm(df->asm_text, out, n, err);
	if (ret && err && err->offset > 0)
		err->offset += df->asm_line - 1;
	return ret;
}
