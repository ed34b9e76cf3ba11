/* SPDX-License-Identifier: Apache-2.0 */
/* The XDP runner: contexts, per-packet and batched execution, delivery by verdict, worker threads. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <x86intrin.h>
#endif

#include <bpfjet/dispatcher.h>

#include "common/lowmem.h"
#include "isa/isa.h"
#include "maps/epoch.h"
#include "prog/prog_int.h"
#include "xdp/xdp_int.h"

/* The static call of the common one-program case; a second runner uses the dispatcher or a plain call. */
BJ_DEFINE_XDP_CALL(bj_xdp_rx);

enum call_kind { CALL_INVOKE, CALL_STATIC, CALL_DISPATCHER, CALL_DIRECT };
/* What the program reads of its context, so what each frame's xdp_md needs. */
enum { FILL_NONE, FILL_DATA, FILL_ALL };

/* One batch's counts, kept in plain integers and published to the worker's atomics once per batch.
 * actions[BJ_XDP_N_ACTIONS] counts the values outside enum xdp_action, so that counting needs no branch. */
struct counts {
	uint64_t packets, batches, actions[BJ_XDP_N_ACTIONS + 1], faults, busy_ticks;
};


struct bj_xdp {
	struct bj_prog *prog;
	enum bj_xdp_exec exec;
	const char *fallback;
	char fallback_msg[sizeof(((struct bj_error *)0)->msg)];
	uint32_t batch_size;
	unsigned n_workers;
	bool checked;
	bool redirects;            /* the program uses bpf_redirect*(): targets are tracked per frame */
	int fill;                  /* the xdp_md fields filled per frame: FILL_NONE, FILL_DATA or FILL_ALL */
	bool may_fault;            /* a batched run may stop early: slots are marked to find the frame */
	uint64_t budget;
	enum call_kind call;
	bj_prog_fn entry;          /* JIT entry of prog */
	struct bj_dispatcher *dispatcher;
	struct bj_prog *rewritten; /* REWRITE */
	struct bj_xdp_loop *loop;  /* NATIVE_LOOP */
	bj_xdp_redirect_fn redirect;
	void *redirect_ctx;
	bool pass_to_tx;
	_Atomic bool stop;
	uint64_t t0_ns, t0_ticks;  /* at creation: the scale from busy ticks to ns */
	struct bj_xdp_loop_opts loop_opts;
	struct bj_xdp_worker *workers;
};

const char *bj_xdp_action__name(uint32_t action)
{
	static const char *const names[] = { "XDP_ABORTED", "XDP_DROP", "XDP_PASS", "XDP_TX", "XDP_REDIRECT" };

	return action < BJ_XDP_N_ACTIONS ? names[action] : "unknown";
}

/*
 * Busy time is counted in the time stamp counter where there is one: two clock_gettime calls per batch took
 * about 140 ns on the development VM, up to 2 ns a packet, as much as a batched drop program.
 * bj_xdp__stats scales ticks to ns by the clock's progress since the runner was created.
 */
static inline uint64_t ticks(void)
{
#if defined(__x86_64__)
	return __rdtsc();
#else
	return bj_clock_ns(CLOCK_MONOTONIC);
#endif
}

static uint64_t ticks_to_ns(const struct bj_xdp *x, uint64_t t)
{
#if defined(__x86_64__)
	uint64_t dn = bj_clock_ns(CLOCK_MONOTONIC) - x->t0_ns, dt = ticks() - x->t0_ticks;

	return dt ? (uint64_t)((double)t * ((double)dn / (double)dt)) : 0;
#else
	(void)x;
	return t;
#endif
}

static int worker_init(struct bj_xdp *x, struct bj_xdp_worker *w, unsigned index)
{
	size_t cap = x->batch_size;

	w->x = x;
	w->index = index;
	w->cap = x->batch_size;
	w->slots_len = (cap + 1) * sizeof(struct bj_xdp_slot);
	w->slots = bj_lowmem_alloc(w->slots_len);
	w->targets = calloc(cap, sizeof(*w->targets));
	w->out = calloc(2 * cap, sizeof(*w->out));
	w->all = calloc(cap, sizeof(*w->all));
	if (!w->slots || !w->targets || !w->out || !w->all)
		return -ENOMEM;
	/* The loop's prefetch of "the next frame" reads one slot past the batch: point it somewhere harmless. */
	for (size_t i = 0; i <= cap; i++)
		w->slots[i].md.data = (uint32_t)(uintptr_t)&w->slots[i];
	bj_prog_run_init(x->prog, &w->run);
	x->budget = w->run.budget;
	w->run.worker = index;
	w->run.env = w;
	return 0;
}

static void worker_fini(struct bj_xdp_worker *w)
{
	bj_lowmem_free(w->slots, w->slots_len);
	free(w->targets);
	free(w->out);
	free(w->all);
}

