/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfjet/helpers.h>
#include <bpfjet/xdp.h>

#include "interp/interp.h"
#include "jit/jit.h"
#include "isa/isa.h"
#include "helpers/helpers_int.h"
#include "maps/epoch.h"
#include "prog/prog_int.h"

struct bj_prog {
	struct bj_insn *insns;
	size_t n;
	enum bj_prog_type type;
	enum bj_engine engine;
	bool checked;
	uint64_t budget;
	bool blind;
	void *user;
	struct bj_interp *interp;
	struct bj_jit_code *jit;
	bj_jit_entry jit_entry;
	bj_trace_fn trace;
	void *trace_ctx;
	/* The maps of bj_prog_opts.maps, which helpers in checked runs accept (a copy of the table). */
	struct bj_map **run_maps;
	size_t n_run_maps;
	bj_helper_fn helpers[BJ_HELPER_ID_MAX];
};

/* Forms that another module must turn into plain instructions first, or that no engine runs. */
static int check_runnable_forms(const struct bj_insn *insns, size_t n, struct bj_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct bj_insn *in = &insns[i];

		if (in->code == BJ_LDDW) {
			if (in->src == BPF_PSEUDO_FUNC) {
				long t = (long)i + 1 + in->imm;

				if (t <= 0 || (size_t)t >= n || insns[t - 1].code == BJ_LDDW)
					return bj_fail(err, EINVAL, (long)i, -1,
						       "ld_imm64 func at insn %zu refers to insn %ld, which does not "
						       "start an instruction of the program", i, t);
			} else if (in->src)
				return bj_fail(err, EINVAL, (long)i, -1,
					       "unresolved ld_imm64 pseudo form (src %u) at insn %zu: map and function "
					       "references must be resolved before the program is created",
					       in->src, i);
			i++;
		} else if (in->code == (BPF_JMP | BPF_CALL) && in->src == BPF_PSEUDO_KFUNC_CALL) {
			return bj_fail(err, EOPNOTSUPP, (long)i, -1, "call by BTF id (kfunc %d) at insn %zu is not supported",
				       in->imm, i);
		}
	}
	return 0;
}

static int fill_helpers(struct bj_prog *prog, const struct bj_helper *helpers, size_t n, struct bj_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct bj_helper *h = &helpers[i];

		if (h->id >= BJ_HELPER_ID_MAX)
			return bj_fail(err, EINVAL, -1, -1, "helper %s has id %u, beyond the limit %u",
				       h->name ? h->name : "(unnamed)", h->id, BJ_HELPER_ID_MAX - 1);
		if (!h->fn)
			return bj_fail(err, EINVAL, -1, -1, "helper %u (%s) has no function", h->id,
				       h->name ? h->name : "unnamed");
		prog->helpers[h->id] = h->fn;
	}
	return 0;
}

static int copy_run_maps(struct bj_prog *prog, struct bj_map *const *maps, size_t n, struct bj_error *err)
{
	if (!n)
		return 0;
	if (!maps)
		return bj_fail(err, EINVAL, -1, -1, "bj_prog_opts: n_maps is %zu but maps is NULL", n);
	prog->run_maps = malloc(n * sizeof(*maps));
	if (!prog->run_maps)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %zu maps", n);
	memcpy(prog->run_maps, maps, n * sizeof(*maps));
	prog->n_run_maps = n;
	return 0;
}

/* Linux's helpers for every type, then the type's own; the embedder's may replace them. */
static int fill_builtin_helpers(struct bj_prog *prog, struct bj_error *err)
{
	const struct bj_helper *h;
	size_t n;
	int ret;

	h = bj_helpers(&n);
	ret = fill_helpers(prog, h, n, err);
	if (!ret && prog->type == BJ_PROG_TYPE_XDP) {
		h = bj_xdp_helpers(&n);
		ret = fill_helpers(prog, h, n, err);
	}
	return ret;
}

static int check_helper_calls(const struct bj_prog *prog, struct bj_error *err)
{
	for (size_t i = 0; i < prog->n; i++) {
		const struct bj_insn *in = &prog->insns[i];

		if (in->code == BJ_LDDW) {
			i++;
			continue;
		}
		if (in->code != (BPF_JMP | BPF_CALL) || in->src != 0)
			continue;
		if (in->imm < 0 || in->imm >= (int32_t)BJ_HELPER_ID_MAX || !prog->helpers[in->imm])
			return bj_fail(err, EINVAL, (long)i, -1, "call to unknown helper %d at insn %zu", in->imm, i);
	}
	return 0;
}

