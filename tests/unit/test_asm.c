/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpfjet/asm.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "datafile.h"
#include "isa/isa.h"

#define I(c, d, s, o, i) ((struct bj_insn){ .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) })

static const char *suite_dir(void)
{
	const char *dir = getenv("BJ_CONFORMANCE_DIR");
	return dir ? dir : "../shared/conformance";
}

static char *path_in(const char *dir, const char *sub, const char *name)
{
	size_t len = strlen(dir) + strlen(sub) + strlen(name) + 3;
	char *p = malloc(len);

	assert_non_null(p);
	snprintf(p, len, "%s/%s%s%s", dir, sub, *sub ? "/" : "", name);
	return p;
}

static int hexval(char ch)
{
	return ch <= '9' ? ch - '0' : (ch | 0x20) - 'a' + 10;
}

/* program_hex of index.tsv: the slots as bytes, in memory order. */
static size_t decode_hex(const char *hex, struct bj_insn *out, size_t cap)
{
	size_t len = strlen(hex), n = len / 16;

	assert_int_equal(len % 16, 0);
	assert_true(n <= cap);
	for (size_t i = 0; i < n; i++) {
		uint8_t b[8];
		for (int k = 0; k < 8; k++)
			b[k] = (uint8_t)(hexval(hex[i * 16 + k * 2]) << 4 | hexval(hex[i * 16 + k * 2 + 1]));
		memcpy(&out[i], b, 8);
	}
	return n;
}

static bool same(const struct bj_insn *a, size_t na, const struct bj_insn *b, size_t nb)
{
	return na == nb && !memcmp(a, b, na * sizeof(*a));
}

/* Disassembles with `opts`, assembles the text again and checks that the bytes come back unchanged. */
static void check_round_trip(const char *name, const struct bj_insn *prog, size_t n, const struct bj_disasm_opts *opts)
{
	struct bj_insn *again = NULL;
	struct bj_error err = { 0 };
	size_t n2 = 0;
	char *text = NULL;

	assert_int_equal(bj_disasm(prog, n, opts, &text), 0);
	if (bj_asm(text, &again, &n2, &err))
		fail_msg("%s: disassembly does not assemble: line %ld: %s\n%s", name, err.offset, err.msg, text);
	if (!same(prog, n, again, n2))
		fail_msg("%s: round trip changed the program (%zu -> %zu insns)\n%s", name, n, n2, text);
	free(again);
	free(text);
}

struct index_row {
	char file[128];
	char *hex;
};

/* Calls fn for every row of index.tsv; returns the number of rows. */
static size_t for_each_indexed(void (*fn)(const struct index_row *row, const char *dir))
{
	char *path = path_in(suite_dir(), "", "index.tsv");
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, rows = 0;

	if (!f)
		fail_msg("cannot open %s (set BJ_CONFORMANCE_DIR)", path);
	while (getline(&line, &cap, f) > 0) {
		struct index_row row;
		char *col[8], *save = NULL, *p = line;
		int k = 0;

		line[strcspn(line, "\r\n")] = '\0';
		while (k < 8 && (col[k] = strtok_r(p, "\t", &save)))
			k++, p = NULL;
		if (k < 8 || !strcmp(col[0], "file"))
			continue;
		snprintf(row.file, sizeof(row.file), "%s", col[0]);
		row.hex = col[7];
		fn(&row, suite_dir());
		rows++;
	}
	free(line);
	fclose(f);
	free(path);
	return rows;
}

static void check_conformance_file(const struct index_row *row, const char *dir)
{
	static struct bj_insn want[4096];
	char *path = path_in(dir, "tests", row->file);
	struct bj_datafile df;
	struct bj_error err = { 0 };
	struct bj_insn *got = NULL;
	size_t n_want = decode_hex(row->hex, want, 4096), n_got = 0;

	if (bj_datafile_load(path, &df, &err))
		fail_msg("%s: line %ld: %s", row->file, err.offset, err.msg);
	assert_non_null(df.asm_text);
	if (bj_asm(df.asm_text, &got, &n_got, &err))
		fail_msg("%s: line %ld: %s", row->file, err.offset + df.asm_line - 1, err.msg);
	if (!same(got, n_got, want, n_want))
		fail_msg("%s: assembled %zu insns differ from index.tsv (%zu)", row->file, n_got, n_want);
	if (df.has_raw && !same(df.raw, df.n_raw, want, n_want))
		fail_msg("%s: -- raw differs from index.tsv", row->file);

	BJ_OPTS(bj_disasm_opts, plain);
	BJ_OPTS(bj_disasm_opts, labelled, .labels = true, .indexes = true);
	check_round_trip(row->file, got, n_got, &plain);
	check_round_trip(row->file, got, n_got, &labelled);
	free(got);
	bj_datafile_free(&df);
	free(path);
}

