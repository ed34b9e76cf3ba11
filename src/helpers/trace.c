/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpf_trace_printk's formats, with the checks of Linux's bpf_bprintf_prepare (kernel/bpf/helpers.c): only
 * printable ASCII and white space, at most three conversions, each one of %[flags][width] followed by
 * p, c, s, or [l|ll] with d, i, u, x or X. Each conversion is then handed to snprintf.
 */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "common/run.h"
#include "helpers/helpers_int.h"

#define TRACE_MAX_ARGS 3
/* A %s argument is read up to this many bytes: Linux copies strings into a 512-byte argument buffer. */
#define TRACE_MAX_STR 511
/* Wider than the message buffer is pointless; Linux's buffer is 1024 bytes too. */
#define TRACE_MAX_WIDTH 1023

struct spec {
	char flags[8];
	unsigned width;
	unsigned longs; /* 0, 1 (l) or 2 (ll) */
	char conv;
};

/* Parses the conversion after a '%' at fmt[*i]; advances *i past it. */
static int parse_spec(const char *fmt, size_t len, size_t *i, struct spec *sp)
{
	size_t k = *i, nf = 0;

	memset(sp, 0, sizeof(*sp));
	while (k < len && strchr("0+- ", fmt[k]) && fmt[k]) {
		if (nf + 1 < sizeof(sp->flags))
			sp->flags[nf++] = fmt[k];
		k++;
	}
	if (k < len && fmt[k] >= '1' && fmt[k] <= '9') {
		while (k < len && isdigit((unsigned char)fmt[k])) {
			sp->width = sp->width * 10 + (unsigned)(fmt[k] - '0');
			if (sp->width > TRACE_MAX_WIDTH)
				return -EINVAL;
			k++;
		}
	}
	if (k < len && (fmt[k] == 'p' || fmt[k] == 'c' || fmt[k] == 's')) {
		sp->conv = fmt[k++];
		/* %px and %pK print the raw value, as %p does here. */
		if (sp->conv == 'p' && k < len && (fmt[k] == 'x' || fmt[k] == 'K'))
			k++;
		*i = k;
		return 0;
	}
	while (sp->longs < 2 && k < len && fmt[k] == 'l') {
		sp->longs++;
		k++;
	}
	if (k >= len || !strchr("diuxX", fmt[k]) || !fmt[k])
		return -EINVAL;
	sp->conv = fmt[k++];
	*i = k;
	return 0;
}

/* Appends with snprintf semantics: *pos counts the whole message even past cap. */
static void put(char *out, size_t cap, size_t *pos, const char *cfmt, ...) BJ_PRINTF(4, 5);

static void put(char *out, size_t cap, size_t *pos, const char *cfmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, cfmt);
	n = vsnprintf(*pos < cap ? out + *pos : NULL, *pos < cap ? cap - *pos : 0, cfmt, ap);
	va_end(ap);
	if (n > 0)
		*pos += (size_t)n;
}

/* "%<flags><width>" followed by `rest`, as a C format. */
static void c_format(char *cfmt, size_t size, const struct spec *sp, const char *rest)
{
	if (sp->width)
		snprintf(cfmt, size, "%%%s%u%s", sp->flags, sp->width, rest);
	else
		snprintf(cfmt, size, "%%%s%s", sp->flags, rest);
}

/* Bytes of a %s argument to print: up to its NUL, within TRACE_MAX_STR and, checked, the run's memory. */
static int string_len(const struct bj_run *run, const char *s)
{
	uint64_t limit = TRACE_MAX_STR;

	if (!s)
		return 0;
	if (run->checked) {
		uint64_t readable = bj_run_readable(run, (uintptr_t)s);

		if (readable < limit)
			limit = readable;
	}
	return (int)strnlen(s, (size_t)limit);
}

static void put_spec(char *out, size_t cap, size_t *pos, const struct spec *sp, uint64_t arg,
		     const struct bj_run *run)
{
	bool sign = sp->conv == 'd' || sp->conv == 'i';
	char cfmt[32], conv[4] = { 'l', 'l', sp->conv, 0 };

	switch (sp->conv) {
	case 'p':
		if (sp->width || sp->flags[0])
			c_format(cfmt, sizeof(cfmt), sp, PRIx64);
		else
			snprintf(cfmt, sizeof(cfmt), "%%016" PRIx64);
		put(out, cap, pos, cfmt, arg);
		return;
	case 'c':
		c_format(cfmt, sizeof(cfmt), sp, "c");
		put(out, cap, pos, cfmt, (int)(unsigned char)arg);
		return;
	case 's': {
		const char *s = (const char *)(uintptr_t)arg;

		c_format(cfmt, sizeof(cfmt), sp, ".*s");
		int n = string_len(run, s);

		put(out, cap, pos, cfmt, n, n ? s : "");
		return;
	}
	default:
		break;
	}
	c_format(cfmt, sizeof(cfmt), sp, conv);
	/* Without l, the argument is an int as Linux passes it: the low 32 bits. */
	if (sp->longs == 0 && sign)
		put(out, cap, pos, cfmt, (long long)(int32_t)arg);
	else if (sp->longs == 0)
		put(out, cap, pos, cfmt, (unsigned long long)(uint32_t)arg);
	else if (sign)
		put(out, cap, pos, cfmt, (long long)arg);
	else
		put(out, cap, pos, cfmt, (unsigned long long)arg);
}

int bj_trace_format(const char *fmt, uint32_t fmt_size, const uint64_t args[3], const struct bj_run *run, char *out,
		    size_t cap)
{
	const char *end = fmt && fmt_size ? memchr(fmt, 0, fmt_size) : NULL;
	size_t len, pos = 0, start = 0;
	unsigned n_args = 0;

	if (!end)
		return -EINVAL;
	len = (size_t)(end - fmt);
	if (cap)
		out[0] = 0;
	for (size_t i = 0; i < len;) {
		unsigned char ch = (unsigned char)fmt[i];
		struct spec sp;

		if (!isascii(ch) || (!isprint(ch) && !isspace(ch)))
			return -EINVAL;
		if (ch != '%') {
			i++;
			continue;
		}
		put(out, cap, &pos, "%.*s", (int)(i - start), fmt + start);
		if (i + 1 < len && fmt[i + 1] == '%') {
			put(out, cap, &pos, "%%");
			i += 2;
			start = i;
			continue;
		}
		if (n_args >= TRACE_MAX_ARGS)
			return -EINVAL;
		i++;
		if (parse_spec(fmt, len, &i, &sp))
			return -EINVAL;
		put_spec(out, cap, &pos, &sp, args[n_args++], run);
		start = i;
	}
	put(out, cap, &pos, "%.*s", (int)(len - start), fmt + start);
	return pos > (size_t)INT32_MAX ? -EINVAL : (int)pos;
}
