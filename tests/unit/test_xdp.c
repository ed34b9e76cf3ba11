/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpfjet/asm.h>
#include <bpfjet/map.h>
#include <bpfjet/object.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/lowmem.h"
#include "isa/isa.h"
#include "maps/map_internal.h"
#include "xdp/xdp_int.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* bpf_map_lookup_elem, for programs that count into a map (the built-in helpers live in another module). */
static uint64_t test_map_lookup(uint64_t map, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *m = (struct bj_map *)(uintptr_t)map;
	uint8_t *base = bj_map_value_base(m);
	bool known = false;

	(void)r3, (void)r4, (void)r5;
	/* Checked runs reach the array's values through one region, added once per run. */
	for (unsigned i = 0; i < run->n_regions; i++)
		known |= run->regions[i].start == (uintptr_t)base;
	if (!known)
		bj_run_add_region(run, base, (size_t)bj_map__max_entries(m) * 8, true);
	return (uint64_t)(uintptr_t)bj_map_lookup(m, (void *)(uintptr_t)key, run->worker);
}

static struct bj_prog *make_prog(const char *text, enum bj_engine engine, bool checked)
{
	/* XDP programs get the runtime's helpers by default; the map lookup is the test's own. */
	static const struct bj_helper helpers[] = { { 1, "bpf_map_lookup_elem", test_map_lookup } };
	struct bj_error err = { 0 };
	struct bj_insn *insns;
	struct bj_prog *prog;
	size_t n;

	if (bj_asm(text, &insns, &n, &err))
		fail_msg("asm: %s (insn %ld)", err.msg, err.insn);
	BJ_OPTS(bj_prog_opts, po, .type = BJ_PROG_TYPE_XDP, .engine = engine, .helpers = helpers,
		.n_helpers = N(helpers), .unchecked = !checked, .unverified = checked);
	if (bj_prog__create(insns, n, &po, &prog, &err))
		fail_msg("create: %s (insn %ld)", err.msg, err.insn);
	free(insns);
	return prog;
}

/* ---- programs ---- */

static const char prog_drop[] = "mov %r0, 1\nexit\n";

static const char prog_mac_swap[] =
	"ldxw %r2, [%r1+0]\n ldxw %r3, [%r1+4]\n mov %r4, %r2\n add %r4, 14\n jgt %r4, %r3, drop\n"
	"ldxw %r5, [%r2+0]\n ldxh %r6, [%r2+4]\n ldxw %r7, [%r2+6]\n ldxh %r8, [%r2+10]\n"
	"stxw [%r2+0], %r7\n stxh [%r2+4], %r8\n stxw [%r2+6], %r5\n stxh [%r2+10], %r6\n"
	"mov %r0, 3\n exit\n"
	"drop:\n mov %r0, 1\n exit\n";

/* Stack through a copy of r10, a local call with its own stack, and a verdict from the packet's bytes. */
static const char prog_stack_subprog[] =
	"ldxw %r2, [%r1+0]\n ldxw %r3, [%r1+4]\n mov %r4, %r2\n add %r4, 16\n jgt %r4, %r3, short\n"
	"ldxdw %r5, [%r2+0]\n stxdw [%r10-8], %r5\n ldxdw %r5, [%r2+8]\n stxdw [%r10-16], %r5\n"
	"mov %r1, %r10\n add %r1, -16\n call local mix\n"
	"ldxdw %r1, [%r10-8]\n xor %r0, %r1\n mod %r0, 5\n exit\n"
	"short:\n mov %r0, 2\n exit\n"
	"mix:\n ldxdw %r0, [%r1+0]\n ldxdw %r2, [%r1+8]\n xor %r0, %r2\n stxdw [%r10-8], %r0\n"
	"ldxdw %r0, [%r10-8]\n rsh %r0, 3\n exit\n";

/*
 * Pushes 16 bytes in front of the packet, writes them, then redirects by one byte of the packet: some frames
 * call bpf_redirect and return PASS (a pending target that must not leak into the next frame), some return
 * REDIRECT without any call (no target), some redirect for real.
 */
static const char prog_head_redirect[] =
	"mov %r6, %r1\n ldxw %r2, [%r6+0]\n ldxw %r3, [%r6+4]\n mov %r4, %r2\n add %r4, 14\n jgt %r4, %r3, pass\n"
	"ldxb %r7, [%r2+13]\n mov %r1, %r6\n mov %r2, -16\n call 44\n jne %r0, 0, pass\n"
	"ldxw %r2, [%r6+0]\n ldxw %r3, [%r6+4]\n mov %r4, %r2\n add %r4, 16\n jgt %r4, %r3, pass\n"
	"stxw [%r2+0], %r7\n stw [%r2+4], 0x11223344\n stdw [%r2+8], -1\n"
	"mov %r8, %r7\n and %r8, 2\n jne %r8, 0, nocall\n"
	"mov %r1, %r7\n and %r1, 7\n mov %r2, 0\n call 23\n"
	"mov %r8, %r7\n and %r8, 1\n jeq %r8, 0, pass\n exit\n"
	"nocall:\n mov %r0, 4\n exit\n"
	"pass:\n mov %r0, 2\n exit\n";

/* Grows the tail by 8 (zeroed), adds 8 bytes of metadata and writes them, then transmits. */
static const char prog_tail_meta[] =
	"mov %r6, %r1\n mov %r2, 8\n call 65\n jne %r0, 0, drop\n"
	"mov %r1, %r6\n mov %r2, -8\n call 54\n jne %r0, 0, drop\n"
	"ldxw %r2, [%r6+8]\n ldxw %r3, [%r6+0]\n mov %r4, %r2\n add %r4, 8\n jgt %r4, %r3, drop\n"
	"stdw [%r2+0], 0x5a5a5a5a\n mov %r0, 3\n exit\n"
	"drop:\n mov %r0, 1\n exit\n";

/* ---- running over a capture ---- */

struct result {
	uint32_t n;
	uint32_t *action;
	uint32_t *target;   /* kind << 16 | ifindex */
	uint8_t (*bytes)[64];
	uint32_t *len;
	uint32_t *meta_len;
};

static char pcap_path[] = "/tmp/bj_test_xdp_XXXXXX";