/* Which of bpf_redirect and bpf_redirect_map in the program's table are the runtime's (BJ_XDP_SUBST_*). */
static unsigned own_redirects(bj_helper_fn const *table)
{
	const struct bj_helper *h;
	unsigned subst = 0;
	size_t n;

	h = bj_xdp_helpers(&n);
	for (size_t i = 0; i < n; i++) {
		if (h[i].id == BJ_XDP_FN_REDIRECT && table[h[i].id] == h[i].fn)
			subst |= BJ_XDP_SUBST_REDIRECT;
		if (h[i].id == BJ_XDP_FN_REDIRECT_MAP && table[h[i].id] == h[i].fn)
			subst |= BJ_XDP_SUBST_REDIRECT_MAP;
	}
	return subst;
}

/*
 * The original's helpers (built-in and the embedder's) plus the rewrite's bpf_redirect*() variants. The
 * rewritten program comes from an accepted one: it runs unchecked when the original does, else checked, and
 * never goes through the verifier (its loop and its helpers are the runtime's own).
 */
static int create_rewritten(struct bj_xdp *x, struct bj_error *err)
{
	bj_helper_fn const *table = bj_prog_helpers(x->prog);
	struct bj_helper *helpers = calloc(BJ_HELPER_ID_MAX, sizeof(*helpers));
	const struct bj_insn *insns;
	struct bj_insn *rw = NULL;
	struct bj_run probe;
	size_t n, rw_n, nh = 0;
	int ret;

	if (!helpers)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	for (uint32_t id = 0; id < BJ_HELPER_ID_MAX; id++)
		if (table[id])
			helpers[nh++] = (struct bj_helper){ id, "helper", table[id] };
	helpers[nh++] = (struct bj_helper){ BJ_XDP_FN_REDIRECT_AT, "bpf_redirect",
					    x->checked ? bj_xdp_redirect_at : bj_xdp_redirect_at_trusted };
	helpers[nh++] = (struct bj_helper){ BJ_XDP_FN_REDIRECT_MAP_AT, "bpf_redirect_map",
					    x->checked ? bj_xdp_redirect_map_at : bj_xdp_redirect_map_at_trusted };
	insns = bj_prog__insns(x->prog, &n);
	ret = bj_xdp_rewrite(insns, n, own_redirects(table), &rw, &rw_n, err);
	if (!ret) {
		bj_prog_run_init(x->prog, &probe);
		BJ_OPTS(bj_prog_opts, po, .name = "xdp_batch", .type = BJ_PROG_TYPE_XDP,
			.engine = bj_prog__engine(x->prog), .helpers = helpers, .n_helpers = nh,
			.unchecked = !x->checked, .unverified = x->checked, .insn_budget = probe.budget,
			.user = probe.user);
		ret = bj_prog__create(rw, rw_n, &po, &x->rewritten, err);
	}
	free(rw);
	free(helpers);
	return ret;
}

/*
 * Whether an unchecked run can stop early: only helpers (and the calls and legacy loads behind them) fault.
 * The runtime's bpf_redirect (`own_redirect`) stops a run only outside a runner.
 */
static bool may_stop(const struct bj_insn *insns, size_t n, bool own_redirect)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t cls = BJ_CLASS(insns[i].code);
		bool redirect = own_redirect && insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src == 0 &&
				insns[i].imm == BJ_XDP_FN_REDIRECT;

		if ((insns[i].code == (BPF_JMP | BPF_CALL) && !redirect) || insns[i].code == BJ_CALLX ||
		    (cls == BPF_LD && !bj_insn_is_lddw(&insns[i])))
			return true;
		if (bj_insn_is_lddw(&insns[i]))
			i++;
	}
	return false;
}

/* Resolves AUTO and prepares the batched form; AUTO falls back to per-packet calls with the reason kept. */
static int choose_exec(struct bj_xdp *x, enum bj_xdp_exec want, struct bj_error *err)
{
	bool jit = bj_prog__engine(x->prog) == BJ_ENGINE_JIT;
	const struct bj_insn *insns;
	struct bj_error why = { 0 };
	size_t n;
	int ret;

	insns = bj_prog__insns(x->prog, &n);
	/* The JIT-compiled rewrite beat the native loop in bench_xdp on most programs: it is the "JIT loop". */
	if (want == BJ_XDP_EXEC_AUTO)
		want = BJ_XDP_EXEC_REWRITE;
	x->exec = want;
	if (want == BJ_XDP_EXEC_PER_PACKET)
		return 0;
	if (want == BJ_XDP_EXEC_NATIVE_LOOP) {
		if (!jit)
			ret = bj_fail(&why, EINVAL, -1, -1, "xdp: the native loop needs a JIT-compiled program");
		else if (bj_xdp_calls_helper(insns, n, 12))
			ret = bj_fail(&why, EOPNOTSUPP, -1, -1, "xdp: the program tail calls: one call per frame");
		else
			ret = bj_xdp_loop_build((void *)x->entry, x->redirects, &x->loop, &why);
	} else {
		ret = create_rewritten(x, &why);
	}
	if (!ret)
		return 0;
	memcpy(x->fallback_msg, why.msg, sizeof(why.msg));
	x->fallback = x->fallback_msg;
	x->exec = BJ_XDP_EXEC_PER_PACKET;
	if (err)
		*err = why;
	return ret;
}