/* The one place that knows the engines. */
static int prepare_engine(struct bj_prog *prog, struct bj_error *err)
{
	switch (prog->engine) {
	case BJ_ENGINE_INTERP:
		return bj_interp_create(prog->insns, prog->n, prog->helpers, prog->checked, &prog->interp, err);
	case BJ_ENGINE_JIT: {
		struct bj_jit_opts jo = { .checked = prog->checked, .blind = prog->blind };
		int ret = bj_jit_compile(prog->insns, prog->n, prog->helpers, &jo, &prog->jit, err);

		if (!ret)
			prog->jit_entry = bj_jit_code_entry(prog->jit);
		return ret;
	}
	}
	return bj_fail(err, EINVAL, -1, -1, "unknown engine %d", (int)prog->engine);
}

/*
 * What helpers of a checked run check against. A program with no map table of its own (the XDP runner's
 * batched copy of a program) keeps the maps of the run it joins: they stay alive for the whole run.
 */
static void run_set_prog(const struct bj_prog *prog, struct bj_run *run)
{
	run->checked = prog->checked;
	if (prog->n_run_maps) {
		run->maps = prog->run_maps;
		run->n_maps = prog->n_run_maps;
	}
}

uint64_t bj_prog_invoke(const struct bj_prog *prog, void *r1, uint64_t r2, struct bj_run *run)
{
	for (;;) {
		uint64_t r0;

		run_set_prog(prog, run);
		r0 = prog->jit_entry ? prog->jit_entry(r1, r2, run) : bj_interp_run(prog->interp, r1, r2, run);

		if (BJ_LIKELY(!run->tail_prog) || run->fault) {
			/* Linux's verifier makes programs release records and locks; a stopped run did not. */
			if (BJ_UNLIKELY(run->n_reserved || run->held_lock))
				bj_helpers_run_end(run);
			return r0;
		}
		prog = run->tail_prog;
		run->tail_prog = NULL;
	}
}

static int prog_setup(struct bj_prog *prog, const struct bj_insn *insns, size_t n, const struct bj_prog_opts *opts,
		      struct bj_error *err)
{
	int ret;

	prog->type = BJ_OPTS_GET(opts, type, BJ_PROG_TYPE_MEM);
	prog->engine = BJ_OPTS_GET(opts, engine, BJ_ENGINE_INTERP);
	prog->checked = !BJ_OPTS_GET(opts, unchecked, false);
	prog->budget = BJ_OPTS_GET(opts, insn_budget, 0);
	if (!prog->budget)
		prog->budget = BJ_DEFAULT_INSN_BUDGET;
	prog->user = BJ_OPTS_GET(opts, user, NULL);
	prog->blind = BJ_OPTS_GET(opts, blind, false);
	prog->trace = BJ_OPTS_GET(opts, trace, NULL);
	prog->trace_ctx = BJ_OPTS_GET(opts, trace_ctx, NULL);
	if ((unsigned)prog->type > BJ_PROG_TYPE_SCHED_CLS)
		return bj_fail(err, EINVAL, -1, -1, "unknown program type %d", (int)prog->type);
	ret = copy_run_maps(prog, BJ_OPTS_GET(opts, maps, NULL), BJ_OPTS_GET(opts, n_maps, 0), err);
	if (!ret)
		ret = fill_builtin_helpers(prog, err);
	if (!ret)
		ret = fill_helpers(prog, BJ_OPTS_GET(opts, helpers, NULL), BJ_OPTS_GET(opts, n_helpers, 0), err);
	if (ret)
		return ret;
	prog->insns = malloc(n * sizeof(*insns));
	if (!prog->insns)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %zu instructions", n);
	memcpy(prog->insns, insns, n * sizeof(*insns));
	prog->n = n;
	ret = check_helper_calls(prog, err);
	if (ret)
		return ret;
	return prepare_engine(prog, err);
}

int bj_prog__create(const struct bj_insn *insns, size_t n, const struct bj_prog_opts *opts, struct bj_prog **out,
		    struct bj_error *err)
{
	struct bj_prog *prog;
	int ret;

