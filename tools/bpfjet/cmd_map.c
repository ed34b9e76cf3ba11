/* SPDX-License-Identifier: Apache-2.0 */
/* bpfjet map dump|lookup|update|delete PIN ...: a map pinned by a running bpfjet process. */
#include <bpfjet/map.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAP_USAGE "map dump PIN [--json] | lookup PIN KEY [--json] | update PIN KEY VALUE [any|noexist|exist] | delete PIN KEY"

/* "01 02 0a", "0x1 0x2", "01020a", "1,2,a": hex bytes, as bpftool takes and prints them. A run of digits is
 * one byte when it has a 0x prefix or at most two digits, else a string of two-digit bytes. */
static int parse_hex(const char *s, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = 0;

	while (*s) {
		bool prefixed = false;
		size_t run = 0;

		if (isspace((unsigned char)*s) || *s == ',') {
			s++;
			continue;
		}
		if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
			s += 2;
			prefixed = true;
		}
		while (isxdigit((unsigned char)s[run]))
			run++;
		if (!run || (s[run] && !isspace((unsigned char)s[run]) && s[run] != ',') ||
		    ((prefixed || run > 2) && run % 2 && run > 2) || (prefixed && run > 2))
			return -EINVAL;
		for (size_t i = 0; i < run; i += run <= 2 ? run : 2) {
			char byte[3] = { s[i], run <= 2 ? (run == 2 ? s[i + 1] : 0) : s[i + 1], 0 };
			if (n == cap)
				return -E2BIG;
			out[n++] = (uint8_t)strtoul(byte, NULL, 16);
		}
		s += run;
	}
	*len = n;
	return 0;
}

static void print_bytes(const uint8_t *p, size_t n, bool json)
{
	for (size_t i = 0; i < n; i++)
		printf(json ? "%s\"0x%02x\"" : "%s%02x", i ? (json ? "," : " ") : "", p[i]);
}

static bool percpu(const struct bj_map *m)
{
	enum bj_map_type t = bj_map__type(m);
	return t == BJ_MAP_TYPE_PERCPU_ARRAY || t == BJ_MAP_TYPE_PERCPU_HASH || t == BJ_MAP_TYPE_LRU_PERCPU_HASH;
}

static void print_value(const struct bj_map *m, const uint8_t *v, bool json)
{
	uint32_t vs = bj_map__value_size(m), stride = (vs + 7) & ~7u;

	if (!percpu(m)) {
		printf(json ? "\"value\":[" : "value: ");
		print_bytes(v, vs, json);
		printf(json ? "]" : "");
		return;
	}
	printf(json ? "\"values\":[" : "");
	for (uint32_t w = 0; w < bj_map__n_workers(m); w++) {
		printf(json ? "%s{\"cpu\":%u,\"value\":[" : "%svalue (CPU %02u): ", w ? (json ? "," : "\n") : "", w);
		print_bytes(v + (size_t)w * stride, vs, json);
		printf(json ? "]}" : "");
	}
	printf(json ? "]" : "");
}

static void print_elem(const struct bj_map *m, const uint8_t *k, const uint8_t *v, bool json, bool first)
{
	if (json) {
		printf("%s{\"key\":[", first ? "" : ",");
		print_bytes(k, bj_map__key_size(m), true);
		printf("],");
		print_value(m, v, true);
		printf("}");
		return;
	}
	printf("key: ");
	print_bytes(k, bj_map__key_size(m), false);
	printf(percpu(m) ? "\n" : "  ");
	print_value(m, v, false);
	printf("\n");
}

static int dump(struct bj_map *m, const char *pin, bool json)
{
	size_t ks = bj_map__key_size(m), vs = bj_map__value_buf_size(m);
	uint32_t cap = 256, n = 0, count;
	uint8_t cursor[512], next[512];
	uint8_t *keys = NULL, *vals = NULL;
	bool first = true, started = false;
	int ret;

	if (json)
		printf("[");
	for (;;) {
		uint8_t *nk = realloc(keys, cap * ks), *nv = nk ? realloc(vals, cap * vs) : NULL;
		if (nk)
			keys = nk;
		if (!nk || !nv) {
			ret = -ENOMEM;
			break;
		}
		vals = nv;
		count = cap;
		ret = bj_map__lookup_batch(m, started ? cursor : NULL, next, keys, vals, &count, NULL);
		if (ret == -ENOSPC) {
			cap *= 2; /* a hash bucket bigger than the buffer */
			continue;
		}
		for (uint32_t i = 0; i < count; i++, first = false)
			print_elem(m, keys + i * ks, vals + i * vs, json, first);
		n += count;
		if (ret)
			break;
		memcpy(cursor, next, sizeof(cursor));
		started = true;
	}
	free(keys);
	free(vals);
	if (ret != -ENOENT) {
		if (json)
			printf("]\n");
		return cli_fail("map dump", pin, "%s", ret == -524 ? "this map type has no batch lookup" : strerror(-ret));
	}
	printf(json ? "]\n" : "Found %u element%s\n", n, n == 1 ? "" : "s");
	return 0;
}