static void test_conformance_programs(void **state)
{
	(void)state;
	assert_int_equal(for_each_indexed(check_conformance_file), 313);
}

struct error_case {
	const char *text;
	long line;
	long insn;
	const char *msg;
};

static const struct error_case error_cases[] = {
	{ "mov %r0, 1\nldxq %r0, %r1\nexit", 2, 1, "column 1: unknown mnemonic 'ldxq'" },
	{ "or %r0, %r50\nexit", 1, 0, "column 9: invalid register '%r50'" },
	{ "or %r0, %r16\nexit", 1, 0, "invalid register '%r16'" },
	{ "or %r0, %r01\nexit", 1, 0, "invalid register '%r01'" },
	{ "mov r0, 1", 1, 0, "invalid register 'r0'" },
	{ "mov32 %r0, 2147483648\nexit", 1, 0, "immediate '2147483648' is out of range for a 32-bit field" },
	{ "mov32 %r0, -2147483649", 1, 0, "out of range" },
	{ "mov32 %r0, 0x100000000\nexit", 1, 0, "immediate '0x100000000' is out of range" },
	{ "mov %r0, 12x", 1, 0, "column 10: expected an immediate, found '12x'" },
	{ "ja NOT_A_LABEL\nexit", 1, 0, "column 4: undefined label 'NOT_A_LABEL'" },
	{ "exit\n\n  jeq %r1, 0, nowhere", 3, 1, "column 15: undefined label 'nowhere'" },
	{ "a:\na:\nexit", 2, 0, "label 'a' is defined twice" },
	{ "lock or [%r10-8]\nexit", 1, 0, "invalid number of operands for 'lock or': expected 2, got 1" },
	{ "lock\nexit", 1, 0, "invalid number of operands for 'lock'" },
	{ "lock fetch\nexit", 1, 0, "invalid number of operands for 'lock fetch'" },
	{ "lock nand [%r10-8], %r1", 1, 0, "unknown mnemonic 'lock nand'" },
	{ "ldxb %r0, %r1\nexit", 1, 0, "column 11: expected a memory operand" },
	{ "ldxb %r0, [%r1+0x10000]\nexit", 1, 0, "offset '0x10000' is out of range for a 16-bit field" },
	{ "ldxb %r0, [%r1+32768]", 1, 0, "out of range for a 16-bit field" },
	{ "ldxb %r0, [%r1*2]", 1, 0, "invalid register '%r1*2'" },
	{ "stb [%r1+2]", 1, 0, "expected 2, got 1" },
	{ "lddw %r0\nexit", 1, 0, "invalid number of operands for 'lddw': expected 2, got 1" },
	{ "lddw %r0, 0x10000000000000000", 1, 0, "out of range" },
	{ "lddw %r0, map_fd()", 1, 0, "map_fd() takes 1 argument" },
	{ "lddw %r0, map(1)", 1, 0, "unknown lddw source 'map'" },
	{ "mov %r0, 1 2", 1, 0, "expected an immediate, found '1 2'" },
	{ "mov %r0,, 1", 1, 0, "column 9: empty operand" },
	{ "exit %r0", 1, 0, "expected 0, got 1" },
	{ "jeq %r1, 1, +32768", 1, 0, "jump offset '+32768' is out of range" },
	{ "ja32 +2147483648", 1, 0, "out of range" },
	{ "call local 5", 1, 0, "expected a label or +/-offset, found '5'" },
	{ "mov %r0, 1\n1abc: exit", 2, 1, "invalid label '1abc'" },
	{ "  , %r1", 1, 0, "column 3: expected a mnemonic, found ','" },
	{ ".raw 0x95 0x95", 1, 0, "expected a 64-bit instruction word" },
	{ "# only a comment\n\n", 3, -1, "no instructions" },
	{ "", 1, -1, "no instructions" },
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
		const struct error_case *c = &error_cases[i];
		struct bj_insn *out = NULL;
		struct bj_error err;
		size_t n = 0;

		memset(&err, 0, sizeof(err));
		int ret = bj_asm(c->text, &out, &n, &err);
		if (ret != -EINVAL || err.offset != c->line || err.insn != c->insn || !strstr(err.msg, c->msg))
			fail_msg("case %zu '%s': got %d at line %ld insn %ld '%s', want line %ld insn %ld '%s'", i, c->text,
				 ret, err.offset, err.insn, err.msg, c->line, c->insn, c->msg);
		assert_null(out);
	}
}