static int setup_pcap(void **state)
{
	char cmd[512];
	int fd = mkstemp(pcap_path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s/scripts/gen-pcap.py --count 700 --seed 7 %s",
		 getenv("BJ_SOURCE_ROOT") ? getenv("BJ_SOURCE_ROOT") : ".", pcap_path);
	return system(cmd) ? -1 : 0;
}

static int teardown_pcap(void **state)
{
	(void)state;
	unlink(pcap_path);
	return 0;
}

static void result_free(struct result *r)
{
	free(r->action);
	free(r->target);
	free(r->bytes);
	free(r->len);
	free(r->meta_len);
}

static struct result run_capture(struct bj_prog *prog, enum bj_xdp_exec exec, enum bj_xdp_exec *used)
{
	struct result r = { 0 };
	struct bj_error err = { 0 };
	struct bj_batch *b;
	struct bj_io *io;
	struct bj_xdp *x;
	uint32_t cap = 1024;
	int ret;

	BJ_OPTS(bj_xdp_opts, xo, .exec = exec);
	if (bj_xdp__create(prog, &xo, &x, &err))
		fail_msg("xdp create: %s", err.msg);
	*used = bj_xdp__exec(x, NULL);
	BJ_OPTS(bj_io_opts, io_opts, .pcap_in = pcap_path, .ifindex = 3);
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &io_opts, &io, &err), 0);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	assert_int_equal(bj_batch__create(64, &bo, &b), 0);
	r.action = calloc(cap, 4);
	r.target = calloc(cap, 4);
	r.bytes = calloc(cap, 64);
	r.len = calloc(cap, 4);
	r.meta_len = calloc(cap, 4);
	while ((ret = bj_io__rx(io, b, &err)) > 0) {
		assert_int_equal(bj_xdp__run_batch(x, 0, b, &err), 0);
		for (uint32_t i = 0; i < b->n && r.n < cap; i++, r.n++) {
			const struct bj_frame *f = &b->frames[i];
			const struct bj_xdp_target *t = bj_xdp__target(x, 0, i);
			uint32_t len = bj_frame__len(f);

			r.action[r.n] = f->action;
			r.target[r.n] = (uint32_t)t->kind << 16 | t->ifindex;
			r.len[r.n] = len;
			r.meta_len[r.n] = f->data - f->data_meta;
			memcpy(r.bytes[r.n], f->buf + f->data_meta, len + r.meta_len[r.n] < 64 ? len + r.meta_len[r.n] : 64);
		}
	}
	assert_int_equal(ret, -ENODATA);
	bj_batch__destroy(b);
	bj_io__destroy(io);
	bj_xdp__destroy(x);
	return r;
}

struct mode {
	enum bj_engine engine;
	enum bj_xdp_exec exec;
	bool checked;
};

static const struct mode modes[] = {
	{ BJ_ENGINE_INTERP, BJ_XDP_EXEC_REWRITE, true },   { BJ_ENGINE_INTERP, BJ_XDP_EXEC_PER_PACKET, false },
	{ BJ_ENGINE_INTERP, BJ_XDP_EXEC_REWRITE, false },  { BJ_ENGINE_JIT, BJ_XDP_EXEC_PER_PACKET, true },
	{ BJ_ENGINE_JIT, BJ_XDP_EXEC_REWRITE, true },      { BJ_ENGINE_JIT, BJ_XDP_EXEC_NATIVE_LOOP, true },
	{ BJ_ENGINE_JIT, BJ_XDP_EXEC_PER_PACKET, false },  { BJ_ENGINE_JIT, BJ_XDP_EXEC_REWRITE, false },
	{ BJ_ENGINE_JIT, BJ_XDP_EXEC_NATIVE_LOOP, false },
};

static void assert_same(const struct result *a, const struct result *b, const char *what)
{
	assert_int_equal(a->n, b->n);
	for (uint32_t i = 0; i < a->n; i++) {
		if (a->action[i] != b->action[i] || a->target[i] != b->target[i] || a->len[i] != b->len[i] ||
		    a->meta_len[i] != b->meta_len[i] || memcmp(a->bytes[i], b->bytes[i], 64))
			fail_msg("%s: frame %u differs: action %u/%u target %x/%x len %u/%u meta %u/%u", what, i,
				 a->action[i], b->action[i], a->target[i], b->target[i], a->len[i], b->len[i],
				 a->meta_len[i], b->meta_len[i]);
	}
}

/* Every mode against per-packet interpretation (checked): same verdicts, targets and bytes. */
static void check_equivalence(const char *text, uint32_t min_distinct)
{
	struct bj_prog *base_prog = make_prog(text, BJ_ENGINE_INTERP, true);
	enum bj_xdp_exec used;
	struct result base = run_capture(base_prog, BJ_XDP_EXEC_PER_PACKET, &used);
	uint32_t seen = 0;

	assert_int_equal(base.n, 700);
	for (uint32_t i = 0; i < base.n; i++)
		seen |= 1u << (base.action[i] < 31 ? base.action[i] : 31);
	assert_true((uint32_t)__builtin_popcount(seen) >= min_distinct);
	for (size_t m = 0; m < N(modes); m++) {
		struct bj_prog *p = make_prog(text, modes[m].engine, modes[m].checked);
		struct result r = run_capture(p, modes[m].exec, &used);
		char what[64];

		assert_int_equal(used, modes[m].exec);
		snprintf(what, sizeof(what), "mode %zu", m);
		assert_same(&base, &r, what);
		result_free(&r);
		bj_prog__destroy(p);
	}
	result_free(&base);
	bj_prog__destroy(base_prog);
}

static void test_equivalence_drop(void **state)
{
	(void)state;
	check_equivalence(prog_drop, 1);
}

static void test_equivalence_mac_swap(void **state)
{
	(void)state;
	check_equivalence(prog_mac_swap, 2);
}

static void test_equivalence_stack_subprog(void **state)
{
	(void)state;
	check_equivalence(prog_stack_subprog, 5);
}

static void test_equivalence_head_redirect(void **state)
{
	(void)state;
	check_equivalence(prog_head_redirect, 2);
}

static void test_equivalence_tail_meta(void **state)
{
	(void)state;
	check_equivalence(prog_tail_meta, 1);
}

/* ---- delivery: TX frames through a pcap, REDIRECT frames through the callback ---- */