	if (!out || (!insns && n))
		return bj_fail(err, EINVAL, -1, -1, "bj_prog__create: missing instructions or output pointer");
	if (!BJ_OPTS_VALID(opts, struct bj_prog_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_prog_opts: unknown non-zero fields (size %zu)", opts->sz);
	ret = bj_insns_validate(insns, n, err);
	if (!ret)
		ret = check_runnable_forms(insns, n, err);
	if (ret)
		return ret;
	prog = calloc(1, sizeof(*prog));
	if (!prog)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	ret = prog_setup(prog, insns, n, opts, err);
	if (ret) {
		bj_prog__destroy(prog);
		return ret;
	}
	*out = prog;
	return 0;
}

void bj_prog__destroy(struct bj_prog *prog)
{
	if (!prog)
		return;
	bj_interp_free(prog->interp);
	bj_jit_code_free(prog->jit);
	free(prog->run_maps);
	free(prog->insns);
	free(prog);
}

const struct bj_insn *bj_prog__insns(const struct bj_prog *prog, size_t *n)
{
	if (n)
		*n = prog->n;
	return prog->insns;
}

enum bj_engine bj_prog__engine(const struct bj_prog *prog)
{
	return prog->engine;
}

bj_helper_fn const *bj_prog_helpers(const struct bj_prog *prog)
{
	return prog->helpers;
}

bool bj_prog_checked(const struct bj_prog *prog)
{
	return prog->checked;
}

void *bj_prog_jit_entry(const struct bj_prog *prog)
{
	return (void *)prog->jit_entry;
}

void bj_prog_run_init(const struct bj_prog *prog, struct bj_run *run)
{
	memset(run, 0, sizeof(*run));
	run->budget = prog->budget;
	run->user = prog->user;
	run->trace = prog->trace;
	run->trace_ctx = prog->trace_ctx;
	run->maps = prog->run_maps;
	run->n_maps = prog->n_run_maps;
	run_set_prog(prog, run);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int run_fault(const struct bj_run *run, struct bj_error *err)
{
	return bj_fail(err, -run->fault, run->fault_insn, -1, "%s", run->fault_msg);
}

static int copy_data_out(struct bj_run_opts *opts, const void *data, uint32_t size, struct bj_error *err)
{
	uint32_t cap = opts->data_size_out;

	opts->data_size_out = size;
	if (!opts->data_out)
		return 0;
	memcpy(opts->data_out, data, cap < size ? cap : size);
	if (cap < size)
		return bj_fail(err, ENOSPC, -1, -1, "data_out holds %u bytes, the program left %u", cap, size);
	return 0;
}

int bj_prog__run(struct bj_prog *prog, struct bj_run_opts *opts, struct bj_error *err)
{
	uint32_t size, repeat, done;
	struct bj_run run;
	uint64_t r0 = 0, t0;
	uint8_t *buf = NULL;
	int ret;

	if (!prog || !opts)
		return bj_fail(err, EINVAL, -1, -1, "bj_prog__run: missing program or options");
	if (!BJ_OPTS_VALID(opts, struct bj_run_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_run_opts: unknown non-zero fields (size %zu)", opts->sz);
	size = opts->data_in ? opts->data_size_in : 0;
	repeat = opts->repeat ? opts->repeat : 1;
	if (size && !(buf = malloc(size)))
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %u bytes of data", size);

	/* The clock covers the fresh copy of the input too: reading it per run would cost more than small programs. */
	t0 = now_ns();
	bj_epoch_enter();
	for (done = 0; done < repeat; done++) {
		if (size)
			memcpy(buf, opts->data_in, size);
		bj_prog_run_init(prog, &run);
		if (size)
			bj_run_add_region(&run, buf, size, true);
		r0 = bj_prog_invoke(prog, buf, size, &run);
		if (run.fault)
			break;
	}
	bj_epoch_exit();
	opts->duration_ns = (now_ns() - t0) / (done ? done : 1);
	opts->retval = r0;
	ret = run.fault ? run_fault(&run, err) : copy_data_out(opts, buf, size, err);
	free(buf);
	return ret;
}

int bj_prog__exec(struct bj_prog *prog, void *mem, size_t len, uint64_t *r0, struct bj_error *err)
{
	struct bj_run run;
	uint64_t ret;

	if (!prog || (!mem && len))
		return bj_fail(err, EINVAL, -1, -1, "bj_prog__exec: missing program or memory");
	bj_prog_run_init(prog, &run);
	if (len)
		bj_run_add_region(&run, mem, len, true);
	bj_epoch_enter();
	ret = bj_prog_invoke(prog, mem, len, &run);
	bj_epoch_exit();
	if (run.fault)
		return run_fault(&run, err);
	if (r0)
		*r0 = ret;
	return 0;
}