/* What each assembler/runner file of conformance/negative/ must do here. */
enum neg_outcome {
	NEG_ASM_REJECTS,    /* the assembler rejects the program with the message */
	NEG_READER_REJECTS, /* the .data reader rejects the file */
	NEG_NO_PROGRAM,     /* no program at all */
	NEG_ASSEMBLES,      /* a valid program: the file tests the runner (r0 or load failure), not the assembler */
};

static const struct {
	const char *file;
	enum neg_outcome outcome;
	const char *msg;
} negatives[] = {
	{ "empty.data", NEG_NO_PROGRAM, NULL },
	{ "empty_instructions.data", NEG_NO_PROGRAM, NULL },
	{ "error.data", NEG_ASSEMBLES, NULL },
	{ "incorrect_return_value_high_bits.data", NEG_ASSEMBLES, NULL },
	{ "invalid_imm32_dec_range.data", NEG_ASM_REJECTS, "'2147483648' is out of range" },
	{ "invalid_imm32_hex_range.data", NEG_ASM_REJECTS, "'0x100000000' is out of range" },
	{ "invalid_label.data", NEG_ASM_REJECTS, "undefined label 'NOT_A_LABEL'" },
	{ "invalid_lock.data", NEG_ASM_REJECTS, "invalid number of operands for 'lock or'" },
	{ "invalid_lock2.data", NEG_ASM_REJECTS, "invalid number of operands for 'lock'" },
	{ "invalid_mnemonic.data", NEG_ASM_REJECTS, "unknown mnemonic 'ldxq'" },
	{ "invalid_offset.data", NEG_ASM_REJECTS, "expected a memory operand" },
	{ "invalid_offset_range.data", NEG_ASM_REJECTS, "'0x10000' is out of range" },
	{ "invalid_operand_count.data", NEG_ASM_REJECTS, "invalid number of operands for 'lddw'" },
	{ "invalid_register.data", NEG_ASM_REJECTS, "invalid register '%r50'" },
	{ "invalid_unknown_directive.data", NEG_READER_REJECTS, "unknown directive '-- Unknown directive'" },
};

static void test_negative_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(negatives) / sizeof(negatives[0]); i++) {
		char *path = path_in(suite_dir(), "negative", negatives[i].file);
		struct bj_datafile df;
		struct bj_error err = { 0 };
		struct bj_insn *prog = NULL;
		size_t n = 0;
		int ret = bj_datafile_load(path, &df, &err);

		if (negatives[i].outcome == NEG_READER_REJECTS) {
			if (ret != -EINVAL || !strstr(err.msg, negatives[i].msg))
				fail_msg("%s: reader gave %d '%s'", negatives[i].file, ret, err.msg);
			free(path);
			continue;
		}
		if (ret)
			fail_msg("%s: line %ld: %s", negatives[i].file, err.offset, err.msg);
		ret = bj_datafile_program(&df, &prog, &n, &err);
		switch (negatives[i].outcome) {
		case NEG_NO_PROGRAM:
			assert_int_equal(ret, -ENOENT);
			break;
		case NEG_ASSEMBLES:
			assert_int_equal(ret, 0);
			assert_int_equal(bj_insns_validate(prog, n, &err), 0);
			break;
		default:
			if (ret != -EINVAL || !strstr(err.msg, negatives[i].msg))
				fail_msg("%s: got %d '%s', want '%s'", negatives[i].file, ret, err.msg, negatives[i].msg);
			/* The line is the file's, not the section's: every program starts on line 4 or 5. */
			assert_true(err.offset == 4 || err.offset == 5);
		}
		free(prog);
		bj_datafile_free(&df);
		free(path);
	}
}

