/* SPDX-License-Identifier: Apache-2.0 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpfjet/helpers.h>
#include <bpfjet/verifier.h>
#include <bpfjet/xdp.h>

#include "interp/interp.h"
#include "jit/jit.h"
#include "isa/isa.h"
#include "helpers/helpers_int.h"
#include "maps/map_internal.h"
#include "maps/epoch.h"
#include "prog/prog_int.h"

struct bj_prog {
	struct bj_insn *insns;
	size_t n;
	enum bj_prog_type type;
	enum bj_engine engine;
	bool checked;
	/* BJ_PROG_TYPE_MEM programs verified for a buffer of this size: smaller data is refused. */
	uint32_t mem_size;
	uint64_t budget;
	bool blind;
	void *user;
	struct bj_interp *interp;
	struct bj_jit_code *jit;
	bj_jit_entry jit_entry;
	/* The map table of the pseudo ld_imm64 forms, one reference held on each; helpers of checked runs
	 * accept these maps only. */
	struct bj_map **maps;
	size_t n_maps;
	/* The maps whose value the program addresses directly (global data): checked runs' regions. */
	const struct bj_map **direct;
	size_t n_direct;
	bj_trace_fn trace;
	void *trace_ctx;
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

static bool is_map_ref(const struct bj_insn *in)
{
	return in->code == BJ_LDDW && (in->src == BPF_PSEUDO_MAP_FD || in->src == BPF_PSEUDO_MAP_VALUE ||
				       in->src == BPF_PSEUDO_MAP_IDX || in->src == BPF_PSEUDO_MAP_IDX_VALUE);
}

static bool is_value_ref(const struct bj_insn *in)
{
	return in->src == BPF_PSEUDO_MAP_VALUE || in->src == BPF_PSEUDO_MAP_IDX_VALUE;
}

/* Takes a reference on every map of the table, so they live as long as the program. */
static int take_maps(struct bj_prog *prog, struct bj_map *const *maps, size_t n, struct bj_error *err)
{
	if (!n)
		return 0;
	if (!maps)
		return bj_fail(err, EINVAL, -1, -1, "bj_prog_opts: n_maps is %zu but maps is NULL", n);
	for (size_t i = 0; i < n; i++) {
		if (!maps[i])
			return bj_fail(err, EINVAL, -1, -1, "bj_prog_opts: map %zu of the table is NULL", i);
		if (maps[i]->ops->remote)
			return bj_fail(err, EINVAL, -1, -1,
				       "map %zu ('%s') was opened from a pin: programs run only on maps of their own process",
				       i, maps[i]->name);
	}
	prog->maps = calloc(n, sizeof(*prog->maps));
	if (!prog->maps)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %zu maps", n);
	for (size_t i = 0; i < n; i++) {
		bj_map_get(maps[i]);
		prog->maps[i] = maps[i];
	}
	prog->n_maps = n;
	return 0;
}

/* Direct value access (ld_imm64 MAP_VALUE) exists, as in Linux, only for single-element arrays. */
static int check_value_ref(const struct bj_map *map, size_t idx, uint32_t off, size_t i, struct bj_error *err)
{
	if (map->type != BJ_MAP_TYPE_ARRAY || map->max_entries != 1 || !bj_map_value_base(map))
		return bj_fail(err, EINVAL, (long)i, -1,
			       "insn %zu: direct value access to map %zu ('%s', %s with %u entries): only arrays of one "
			       "entry allow it", i, idx, map->name, bj_map_type__name(map->type) ?: "?", map->max_entries);
	if (off >= map->value_size)
		return bj_fail(err, EINVAL, (long)i, -1, "insn %zu: offset %u is beyond the %u-byte value of map %zu ('%s')",
			       i, off, map->value_size, idx, map->name);
	return 0;
}

static int check_map_refs(const struct bj_prog *prog, const struct bj_insn *insns, size_t n, struct bj_error *err)
{
	for (size_t i = 0; i + 1 < n; i++) {
		const struct bj_insn *in = &insns[i];
		int ret;

		if (!is_map_ref(in)) {
			i += in->code == BJ_LDDW;
			continue;
		}
		if (in->imm < 0 || (size_t)in->imm >= prog->n_maps)
			return bj_fail(err, EINVAL, (long)i, -1, "insn %zu refers to map %d, but the program's table has %zu maps",
				       i, in->imm, prog->n_maps);
		if (!is_value_ref(in) && in[1].imm)
			return bj_fail(err, EINVAL, (long)i, -1, "insn %zu: map reference with non-zero second imm %d", i,
				       in[1].imm);
		if (is_value_ref(in) &&
		    (ret = check_value_ref(prog->maps[in->imm], (size_t)in->imm, (uint32_t)in[1].imm, i, err)))
			return ret;
		i++;
	}
	return 0;
}

