/* SPDX-License-Identifier: Apache-2.0 */
/* `bpfjet object show|dump` and `prog dump xlated`: what the loader makes of an object file. */
#include <bpfjet/asm.h>
#include <bpfjet/object.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *prog_type_name(enum bj_prog_type t)
{
	switch (t) {
	case BJ_PROG_TYPE_MEM: return "mem";
	case BJ_PROG_TYPE_XDP: return "xdp";
	case BJ_PROG_TYPE_SOCKET_FILTER: return "socket_filter";
	case BJ_PROG_TYPE_SCHED_CLS: return "sched_cls";
	}
	return "?";
}

static const char *origin_name(enum bj_map_origin o)
{
	static const char *names[] = { "btf", "legacy", "data", "rodata", "bss" };
	return (size_t)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

/* Comment for an ld_imm64 the loader relocated: which map (and offset) or subprogram it designates. */
static void lddw_note(struct bj_object *obj, const struct bj_insn *in, char *buf, size_t len)
{
	const struct bj_map_spec *m = in[0].src == 5 || in[0].src == 6 ? bj_object__map(obj, (size_t)in[0].imm) : NULL;

	buf[0] = '\0';
	if (in[0].src == 5 && m)
		snprintf(buf, len, "  ; map '%s'", bj_map_spec__name(m));
	else if (in[0].src == 6 && m)
		snprintf(buf, len, "  ; map '%s' value + %d", bj_map_spec__name(m), in[1].imm);
	else if (in[0].src == 4)
		snprintf(buf, len, "  ; subprogram address");
}

/*
 * The one place that turns instructions into text: bpftool's "xlated" notation with the opcode byte, the
 * map or subprogram an ld_imm64 designates, and the source line (from .BTF.ext) before the instructions it
 * covers.
 */
void cli_print_insns(FILE *out, struct bj_object *obj, const struct bj_program *prog)
{
	BJ_OPTS(bj_disasm_opts, dopts, .style = BJ_DISASM_KERNEL, .opcodes = true);
	size_t n;
	const struct bj_insn *insns = bj_program__insns(prog, &n);
	const char *last_text = NULL;

	for (size_t i = 0; i < n;) {
		const struct bj_line_info *li = bj_program__line_of(prog, i);
		char text[256], note[160] = "";
		if (li && li->text[0] && li->text != last_text) {
			fprintf(out, "; %s\n", li->text);
			last_text = li->text;
		}
		int slots = bj_disasm_insn(insns, n, i, &dopts, text, sizeof(text));
		if (slots < 1)
			slots = 1;
		if (slots == 2)
			lddw_note(obj, &insns[i], note, sizeof(note));
		fprintf(out, "%5zu: %s%s\n", i, text, note);
		i += (size_t)slots;
	}
}

static int open_obj(const char *path, struct bj_object **obj)
{
	struct bj_error err = { 0 };
	int ret = bj_object__open_file(path, NULL, obj, &err);

	if (ret)
		return cli_fail("object", path, "%s", err.msg[0] ? err.msg : strerror(-ret));
	return 0;
}

int cli_dump_xlated(const char *path, const char *prog_name)
{
	struct bj_object *obj;

	if (open_obj(path, &obj))
		return 1;
	if (prog_name && !bj_object__find_prog(obj, prog_name)) {
		bj_object__close(obj);
		return cli_fail("prog", prog_name, "no such program in %s", path);
	}
	for (size_t i = 0; i < bj_object__prog_count(obj); i++) {
		const struct bj_program *p = bj_object__prog(obj, i);
		size_t n;
		if (prog_name && strcmp(bj_program__name(p), prog_name))
			continue;
		bj_program__insns(p, &n);
		printf("%s: section %s, type %s, %zu insns\n", bj_program__name(p), bj_program__section(p),
		       prog_type_name(bj_program__type(p)), n);
		cli_print_insns(stdout, obj, p);
	}
	bj_object__close(obj);
	return 0;
}

static int show(const char *path)
{
	struct bj_object *obj;

	if (open_obj(path, &obj))
		return 1;
	printf("object %s, license \"%s\"\n", bj_object__name(obj), bj_object__license(obj));
	for (size_t i = 0; i < bj_object__prog_count(obj); i++) {
		const struct bj_program *p = bj_object__prog(obj, i);
		size_t n;
		bj_program__insns(p, &n);
		printf("prog %-24s section %-12s type %-14s %zu insns\n", bj_program__name(p), bj_program__section(p),
		       prog_type_name(bj_program__type(p)), n);
	}
	for (size_t i = 0; i < bj_object__map_count(obj); i++) {
		const struct bj_map_spec *m = bj_object__map(obj, i);
		printf("map  %-24s %-6s type %u key %u value %u max_entries %u flags %#x\n", bj_map_spec__name(m),
		       origin_name(bj_map_spec__origin(m)), bj_map_spec__type(m), bj_map_spec__key_size(m),
		       bj_map_spec__value_size(m), bj_map_spec__max_entries(m), bj_map_spec__flags(m));
	}
	bj_object__close(obj);
	return 0;
}

/* Parses `OBJ.o [--prog NAME]`. */
static int obj_args(int argc, char **argv, const char **path, const char **prog)
{
	*path = NULL;
	*prog = NULL;
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--prog") && i + 1 < argc)
			*prog = argv[++i];
		else if (argv[i][0] != '-' && !*path)
			*path = argv[i];
		else
			return cli_fail("object", argv[i], "unexpected argument");
	}
	return *path ? 0 : cli_fail("object", "arguments", "missing OBJ.o");
}

int cmd_object(int argc, char **argv)
{
	const char *path, *prog;

	if (argc >= 3 && !strcmp(argv[1], "show"))
		return obj_args(argc - 2, argv + 2, &path, &prog) ?: show(path);
	if (argc >= 4 && !strcmp(argv[1], "dump") && !strcmp(argv[2], "xlated"))
		return obj_args(argc - 3, argv + 3, &path, &prog) ?: cli_dump_xlated(path, prog);
	return cli_fail("object", argc > 1 ? argv[1] : "(none)", "usage: bpfjet %s", CLI_OBJECT_USAGE);
}