/* Encodings outside the conformance suite, each with its text in both dialects. */
static const struct {
	struct bj_insn in[2];
	const char *text;
	const char *kernel;
} encodings[] = {
	{ { I(0xb7, 1, 0, 0, -1) }, "mov %r1, -1", "r1 = -1" },
	{ { I(0xbc, 2, 3, 0, 0) }, "mov32 %r2, %r3", "w2 = w3" },
	{ { I(0x3f, 2, 3, 1, 0) }, "sdiv %r2, %r3", "r2 s/= r3" },
	{ { I(0x94, 2, 0, 1, 7) }, "smod32 %r2, 7", "w2 s%= 7" },
	{ { I(0xbf, 2, 3, 16, 0) }, "movsx1664 %r2, %r3", "r2 = (s16)r3" },
	{ { I(0x87, 4, 0, 0, 0) }, "neg %r4", "r4 = -r4" },
	{ { I(0xdc, 4, 0, 0, 32) }, "be32 %r4", "r4 = be32 r4" },
	{ { I(0xd7, 4, 0, 0, 64) }, "bswap64 %r4", "r4 = bswap64 r4" },
	{ { I(0x71, 0, 1, 4, 0) }, "ldxb %r0, [%r1+4]", "r0 = *(u8 *)(r1 +4)" },
	{ { I(0x91, 0, 10, -1, 0) }, "ldxsb %r0, [%r10-1]", "r0 = *(s8 *)(r10 -1)" },
	{ { I(0x62, 10, 0, -4, 0x10) }, "stw [%r10-4], 0x10", "*(u32 *)(r10 -4) = 16" },
	{ { I(0x7b, 10, 1, 0, 0) }, "stxdw [%r10], %r1", "*(u64 *)(r10 +0) = r1" },
	{ { I(0xdb, 10, 1, -8, 0x00) }, "lock add [%r10-8], %r1", "lock *(u64 *)(r10 -8) += r1" },
	{ { I(0xc3, 10, 1, -4, 0x51) }, "lock fetch and32 [%r10-4], %r1",
	  "w1 = atomic_fetch_and((u32 *)(r10 -4), w1)" },
	{ { I(0xdb, 10, 1, -8, 0xf1) }, "lock cmpxchg [%r10-8], %r1", "r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r1)" },
	{ { I(0xdb, 10, 2, -8, 0xe1) }, "lock xchg [%r10-8], %r2", "r2 = atomic64_xchg((u64 *)(r10 -8), r2)" },
	{ { I(0x15, 1, 0, -2, 5) }, "jeq %r1, 5, -2", "if r1 == 0x5 goto pc-2" },
	{ { I(0x3e, 1, 2, 3, 0) }, "jge32 %r1, %r2, +3", "if w1 >= w2 goto pc+3" },
	{ { I(0x06, 0, 0, 0, -7) }, "ja32 -7", "gotol pc-7" },
	{ { I(0x85, 0, 0, 0, 5) }, "call 5", "call #5" },
	{ { I(0x85, 0, 1, 0, 2) }, "call local +2", "call pc+2" },
	{ { I(0x85, 0, 2, 0, 77) }, "call kfunc 77", "call kfunc#77" },
	{ { I(0x8d, 3, 0, 0, 0) }, "call %r3", "callx r3" },
	{ { I(0x18, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344) }, "lddw %r1, 0x1122334455667788",
	  "r1 = 0x1122334455667788 ll" },
	{ { I(0x18, 1, 5, 0, 3), I(0, 0, 0, 0, 0) }, "lddw %r1, map_idx(3)", "r1 = map[idx:3]" },
	{ { I(0x18, 1, 6, 0, 3), I(0, 0, 0, 0, 16) }, "lddw %r1, map_idx_value(3, 16)", "r1 = map[idx:3][0]+16" },
	{ { I(0x18, 2, 1, 0, 9), I(0, 0, 0, 0, 0) }, "lddw %r2, map_fd(9)", "r2 = map[fd:9]" },
	{ { I(0x18, 2, 2, 0, 9), I(0, 0, 0, 0, -4) }, "lddw %r2, map_fd_value(9, -4)", "r2 = map[fd:9][0]+-4" },
	{ { I(0x18, 2, 3, 0, 9), I(0, 0, 0, 0, 0) }, "lddw %r2, btf_id(9)", "r2 = btf_id[9]" },
	{ { I(0x18, 2, 4, 0, 4), I(0, 0, 0, 0, 0) }, "lddw %r2, func(+4)", "r2 = func pc+4" },
	{ { I(0x30, 0, 0, 0, 12) }, "ldabsb 0xc", "r0 = *(u8 *)skb[12]" },
	{ { I(0x48, 0, 7, 0, 2) }, "ldindh %r7, 2", "r0 = *(u16 *)skb[r7 + 2]" },
	{ { I(0xb7, 11, 0, 0, 1) }, "mov %r11, 1", "r11 = 1" },
	{ { I(0x0f, 1, 15, 0, 0) }, "add %r1, %r15", "r1 += r15" },
	{ { I(0x00, 0, 0, 0, 0) }, ".raw 0x0000000000000000", ".raw 0x0000000000000000" },
	{ { I(0xff, 1, 2, -1, -1) }, ".raw 0xffffffffffff21ff", ".raw 0xffffffffffff21ff" },
	{ { I(0x07, 0, 0, 1, 1) }, ".raw 0x0000000100010007", ".raw 0x0000000100010007" },
	{ { I(0x18, 1, 1, 0, 3), I(0, 0, 0, 0, 1) }, ".raw 0x0000000300001118", ".raw 0x0000000300001118" },
};

