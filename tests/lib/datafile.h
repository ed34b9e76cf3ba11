/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Reader for `.data` test files: the bpf_conformance format (shared/conformance/README.md) and uBPF's
 * superset (shared/ubpf-tests/SOURCE.md).
 *
 * As upstream: the file is read as bytes, a trailing CR is dropped, `#` cuts a comment anywhere, blank lines
 * are ignored, and a line containing `--` opens a section whose keyword is found by substring in the order
 * asm, result, mem, raw, no register offset, ` c`, error. uBPF additions: `-- asm @ FILE` and
 * `-- mem @ FILE` (FILE relative to the .data file; a mem file may be a tcpdump -x dump, its `0x0000:`
 * offsets are skipped and hex groups split into bytes), `-- error pattern` (a regular expression),
 * `-- no jit`, `-- description`, `-- pyelf`, `-- reload`, `-- unload`. Any other keyword is an error.
 *
 * One extension: a `-- raw` line of exactly eight two-digit hex tokens (`07 00 01 00 01 00 00 00`) is one
 * instruction's bytes, the form of the negative/unused-*.data files; any other raw token is a 64-bit word
 * (hex with 0x, or decimal) with the opcode in its low byte.
 */
#ifndef BJ_TESTS_DATAFILE_H
#define BJ_TESTS_DATAFILE_H

#include <bpfjet/insn.h>
#include <stdbool.h>

struct bj_datafile {
	/* -- asm: the text with comments cut and every line kept, so line numbers still count. */
	char *asm_text;
	long asm_line;    /* line of asm_text's first line, in the .data file or in asm_file */
	char *asm_file;   /* -- asm @ FILE: the path read, else NULL */
	/* -- raw: replaces asm when present. */
	bool has_raw;
	struct bj_insn *raw;
	size_t n_raw;
	uint8_t *mem;     /* NULL when there is no memory */
	size_t mem_len;
	bool has_result;
	uint64_t result;
	bool has_error;   /* -- error: the program must be rejected; error = its last line ("" = any) */
	char *error;
	bool has_error_pattern;
	char *error_pattern;
	bool no_jit;      /* -- no jit: skip the JIT; no_jit_reason is the section's text */
	char *no_jit_reason;
	char *description;
	bool pyelf;       /* -- pyelf: the program is an ELF built by a Python script: not runnable here */
	bool reload, unload;
};

/* Reads a file. On failure returns -errno and err->offset is the line (err->msg says why). */
int bj_datafile_load(const char *path, struct bj_datafile *df, struct bj_error *err);
/* Parses bytes; `dir` resolves `@ FILE` sections (NULL: such sections are an error). */
int bj_datafile_parse(const uint8_t *data, size_t len, const char *dir, struct bj_datafile *df,
		      struct bj_error *err);
void bj_datafile_free(struct bj_datafile *df);

/*
 * The program: the raw words if any, else the assembled asm. -ENOENT when the file has neither. An assembly
 * error's err->offset is translated into a line of the .data file (or of asm_file).
 */
int bj_datafile_program(const struct bj_datafile *df, struct bj_insn **out, size_t *n, struct bj_error *err);

#endif
