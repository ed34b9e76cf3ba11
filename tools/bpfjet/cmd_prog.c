/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet prog load|dump|run (../shared/spec/cli.md). ELF objects are loaded as libbpf would (maps created,
 * programs verified); `run` also takes raw instruction files (.bin) whose r1 is the data and r2 its length.
 */
#include <bpfjet/object.h>
#include <bpfjet/prog.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "jit/jit.h"
#include "prog/prog_int.h"

struct prog_args {
	const char *verb;
	const char *file;
	const char *prog;
	const char *data_in;
	const char *data_out;
	const char *ctx_in;
	enum bj_engine engine;
	uint32_t repeat;
	uint32_t log_level;
	bool json;
	bool unchecked;
};

#define PROG_USAGE                                                                                         \
	"prog load OBJ.o [--prog NAME] [--log-level 0-2] [--json] | prog dump xlated|jited OBJ.o [--prog NAME] | " \
	"prog run OBJ.o|FILE.bin [--prog NAME] [--engine interp|jit] [--data-in F] [--data-out F] [--ctx-in F] "   \
	"[--repeat N] [--json] [--unchecked]"

static int parse_u32(const char *verb, const char *opt, const char *s, uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v < min || v > max)
		return cli_fail(verb, opt, "'%s' is not a number between %u and %u", s, min, max);
	*out = (uint32_t)v;
	return 0;
}

static int parse_option(struct prog_args *a, const char *opt, const char *val)
{
	if (!strcmp(opt, "--prog"))
		a->prog = val;
	else if (!strcmp(opt, "--data-in"))
		a->data_in = val;
	else if (!strcmp(opt, "--data-out"))
		a->data_out = val;
	else if (!strcmp(opt, "--ctx-in"))
		a->ctx_in = val;
	else if (!strcmp(opt, "--repeat"))
		return parse_u32(a->verb, opt, val, 1, UINT32_MAX, &a->repeat);
	else if (!strcmp(opt, "--log-level"))
		return parse_u32(a->verb, opt, val, 0, 2, &a->log_level);
	else if (!strcmp(opt, "--engine") && !strcmp(val, "interp"))
		a->engine = BJ_ENGINE_INTERP;
	else if (!strcmp(opt, "--engine") && !strcmp(val, "jit"))
		a->engine = BJ_ENGINE_JIT;
	else if (!strcmp(opt, "--engine"))
		return cli_fail(a->verb, opt, "unknown engine '%s' (interp or jit)", val);
	else
		return cli_fail(a->verb, opt, "unknown option (usage: bpfjet %s)", PROG_USAGE);
	return 0;
}

/* argv[0] is the verb's last word. */
static int parse_args(int argc, char **argv, struct prog_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (!strcmp(opt, "--json"))
			a->json = true;
		else if (!strcmp(opt, "--unchecked"))
			a->unchecked = true;
		else if (opt[0] == '-' && opt[1] == '-') {
			if (i + 1 >= argc)
				return cli_fail(a->verb, opt, "needs a value (usage: bpfjet %s)", PROG_USAGE);
			if (parse_option(a, opt, argv[++i]))
				return 1;
		} else if (!a->file) {
			a->file = opt;
		} else {
			return cli_fail(a->verb, opt, "unexpected argument (usage: bpfjet %s)", PROG_USAGE);
		}
	}
	if (!a->file)
		return cli_fail(a->verb, "arguments", "missing program file (usage: bpfjet %s)", PROG_USAGE);
	return 0;
}

static const char *type_name(enum bj_prog_type t)
{
	switch (t) {
	case BJ_PROG_TYPE_MEM: return "mem";
	case BJ_PROG_TYPE_XDP: return "xdp";
	case BJ_PROG_TYPE_SOCKET_FILTER: return "socket_filter";
	case BJ_PROG_TYPE_SCHED_CLS: return "sched_cls";
	}
	return "?";
}

/* ---- loading an object ---- */

static int load_object(const struct prog_args *a, uint32_t mem_size, struct bj_object **out)
{
	struct bj_error err = { .insn = -1, .offset = -1 };
	struct bj_object *obj;

	if (bj_object__open_file(a->file, NULL, &obj, &err))
		return cli_fail(a->verb, a->file, "%s", err.msg);
	/* With a log callback, a rejection at level 0 still shows the verifier's path to the error. */
	BJ_OPTS(bj_object_load_opts, lo, .engine = a->engine, .log_level = a->log_level, .log = cli_log_line,
		.prog_name = a->prog, .unchecked = a->unchecked, .mem_size = mem_size);
	if (bj_object__load(obj, &lo, &err)) {
		bj_object__close(obj);
		return cli_fail(a->verb, a->file, "%s", err.msg);
	}
	*out = obj;
	return 0;
}