static void test_encodings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(encodings) / sizeof(encodings[0]); i++) {
		const struct bj_insn *in = encodings[i].in;
		size_t n = in[0].code == BJ_LDDW ? 2 : 1;
		struct bj_insn *got = NULL;
		struct bj_error err = { 0 };
		size_t n_got = 0;
		char buf[128];

		BJ_OPTS(bj_disasm_opts, kernel, .style = BJ_DISASM_KERNEL);
		int slots = bj_disasm_insn(in, n, 0, NULL, buf, sizeof(buf));
		if (strcmp(buf, encodings[i].text))
			fail_msg("case %zu: disasm '%s', want '%s'", i, buf, encodings[i].text);
		assert_int_equal(slots, !strncmp(buf, ".raw", 4) ? 1 : (int)n);
		bj_disasm_insn(in, n, 0, &kernel, buf, sizeof(buf));
		if (strcmp(buf, encodings[i].kernel))
			fail_msg("case %zu: kernel '%s', want '%s'", i, buf, encodings[i].kernel);
		if (bj_asm(encodings[i].text, &got, &n_got, &err))
			fail_msg("case %zu: '%s': %s", i, encodings[i].text, err.msg);
		if (!same(got, n_got, in, (size_t)slots))
			fail_msg("case %zu: '%s' assembles to other bytes", i, encodings[i].text);
		free(got);
	}
}

/* Every opcode byte with fields drawn from a fixed generator: the text must give back the bytes. */
static void test_round_trip_any_bytes(void **state)
{
	enum { N = 4096 };
	static struct bj_insn prog[N];
	uint64_t x = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (int round = 0; round < 8; round++) {
		for (size_t i = 0; i < N; i++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			/* Mostly small fields, so that the valid encodings are well covered. */
			prog[i] = I((uint8_t)(i + (size_t)round * 31), x & (round & 1 ? 0xf : 0x7), (x >> 4) & 0x7,
				    (x >> 8) & 1 ? (int16_t)(x >> 16) : (int16_t)((x >> 9) % 33 - 16),
				    (x >> 10) & 1 ? (int32_t)(x >> 32) : (int32_t)((x >> 11) % 130) - 1);
		}
		BJ_OPTS(bj_disasm_opts, labels, .labels = true);
		BJ_OPTS(bj_disasm_opts, kernel, .style = BJ_DISASM_KERNEL, .indexes = true, .opcodes = true);
		char *text = NULL;
		check_round_trip("generated", prog, N, NULL);
		check_round_trip("generated+labels", prog, N, &labels);
		assert_int_equal(bj_disasm(prog, N, &kernel, &text), 0);
		assert_true(strlen(text) > N);
		free(text);
	}
}