struct delivery {
	uint32_t n, base;
	uint32_t log[1024];      /* frame << 8 | target kind << 6 | ifindex (low 6 bits), in callback order */
	const struct bj_frame *frames;
	struct bj_xdp_stats st;
	char out[64];
	long out_len;
};

static uint32_t record_redirect(void *ctx, unsigned worker, const struct bj_xdp_target *t, struct bj_frame *const *f,
				uint32_t n)
{
	struct delivery *d = ctx;

	(void)worker;
	for (uint32_t i = 0; i < n && d->n < N(d->log); i++)
		d->log[d->n++] = (d->base + (uint32_t)(f[i] - d->frames)) << 8 | (uint32_t)t->kind << 6 | (t->ifindex & 63);
	/* Refuses the frames for device 4, so that refusals are counted too. */
	return t->ifindex == 4 ? 0 : n;
}

static void run_deliver(struct bj_prog *prog, enum bj_xdp_exec exec, struct delivery *d)
{
	struct timespec t0, t1;
	struct bj_error err = { 0 };
	uint64_t wall;
	struct bj_batch *b;
	struct bj_io *io;
	struct bj_xdp *x;
	FILE *f;
	int fd, ret;

	memset(d, 0, sizeof(*d));
	snprintf(d->out, sizeof(d->out), "/tmp/bj_test_xdp_out_XXXXXX");
	fd = mkstemp(d->out);
	assert_true(fd >= 0);
	close(fd);
	BJ_OPTS(bj_xdp_opts, xo, .exec = exec, .redirect = record_redirect, .redirect_ctx = d);
	if (bj_xdp__create(prog, &xo, &x, &err))
		fail_msg("xdp create: %s", err.msg);
	assert_int_equal(bj_xdp__exec(x, NULL), exec);
	BJ_OPTS(bj_io_opts, io_opts, .pcap_in = pcap_path, .pcap_out = d->out, .ifindex = 3);
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &io_opts, &io, &err), 0);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	assert_int_equal(bj_batch__create(64, &bo, &b), 0);
	d->frames = b->frames;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((ret = bj_io__rx(io, b, &err)) > 0) {
		assert_int_equal(bj_xdp__run_batch(x, 0, b, &err), 0);
		assert_int_equal(bj_xdp__deliver(x, 0, b, io, &err), 0);
		d->base += b->n;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(ret, -ENODATA);
	d->st.sz = sizeof(d->st);
	assert_int_equal(bj_xdp__stats(x, &d->st), 0);
	/* Busy time (counted in TSC ticks, scaled at the end) lies within the run's wall time. */
	wall = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000000ull + (uint64_t)t1.tv_nsec - (uint64_t)t0.tv_nsec;
	if (!d->st.busy_ns || d->st.busy_ns > wall)
		fail_msg("busy %" PRIu64 " ns in a run of %" PRIu64 " ns", d->st.busy_ns, wall);
	bj_batch__destroy(b);
	bj_io__destroy(io);
	bj_xdp__destroy(x);
	f = fopen(d->out, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	d->out_len = ftell(f);
	fclose(f);
}

static bool same_file(const char *a, const char *b)
{
	FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
	bool same = fa && fb;
	int ca, cb;

	while (same) {
		ca = fgetc(fa);
		cb = fgetc(fb);
		if (ca == EOF && cb == EOF)
			break;
		same = ca == cb;
	}
	if (fa)
		fclose(fa);
	if (fb)
		fclose(fb);
	return same;
}

/* Every mode against per-packet interpretation: the same frames leave, with the same bytes, in the same order,
 * to the same targets, and the statistics agree. */
static void check_delivery(const char *text, bool want_tx, bool want_redirect, struct delivery *out)
{
	struct bj_prog *base_prog = make_prog(text, BJ_ENGINE_INTERP, true);
	struct delivery *base = calloc(1, sizeof(*base)), *d = calloc(1, sizeof(*d));

	run_deliver(base_prog, BJ_XDP_EXEC_PER_PACKET, base);
	assert_int_equal(base->st.packets, 700);
	assert_true(!want_tx || (base->st.tx > 0 && base->out_len > 24));
	if (want_redirect && !(base->st.redirected > 0 && base->st.redirect_errors > 0))
		fail_msg("redirected %" PRIu64 ", errors %" PRIu64 ", actions %" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64, base->st.redirected, base->st.redirect_errors, base->st.actions[0], base->st.actions[1], base->st.actions[2], base->st.actions[3], base->st.actions[4]);
	/* Every TX frame reached the pcap and every REDIRECT frame the callback or the error count. */
	assert_int_equal(base->st.tx + base->st.tx_errors, base->st.actions[BJ_XDP_TX]);
	assert_int_equal(base->st.tx_errors, 0);
	assert_int_equal(base->st.redirected + base->st.redirect_errors, base->st.actions[BJ_XDP_REDIRECT]);
	assert_true(base->n <= base->st.actions[BJ_XDP_REDIRECT]);
	for (size_t m = 0; m < N(modes); m++) {
		struct bj_prog *p = make_prog(text, modes[m].engine, modes[m].checked);

		run_deliver(p, modes[m].exec, d);
		if (!same_file(base->out, d->out))
			fail_msg("mode %zu: the transmitted frames differ", m);
		assert_int_equal(d->n, base->n);
		assert_memory_equal(d->log, base->log, base->n * sizeof(base->log[0]));
		assert_int_equal(d->st.tx, base->st.tx);
		assert_int_equal(d->st.tx_errors, base->st.tx_errors);
		assert_int_equal(d->st.redirected, base->st.redirected);
		assert_int_equal(d->st.redirect_errors, base->st.redirect_errors);
		assert_memory_equal(d->st.actions, base->st.actions, sizeof(d->st.actions));
		assert_int_equal(d->st.other, base->st.other);
		unlink(d->out);
		bj_prog__destroy(p);
	}
	unlink(base->out);
	if (out)
		*out = *base;
	free(base);
	free(d);
	bj_prog__destroy(base_prog);
}

static void test_delivery_tx(void **state)
{
	(void)state;
	check_delivery(prog_mac_swap, true, false, NULL);
}

static void test_delivery_redirect(void **state)
{
	(void)state;
	check_delivery(prog_head_redirect, false, true, NULL);
}

/* The same program with r6-r9 all taken: the rewrite keeps its cursor on the stack and hands it from there. */
static void test_delivery_redirect_stack_cursor(void **state)
{
	char text[sizeof(prog_head_redirect) + 32];

	(void)state;
	snprintf(text, sizeof(text), "mov %%r9, 0\n%s", prog_head_redirect);
	check_delivery(text, false, true, NULL);
}

/* bpf_redirect_map into a devmap by a packet byte; missing keys fall back to TX (flags 3). */
static void test_delivery_redirect_map(void **state)
{
	struct bj_error err = { 0 };
	struct bj_map *map;
	char text[1024];

	(void)state;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_DEVMAP, 4, 4, 8, NULL, &map, &err), 0);
	for (uint32_t k = 0; k < 8; k += 2) {
		uint32_t ifindex = 4 + k / 2;

		assert_int_equal(bj_map__update_elem(map, &k, &ifindex, 0), 0);
	}
	snprintf(text, sizeof(text),
		 "ldxw %%r2, [%%r1+0]\n ldxw %%r3, [%%r1+4]\n mov %%r4, %%r2\n add %%r4, 14\n jgt %%r4, %%r3, drop\n"
		 "ldxb %%r2, [%%r2+13]\n and %%r2, 7\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r3, 3\n call 51\n exit\n"
		 "drop:\n mov %%r0, 1\n exit\n",
		 (uintptr_t)map);
	struct delivery *d = calloc(1, sizeof(*d));
	struct bj_prog *prog = make_prog(text, BJ_ENGINE_INTERP, true);
	enum bj_xdp_exec used;
	struct result r = run_capture(prog, BJ_XDP_EXEC_PER_PACKET, &used);

	uint8_t *device = calloc(r.n, 1);
	uint32_t redirects = 0;

	check_delivery(text, true, true, d);
	for (uint32_t j = 0; j < d->n; j++) {
		assert_true(d->log[j] >> 8 < r.n);
		assert_int_equal(device[d->log[j] >> 8], 0);
		device[d->log[j] >> 8] = (uint8_t)(d->log[j] & 63);
	}
	/* Each redirected frame went once to the device its key holds; frames without a key fell back to TX. */
	for (uint32_t i = 0; i < r.n; i++) {
		uint32_t key = r.bytes[i][13] & 7;

		if (r.len[i] < 14 || key % 2) {
			assert_int_equal(r.action[i], r.len[i] < 14 ? BJ_XDP_DROP : BJ_XDP_TX);
			assert_int_equal(device[i], 0);
			continue;
		}
		assert_int_equal(r.action[i], BJ_XDP_REDIRECT);
		assert_int_equal(device[i], 4 + key / 2);
		redirects++;
	}
	assert_int_equal(redirects, d->n);
	free(device);
	free(d);
	result_free(&r);
	bj_prog__destroy(prog);
	bj_map__destroy(map);
}