static bool is_direct(const struct bj_prog *prog, const struct bj_map *map)
{
	for (size_t i = 0; i < prog->n_direct; i++)
		if (prog->direct[i] == map)
			return true;
	return false;
}

/* After verification, on the copy the engines run: map references become plain 64-bit addresses. */
static int resolve_map_refs(struct bj_prog *prog, struct bj_error *err)
{
	for (size_t i = 0; i + 1 < prog->n; i++) {
		struct bj_insn *in = &prog->insns[i];
		const struct bj_map *map;
		uint64_t addr;

		if (!is_map_ref(in)) {
			i += in->code == BJ_LDDW;
			continue;
		}
		map = prog->maps[in->imm];
		addr = (uint64_t)(uintptr_t)map;
		if (is_value_ref(in)) {
			addr = (uint64_t)(uintptr_t)bj_map_value_base(map) + (uint32_t)in[1].imm;
			if (!is_direct(prog, map)) {
				if (!prog->direct && !(prog->direct = calloc(prog->n_maps, sizeof(*prog->direct))))
					return bj_fail(err, ENOMEM, -1, -1, "out of memory");
				prog->direct[prog->n_direct++] = map;
			}
		}
		in[0].src = 0;
		in[0].imm = (int32_t)(uint32_t)addr;
		in[1].imm = (int32_t)(uint32_t)(addr >> 32);
		i++;
	}
	return 0;
}

static void describe_map(const struct bj_map *m, const struct bj_verifier_map *inner, struct bj_verifier_map *vm)
{
	bool frozen = atomic_load(&m->frozen) && (m->map_flags & BJ_F_RDONLY_PROG);

	*vm = (struct bj_verifier_map){
		.type = m->type,
		.key_size = m->key_size,
		.value_size = m->value_size,
		.max_entries = m->max_entries,
		.flags = m->map_flags,
		.spin_lock_off = m->spin_lock_off,
		.frozen = frozen,
		.frozen_value = frozen && m->type == BJ_MAP_TYPE_ARRAY && m->max_entries == 1 ? bj_map_value_base(m) : NULL,
		.inner = inner,
	};
}

static int verify(const struct bj_prog *prog, const struct bj_insn *insns, size_t n, const struct bj_prog_opts *opts,
		  struct bj_error *err)
{
	/* One allocation: the maps' descriptors, then the inner templates they point at. */
	struct bj_verifier_map *vmaps = calloc(2 * prog->n_maps + 1, sizeof(*vmaps));
	struct bj_verifier_map *inners = vmaps + prog->n_maps;
	int ret;

	if (!vmaps)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %zu map descriptors", prog->n_maps);
	for (size_t i = 0; i < prog->n_maps; i++) {
		const struct bj_map *inner = prog->maps[i]->inner_meta;

		if (inner)
			describe_map(inner, NULL, &inners[i]);
		describe_map(prog->maps[i], inner ? &inners[i] : NULL, &vmaps[i]);
	}
	BJ_OPTS(bj_verifier_opts, vo, .type = prog->type, .attach = BJ_OPTS_GET(opts, attach, BJ_ATTACH_NONE),
		.policy = BJ_OPTS_GET(opts, policy, BJ_VERIFIER_PRIVILEGED), .maps = vmaps, .n_maps = prog->n_maps,
		.mem_size = prog->mem_size, .protos = BJ_OPTS_GET(opts, protos, NULL),
		.n_protos = BJ_OPTS_GET(opts, n_protos, 0), .log_level = BJ_OPTS_GET(opts, log_level, 0),
		.log_buf = BJ_OPTS_GET(opts, log_buf, NULL), .log_size = BJ_OPTS_GET(opts, log_size, 0),
		.line_info = BJ_OPTS_GET(opts, line_info, NULL), .n_line_info = BJ_OPTS_GET(opts, n_line_info, 0));
	ret = bj_verify(insns, n, &vo, NULL, err);
	free(vmaps);
	return ret;
}