static int parse_sized(const char *pin, const char *what, const char *arg, uint8_t *buf, size_t cap, size_t want)
{
	size_t len;
	int ret = parse_hex(arg, buf, cap, &len);

	if (ret)
		return cli_fail("map", pin, "%s '%s' is not hex bytes", what, arg);
	if (len != want)
		return cli_fail("map", pin, "%s has %zu bytes, the map's %s size is %zu", what, len, what, want);
	return 0;
}

int cmd_map(int argc, char **argv)
{
	bool json = false;
	const char *args[5];
	int nargs = 0, ret, status = 0;
	struct bj_map *m;
	struct bj_error err;
	uint8_t key[512], *val = NULL;
	size_t ks, vs;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = true;
		else if (nargs < 5)
			args[nargs++] = argv[i];
		else
			return cli_fail("map", argv[i], "too many arguments (usage: bpfjet " MAP_USAGE ")");
	}
	if (nargs < 2)
		return cli_fail("map", nargs ? args[0] : "", "usage: bpfjet " MAP_USAGE);
	const char *verb = args[0], *pin = args[1];
	ret = bj_map__open_pinned(pin, &m, &err);
	if (ret)
		return cli_fail("map", pin, "%s", err.msg);
	ks = bj_map__key_size(m);
	vs = bj_map__value_buf_size(m);
	val = calloc(1, vs ? vs : 1);
	if (!val) {
		bj_map__destroy(m);
		return cli_fail("map", pin, "out of memory");
	}
	if (!strcmp(verb, "dump") && nargs == 2) {
		status = dump(m, pin, json);
	} else if (!strcmp(verb, "lookup") && nargs == 3) {
		status = parse_sized(pin, "key", args[2], key, sizeof(key), ks);
		if (!status && (ret = bj_map__lookup_elem(m, key, val)))
			status = cli_fail("map lookup", pin, "%s", ret == -ENOENT ? "no such key" : strerror(-ret));
		else if (!status) {
			if (json)
				printf("[");
			print_elem(m, key, val, json, true);
			if (json)
				printf("]\n");
		}
	} else if (!strcmp(verb, "update") && (nargs == 4 || nargs == 5)) {
		uint64_t flags = BJ_ANY;
		if (nargs == 5 && strcmp(args[4], "any"))
			flags = !strcmp(args[4], "noexist") ? BJ_NOEXIST : !strcmp(args[4], "exist") ? BJ_EXIST : ~0ull;
		status = parse_sized(pin, "key", args[2], key, sizeof(key), ks);
		if (!status)
			status = parse_sized(pin, "value", args[3], val, vs, vs);
		if (!status && flags == ~0ull)
			status = cli_fail("map update", pin, "unknown flag '%s' (any, noexist, exist)", args[4]);
		if (!status && (ret = bj_map__update_elem(m, key, val, flags)))
			status = cli_fail("map update", pin, "%s",
					  ret == -EEXIST ? "the key exists (noexist)" : ret == -ENOENT ? "no such key (exist)"
					  : ret == -E2BIG ? "the map is full or the index out of range"
					  : ret == -EPERM ? "the map is frozen or read-only" : strerror(-ret));
	} else if (!strcmp(verb, "delete") && nargs == 3) {
		status = parse_sized(pin, "key", args[2], key, sizeof(key), ks);
		if (!status && (ret = bj_map__delete_elem(m, key)))
			status = cli_fail("map delete", pin, "%s",
					  ret == -ENOENT ? "no such key" : ret == -EINVAL ? "elements of this map type cannot be deleted"
					  : strerror(-ret));
	} else {
		status = cli_fail("map", verb, "unknown verb or wrong arguments (usage: bpfjet " MAP_USAGE ")");
	}
	free(val);
	bj_map__destroy(m);
	return status;
}