/* Map side effects: a per-byte counter in an array map ends up the same in every mode. */
static void test_equivalence_map(void **state)
{
	uint64_t base[16] = { 0 };
	struct bj_error err = { 0 };
	struct bj_map *map;
	char text[1024];

	(void)state;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_ARRAY, 4, 8, 16, NULL, &map, &err), 0);
	snprintf(text, sizeof(text),
		 "ldxw %%r2, [%%r1+0]\n ldxw %%r3, [%%r1+4]\n mov %%r4, %%r2\n add %%r4, 14\n jgt %%r4, %%r3, out\n"
		 "ldxb %%r5, [%%r2+12]\n and %%r5, 15\n stxw [%%r10-4], %%r5\n"
		 "lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 1\n jeq %%r0, 0, out\n"
		 "mov %%r1, 1\n lock add [%%r0+0], %%r1\n out:\n mov %%r0, 2\n exit\n",
		 (uintptr_t)map);
	for (size_t m = 0; m <= N(modes); m++) {
		const struct mode *md = m ? &modes[m - 1] : &(struct mode){ BJ_ENGINE_INTERP, BJ_XDP_EXEC_PER_PACKET, true };
		struct bj_prog *p = make_prog(text, md->engine, md->checked);
		enum bj_xdp_exec used;
		struct result r;
		uint64_t total = 0;

		for (uint32_t k = 0; k < 16; k++)
			assert_int_equal(bj_map__update_elem(map, &k, &(uint64_t){ 0 }, 0), 0);
		r = run_capture(p, md->exec, &used);
		for (uint32_t k = 0; k < 16; k++) {
			uint64_t v;

			assert_int_equal(bj_map__lookup_elem(map, &k, &v), 0);
			if (!m)
				base[k] = v;
			assert_int_equal(v, base[k]);
			total += v;
		}
		if (total <= 600) fail_msg("only %" PRIu64 " frames counted", total);
		result_free(&r);
		bj_prog__destroy(p);
	}
	bj_map__destroy(map);
}

/* ---- helper limits on one 64-byte packet (the figures of shared/spec/xdp.md, verified on Linux) ---- */

/* Calls helper `fn` with r2 = the s32 at packet offset 16 and returns its result. */
static uint64_t helper_on_packet(struct bj_xdp *x, int fn, int32_t delta, struct bj_frame *out)
{
	struct bj_batch *b;
	struct bj_frame *f;
	uint64_t ret;

	(void)fn;
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	assert_int_equal(bj_batch__create(1, &bo, &b), 0);
	f = &b->frames[0];
	f->data_end = f->data + 64;
	memset(f->buf, 0xab, f->buf_sz);
	memcpy(f->buf + f->data + 16, &delta, 4);
	b->n = 1;
	assert_int_equal(bj_xdp__run_batch(x, 0, b, NULL), 0);
	ret = f->action;
	*out = *f;
	/* user: whether the bytes the tail grew by are zero (the buffer goes away with the batch). */
	out->user = 1;
	for (uint32_t k = BJ_IO_HEADROOM + 64; k < f->data_end; k++)
		out->user &= f->buf[k] == 0;
	b->n = 0;
	bj_batch__destroy(b);
	return ret;
}

static struct bj_xdp *helper_runner(int fn, struct bj_prog **prog)
{
	struct bj_xdp *x;
	char text[512];

	snprintf(text, sizeof(text),
		 "ldxw %%r2, [%%r1+0]\n ldxw %%r3, [%%r1+4]\n mov %%r4, %%r2\n add %%r4, 20\n"
		 "jgt %%r4, %%r3, bad\n ldxw %%r2, [%%r2+16]\n call %d\n exit\n bad:\n mov %%r0, 99\n exit\n",
		 fn);
	*prog = make_prog(text, BJ_ENGINE_INTERP, true);
	assert_int_equal(bj_xdp__create(*prog, NULL, &x, NULL), 0);
	return x;
}