/* The named program, or the object's first. */
static const struct bj_program *pick_prog(const struct prog_args *a, const struct bj_object *obj)
{
	const struct bj_program *p = a->prog ? bj_object__find_prog(obj, a->prog) : bj_object__prog(obj, 0);

	if (!p)
		cli_fail(a->verb, a->file, a->prog ? "no program named '%s'" : "the object has no programs%s",
			 a->prog ? a->prog : "");
	return p;
}

static int prog_load(int argc, char **argv)
{
	struct prog_args a = { .verb = "prog load" };
	struct bj_object *obj;
	size_t shown = 0;

	if (parse_args(argc, argv, &a))
		return 1;
	if (load_object(&a, 0, &obj))
		return 1;
	if (a.json)
		printf("{\"programs\":[");
	for (size_t i = 0; i < bj_object__prog_count(obj); i++) {
		const struct bj_program *p = bj_object__prog(obj, i);
		size_t n;

		if (!bj_program__prog(p))
			continue;
		bj_program__insns(p, &n);
		if (a.json)
			printf("%s{\"name\":\"%s\",\"section\":\"%s\",\"type\":\"%s\",\"insns\":%zu,\"checked\":%s}",
			       shown ? "," : "", bj_program__name(p), bj_program__section(p), type_name(bj_program__type(p)),
			       n, bj_prog_checked(bj_program__prog(p)) ? "true" : "false");
		else
			printf("%s: section %s, type %s, %zu insns, %s\n", bj_program__name(p), bj_program__section(p),
			       type_name(bj_program__type(p)), n,
			       bj_prog_checked(bj_program__prog(p)) ? "runs checked" : a.unchecked ? "trusted" : "verified");
		shown++;
	}
	if (a.json)
		printf("],\"maps\":%zu}\n", bj_object__map_count(obj));
	bj_object__close(obj);
	return 0;
}

/* ---- dump ---- */

static int dump_jited(const struct prog_args *a)
{
	struct bj_object *obj;
	int status = 0;

	if (load_object(a, 0, &obj))
		return 1;
	for (size_t i = 0; i < bj_object__prog_count(obj) && !status; i++) {
		const struct bj_program *p = bj_object__prog(obj, i);
		struct bj_prog *prog = bj_program__prog(p);
		size_t n;

		if (!prog)
			continue;
		const struct bj_insn *insns = bj_prog__insns(prog, &n);
		printf("%s: section %s, type %s, %zu insns\n", bj_program__name(p), bj_program__section(p),
		       type_name(bj_program__type(p)), n);
		int ret = bj_jit_code_dump(bj_prog_jit_code(prog), insns, stdout);
		if (ret == -EOPNOTSUPP)
			status = cli_fail(a->verb, a->file, "built without capstone: no machine code listing");
		else if (ret)
			status = cli_fail(a->verb, bj_program__name(p), "capstone could not decode part of the image");
	}
	bj_object__close(obj);
	return status;
}

/* argv[0] is "dump". */
static int prog_dump(int argc, char **argv)
{
	struct prog_args a = { .verb = "prog dump", .engine = BJ_ENGINE_JIT };

	if (argc < 2 || (strcmp(argv[1], "xlated") && strcmp(argv[1], "jited")))
		return cli_fail("prog dump", argc < 2 ? "arguments" : argv[1], "xlated or jited expected (usage: bpfjet %s)",
				PROG_USAGE);
	if (parse_args(argc - 1, argv + 1, &a))
		return 1;
	if (a.data_in || a.data_out || a.ctx_in || a.json)
		return cli_fail("prog dump", a.file, "only --prog NAME applies to dumps");
	if (!strcmp(argv[1], "xlated"))
		return cli_dump_xlated(a.file, a.prog);
	a.verb = "prog dump jited";
	return dump_jited(&a);
}

/* ---- run ---- */

struct run_result {
	uint64_t retval;
	uint64_t duration_ns;
	uint8_t *out;
	uint32_t out_len;
};

static void print_result(const struct prog_args *a, const struct run_result *r)
{
	if (a->json) {
		printf("{\"retval\":%" PRIu64 ",\"duration_ns\":%" PRIu64 ",\"data_size_out\":%u}\n", r->retval,
		       r->duration_ns, r->out_len);
		return;
	}
	printf("retval: %" PRIu64 " (0x%" PRIx64 ")\nduration_ns: %" PRIu64 "\n", r->retval, r->retval, r->duration_ns);
	if (a->data_out)
		printf("data_size_out: %u\n", r->out_len);
}

static int finish_run(const struct prog_args *a, struct run_result *r)
{
	int ret;

	if (a->data_out && (ret = cli_write_file(a->data_out, r->out, r->out_len)))
		return cli_fail(a->verb, a->data_out, "%s", strerror(-ret));
	print_result(a, r);
	return 0;
}