/*
 * Verified by default, then run without checks; `unverified` runs checked; `unchecked` is trusted code.
 * A memory program can be verified only when the size of its buffer is known.
 */
static bool wants_verification(struct bj_prog *prog, const struct bj_prog_opts *opts)
{
	if (BJ_OPTS_GET(opts, unchecked, false)) {
		prog->checked = false;
		return false;
	}
	prog->checked = BJ_OPTS_GET(opts, unverified, false) || (prog->type == BJ_PROG_TYPE_MEM && !prog->mem_size);
	return !prog->checked;
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
	if (prog->n_maps) {
		run->maps = prog->maps;
		run->n_maps = prog->n_maps;
	}
	/* A program reached by a tail call brings its own global data. */
	if (prog->checked)
		bj_prog_add_map_regions(prog, run);
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
	prog->mem_size = BJ_OPTS_GET(opts, mem_size, 0);
	prog->budget = BJ_OPTS_GET(opts, insn_budget, 0);
	if (!prog->budget)
		prog->budget = BJ_DEFAULT_INSN_BUDGET;
	prog->user = BJ_OPTS_GET(opts, user, NULL);
	prog->blind = BJ_OPTS_GET(opts, blind, false);
	prog->trace = BJ_OPTS_GET(opts, trace, NULL);
	prog->trace_ctx = BJ_OPTS_GET(opts, trace_ctx, NULL);
	if ((unsigned)prog->type > BJ_PROG_TYPE_SCHED_CLS)
		return bj_fail(err, EINVAL, -1, -1, "unknown program type %d", (int)prog->type);
	if ((ret = take_maps(prog, BJ_OPTS_GET(opts, maps, NULL), BJ_OPTS_GET(opts, n_maps, 0), err)) ||
	    (ret = check_map_refs(prog, insns, n, err)))
		return ret;
	if (wants_verification(prog, opts) && (ret = verify(prog, insns, n, opts, err)))
		return ret;
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
	if ((ret = resolve_map_refs(prog, err)) || (ret = check_runnable_forms(prog->insns, prog->n, err)) ||
	    (ret = check_helper_calls(prog, err)))
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
	for (size_t i = 0; i < prog->n_maps; i++)
		bj_map_put(prog->maps[i]);
	free(prog->maps);
	free(prog->direct);
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

const struct bj_jit_code *bj_prog_jit_code(const struct bj_prog *prog)
{
	return prog->jit;
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
	run_set_prog(prog, run);
}

static bool has_region(const struct bj_run *run, const void *start)
{
	for (unsigned i = 0; i < run->n_regions; i++)
		if (run->regions[i].start == (uintptr_t)start)
			return true;
	return false;
}

void bj_prog_add_map_regions(const struct bj_prog *prog, struct bj_run *run)
{
	for (size_t i = 0; i < prog->n_direct; i++) {
		const struct bj_map *m = prog->direct[i];

		if (!has_region(run, bj_map_value_base(m)))
			bj_run_add_region(run, bj_map_value_base(m), m->value_size, !(m->map_flags & BJ_F_RDONLY_PROG));
	}
}

static int check_mem_size(const struct bj_prog *prog, size_t size, struct bj_error *err)
{
	if (size < prog->mem_size)
		return bj_fail(err, EINVAL, -1, -1, "%zu bytes of data, but the program was verified for at least %u", size,
			       prog->mem_size);
	return 0;
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
	if ((ret = check_mem_size(prog, size, err)))
		return ret;
	if (size && !(buf = malloc(size)))
		return bj_fail(err, ENOMEM, -1, -1, "out of memory for %u bytes of data", size);

	/* The clock covers the fresh copy of the input too: reading it per run would cost more than small programs. */
	t0 = bj_clock_ns(CLOCK_MONOTONIC);
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
	opts->duration_ns = (bj_clock_ns(CLOCK_MONOTONIC) - t0) / (done ? done : 1);
	opts->retval = r0;
	ret = run.fault ? run_fault(&run, err) : copy_data_out(opts, buf, size, err);
	free(buf);
	return ret;
}

int bj_prog__exec(struct bj_prog *prog, void *mem, size_t len, uint64_t *r0, struct bj_error *err)
{
	struct bj_run run;
	uint64_t ret;
	int err_ret;

	if (!prog || (!mem && len))
		return bj_fail(err, EINVAL, -1, -1, "bj_prog__exec: missing program or memory");
	if ((err_ret = check_mem_size(prog, len, err)))
		return err_ret;
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