static void test_adjust_head_limits(void **state)
{
	struct bj_prog *prog;
	struct bj_xdp *x = helper_runner(44, &prog);

	(void)state;
	for (int d = -230; d <= 60; d++) {
		struct bj_frame f;
		int32_t r = (int32_t)helper_on_packet(x, 44, d, &f);
		bool ok = d >= -216 && d <= 50;

		assert_int_equal(r, ok ? 0 : -EINVAL);
		assert_int_equal(f.data, BJ_IO_HEADROOM + (ok ? d : 0));
		assert_int_equal(f.data_meta, f.data);
	}
	bj_xdp__destroy(x);
	bj_prog__destroy(prog);
}

static void test_adjust_tail_limits(void **state)
{
	static const int32_t deltas[] = { -51, -50, -1, 0, 1, 8, 3456, 3457, 100000, INT32_MIN };
	struct bj_prog *prog;
	struct bj_xdp *x = helper_runner(65, &prog);

	(void)state;
	for (size_t i = 0; i < N(deltas); i++) {
		int32_t d = deltas[i];
		bool ok = d >= -50 && d <= 3456;
		struct bj_frame f;

		assert_int_equal((int32_t)helper_on_packet(x, 65, d, &f), ok ? 0 : -EINVAL);
		assert_int_equal(f.data_end, BJ_IO_HEADROOM + 64 + (ok ? d : 0));
		assert_int_equal(f.user, 1);
	}
	bj_xdp__destroy(x);
	bj_prog__destroy(prog);
}

static void test_adjust_meta_limits(void **state)
{
	struct bj_prog *prog;
	struct bj_xdp *x = helper_runner(54, &prog);

	(void)state;
	for (int d = -230; d <= 8; d++) {
		struct bj_frame f;
		int32_t r = (int32_t)helper_on_packet(x, 54, d, &f);
		int want = d > 0 || d < -216 ? -EINVAL : d % 4 ? -EACCES : 0;

		assert_int_equal(r, want);
		assert_int_equal(f.data_meta, BJ_IO_HEADROOM + (want ? 0 : d));
	}
	bj_xdp__destroy(x);
	bj_prog__destroy(prog);
}

/* Runs `text` on one 64-byte frame whose byte i is i; returns the verdict (r0's low 32 bits) and the frame. */
static uint32_t run_on_counting_frame(const char *text, bool checked, uint8_t *bytes_out)
{
	struct bj_prog *prog = make_prog(text, BJ_ENGINE_INTERP, checked);
	struct bj_batch *b;
	struct bj_xdp *x;
	uint32_t verdict;

	assert_int_equal(bj_xdp__create(prog, NULL, &x, NULL), 0);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	assert_int_equal(bj_batch__create(1, &bo, &b), 0);
	b->frames[0].data_end = b->frames[0].data + 64;
	for (int i = 0; i < 64; i++)
		b->frames[0].buf[b->frames[0].data + i] = (uint8_t)i;
	b->n = 1;
	assert_int_equal(bj_xdp__run_batch(x, 0, b, NULL), 0);
	verdict = b->frames[0].action;
	memcpy(bytes_out, b->frames[0].buf + b->frames[0].data, 64);
	b->n = 0;
	bj_batch__destroy(b);
	bj_xdp__destroy(x);
	bj_prog__destroy(prog);
	return verdict;
}

/* bpf_xdp_load_bytes / store_bytes / get_buff_len on single-buffer frames, with Linux's error codes. */
static void test_load_store_bytes(void **state)
{
	static const struct { uint32_t off, len; int32_t want; } loads[] = {
		{ 0, 4, 0x03020100 }, { 60, 4, 0x3f3e3d3c }, { 61, 4, -EINVAL }, { 64, 0, 0 },
		{ 0, 65, -EINVAL }, { 0x10000, 1, -EFAULT }, { 0, 0x10000, -EFAULT },
	};
	uint8_t bytes[64];
	char text[512];

	(void)state;
	for (int checked = 0; checked <= 1; checked++) {
		for (size_t i = 0; i < N(loads); i++) {
			snprintf(text, sizeof(text),
				 "stdw [%%r10-8], 0\n mov %%r2, %u\n mov %%r3, %%r10\n add %%r3, -8\n mov %%r4, %u\n"
				 "call 189\n jne %%r0, 0, out\n ldxw %%r0, [%%r10-8]\n out:\n exit\n",
				 loads[i].off, loads[i].len);
			assert_int_equal((int32_t)run_on_counting_frame(text, checked, bytes), loads[i].want);
		}
		assert_int_equal(run_on_counting_frame("stw [%r10-4], 0x11223344\n mov %r2, 4\n mov %r3, %r10\n"
						       "add %r3, -4\n mov %r4, 4\n call 190\n exit\n", checked, bytes), 0);
		assert_memory_equal(bytes + 4, "\x44\x33\x22\x11", 4);
		assert_int_equal(bytes[8], 8);
		assert_int_equal((int32_t)run_on_counting_frame("stw [%r10-4], 1\n mov %r2, 62\n mov %r3, %r10\n"
								"add %r3, -4\n mov %r4, 4\n call 190\n exit\n",
								checked, bytes), -EINVAL);
		assert_int_equal(bytes[63], 63);
		assert_int_equal(run_on_counting_frame("call 188\n exit\n", checked, bytes), 64);
	}
}