/* A memory program: r1 = a copy of the data, r2 = its length. */
static int run_mem(const struct prog_args *a, struct bj_prog *prog, const char *name, const uint8_t *data,
		   size_t len, struct run_result *r)
{
	struct bj_error err = { .insn = -1, .offset = -1 };

	if (!(r->out = malloc(len ? len : 1)))
		return cli_fail(a->verb, a->file, "out of memory");
	BJ_OPTS(bj_run_opts, ro, .data_in = data, .data_size_in = (uint32_t)len, .data_out = r->out,
		.data_size_out = (uint32_t)len, .repeat = a->repeat);
	if (bj_prog__run(prog, &ro, &err))
		return cli_fail(a->verb, name, "%s", err.msg);
	r->retval = ro.retval;
	r->duration_ns = ro.duration_ns;
	r->out_len = ro.data_size_out;
	return 0;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/*
 * As BPF_PROG_TEST_RUN for XDP: the data is one frame (after `data` bytes of metadata when ctx_in is a
 * struct xdp_md), ingress_ifindex 1 unless the context says otherwise; the output runs from data_meta.
 */
static int place_frame(const struct prog_args *a, struct bj_frame *f, const uint8_t *data, size_t len,
		       const struct bj_xdp_md *md)
{
	uint32_t meta = md ? md->data : 0;

	if (md && (md->data_meta || md->egress_ifindex || (md->data_end && md->data_end != len) || meta > len ||
		   meta > BJ_XDP_META_MAX || meta % 4))
		return cli_fail(a->verb, a->ctx_in, "struct xdp_md: data_meta and egress_ifindex must be 0, data_end the "
			       "data size and data (the metadata length) a multiple of 4 up to %u", BJ_XDP_META_MAX);
	if (len < BJ_XDP_ETH_HLEN)
		return cli_fail(a->verb, a->data_in ? a->data_in : "--data-in",
				"%zu bytes of data: an XDP test run needs at least an Ethernet header (%u), as in Linux", len,
				BJ_XDP_ETH_HLEN);
	if (len > BJ_IO_MAX_LINEAR(BJ_IO_FRAME_SIZE))
		return cli_fail(a->verb, a->data_in, "%zu bytes do not fit in one frame (at most %u)", len,
				BJ_IO_MAX_LINEAR(BJ_IO_FRAME_SIZE));
	f->data_meta = BJ_IO_HEADROOM;
	f->data = BJ_IO_HEADROOM + meta;
	f->data_end = BJ_IO_HEADROOM + (uint32_t)len;
	f->ingress_ifindex = md ? md->ingress_ifindex : 1;
	f->rx_queue_index = md ? md->rx_queue_index : 0;
	memcpy(f->buf + f->data_meta, data, len);
	return 0;
}

static int run_xdp_frames(const struct prog_args *a, struct bj_xdp *x, struct bj_batch *b, const uint8_t *data,
			  size_t len, const struct bj_xdp_md *md, struct run_result *r)
{
	struct bj_error err = { .insn = -1, .offset = -1 };
	struct bj_frame *f = &b->frames[0];
	uint64_t t0 = now_ns();

	for (uint32_t i = 0; i < a->repeat; i++) {
		if (place_frame(a, f, data, len, md))
			return 1;
		b->n = 1;
		if (bj_xdp__run_batch(x, 0, b, &err))
			return cli_fail(a->verb, a->file, "%s", err.msg);
	}
	r->duration_ns = (now_ns() - t0) / a->repeat;
	r->retval = f->action;
	r->out_len = f->data_end - f->data_meta;
	if (!(r->out = malloc(r->out_len ? r->out_len : 1)))
		return cli_fail(a->verb, a->file, "out of memory");
	memcpy(r->out, f->buf + f->data_meta, r->out_len);
	b->n = 0;
	return 0;
}

static int run_xdp(const struct prog_args *a, struct bj_prog *prog, const uint8_t *data, size_t len,
		   const uint8_t *ctx, size_t ctx_len, struct run_result *r)
{
	struct bj_error err = { .insn = -1, .offset = -1 };
	struct bj_xdp_md md;
	struct bj_batch *b;
	struct bj_xdp *x;
	int status;

	if (ctx && ctx_len != sizeof(md))
		return cli_fail(a->verb, a->ctx_in, "%zu bytes is not a struct xdp_md (%zu bytes)", ctx_len, sizeof(md));
	if (ctx)
		memcpy(&md, ctx, sizeof(md));
	BJ_OPTS(bj_xdp_opts, xo, .exec = BJ_XDP_EXEC_PER_PACKET);
	if (bj_xdp__create(prog, &xo, &x, &err))
		return cli_fail(a->verb, a->file, "%s", err.msg);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	if (bj_batch__create(1, &bo, &b)) {
		bj_xdp__destroy(x);
		return cli_fail(a->verb, a->file, "cannot allocate a frame below 4 GiB");
	}
	status = run_xdp_frames(a, x, b, data, len, ctx ? &md : NULL, r);
	bj_batch__destroy(b);
	bj_xdp__destroy(x);
	return status;
}

static int run_object(const struct prog_args *a, const uint8_t *data, size_t len, const uint8_t *ctx,
		      size_t ctx_len)
{
	struct run_result r = { 0 };
	const struct bj_program *p;
	struct bj_object *obj;
	int status = 1;

	/* Memory programs are verified for the size of the data they get. */
	if (load_object(a, (uint32_t)len, &obj))
		return 1;
	if (!(p = pick_prog(a, obj)))
		goto out;
	switch (bj_program__type(p)) {
	case BJ_PROG_TYPE_MEM:
		if (ctx)
			status = cli_fail(a->verb, a->ctx_in, "memory programs take no context");
		else
			status = run_mem(a, bj_program__prog(p), bj_program__name(p), data, len, &r);
		break;
	case BJ_PROG_TYPE_XDP:
		status = run_xdp(a, bj_program__prog(p), data, len, ctx, ctx_len, &r);
		break;
	default:
		status = cli_fail(a->verb, bj_program__name(p), "programs of type %s need an sk_buff, which bpfjet does "
				  "not run", type_name(bj_program__type(p)));
	}
	if (!status)
		status = finish_run(a, &r);
out:
	free(r.out);
	bj_object__close(obj);
	return status;
}

static int run_raw(const struct prog_args *a, const uint8_t *code, size_t code_len, const uint8_t *data,
		   size_t len)
{
	BJ_OPTS(bj_prog_opts, opts, .name = a->file, .engine = a->engine, .unchecked = a->unchecked);
	struct bj_error err = { .insn = -1, .offset = -1 };
	struct run_result r = { 0 };
	struct bj_prog *prog = NULL;
	int status;

	if (code_len % sizeof(struct bj_insn))
		return cli_fail(a->verb, a->file, "%zu bytes is not a whole number of 8-byte instructions", code_len);
	if (a->prog || a->ctx_in)
		return cli_fail(a->verb, a->file, "--prog and --ctx-in apply to ELF objects only");
	if (bj_prog__create((const struct bj_insn *)code, code_len / sizeof(struct bj_insn), &opts, &prog, &err))
		return cli_fail(a->verb, a->file, "%s", err.msg);
	status = run_mem(a, prog, a->file, data, len, &r);
	if (!status)
		status = finish_run(a, &r);
	free(r.out);
	bj_prog__destroy(prog);
	return status;
}

static int prog_run(int argc, char **argv)
{
	struct prog_args a = { .verb = "prog run", .engine = BJ_ENGINE_INTERP, .repeat = 1 };
	uint8_t *code = NULL, *data = NULL, *ctx = NULL;
	size_t code_len = 0, data_len = 0, ctx_len = 0;
	int status, ret;

	if (parse_args(argc, argv, &a))
		return 1;
	if ((ret = cli_read_file(a.file, &code, &code_len)))
		return cli_fail(a.verb, a.file, "%s", strerror(-ret));
	if (a.data_in && (ret = cli_read_file(a.data_in, &data, &data_len)))
		status = cli_fail(a.verb, a.data_in, "%s", strerror(-ret));
	else if (a.ctx_in && (ret = cli_read_file(a.ctx_in, &ctx, &ctx_len)))
		status = cli_fail(a.verb, a.ctx_in, "%s", strerror(-ret));
	else if (data_len > UINT32_MAX)
		status = cli_fail(a.verb, a.data_in, "input of %zu bytes is too large", data_len);
	else if (code_len >= 4 && !memcmp(code, "\177ELF", 4))
		status = run_object(&a, data, data_len, ctx, ctx_len);
	else
		status = run_raw(&a, code, code_len, data, data_len);
	free(code);
	free(data);
	free(ctx);
	return status;
}

struct prog_verb {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct prog_verb verbs[] = {
	{ "load", prog_load },
	{ "dump", prog_dump },
	{ "run", prog_run },
};

/* argv[0] is "prog". */
int cmd_prog(int argc, char **argv)
{
	if (argc < 2)
		return cli_fail("prog", "VERB", "missing verb (usage: bpfjet %s)", PROG_USAGE);
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (!strcmp(argv[1], verbs[i].name))
			return verbs[i].run(argc - 1, argv + 1);
	return cli_fail("prog", argv[1], "unknown verb (usage: bpfjet %s)", PROG_USAGE);
}
