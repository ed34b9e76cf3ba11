/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet prog VERB ...: one function per verb in `verbs`. `run` takes raw instruction files (.bin); the
 * ELF forms of ../shared/spec/cli.md plug in here as more verbs and as another branch of prog_run.
 */
#include <bpfjet/prog.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct prog_run_args {
	const char *file;
	const char *data_in;
	const char *data_out;
	enum bj_engine engine;
	uint32_t repeat;
	bool json;
	bool unchecked;
};

#define PROG_RUN_USAGE                                                                                    \
	"prog run FILE.bin [--engine interp|jit] [--data-in F] [--data-out F] [--repeat N] [--json] [--unchecked]"

static int parse_engine(const char *s, enum bj_engine *engine)
{
	if (!strcmp(s, "interp"))
		*engine = BJ_ENGINE_INTERP;
	else if (!strcmp(s, "jit"))
		*engine = BJ_ENGINE_JIT;
	else
		return cli_fail("prog run", "--engine", "unknown engine '%s' (interp or jit)", s);
	return 0;
}

static int parse_repeat(const char *s, uint32_t *repeat)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v == 0 || v > UINT32_MAX)
		return cli_fail("prog run", "--repeat", "'%s' is not a count between 1 and %u", s, UINT32_MAX);
	*repeat = (uint32_t)v;
	return 0;
}

/* argv[0] is "run". */
static int parse_run_args(int argc, char **argv, struct prog_run_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];
		bool has_value = i + 1 < argc;

		if (!strcmp(opt, "--json"))
			a->json = true;
		else if (!strcmp(opt, "--unchecked"))
			a->unchecked = true;
		else if (!strcmp(opt, "--engine") && has_value) {
			if (parse_engine(argv[++i], &a->engine))
				return 1;
		} else if (!strcmp(opt, "--repeat") && has_value) {
			if (parse_repeat(argv[++i], &a->repeat))
				return 1;
		} else if (!strcmp(opt, "--data-in") && has_value)
			a->data_in = argv[++i];
		else if (!strcmp(opt, "--data-out") && has_value)
			a->data_out = argv[++i];
		else if (opt[0] != '-' && !a->file)
			a->file = opt;
		else
			return cli_fail("prog run", opt, "unknown or incomplete option (usage: bpfjet %s)", PROG_RUN_USAGE);
	}
	if (!a->file)
		return cli_fail("prog run", "FILE", "missing program file (usage: bpfjet %s)", PROG_RUN_USAGE);
	return 0;
}

static void print_result(const struct prog_run_args *a, const struct bj_run_opts *ro)
{
	if (a->json) {
		printf("{\"retval\":%" PRIu64 ",\"duration_ns\":%" PRIu64 ",\"data_size_out\":%u}\n", ro->retval,
		       ro->duration_ns, ro->data_size_out);
		return;
	}
	printf("retval: %" PRIu64 " (0x%" PRIx64 ")\nduration_ns: %" PRIu64 "\n", ro->retval, ro->retval,
	       ro->duration_ns);
	if (a->data_out)
		printf("data_size_out: %u\n", ro->data_size_out);
}

static int run_raw(const struct prog_run_args *a, const uint8_t *code, size_t code_len, const uint8_t *data,
		   size_t data_len)
{
	BJ_OPTS(bj_prog_opts, opts, .name = a->file, .engine = a->engine, .unchecked = a->unchecked);
	struct bj_error err = { .insn = -1, .offset = -1 };
	uint8_t *out = data_len ? malloc(data_len) : NULL;
	struct bj_prog *prog = NULL;
	int status = 1, ret;

	if (code_len % sizeof(struct bj_insn)) {
		status = cli_fail("prog run", a->file, "%zu bytes is not a whole number of 8-byte instructions", code_len);
		goto out;
	}
	if (data_len && !out) {
		status = cli_fail("prog run", a->data_in, "out of memory");
		goto out;
	}
	ret = bj_prog__create((const struct bj_insn *)code, code_len / sizeof(struct bj_insn), &opts, &prog, &err);
	if (ret) {
		status = cli_fail("prog run", a->file, "%s", err.msg);
		goto out;
	}
	BJ_OPTS(bj_run_opts, ro, .data_in = data, .data_size_in = (uint32_t)data_len, .data_out = out,
		.data_size_out = (uint32_t)data_len, .repeat = a->repeat);
	ret = bj_prog__run(prog, &ro, &err);
	if (ret) {
		status = cli_fail("prog run", a->file, "%s", err.msg);
		goto out;
	}
	if (a->data_out && (ret = cli_write_file(a->data_out, out, ro.data_size_out))) {
		status = cli_fail("prog run", a->data_out, "%s", strerror(-ret));
		goto out;
	}
	print_result(a, &ro);
	status = 0;
out:
	bj_prog__destroy(prog);
	free(out);
	return status;
}

static int prog_run(int argc, char **argv)
{
	struct prog_run_args a = { .engine = BJ_ENGINE_INTERP, .repeat = 1 };
	uint8_t *code = NULL, *data = NULL;
	size_t code_len = 0, data_len = 0;
	int status, ret;

	if (parse_run_args(argc, argv, &a))
		return 1;
	if ((ret = cli_read_file(a.file, &code, &code_len)))
		return cli_fail("prog run", a.file, "%s", strerror(-ret));
	if (a.data_in && (ret = cli_read_file(a.data_in, &data, &data_len))) {
		free(code);
		return cli_fail("prog run", a.data_in, "%s", strerror(-ret));
	}
	if (data_len > UINT32_MAX)
		status = cli_fail("prog run", a.data_in, "input of %zu bytes is too large", data_len);
	else if (code_len >= 4 && !memcmp(code, "\177ELF", 4))
		status = cli_fail("prog run", a.file, "ELF objects are not supported by this build (raw .bin only)");
	else
		status = run_raw(&a, code, code_len, data, data_len);
	free(code);
	free(data);
	return status;
}

struct prog_verb {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct prog_verb verbs[] = {
	{ "run", prog_run },
};

/* argv[0] is "prog". */
int cmd_prog(int argc, char **argv)
{
	if (argc < 2)
		return cli_fail("prog", "VERB", "missing verb (usage: bpfjet %s)", PROG_RUN_USAGE);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	return cli_fail("prog", argv[1], "unknown verb (usage: bpfjet %s)", PROG_RUN_USAGE);
}