/* bpf_redirect: flags must be 0 (else ABORTED); bpf_redirect_map: fallback in the low bits, flag rules. */
static void test_redirect_rules(void **state)
{
	struct { const char *call; uint32_t want; } cases[] = {
		{ "mov %r1, 5\n mov %r2, 0\n call 23\n exit\n", BJ_XDP_REDIRECT },
		{ "mov %r1, 5\n mov %r2, 1\n call 23\n exit\n", BJ_XDP_ABORTED },
		{ "lddw %r1, MAP\n mov %r2, 1\n mov %r3, 2\n call 51\n exit\n", BJ_XDP_REDIRECT },
		{ "lddw %r1, MAP\n mov %r2, 7\n mov %r3, 2\n call 51\n exit\n", BJ_XDP_PASS },
		{ "lddw %r1, MAP\n mov %r2, 7\n mov %r3, 3\n call 51\n exit\n", BJ_XDP_TX },
		{ "lddw %r1, MAP\n mov %r2, 7\n mov %r3, 4\n call 51\n exit\n", BJ_XDP_ABORTED },
		{ "lddw %r1, MAP\n mov %r2, 7\n mov %r3, 8\n call 51\n exit\n", BJ_XDP_REDIRECT },
		{ "lddw %r1, MAP\n mov %r2, 1\n mov %r3, 0x20\n call 51\n exit\n", BJ_XDP_ABORTED },
	};
	struct bj_error err = { 0 };
	uint32_t key = 1, ifindex = 42;
	struct bj_map *map;

	(void)state;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_DEVMAP, 4, 4, 8, NULL, &map, &err), 0);
	assert_int_equal(bj_map__update_elem(map, &key, &ifindex, 0), 0);
	for (size_t i = 0; i < N(cases); i++) {
		char text[256], addr[32];
		const char *at = strstr(cases[i].call, "MAP");
		struct bj_prog *prog;
		struct bj_xdp *x;
		struct bj_frame f;

		snprintf(addr, sizeof(addr), "0x%" PRIxPTR, (uintptr_t)map);
		if (at)
			snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - cases[i].call), cases[i].call, addr, at + 3);
		else
			snprintf(text, sizeof(text), "%s", cases[i].call);
		prog = make_prog(text, BJ_ENGINE_INTERP, true);
		assert_int_equal(bj_xdp__create(prog, NULL, &x, NULL), 0);
		assert_int_equal(helper_on_packet(x, 0, 0, &f), cases[i].want);
		if (cases[i].want == BJ_XDP_REDIRECT) {
			const struct bj_xdp_target *t = bj_xdp__target(x, 0, 0);

			assert_int_equal(t->kind, at ? BJ_XDP_TARGET_MAP : BJ_XDP_TARGET_IFINDEX);
			if (!(at && strstr(cases[i].call, "mov %r3, 8")))
				assert_int_equal(t->ifindex, at ? 42 : 5);
		}
		bj_xdp__destroy(x);
		bj_prog__destroy(prog);
	}
	bj_map__destroy(map);
}

/* An embedder's own bpf_redirect: counts its calls through the user pointer and answers by ifindex parity. */
static uint64_t own_redirect(uint64_t ifindex, uint64_t flags, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)flags, (void)r3, (void)r4, (void)r5;
	(*(uint32_t *)bj_run__user(run))++;
	if (ifindex == 4)
		bj_run_fault(run, EINVAL, -1, "own_redirect: no device 4");
	return ifindex % 2 ? BJ_XDP_PASS : BJ_XDP_DROP;
}

/* A replaced bpf_redirect keeps its calls in the rewrite: it runs once per frame, as per packet, and when it
 * stops a run only that frame is ABORTED. */
static void test_redirect_replaced(void **state)
{
	static const enum bj_xdp_exec execs[] = { BJ_XDP_EXEC_PER_PACKET, BJ_XDP_EXEC_REWRITE };
	static const struct bj_helper helpers[] = { { BJ_XDP_FN_REDIRECT, "own_redirect", own_redirect } };
	struct bj_insn *insns;
	size_t n;

	(void)state;
	assert_int_equal(bj_asm("ldxw %r1, [%r1+12]\n mov %r2, 0\n call 23\n exit\n", &insns, &n, NULL), 0);
	for (size_t e = 0; e < N(execs); e++) {
		uint32_t calls = 0;
		struct bj_prog *prog;
		struct bj_batch *b;
		struct bj_xdp *x;

		BJ_OPTS(bj_prog_opts, po, .type = BJ_PROG_TYPE_XDP, .engine = BJ_ENGINE_JIT, .helpers = helpers,
			.n_helpers = N(helpers), .unchecked = true, .user = &calls);
		assert_int_equal(bj_prog__create(insns, n, &po, &prog, NULL), 0);
		BJ_OPTS(bj_xdp_opts, xo, .exec = execs[e]);
		assert_int_equal(bj_xdp__create(prog, &xo, &x, NULL), 0);
		BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
		assert_int_equal(bj_batch__create(8, &bo, &b), 0);
		for (uint32_t i = 0; i < 8; i++) {
			b->frames[i].data_end = b->frames[i].data + 60;
			b->frames[i].ingress_ifindex = i + 1;
		}
		b->n = 8;
		assert_int_equal(bj_xdp__run_batch(x, 0, b, NULL), 0);
		assert_int_equal(calls, 8);
		for (uint32_t i = 0; i < 8; i++) {
			assert_int_equal(b->frames[i].action,
					 i == 3 ? BJ_XDP_ABORTED : (i + 1) % 2 ? BJ_XDP_PASS : BJ_XDP_DROP);
			assert_int_equal(bj_xdp__target(x, 0, i)->kind, BJ_XDP_TARGET_NONE);
		}
		b->n = 0;
		bj_batch__destroy(b);
		bj_xdp__destroy(x);
		bj_prog__destroy(prog);
	}
	free(insns);
}

/* ---- the rewrite's limits ---- */

#define USE_R6_R9 "mov %r6, 0\n mov %r7, 0\n mov %r8, 0\n mov %r9, 0\n"

static void test_rewrite_refusals(void **state)
{
	static const struct { const char *text; int err; } cases[] = {
		{ USE_R6_R9 "stxdw [%r10-512], %r6\n mov %r0, 2\n exit\n", -E2BIG },
		{ "mov %r2, 0\n mov %r3, 0\n call 12\n mov %r0, 2\n exit\n", -EOPNOTSUPP },
		{ "mov %r2, %r10\n ldxdw %r0, [%r2-8]\n exit\n", -EOPNOTSUPP },
		{ "call local f\n exit\n f:\n mov %r1, 3\n mov %r2, 0\n call 23\n exit\n", -EOPNOTSUPP },
	};
	struct bj_error err;

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct bj_insn *insns, *out;
		size_t n, out_n;

		assert_int_equal(bj_asm(cases[i].text, &insns, &n, NULL), 0);
		memset(&err, 0, sizeof(err));
		assert_int_equal(bj_xdp_rewrite(insns, n, BJ_XDP_SUBST_REDIRECT | BJ_XDP_SUBST_REDIRECT_MAP, &out, &out_n, &err), cases[i].err);
		assert_true(err.msg[0] != 0);
		free(insns);
	}
}

