/* SPDX-License-Identifier: Apache-2.0 */
/* bpfjet disasm FILE.bin: 8-byte little-endian instructions to text. */
#include <bpfjet/asm.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "jit/jit.h"

#define DISASM_USAGE "usage: bpfjet disasm FILE.bin [--kernel] [--indexes] [--opcodes] [--labels] [--jit [--checked]]"

/* Helper calls compile against this stub: the listing shows where a call goes, not which helper it is. */
static uint64_t helper_stub(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return 0;
}

/* The program compiled by the JIT (unchecked unless asked), as capstone disassembly under each instruction. */
static int disasm_jit(const char *path, const struct bj_insn *prog, size_t n, bool checked)
{
	static bj_helper_fn stubs[BJ_HELPER_ID_MAX];
	struct bj_jit_opts opts = { .checked = checked };
	struct bj_error err = { 0 };
	struct bj_jit_code *code;
	int ret;

	for (size_t i = 0; i < BJ_HELPER_ID_MAX; i++)
		stubs[i] = helper_stub;
	if ((ret = bj_insns_validate(prog, n, &err)) || (ret = bj_jit_compile(prog, n, stubs, &opts, &code, &err)))
		return cli_fail("disasm", path, "insn %ld: %s", err.insn, err.msg);
	ret = bj_jit_code_dump(code, prog, stdout);
	bj_jit_code_free(code);
	if (ret == -EOPNOTSUPP)
		return cli_fail("disasm", path, "built without capstone: no machine code listing");
	return ret ? cli_fail("disasm", path, "capstone could not decode part of the image") : 0;
}

static void decode_le(const uint8_t b[8], struct bj_insn *in)
{
	in->code = b[0];
	in->dst = b[1] & 0xf;
	in->src = b[1] >> 4;
	in->off = (int16_t)(uint16_t)(b[2] | b[3] << 8);
	in->imm = (int32_t)((uint32_t)b[4] | (uint32_t)b[5] << 8 | (uint32_t)b[6] << 16 | (uint32_t)b[7] << 24);
}

int cmd_disasm(int argc, char **argv)
{
	BJ_OPTS(bj_disasm_opts, opts);
	const char *path = NULL;
	bool jit = false, checked = false;
	struct bj_insn *prog;
	uint8_t *data;
	size_t len, n;
	char *text;
	int ret;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--kernel"))
			opts.style = BJ_DISASM_KERNEL;
		else if (!strcmp(argv[i], "--indexes"))
			opts.indexes = true;
		else if (!strcmp(argv[i], "--opcodes"))
			opts.opcodes = true;
		else if (!strcmp(argv[i], "--labels"))
			opts.labels = true;
		else if (!strcmp(argv[i], "--jit"))
			jit = true;
		else if (!strcmp(argv[i], "--checked"))
			checked = true;
		else if (argv[i][0] == '-' && argv[i][1])
			return cli_fail("disasm", argv[i], "unknown option (" DISASM_USAGE ")");
		else if (!path)
			path = argv[i];
		else
			return cli_fail("disasm", argv[i], "one input file only");
	}
	if (!path)
		return cli_fail("disasm", "-", DISASM_USAGE);
	if ((ret = cli_read_file(path, &data, &len)))
		return cli_fail("disasm", path, "%s", strerror(-ret));
	if (len % 8 || len == 0) {
		free(data);
		return cli_fail("disasm", path, "size %zu is not a positive multiple of 8 (instructions are 8 bytes)", len);
	}
	n = len / 8;
	prog = malloc(n * sizeof(*prog));
	if (!prog) {
		free(data);
		return cli_fail("disasm", path, "out of memory");
	}
	for (size_t i = 0; i < n; i++)
		decode_le(data + 8 * i, &prog[i]);
	free(data);
	if (jit) {
		ret = disasm_jit(path, prog, n, checked);
		free(prog);
		return ret;
	}
	ret = bj_disasm(prog, n, &opts, &text);
	free(prog);
	if (ret)
		return cli_fail("disasm", path, "%s", strerror(-ret));
	fputs(text, stdout);
	free(text);
	return 0;
}
