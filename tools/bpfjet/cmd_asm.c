/* SPDX-License-Identifier: Apache-2.0 */
/* bpfjet asm FILE.s|FILE.data -o FILE.bin: text assembly to 8-byte little-endian instructions. */
#include <bpfjet/asm.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../tests/lib/datafile.h"
#include "cli.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t ls = strlen(s), lx = strlen(suffix);
	return ls >= lx && !strcmp(s + ls - lx, suffix);
}

/* A .data file: its -- raw words, else its -- asm section. */
static int program_from_data(const char *path, struct bj_insn **prog, size_t *n)
{
	struct bj_datafile df;
	struct bj_error err = { 0 };
	char where[4096];
	int ret = bj_datafile_load(path, &df, &err);

	if (ret) {
		snprintf(where, sizeof(where), err.offset > 0 ? "%s:%ld" : "%s", path, err.offset);
		return cli_fail("asm", where, "%s", err.msg);
	}
	ret = bj_datafile_program(&df, prog, n, &err);
	if (ret) {
		snprintf(where, sizeof(where), err.offset > 0 ? "%s:%ld" : "%s", df.asm_file ? df.asm_file : path,
			 err.offset);
		bj_datafile_free(&df);
		return cli_fail("asm", where, "%s", err.msg);
	}
	bj_datafile_free(&df);
	return 0;
}

static int program_from_text(const char *path, struct bj_insn **prog, size_t *n)
{
	struct bj_error err = { 0 };
	uint8_t *data, *nul;
	size_t len;
	char where[4096];
	int ret = cli_read_file(path, &data, &len);

	if (ret)
		return cli_fail("asm", path, "%s", strerror(-ret));
	nul = memchr(data, '\0', len);
	if (nul) {
		size_t at = (size_t)(nul - data);
		free(data);
		return cli_fail("asm", path, "NUL byte at offset %zu: not a text file", at);
	}
	uint8_t *text = realloc(data, len + 1);
	if (!text) {
		free(data);
		return cli_fail("asm", path, "out of memory");
	}
	text[len] = '\0';
	ret = bj_asm((const char *)text, prog, n, &err);
	free(text);
	if (ret) {
		snprintf(where, sizeof(where), err.offset > 0 ? "%s:%ld" : "%s", path, err.offset);
		return cli_fail("asm", where, "%s", err.msg);
	}
	return 0;
}

static void encode_le(const struct bj_insn *in, uint8_t b[8])
{
	b[0] = in->code;
	b[1] = (uint8_t)(in->dst | in->src << 4);
	b[2] = (uint8_t)((uint16_t)in->off & 0xff);
	b[3] = (uint8_t)((uint16_t)in->off >> 8);
	for (int k = 0; k < 4; k++)
		b[4 + k] = (uint8_t)((uint32_t)in->imm >> (8 * k));
}

int cmd_asm(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	struct bj_insn *prog = NULL;
	uint8_t *bytes;
	size_t n = 0;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-o") && i + 1 < argc)
			out = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_fail("asm", argv[i], "unknown option (usage: bpfjet asm FILE.s|FILE.data -o FILE.bin)");
		else if (!in)
			in = argv[i];
		else
			return cli_fail("asm", argv[i], "one input file only");
	}
	if (!in || !out)
		return cli_fail("asm", in ? in : "-", "usage: bpfjet asm FILE.s|FILE.data -o FILE.bin");
	ret = ends_with(in, ".data") ? program_from_data(in, &prog, &n) : program_from_text(in, &prog, &n);
	if (ret)
		return ret;
	bytes = malloc(n * 8);
	if (!bytes) {
		free(prog);
		return cli_fail("asm", in, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		encode_le(&prog[i], bytes + 8 * i);
	free(prog);
	ret = cli_write_file(out, bytes, n * 8);
	free(bytes);
	if (ret)
		return cli_fail("asm", out, "%s", strerror(-ret));
	return 0;
}