/* Where the loop keeps its cursor and end: free callee-saved registers, else 16 bytes below the stack. */
/* A checked program that overwrites the loop's frame pointer on its stack stops its run; nothing is written
 * through the forged pointer. */
static void test_forged_cursor(void **state)
{
	static const char text[] = USE_R6_R9 "mov %r2, %r10\n add %r2, -8\n add %r2, 16\n stdw [%r2+0], 0x1000\n"
				   "mov %r1, 5\n mov %r2, 0\n call 23\n exit\n";
	static const enum bj_engine engines[] = { BJ_ENGINE_INTERP, BJ_ENGINE_JIT };

	(void)state;
	for (size_t e = 0; e < N(engines); e++) {
		struct bj_prog *prog = make_prog(text, engines[e], true);
		struct bj_xdp_stats st = { .sz = sizeof(st) };
		struct bj_batch *b;
		struct bj_xdp *x;

		BJ_OPTS(bj_xdp_opts, xo, .exec = BJ_XDP_EXEC_REWRITE);
		assert_int_equal(bj_xdp__create(prog, &xo, &x, NULL), 0);
		BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
		assert_int_equal(bj_batch__create(4, &bo, &b), 0);
		for (uint32_t i = 0; i < 4; i++)
			b->frames[i].data_end = b->frames[i].data + 60;
		b->n = 4;
		assert_int_equal(bj_xdp__run_batch(x, 0, b, NULL), 0);
		for (uint32_t i = 0; i < 4; i++)
			assert_int_equal(b->frames[i].action, BJ_XDP_ABORTED);
		assert_int_equal(bj_xdp__stats(x, &st), 0);
		assert_int_equal(st.faults, 4);
		b->n = 0;
		bj_batch__destroy(b);
		bj_xdp__destroy(x);
		bj_prog__destroy(prog);
	}
}

static void test_rewrite_layout(void **state)
{
	static const struct { const char *text; int16_t off; size_t at; uint8_t end_dst, cur_dst; } cases[] = {
		/* 496 bytes of stack plus the 16 the loop takes still fit. */
		{ USE_R6_R9 "stxdw [%r10-496], %r6\n mov %r0, 2\n exit\n", -512, 8, BPF_REG_10, BPF_REG_10 },
		/* r8 and r9 unused: the whole 512 bytes stay the program's. */
		{ "mov %r1, 0\n stxdw [%r10-512], %r1\n mov %r0, 2\n exit\n", -512, 5, BPF_REG_8, BPF_REG_9 },
		/* Only r9 unused: the end pointer takes 8 bytes. */
		{ "mov %r6, 0\n mov %r7, 0\n mov %r8, 0\n stxdw [%r10-8], %r6\n mov %r0, 2\n exit\n", -16, 7,
		  BPF_REG_10, BPF_REG_9 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct bj_insn *insns, *out;
		size_t n, out_n;

		assert_int_equal(bj_asm(cases[i].text, &insns, &n, NULL), 0);
		assert_int_equal(bj_xdp_rewrite(insns, n, BJ_XDP_SUBST_REDIRECT | BJ_XDP_SUBST_REDIRECT_MAP, &out, &out_n, NULL), 0);
		assert_int_equal(out[2].dst, cases[i].end_dst);
		assert_int_equal(out[3].dst, cases[i].cur_dst);
		assert_int_equal(out[cases[i].at].off, cases[i].off);
		free(out);
		free(insns);
	}
}

/* The context fields a program reads decide what the runner fills: followed through copies and branches, all
 * of them for any other use of the pointer. */
static void test_ctx_fields(void **state)
{
	static const struct { const char *text; uint32_t fields; } cases[] = {
		{ "mov %r0, 1\n exit\n", 0 },
		{ "mov %r1, 7\n mov %r2, 0\n call 23\n exit\n", 0 },
		{ "lddw %r1, 0x1234\n ldxw %r0, [%r1+0]\n exit\n", 0 },
		{ "ja l\n l:\n mov %r1, 0\n ldxw %r0, [%r1+8]\n exit\n", 0 },
		{ "ldxw %r0, [%r1+4]\n exit\n", 0x2 },
		{ "mov %r6, %r1\n mov %r1, 0\n ldxw %r0, [%r6+16]\n exit\n", 0x10 },
		{ "ldxw %r2, [%r1+0]\n jeq %r2, 0, l\n mov %r7, %r1\n ldxw %r0, [%r7+12]\n exit\n"
		  " l:\n ldxw %r0, [%r1+4]\n exit\n", 0xb },
		/* A loop carries the copy round: the load at its head sees it on the second pass. */
		{ "mov %r2, 0\n l:\n jeq %r2, 1, out\n mov %r6, %r1\n mov %r2, 1\n ja l\n"
		  " out:\n ldxw %r0, [%r6+8]\n exit\n", 0x4 },
		{ "add %r1, 0\n mov %r0, 1\n exit\n", BJ_XDP_CTX_ALL },
		{ "mov %r2, 0\n call 44\n exit\n", BJ_XDP_CTX_ALL },
		{ "stxdw [%r10-8], %r1\n mov %r0, 1\n exit\n", BJ_XDP_CTX_ALL },
		{ "mov32 %r2, %r1\n mov %r0, 1\n exit\n", BJ_XDP_CTX_ALL },
		{ "jeq %r1, 0, l\n l:\n mov %r0, 1\n exit\n", BJ_XDP_CTX_ALL },
		{ "mov %r6, %r1\n call local f\n exit\n f:\n mov %r0, 1\n exit\n", BJ_XDP_CTX_ALL },
		{ "ldxdw %r0, [%r1+20]\n exit\n", BJ_XDP_CTX_ALL },
		/* An atomic that writes r0 does not hide the copy it may have left there. */
		{ "mov %r0, %r1\n mov %r2, 1\n lock add [%r10-8], %r2\n ldxw %r3, [%r0+16]\n mov %r0, 1\n exit\n",
		  0x10 },
	};

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		struct bj_insn *insns;
		size_t n;

		if (bj_asm(cases[i].text, &insns, &n, NULL))
			fail_msg("case %zu does not assemble", i);
		if (bj_xdp_ctx_fields(insns, n) != cases[i].fields)
			fail_msg("case %zu: fields 0x%x, want 0x%x", i, bj_xdp_ctx_fields(insns, n), cases[i].fields);
		free(insns);
	}
}