static void test_labels_and_indexes(void **state)
{
	const char *src = "  mov %r0, 0\n"
			  "top: add %r0, 1\n"
			  "  jlt %r0, 10, top   # loop\n"
			  "  call local fn\n"
			  "  exit\n"
			  "fn:\n"
			  "  lddw %r1, func(top)\n"
			  "  exit\n";
	const char *want = "   0: mov %r0, 0\n"
			   "L1:\n"
			   "   1: add %r0, 1\n"
			   "   2: jlt %r0, 0xa, L1\n"
			   "   3: call local L5\n"
			   "   4: exit\n"
			   "L5:\n"
			   "   5: lddw %r1, func(L1)\n"
			   "   7: exit\n";
	struct bj_insn *prog = NULL;
	struct bj_error err = { 0 };
	size_t n = 0;
	char *text = NULL;

	(void)state;
	assert_int_equal(bj_asm(src, &prog, &n, &err), 0);
	assert_int_equal(n, 8);
	assert_int_equal(prog[2].off, -2);
	assert_int_equal(prog[3].imm, 1);
	assert_int_equal(prog[5].imm, -5);
	BJ_OPTS(bj_disasm_opts, opts, .labels = true, .indexes = true);
	assert_int_equal(bj_disasm(prog, n, &opts, &text), 0);
	assert_string_equal(text, want);
	check_round_trip("labels", prog, n, &opts);
	free(text);
	free(prog);
}

