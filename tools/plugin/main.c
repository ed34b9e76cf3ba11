/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet-plugin: the plugin protocol of the bpf_conformance suite (../shared/conformance/README.md).
 *   bpfjet-plugin [MEM] [--engine interp|jit] [--elf]
 * MEM and the program on stdin are hex bytes split on whitespace; r0 is printed in hex.
 */
#include <bpfjet/prog.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The suite's tests call helper 5 and expect it to return its first argument. */
static uint64_t helper_unwind(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return r1;
}

struct buf {
	uint8_t *data;
	size_t len, cap;
};

static int buf_push(struct buf *b, uint8_t v)
{
	if (b->len == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		uint8_t *d = realloc(b->data, cap);
		if (!d)
			return -ENOMEM;
		b->data = d;
		b->cap = cap;
	}
	b->data[b->len++] = v;
	return 0;
}

static int hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Appends the bytes of a whitespace-separated hex text (each token an even number of digits). */
static int parse_hex(const char *what, const char *s, struct buf *out)
{
	while (*s) {
		const char *tok;
		size_t len;

		while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
			s++;
		tok = s;
		while (*s && !(*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
			s++;
		len = (size_t)(s - tok);
		if (len % 2) {
			fprintf(stderr, "bpfjet-plugin: %s: odd number of hex digits in '%.*s'\n", what, (int)len, tok);
			return -EINVAL;
		}
		for (size_t i = 0; i < len; i += 2) {
			int hi = hex_digit(tok[i]), lo = hex_digit(tok[i + 1]);
			if (hi < 0 || lo < 0) {
				fprintf(stderr, "bpfjet-plugin: %s: invalid hex byte '%.2s'\n", what, tok + i);
				return -EINVAL;
			}
			if (buf_push(out, (uint8_t)(hi << 4 | lo)))
				return -ENOMEM;
		}
	}
	return 0;
}

static char *read_stdin(void)
{
	size_t len = 0, cap = 4096, got;
	char *s = malloc(cap);

	while (s && (got = fread(s + len, 1, cap - len - 1, stdin)) > 0) {
		len += got;
		if (cap - len == 1) {
			char *ns = realloc(s, cap *= 2);
			if (!ns)
				free(s);
			s = ns;
		}
	}
	if (s)
		s[len] = '\0';
	return s;
}

struct args {
	const char *mem;
	enum bj_engine engine;
	bool elf;
};

static int parse_args(int argc, char **argv, struct args *a)
{
	int i = 1;

	if (i < argc && strncmp(argv[i], "--", 2))
		a->mem = argv[i++];
	for (; i < argc; i++) {
		if (!strcmp(argv[i], "--elf")) {
			a->elf = true;
		} else if (!strcmp(argv[i], "--engine") && i + 1 < argc) {
			const char *e = argv[++i];
			if (!strcmp(e, "interp"))
				a->engine = BJ_ENGINE_INTERP;
			else if (!strcmp(e, "jit"))
				a->engine = BJ_ENGINE_JIT;
			else {
				fprintf(stderr, "bpfjet-plugin: unknown engine '%s' (interp or jit)\n", e);
				return -EINVAL;
			}
		} else {
			fprintf(stderr, "usage: bpfjet-plugin [MEM] [--engine interp|jit] [--elf] < program-hex\n"
					"bpfjet-plugin: unexpected argument '%s'\n", argv[i]);
			return -EINVAL;
		}
	}
	return 0;
}

static int run(const struct args *a, const struct buf *code, struct buf *mem)
{
	static const struct bj_helper helpers[] = { { 5, "unwind", helper_unwind } };
	BJ_OPTS(bj_prog_opts, opts, .engine = a->engine, .helpers = helpers, .n_helpers = 1);
	struct bj_error err = { 0 };
	struct bj_prog *prog;
	uint64_t r0;
	int ret;

	if (code->len % sizeof(struct bj_insn)) {
		fprintf(stderr, "bpfjet-plugin: program is %zu bytes, not a multiple of 8\n", code->len);
		return 1;
	}
	ret = bj_prog__create((const struct bj_insn *)code->data, code->len / sizeof(struct bj_insn), &opts, &prog,
			      &err);
	if (ret) {
		fprintf(stderr, "Failed to load code: %s\n", err.msg);
		return 1;
	}
	ret = bj_prog__exec(prog, mem->data, mem->len, &r0, &err);
	bj_prog__destroy(prog);
	if (ret) {
		fprintf(stderr, "bpfjet-plugin: run stopped: %s\n", err.msg);
		return 1;
	}
	printf("0x%" PRIx64 "\n", r0);
	return 0;
}

int main(int argc, char **argv)
{
	struct buf code = { 0 }, mem = { 0 };
	struct args a = { .engine = BJ_ENGINE_INTERP };
	char *text;
	int status = 1;

	if (parse_args(argc, argv, &a))
		return 2;
	if (a.elf) {
		fprintf(stderr, "bpfjet-plugin: --elf is not supported yet\n");
		return 1;
	}
	text = read_stdin();
	if (!text) {
		fprintf(stderr, "bpfjet-plugin: out of memory reading the program\n");
		return 1;
	}
	if (!parse_hex("program", text, &code) && (!a.mem || !parse_hex("memory", a.mem, &mem)))
		status = run(&a, &code, &mem);
	free(text);
	free(code.data);
	free(mem.data);
	return status;
}