/* AUTO falls back to per-packet calls and says why; an explicit batched mode fails instead. */
static void test_exec_fallback(void **state)
{
	static const char deep[] = USE_R6_R9 "stxdw [%r10-504], %r6\n mov %r0, 2\n exit\n";
	struct bj_prog *prog = make_prog(deep, BJ_ENGINE_INTERP, true);
	struct bj_error err = { 0 };
	const char *why = NULL;
	struct bj_xdp *x;

	(void)state;
	assert_int_equal(bj_xdp__create(prog, NULL, &x, &err), 0);
	assert_int_equal(bj_xdp__exec(x, &why), BJ_XDP_EXEC_PER_PACKET);
	assert_non_null(why);
	assert_non_null(strstr(why, "exceeds 512"));
	bj_xdp__destroy(x);
	BJ_OPTS(bj_xdp_opts, xo, .exec = BJ_XDP_EXEC_REWRITE);
	assert_int_equal(bj_xdp__create(prog, &xo, &x, &err), -E2BIG);
	bj_prog__destroy(prog);
}

/* A batch whose frames lie above 4 GiB is refused, naming the frame, when the program reads its context (a
 * program that does not runs on it); so is a helper outside a runner. */
static void test_frames_above_4g(void **state)
{
	struct bj_error err = { 0 };
	struct bj_prog *prog;
	struct bj_batch *b;
	struct bj_xdp *x;

	(void)state;
	assert_int_equal(bj_batch__create(4, NULL, &b), 0);
	b->n = 1;
	b->frames[0].data_end = b->frames[0].data + 60;
	if (!bj_lowmem_fits(b->arena, 4 * b->frame_sz)) {
		prog = make_prog(prog_mac_swap, BJ_ENGINE_INTERP, true);
		assert_int_equal(bj_xdp__create(prog, NULL, &x, NULL), 0);
		assert_int_equal(bj_xdp__run_batch(x, 0, b, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "above 4 GiB"));
		bj_xdp__destroy(x);
		bj_prog__destroy(prog);
		prog = make_prog(prog_drop, BJ_ENGINE_JIT, false);
		assert_int_equal(bj_xdp__create(prog, NULL, &x, NULL), 0);
		assert_int_equal(bj_xdp__run_batch(x, 0, b, &err), 0);
		assert_int_equal(b->frames[0].action, BJ_XDP_DROP);
		bj_xdp__destroy(x);
		bj_prog__destroy(prog);
	}
	b->n = 0;
	bj_batch__destroy(b);

	prog = make_prog("mov %r2, 4\n call 44\n exit\n", BJ_ENGINE_INTERP, true);
	uint8_t mem[64] = { 0 };
	uint64_t r0;
	assert_int_equal(bj_prog__exec(prog, mem, sizeof(mem), &r0, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "outside an XDP runner"));
	bj_prog__destroy(prog);
}

/* The bundled xdp_mac_swap object runs unmodified, batched and not, with the same results. */
static void test_example_mac_swap(void **state)
{
	char path[512];
	struct bj_object *obj;
	const struct bj_program *p;
	const struct bj_insn *insns;
	size_t n;
	struct result base = { 0 };

	(void)state;
	snprintf(path, sizeof(path), "%s/examples/xdp_mac_swap.bpf.o", getenv("BJ_BUILD_ROOT") ? getenv("BJ_BUILD_ROOT") : "build");
	if (access(path, R_OK))
		skip();
	assert_int_equal(bj_object__open_file(path, NULL, &obj, NULL), 0);
	p = bj_object__find_prog(obj, "xdp_mac_swap");
	assert_non_null(p);
	insns = bj_program__insns(p, &n);
	for (size_t m = 0; m <= N(modes); m++) {
		const struct mode *md = m ? &modes[m - 1] : &(struct mode){ BJ_ENGINE_INTERP, BJ_XDP_EXEC_PER_PACKET, true };
		struct bj_prog *prog;
		enum bj_xdp_exec used;
		struct result r;

		BJ_OPTS(bj_prog_opts, po, .type = BJ_PROG_TYPE_XDP, .engine = md->engine, .unchecked = !md->checked,
			.unverified = md->checked);
		assert_int_equal(bj_prog__create(insns, n, &po, &prog, NULL), 0);
		r = run_capture(prog, md->exec, &used);
		if (!m) {
			base = r;
			for (uint32_t i = 0; i < r.n; i++)
				assert_int_equal(r.action[i], r.len[i] >= 14 ? BJ_XDP_TX : BJ_XDP_DROP);
		} else {
			assert_same(&base, &r, "xdp_mac_swap");
			result_free(&r);
		}
		bj_prog__destroy(prog);
	}
	result_free(&base);
	bj_object__close(obj);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_adjust_head_limits),
		cmocka_unit_test(test_adjust_tail_limits),
		cmocka_unit_test(test_adjust_meta_limits),
		cmocka_unit_test(test_load_store_bytes),
		cmocka_unit_test(test_redirect_rules),
		cmocka_unit_test(test_redirect_replaced),
		cmocka_unit_test(test_rewrite_refusals),
		cmocka_unit_test(test_rewrite_layout),
		cmocka_unit_test(test_forged_cursor),
		cmocka_unit_test(test_ctx_fields),
		cmocka_unit_test(test_exec_fallback),
		cmocka_unit_test(test_frames_above_4g),
		cmocka_unit_test(test_equivalence_drop),
		cmocka_unit_test(test_equivalence_mac_swap),
		cmocka_unit_test(test_equivalence_stack_subprog),
		cmocka_unit_test(test_equivalence_head_redirect),
		cmocka_unit_test(test_equivalence_tail_meta),
		cmocka_unit_test(test_equivalence_map),
		cmocka_unit_test(test_delivery_tx),
		cmocka_unit_test(test_delivery_redirect),
		cmocka_unit_test(test_delivery_redirect_stack_cursor),
		cmocka_unit_test(test_delivery_redirect_map),
		cmocka_unit_test(test_example_mac_swap),
	};

	return cmocka_run_group_tests(tests, setup_pcap, teardown_pcap);
}