static int choose_call(struct bj_xdp *x, struct bj_dispatcher *d)
{
	const struct bj_insn *insns;
	size_t n;

	insns = bj_prog__insns(x->prog, &n);
	x->entry = (bj_prog_fn)bj_prog_jit_entry(x->prog);
	/* bj_prog_invoke follows tail calls; the native entry alone does not. */
	if (!x->entry || bj_xdp_calls_helper(insns, n, 12)) {
		x->call = CALL_INVOKE;
		return 0;
	}
	if (d) {
		int ret = bj_dispatcher__attach(d, x->entry);

		if (ret)
			return ret;
		x->dispatcher = d;
		x->call = CALL_DISPATCHER;
	} else {
		x->call = BJ_XDP_CALL_UPDATE(bj_xdp_rx, NULL, x->entry) ? CALL_DIRECT : CALL_STATIC;
	}
	return 0;
}

int bj_xdp__create(struct bj_prog *prog, const struct bj_xdp_opts *opts, struct bj_xdp **out, struct bj_error *err)
{
	enum bj_xdp_exec want = BJ_OPTS_GET(opts, exec, BJ_XDP_EXEC_AUTO);
	struct bj_xdp *x;
	int ret;

	if (!prog || !out)
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp__create: missing program or output pointer");
	if (!BJ_OPTS_VALID(opts, struct bj_xdp_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp_opts: unknown non-zero fields (size %zu)", opts->sz);
	if ((unsigned)want > BJ_XDP_EXEC_NATIVE_LOOP)
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp_opts: unknown execution mode %d", (int)want);
	x = calloc(1, sizeof(*x));
	if (!x)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	x->prog = prog;
	x->t0_ns = bj_clock_ns(CLOCK_MONOTONIC);
	x->t0_ticks = ticks();
	x->batch_size = BJ_OPTS_GET(opts, batch_size, 0) ? BJ_OPTS_GET(opts, batch_size, 0) : BJ_IO_BATCH_SIZE;
	x->n_workers = BJ_OPTS_GET(opts, n_workers, 0) ? BJ_OPTS_GET(opts, n_workers, 0) : 1;
	x->redirect = BJ_OPTS_GET(opts, redirect, NULL);
	x->redirect_ctx = BJ_OPTS_GET(opts, redirect_ctx, NULL);
	x->pass_to_tx = BJ_OPTS_GET(opts, pass_to_tx, false);
	x->checked = bj_prog_checked(prog);
	{
		const struct bj_insn *insns;
		uint32_t fields;
		size_t n;

		insns = bj_prog__insns(prog, &n);
		x->redirects = bj_xdp_calls_helper(insns, n, BJ_XDP_FN_REDIRECT) ||
			       bj_xdp_calls_helper(insns, n, BJ_XDP_FN_REDIRECT_MAP);
		fields = bj_xdp_ctx_fields(insns, n);
		x->fill = !fields ? FILL_NONE : fields & ~(BJ_XDP_CTX_DATA | BJ_XDP_CTX_DATA_END) ? FILL_ALL : FILL_DATA;
		x->may_fault = x->checked ||
			       may_stop(insns, n, own_redirects(bj_prog_helpers(prog)) & BJ_XDP_SUBST_REDIRECT);
	}
	if (x->batch_size > 65536 || x->n_workers > 1024) {
		ret = bj_fail(err, EINVAL, -1, -1, "bj_xdp_opts: batch size %u or %u workers out of range",
			      x->batch_size, x->n_workers);
		free(x);
		return ret;
	}
	ret = choose_call(x, BJ_OPTS_GET(opts, dispatcher, NULL));
	if (ret) {
		if (!err || !err->msg[0])
			bj_fail(err, -ret, -1, -1, "xdp: cannot attach the program to the dispatcher");
		bj_xdp__destroy(x);
		return ret;
	}
	ret = choose_exec(x, want, err);
	if (ret && want == BJ_XDP_EXEC_AUTO)
		ret = 0;
	if (!ret && !(x->workers = aligned_alloc(64, x->n_workers * sizeof(*x->workers))))
		ret = bj_fail(err, ENOMEM, -1, -1, "out of memory");
	if (x->workers) {
		memset(x->workers, 0, x->n_workers * sizeof(*x->workers));
		for (unsigned i = 0; i < x->n_workers && !ret; i++)
			if (worker_init(x, &x->workers[i], i))
				ret = bj_fail(err, ENOMEM, -1, -1, "xdp: no memory below 4 GiB for %u contexts",
					      x->batch_size);
	}
	if (ret) {
		bj_xdp__destroy(x);
		return ret;
	}
	*out = x;
	return 0;
}

void bj_xdp__destroy(struct bj_xdp *x)
{
	if (!x)
		return;
	if (x->workers) {
		bj_xdp__stop(x);
		bj_xdp__join(x, NULL);
		for (unsigned i = 0; i < x->n_workers; i++)
			worker_fini(&x->workers[i]);
		free(x->workers);
	}
	if (x->call == CALL_STATIC)
		BJ_XDP_CALL_UPDATE(bj_xdp_rx, x->entry, NULL);
	if (x->call == CALL_DISPATCHER)
		bj_dispatcher__detach(x->dispatcher, x->entry);
	bj_xdp_loop_free(x->loop);
	bj_prog__destroy(x->rewritten);
	free(x);
}

enum bj_xdp_exec bj_xdp__exec(const struct bj_xdp *x, const char **fallback_reason)
{
	if (fallback_reason)
		*fallback_reason = x->fallback;
	return x->exec;
}

/* ---- running a batch ---- */

static void reset_run(struct bj_run *run, uint64_t budget)
{
	run->fault = 0;
	run->budget = budget;
	run->tail_prog = NULL;
	run->tail_calls = 0;
	run->n_regions = 0;
}

static inline uint64_t call_one(const struct bj_xdp *x, bj_dispatch_fn dispatch, struct bj_xdp_slot *s,
				struct bj_run *run)
{
	switch (x->call) {
	case CALL_STATIC:
		return BJ_XDP_CALL(bj_xdp_rx, s, 0, run);
	case CALL_DISPATCHER:
		return dispatch(s, 0, run, x->entry);
	case CALL_DIRECT:
		return x->entry(s, 0, run);
	case CALL_INVOKE:
		break;
	}
	return bj_prog_invoke(x->prog, s, 0, run);
}

static void run_per_packet(struct bj_xdp *x, struct bj_xdp_worker *w, struct counts *c)
{
	bj_dispatch_fn dispatch = NULL;
	struct bj_run *run = &w->run;

	/* One read-side section per batch, so the current half (one jump shorter than the entry) stays valid;
	 * one sample per batch keeps the program in the hot chain when the embedder re-lays the dispatcher out. */
	if (x->call == CALL_DISPATCHER) {
		bj_dispatcher_read_lock();
		dispatch = bj_dispatcher__current(x->dispatcher);
		bj_dispatcher__sample(x->dispatcher, x->entry);
	}
	for (uint32_t i = 0; i < w->n; i++) {
		struct bj_xdp_slot *s = &w->slots[i];
		struct bj_frame *f = &w->frames[i];
		uint64_t r0;

		reset_run(run, x->budget);
		if (x->checked) {
			bj_run_add_region(run, f->buf, f->buf_sz, true);
			bj_run_add_region(run, &s->md, sizeof(s->md), false);
			/* bj_prog_invoke adds the program's global data itself; direct calls do not. */
			if (x->call != CALL_INVOKE)
				bj_prog_add_map_regions(x->prog, run);
		}
		w->cur_ctx = (uintptr_t)s;
		r0 = call_one(x, dispatch, s, run);
		if (BJ_UNLIKELY(run->fault)) {
			s->action = BJ_XDP_ABORTED;
			c->faults++;
			continue;
		}
		s->action = r0;
	}
	if (dispatch)
		bj_dispatcher_read_unlock();
}

/* Checked batched runs may touch every frame of the batch and every slot: one region each. */
static bool add_batch_regions(struct bj_xdp_worker *w, struct bj_run *run)
{
	uintptr_t lo = UINTPTR_MAX, hi = 0;
	struct bj_io *owner = w->frames[0].owner;

	for (uint32_t i = 0; i < w->n; i++) {
		const struct bj_frame *f = &w->frames[i];

		/* Frames of one owner share one allocation (the batch arena or one umem): the span stays in it. */
		if (f->owner != owner)
			return false;
		if ((uintptr_t)f->buf < lo)
			lo = (uintptr_t)f->buf;
		if ((uintptr_t)f->buf + f->buf_sz > hi)
			hi = (uintptr_t)f->buf + f->buf_sz;
	}
	bj_run_add_region(run, (void *)lo, hi - lo, true);
	bj_run_add_region(run, w->slots, w->n * sizeof(*w->slots), true);
	return true;
}

static uint32_t first_unset(const struct bj_xdp_worker *w, uint32_t from)
{
	while (from < w->n && w->slots[from].action != BJ_XDP_ACTION_UNSET)
		from++;
	return from;
}

static void run_batched(struct bj_xdp *x, struct bj_xdp_worker *w, struct counts *c)
{
	struct bj_run *run = &w->run;
	uint32_t start = 0;

	if (x->checked) {
		reset_run(run, 0);
		if (!add_batch_regions(w, run)) {
			run_per_packet(x, w, c);
			return;
		}
	}
	while (start < w->n) {
		uint32_t left = w->n - start, bad;
		uint64_t done = 0;

		reset_run(run, x->budget * left);
		if (x->checked) {
			add_batch_regions(w, run);
			bj_prog_add_map_regions(x->prog, run);
		}
		if (x->loop) {
			done = bj_xdp_loop_fn_of(x->loop)(&w->slots[start], left, run);
		} else {
			bj_prog_invoke(x->rewritten, &w->slots[start], left, run);
		}
		if (BJ_LIKELY(!run->fault))
			break;
		/* The faulting frame is ABORTED, as its own run would be; the batch goes on after it. */
		bad = x->loop ? start + (uint32_t)done : first_unset(w, start);
		if (bad >= w->n)
			break;
		w->slots[bad].action = BJ_XDP_ABORTED;
		c->faults++;
		start = bad + 1;
	}
}

/* The worker is its counters' only writer: a plain load and store, no locked add (readers see either value). */
static void add(_Atomic uint64_t *ctr, uint64_t v)
{
	if (v)
		atomic_store_explicit(ctr, atomic_load_explicit(ctr, memory_order_relaxed) + v, memory_order_relaxed);
}

static void publish(struct bj_xdp_worker *w, const struct counts *c)
{
	add(&w->stats.packets, c->packets);
	add(&w->stats.batches, c->batches);
	for (int a = 0; a < BJ_XDP_N_ACTIONS; a++)
		add(&w->stats.actions[a], c->actions[a]);
	add(&w->stats.other, c->actions[BJ_XDP_N_ACTIONS]);
	add(&w->stats.faults, c->faults);
	add(&w->stats.busy_ticks, c->busy_ticks);
}

/*
 * One pass over the frames before the run, with what the program needs: its contexts (the 4 GiB check folded
 * into one OR, and a prefetch of each packet, so that the program's first touch hits the cache), the fault
 * marks, the cleared redirect targets. Instantiated per combination so that each loop stays tight.
 */
static inline __attribute__((always_inline)) uintptr_t prepare(struct bj_xdp_worker *w, int fill, bool mark,
							       bool clear_targets)
{
	uintptr_t top = 0;

	for (uint32_t i = 0; i < w->n; i++) {
		const struct bj_frame *f = &w->frames[i];
		struct bj_xdp_slot *s = &w->slots[i];
		uintptr_t buf = (uintptr_t)f->buf;

		if (fill != FILL_NONE) {
			top |= buf + f->buf_sz - 1;
			__builtin_prefetch(f->buf + f->data);
			s->md.data = (uint32_t)(buf + f->data);
			s->md.data_end = (uint32_t)(buf + f->data_end);
		}
		if (fill == FILL_ALL) {
			s->md.data_meta = (uint32_t)(buf + f->data_meta);
			s->md.ingress_ifindex = f->ingress_ifindex;
			s->md.rx_queue_index = f->rx_queue_index;
			s->md.egress_ifindex = 0;
		}
		if (mark)
			s->action = BJ_XDP_ACTION_UNSET;
		if (clear_targets) {
			/* ifindex too, so that all NONE targets compare equal in delivery's one-word test. */
			w->targets[i].kind = BJ_XDP_TARGET_NONE;
			w->targets[i].ifindex = 0;
		}
	}
	return top;
}

#define PREPARE_FN(fill, mark, clear) \
	static uintptr_t prepare_##fill##mark##clear(struct bj_xdp_worker *w) { return prepare(w, fill, mark, clear); }
PREPARE_FN(0, 0, 0) PREPARE_FN(0, 0, 1) PREPARE_FN(0, 1, 0) PREPARE_FN(0, 1, 1)
PREPARE_FN(1, 0, 0) PREPARE_FN(1, 0, 1) PREPARE_FN(1, 1, 0) PREPARE_FN(1, 1, 1)
PREPARE_FN(2, 0, 0) PREPARE_FN(2, 0, 1) PREPARE_FN(2, 1, 0) PREPARE_FN(2, 1, 1)

/* [fill][mark][clear_targets] */
static uintptr_t (*const prepare_fns[3][2][2])(struct bj_xdp_worker *) = {
	{ { prepare_000, prepare_001 }, { prepare_010, prepare_011 } },
	{ { prepare_100, prepare_101 }, { prepare_110, prepare_111 } },
	{ { prepare_200, prepare_201 }, { prepare_210, prepare_211 } },
};

/*
 * Points the slots at the frames; false (and the frame in *bad) when a frame lies above 4 GiB. A program that
 * never reads its context sees no pointer to check: it needs a pass only for marks or targets.
 */
static bool prepare_slots(const struct bj_xdp *x, struct bj_xdp_worker *w, uint32_t base, uint32_t *bad)
{
	bool mark = x->may_fault && x->exec == BJ_XDP_EXEC_REWRITE;

	if (x->fill == FILL_NONE && !mark && !x->redirects)
		return true;
	if (BJ_LIKELY(!(prepare_fns[x->fill][mark][x->redirects](w) >> 32)))
		return true;
	for (uint32_t i = 0; i < w->n; i++)
		if (!bj_lowmem_fits(w->frames[i].buf, w->frames[i].buf_sz)) {
			*bad = base + i;
			return false;
		}
	return true;
}

/* One in counter a of the packed counters of collect(): 10 bits per action, values above 4 in the last. */
static const uint64_t count_one[8] = { 1ull << 0, 1ull << 10, 1ull << 20, 1ull << 30, 1ull << 40,
				       1ull << 50, 1ull << 50, 1ull << 50 };

/*
 * Verdicts to the frames, counted without a branch or a memory round trip per frame: six 10-bit counters
 * packed in one register (a pass covers at most 1023 frames).
 */
static void collect(struct bj_xdp_worker *w, struct counts *c)
{
	uint64_t k[BJ_XDP_N_ACTIONS + 1] = { 0 };

	for (uint32_t from = 0; from < w->n; from += 1023) {
		uint32_t to = w->n - from > 1023 ? from + 1023 : w->n;
		const struct bj_xdp_slot *s = &w->slots[from];
		struct bj_frame *f = &w->frames[from], *end = &w->frames[to];
		uint64_t packed = 0;

		for (; f < end; f++, s++) {
			uint32_t a = (uint32_t)s->action;

			f->action = a;
			packed += count_one[a < 8 ? a : 7];
		}
		for (int a = 0; a <= BJ_XDP_N_ACTIONS; a++)
			k[a] += (packed >> (a * 10)) & 1023;
	}
	for (int a = 0; a <= BJ_XDP_N_ACTIONS; a++)
		c->actions[a] += k[a];
	w->n_tx = (uint32_t)k[BJ_XDP_TX];
	w->n_pass = (uint32_t)k[BJ_XDP_PASS];
	w->n_redirect = (uint32_t)k[BJ_XDP_REDIRECT];
}

static int run_chunk(struct bj_xdp *x, struct bj_xdp_worker *w, struct bj_frame *frames, uint32_t n, uint32_t base,
		     struct counts *c, struct bj_error *err)
{
	uint32_t bad;

	w->frames = frames;
	w->n = n;
	if (!prepare_slots(x, w, base, &bad)) {
		w->n = 0;
		w->n_tx = w->n_pass = w->n_redirect = 0;
		return bj_fail(err, EINVAL, bad, -1,
			       "xdp: frame %u lies above 4 GiB: its xdp_md cannot hold the pointers (create the batch "
			       "with below_4g)", bad);
	}
	if (x->exec == BJ_XDP_EXEC_PER_PACKET)
		run_per_packet(x, w, c);
	else
		run_batched(x, w, c);
	collect(w, c);
	c->packets += n;
	return 0;
}

int bj_xdp__run_batch(struct bj_xdp *x, unsigned worker, struct bj_batch *b, struct bj_error *err)
{
	struct counts c = { 0 };
	struct bj_xdp_worker *w;
	uint64_t t0;
	int ret = 0;

	if (!x || !b || worker >= x->n_workers)
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp__run_batch: missing runner or batch, or worker %u of %u",
			       worker, x ? x->n_workers : 0);
	w = &x->workers[worker];
	w->n = 0;
	w->n_tx = w->n_pass = w->n_redirect = 0;
	t0 = ticks();
	/* Bigger batches than the runner's contexts run in chunks; the last chunk's targets stay readable. */
	for (uint32_t done = 0; done < b->n && !ret; done += w->cap) {
		uint32_t n = b->n - done < w->cap ? b->n - done : w->cap;

		ret = run_chunk(x, w, &b->frames[done], n, done, &c, err);
	}
	c.busy_ticks = ticks() - t0;
	c.batches = 1;
	publish(w, &c);
	return ret;
}

const struct bj_xdp_target *bj_xdp__target(const struct bj_xdp *x, unsigned worker, uint32_t i)
{
	static const struct bj_xdp_target none = { 0 };
	const struct bj_xdp_worker *w;

	if (!x || worker >= x->n_workers)
		return &none;
	w = &x->workers[worker];
	if (!x->redirects || i >= w->n || (uint32_t)w->slots[i].action != BJ_XDP_REDIRECT ||
	    w->targets[i].kind == BJ_XDP_TARGET_NONE)
		return &none;
	return &w->targets[i];
}

/* ---- delivery ---- */

/* Fields outside a target's kind (stale in kind NONE) do not count. */
static inline bool same_target(const struct bj_xdp_target *a, const struct bj_xdp_target *b)
{
	if (a->kind != b->kind)
		return false;
	switch (a->kind) {
	case BJ_XDP_TARGET_IFINDEX:
		return a->ifindex == b->ifindex;
	case BJ_XDP_TARGET_MAP:
		return a->map == b->map && a->key == b->key && a->flags == b->flags && a->entry == b->entry &&
		       a->ifindex == b->ifindex;
	default:
		return true;
	}
}

/* kind and ifindex, the target's first 8 bytes, as one word. */
static inline uint64_t target_head(const struct bj_xdp_target *t)
{
	uint64_t v;

	memcpy(&v, t, sizeof(v));
	return v;
}

static void send_group(struct bj_xdp *x, struct bj_xdp_worker *w, const struct bj_xdp_target *t,
		       struct bj_frame *const *group, uint32_t m, uint32_t *redirected, uint32_t *errors)
{
	uint32_t taken = 0;

	if (t->kind != BJ_XDP_TARGET_NONE && x->redirect)
		taken = x->redirect(x->redirect_ctx, w->index, t, group, m);
	*redirected += taken;
	*errors += m - taken;
}

/*
 * Splits the REDIRECT frames from `from` on into those going where frame `from` goes (group) and the others
 * (rest). Kind and ifindex, compared as one word, decide for every kind but MAP (`simple`).
 */
static inline __attribute__((always_inline)) void split_first(struct bj_xdp_worker *w, uint32_t from, bool simple,
							      uint32_t *m, uint32_t *left)
{
	struct bj_frame **group = w->out, **rest = w->out + w->cap, *frames = w->frames;
	const struct bj_xdp_target *targets = w->targets, *t = &targets[from];
	uint64_t head = target_head(t);
	uint32_t n = w->n, k = 0, r = 0;

	for (uint32_t i = from; i < n; i++) {
		if (frames[i].action != BJ_XDP_REDIRECT)
			continue;
		if (target_head(&targets[i]) == head && (simple || same_target(&targets[i], t)))
			group[k++] = &frames[i];
		else
			rest[r++] = &frames[i];
	}
	*m = k;
	*left = r;
}

static void deliver_redirects(struct bj_xdp *x, struct bj_xdp_worker *w, uint32_t *redirected, uint32_t *errors)
{
	/* One pass groups the frames of the first target seen (usually all of them); the others wait in `rest`
	 * for one more pass per target. */
	struct bj_frame **group = w->out, **rest = w->out + w->cap;
	const struct bj_xdp_target *t;
	uint32_t first = 0, m, left;

	while (first < w->n && w->frames[first].action != BJ_XDP_REDIRECT)
		first++;
	if (first == w->n)
		return;
	t = &w->targets[first];
	if (t->kind == BJ_XDP_TARGET_MAP)
		split_first(w, first, false, &m, &left);
	else
		split_first(w, first, true, &m, &left);
	send_group(x, w, t, group, m, redirected, errors);
	while (left) {
		uint32_t keep = 0;

		t = &w->targets[rest[0] - w->frames];
		m = 0;
		for (uint32_t j = 0; j < left; j++) {
			struct bj_frame *f = rest[j];

			if (same_target(&w->targets[f - w->frames], t))
				group[m++] = f;
			else
				rest[keep++] = f;
		}
		send_group(x, w, t, group, m, redirected, errors);
		left = keep;
	}
}

int bj_xdp__deliver(struct bj_xdp *x, unsigned worker, struct bj_batch *b, struct bj_io *io, struct bj_error *err)
{
	uint32_t k = 0, redirected = 0, redirect_errors = 0, tx_errors = 0;
	struct bj_xdp_worker *w;
	struct bj_frame **out;
	int ret = 0;

	if (!x || !b || worker >= x->n_workers)
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp__deliver: missing runner or batch, or bad worker");
	w = &x->workers[worker];
	out = w->out;
	if (b->n > w->cap || (b->n && w->frames != b->frames))
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp__deliver: the batch is not the worker's last one");
	k = w->n_tx + (x->pass_to_tx ? w->n_pass : 0);
	if (k == b->n) {
		/* Every frame leaves: the list of all of them is kept from an earlier batch in these frames. */
		if (w->all_of != b->frames || w->all_n < k) {
			for (uint32_t i = 0; i < b->n; i++)
				w->all[i] = &b->frames[i];
			w->all_of = b->frames;
			w->all_n = b->n;
		}
		out = w->all;
	} else if (k) {
		/* The verdict counts of the run said there is something to scan for. */
		k = 0;
		for (uint32_t i = 0; i < b->n; i++) {
			uint32_t a = b->frames[i].action;

			w->out[k] = &b->frames[i];
			k += a == BJ_XDP_TX || (x->pass_to_tx && a == BJ_XDP_PASS);
		}
	}
	if (k) {
		int sent = io ? bj_io__tx(io, out, k, err) : 0;

		if (sent < 0)
			ret = sent;
		sent = sent < 0 ? 0 : sent;
		add(&w->stats.tx, (uint64_t)sent);
		tx_errors = k - (uint32_t)sent;
		if (io)
			bj_io__flush(io);
	}
	if (w->n_redirect)
		deliver_redirects(x, w, &redirected, &redirect_errors);
	add(&w->stats.tx_errors, tx_errors);
	add(&w->stats.redirected, redirected);
	add(&w->stats.redirect_errors, redirect_errors);
	return ret;
}

/* ---- statistics ---- */

int bj_xdp__stats(struct bj_xdp *x, struct bj_xdp_stats *st)
{
	struct bj_xdp_stats all = { .sz = sizeof(all) };

	if (!x || !st || st->sz < sizeof(size_t))
		return -EINVAL;
	for (unsigned i = 0; i < x->n_workers; i++) {
		struct bj_xdp_counters *c = &x->workers[i].stats;

		all.packets += atomic_load_explicit(&c->packets, memory_order_relaxed);
		all.batches += atomic_load_explicit(&c->batches, memory_order_relaxed);
		for (int a = 0; a < BJ_XDP_N_ACTIONS; a++)
			all.actions[a] += atomic_load_explicit(&c->actions[a], memory_order_relaxed);
		all.other += atomic_load_explicit(&c->other, memory_order_relaxed);
		all.faults += atomic_load_explicit(&c->faults, memory_order_relaxed);
		all.tx += atomic_load_explicit(&c->tx, memory_order_relaxed);
		all.tx_errors += atomic_load_explicit(&c->tx_errors, memory_order_relaxed);
		all.redirected += atomic_load_explicit(&c->redirected, memory_order_relaxed);
		all.redirect_errors += atomic_load_explicit(&c->redirect_errors, memory_order_relaxed);
		all.busy_ns += atomic_load_explicit(&c->busy_ticks, memory_order_relaxed);
	}
	all.busy_ns = ticks_to_ns(x, all.busy_ns);
	memcpy((char *)st + sizeof(size_t), (char *)&all + sizeof(size_t),
	       (st->sz < sizeof(all) ? st->sz : sizeof(all)) - sizeof(size_t));
	return 0;
}

void bj_xdp__reset_stats(struct bj_xdp *x)
{
	if (!x)
		return;
	for (unsigned i = 0; i < x->n_workers; i++) {
		struct bj_xdp_counters *c = &x->workers[i].stats;
		_Atomic uint64_t *v = (_Atomic uint64_t *)c;

		for (size_t j = 0; j < sizeof(*c) / sizeof(*v); j++)
			atomic_store_explicit(&v[j], 0, memory_order_relaxed);
	}
}

/* ---- the receive loop and its threads ---- */

int bj_xdp__run_io(struct bj_xdp *x, unsigned worker, struct bj_io *io, const struct bj_xdp_loop_opts *opts,
		   struct bj_error *err)
{
	uint64_t duration_ms = BJ_OPTS_GET(opts, duration_ms, 0), max = BJ_OPTS_GET(opts, max_packets, 0);
	uint64_t end = duration_ms ? bj_clock_ns(CLOCK_MONOTONIC) + duration_ms * 1000000ull : 0, seen = 0;
	bool deliver = !BJ_OPTS_GET(opts, no_delivery, false);
	struct bj_batch *b;
	int ret;

	if (!x || !io || worker >= x->n_workers)
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp__run_io: missing runner or io, or bad worker");
	if (!BJ_OPTS_VALID(opts, struct bj_xdp_loop_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_xdp_loop_opts: unknown non-zero fields");
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	ret = bj_batch__create(x->batch_size, &bo, &b);
	if (ret)
		return bj_fail(err, -ret, -1, -1, "xdp: no memory below 4 GiB for a batch of %u frames", x->batch_size);
	while (!atomic_load_explicit(&x->stop, memory_order_relaxed)) {
		ret = bj_io__rx(io, b, err);
		if (ret == -ENODATA) {
			ret = 0;
			break;
		}
		if (ret < 0)
			break;
		if (ret > 0) {
			bj_epoch_enter();
			ret = bj_xdp__run_batch(x, worker, b, err);
			if (!ret && deliver)
				ret = bj_xdp__deliver(x, worker, b, io, err);
			bj_epoch_exit();
			if (ret)
				break;
			seen += b->n;
		}
		if ((max && seen >= max) || (end && bj_clock_ns(CLOCK_MONOTONIC) >= end))
			break;
	}
	bj_batch__destroy(b);
	return ret;
}

static void *worker_main(void *arg)
{
	struct bj_xdp_worker *w = arg;

	w->ret = bj_xdp__run_io(w->x, w->index, w->io, &w->x->loop_opts, &w->err);
	return NULL;
}

int bj_xdp__start(struct bj_xdp *x, struct bj_io *const *ios, unsigned n, const struct bj_xdp_loop_opts *opts)
{
	if (!x || !ios || !n || n > x->n_workers || !BJ_OPTS_VALID(opts, struct bj_xdp_loop_opts))
		return -EINVAL;
	for (unsigned i = 0; i < n; i++)
		if (x->workers[i].started)
			return -EBUSY;
	x->loop_opts = (struct bj_xdp_loop_opts){ .sz = sizeof(x->loop_opts),
						  .duration_ms = BJ_OPTS_GET(opts, duration_ms, 0),
						  .max_packets = BJ_OPTS_GET(opts, max_packets, 0),
						  .no_delivery = BJ_OPTS_GET(opts, no_delivery, false) };
	atomic_store(&x->stop, false);
	for (unsigned i = 0; i < n; i++) {
		struct bj_xdp_worker *w = &x->workers[i];
		int ret;

		w->io = ios[i];
		w->ret = 0;
		ret = pthread_create(&w->thread, NULL, worker_main, w);
		if (ret) {
			bj_xdp__stop(x);
			bj_xdp__join(x, NULL);
			return -ret;
		}
		w->started = true;
	}
	return 0;
}

void bj_xdp__stop(struct bj_xdp *x)
{
	if (x)
		atomic_store(&x->stop, true);
}

int bj_xdp__join(struct bj_xdp *x, struct bj_error *err)
{
	int first = 0;

	if (!x)
		return -EINVAL;
	for (unsigned i = 0; i < x->n_workers; i++) {
		struct bj_xdp_worker *w = &x->workers[i];

		if (!w->started)
			continue;
		pthread_join(w->thread, NULL);
		w->started = false;
		if (w->ret && !first) {
			first = w->ret;
			if (err)
				*err = w->err;
		}
	}
	return first;
}
