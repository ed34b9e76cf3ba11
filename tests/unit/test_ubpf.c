/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Runs uBPF's own test files (../shared/ubpf-tests) on every engine: each program with a result must give it,
 * each program with an error must be refused, at creation or by checked mode, never run to an answer.
 * uBPF's test helpers are provided here with uBPF's numbering, as its test runner does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfjet/prog.h>

#include "datafile.h"

static uint64_t gather_bytes(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct bj_run *run)
{
	(void)run;
	return ((a & 0xff) << 32) | ((b & 0xff) << 24) | ((c & 0xff) << 16) | ((d & 0xff) << 8) | (e & 0xff);
}

static uint64_t memfrob_helper(uint64_t p, uint64_t n, uint64_t c, uint64_t d, uint64_t e, struct bj_run *run)
{
	(void)c, (void)d, (void)e, (void)run;
	for (uint64_t i = 0; i < n; i++)
		((uint8_t *)(uintptr_t)p)[i] ^= 42;
	return 0;
}

static uint64_t no_op(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct bj_run *run)
{
	(void)a, (void)b, (void)c, (void)d, (void)e, (void)run;
	return 0;
}

static uint64_t sqrti(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct bj_run *run)
{
	(void)b, (void)c, (void)d, (void)e, (void)run;
	return (uint64_t)sqrt((double)a);
}

static uint64_t strcmp_ext(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct bj_run *run)
{
	(void)c, (void)d, (void)e, (void)run;
	return (uint64_t)(int64_t)strcmp((const char *)(uintptr_t)a, (const char *)(uintptr_t)b);
}

static uint64_t first_arg(uint64_t a, uint64_t b, uint64_t c, uint64_t d, uint64_t e, struct bj_run *run)
{
	(void)b, (void)c, (void)d, (void)e, (void)run;
	return a;
}

static const struct bj_helper ubpf_helpers[] = {
	{ 0, "gather_bytes", gather_bytes }, { 1, "memfrob", memfrob_helper }, { 2, "no_op", no_op },
	{ 3, "sqrti", sqrti },               { 4, "strcmp_ext", strcmp_ext }, { 5, "first_arg", first_arg },
};

/* Files that test uBPF itself rather than eBPF: its VM life cycle, its ELF builder, its unwind extension. */
static const char *ubpf_only_reason(const struct bj_datafile *df, const char *name)
{
	if (df->reload || df->unload)
		return "uBPF VM reload/unload life cycle";
	if (df->pyelf)
		return "ELF built by uBPF's Python script";
	if (!strcmp(name, "call_unwind.data"))
		return "uBPF unwind extension (helper 5 stops the program)";
	if (!strcmp(name, "err-unknown-opcode.data"))
		return "0x06 is JMP32 JA (gotol) since ISA v4, which uBPF predates";
	if (!strcmp(name, "err-too-many-instructions.data"))
		return "uBPF's 65536-instruction limit; bpfjet keeps Linux's 1M (test_isa checks it)";
	return NULL;
}

struct tally {
	int passed, failed, skipped;
};

/* Runs one file; returns 1 pass, 0 fail, -1 skipped. */
static int run_file(const char *path, const char *name, enum bj_engine engine)
{
	struct bj_datafile df;
	struct bj_error err = { 0 };
	struct bj_insn *insns = NULL;
	struct bj_prog *prog = NULL;
	size_t n = 0;
	uint64_t r0 = 0;
	const char *skip;
	bool must_fail;
	int ret, verdict;

	if (bj_datafile_load(path, &df, &err)) {
		printf("FAIL %s: unreadable: line %ld: %s\n", name, err.offset, err.msg);
		return 0;
	}
	skip = ubpf_only_reason(&df, name);
	if (skip || (!df.has_result && !df.has_error && !df.has_error_pattern)) {
		printf("SKIP %s: %s\n", name, skip ? skip : "no expected result");
		bj_datafile_free(&df);
		return -1;
	}
	must_fail = df.has_error || df.has_error_pattern;
	ret = bj_datafile_program(&df, &insns, &n, &err);
	if (!ret) {
		BJ_OPTS(bj_prog_opts, opts, .engine = engine, .helpers = ubpf_helpers,
			.n_helpers = sizeof(ubpf_helpers) / sizeof(ubpf_helpers[0]), .insn_budget = 1u << 20);
		ret = bj_prog__create(insns, n, &opts, &prog, &err);
	}
	if (!ret)
		ret = bj_prog__exec(prog, df.mem, df.mem_len, &r0, &err);

	if (must_fail)
		verdict = ret != 0;
	else
		verdict = ret == 0 && r0 == df.result;
	if (verdict)
		printf("PASS %s%s%s\n", name, must_fail ? ": refused: " : "", must_fail ? err.msg : "");
	else if (must_fail)
		printf("FAIL %s: ran to r0 = 0x%llx, but must be refused (%s)\n", name, (unsigned long long)r0,
		       df.has_error ? df.error : df.error_pattern);
	else if (ret)
		printf("FAIL %s: error %d at insn %ld: %s\n", name, ret, err.insn, err.msg);
	else
		printf("FAIL %s: r0 = 0x%llx, want 0x%llx\n", name, (unsigned long long)r0,
		       (unsigned long long)df.result);
	bj_prog__destroy(prog);
	free(insns);
	bj_datafile_free(&df);
	return verdict;
}

static void run_dir(const char *dir, enum bj_engine engine, struct tally *t)
{
	struct dirent **ents;
	int n = scandir(dir, &ents, NULL, alphasort);

	assert_true(n >= 0);
	for (int i = 0; i < n; i++) {
		const char *name = ents[i]->d_name;
		size_t len = strlen(name);
		char path[8192];

		if (len > 5 && !strcmp(name + len - 5, ".data") &&
		    snprintf(path, sizeof(path), "%s/%s", dir, name) < (int)sizeof(path)) {
			int v = run_file(path, name, engine);
			if (v > 0)
				t->passed++;
			else if (v == 0)
				t->failed++;
			else
				t->skipped++;
		}
		free(ents[i]);
	}
	free(ents);
}

static void run_engine(enum bj_engine engine)
{
	static const char *const subdirs[] = { "", "errors", "helpers", "extensions", "elf" };
	const char *root = getenv("BJ_UBPF_TESTS_DIR");
	struct tally t = { 0 };
	char dir[4096];

	if (!root)
		skip();
	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", root, subdirs[i]);
		run_dir(dir, engine, &t);
	}
	printf("%s: %d passed, %d failed, %d skipped\n", engine == BJ_ENGINE_JIT ? "jit" : "interp", t.passed,
	       t.failed, t.skipped);
	assert_int_equal(t.failed, 0);
	assert_true(t.passed > 60);
}

static void test_interp(void **state)
{
	(void)state;
	run_engine(BJ_ENGINE_INTERP);
}

static void test_jit(void **state)
{
	(void)state;
	run_engine(BJ_ENGINE_JIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interp),
		cmocka_unit_test(test_jit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