static void test_bad_arguments(void **state)
{
	struct bj_insn in = I(0x95, 0, 0, 0, 0);
	struct { struct bj_disasm_opts o; char extra[8]; } big = { .o = { .sz = sizeof(big) } };
	char buf[16], *text = NULL;

	(void)state;
	big.extra[3] = 1;
	assert_int_equal(bj_disasm(&in, 1, &big.o, &text), -EINVAL);
	assert_int_equal(bj_disasm_insn(&in, 1, 1, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(bj_disasm_insn(&in, 1, 0, NULL, buf, 3), 1);
	assert_string_equal(buf, "ex");
	assert_int_equal(bj_disasm(&in, 0, NULL, &text), 0);
	assert_string_equal(text, "");
	free(text);
}

static void test_datafile_sections(void **state)
{
	const char *text = "# header\n"
			   "-- asm\n"
			   "mov %r0, 1 # set\n"
			   "\n"
			   "mov32 %r0, 5000000000\n"
			   "-- mem\n"
			   "00 0a\tFF\n"
			   "b0\n"
			   "-- raw\n"
			   "0x00000001000000b7 149\n"
			   "07 00 01 00 01 00 00 00\n"
			   "-- result\n"
			   "0x1\n"
			   "42\n"
			   "-- error pattern\n"
			   "uBPF error: .*\n"
			   "-- no jit\n"
			   "not yet\n"
			   "-- c\n"
			   "int main() { return 0; }\n"
			   "-- error\r\n";
	struct bj_datafile df;
	struct bj_error err = { 0 };
	struct bj_insn *prog = NULL;
	size_t n;

	(void)state;
	assert_int_equal(bj_datafile_parse((const uint8_t *)text, strlen(text), NULL, &df, &err), 0);
	assert_string_equal(df.asm_text, "mov %r0, 1 \n\nmov32 %r0, 5000000000\n");
	assert_int_equal(df.asm_line, 3);
	assert_int_equal(df.mem_len, 4);
	assert_memory_equal(df.mem, "\x00\x0a\xff\xb0", 4);
	assert_true(df.has_raw);
	assert_int_equal(df.n_raw, 3);
	assert_int_equal(df.raw[0].code, 0xb7);
	assert_int_equal(df.raw[0].imm, 1);
	assert_int_equal(df.raw[1].code, 0x95);
	assert_int_equal(df.raw[2].code, 0x07);
	assert_int_equal(df.raw[2].off, 1);
	assert_int_equal(df.raw[2].imm, 1);
	assert_true(df.has_result);
	assert_int_equal(df.result, 42);
	assert_string_equal(df.error_pattern, "uBPF error: .*");
	assert_true(df.no_jit);
	assert_string_equal(df.no_jit_reason, "not yet");
	assert_true(df.has_error);
	assert_string_equal(df.error, "");
	/* -- raw wins over -- asm (whose second instruction would not assemble). */
	assert_int_equal(bj_datafile_program(&df, &prog, &n, &err), 0);
	assert_int_equal(n, 3);
	free(prog);
	df.has_raw = false;
	assert_int_equal(bj_datafile_program(&df, &prog, &n, &err), -EINVAL);
	assert_int_equal(err.offset, 5);
	bj_datafile_free(&df);

	static const char *bad[] = { "-- asm\nexit\n-- frobnicate\n", "-- mem\n0g\n", "-- mem\n012\n",
				     "-- result\nzz\n", "-- raw\n0xq\n", "-- asm @ x.s\n" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(bj_datafile_parse((const uint8_t *)bad[i], strlen(bad[i]), NULL, &df, &err), -EINVAL);
}

/* Every uBPF test file reads; the ones with `@` includes get their program and packet from the side files. */
static void test_ubpf_files(void **state)
{
	static const char *files[] = {
		"tcp-sack/match.data", "tcp-port-80/match.data", "errors/err-stack-oob.data", "elf/ok.data",
		"reload.data", "errors/err-jmp-lddw.data", "helpers/call.data", "errors/err-endian-size.data",
		"errors/err-invalid-reg-dst.data",
	};
	const char *dir = getenv("BJ_UBPF_TESTS_DIR");
	struct bj_datafile df;
	struct bj_error err = { 0 };
	struct bj_insn *prog;
	size_t n;

	(void)state;
	if (!dir)
		skip();
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *path = path_in(dir, "", files[i]);
		if (bj_datafile_load(path, &df, &err))
			fail_msg("%s: line %ld: %s", files[i], err.offset, err.msg);
		prog = NULL;
		if (i < 2 || i == 5 || i == 6 || i == 8) {
			if (bj_datafile_program(&df, &prog, &n, &err))
				fail_msg("%s: %s", files[i], err.msg);
			check_round_trip(files[i], prog, n, NULL);
		}
		switch (i) {
		case 0:
			assert_non_null(df.asm_file);
			assert_int_equal(df.mem_len, 78); /* pkt-sack.hex: 4 full lines of 16 bytes and 14 more */
			assert_int_equal(df.mem[0], 0x00);
			assert_int_equal(df.mem[1], 0x26);
			break;
		case 1:
			assert_int_equal(n, 19);
			assert_int_equal(df.result, 1);
			break;
		case 2:
			assert_true(df.has_error_pattern && df.no_jit);
			assert_string_equal(df.no_jit_reason, "stack oob check not implemented");
			break;
		case 3:
			assert_true(df.pyelf);
			break;
		case 4:
			assert_true(df.reload && df.has_error);
			break;
		case 5:
			assert_int_equal(bj_insns_validate(prog, n, &err), -EINVAL);
			assert_non_null(strstr(err.msg, "jump into the middle of ld_imm64"));
			break;
		case 8:
			assert_int_equal(bj_insns_validate(prog, n, &err), -EINVAL);
			assert_string_equal(err.msg, "invalid destination register r11");
			break;
		case 7:
			assert_int_equal(df.n_raw, 3);
			assert_int_equal(df.raw[0].imm, 0x30);
			break;
		}
		free(prog);
		bj_datafile_free(&df);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conformance_programs),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_negative_files),
		cmocka_unit_test(test_encodings),
		cmocka_unit_test(test_round_trip_any_bytes),
		cmocka_unit_test(test_labels_and_indexes),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_datafile_sections),
		cmocka_unit_test(test_ubpf_files),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
