/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpfjet/asm.h>
#include <bpfjet/helpers.h>
#include <bpfjet/map.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isa/isa.h"
#include "jit/jit.h"
#include "maps/map_internal.h"
#include "prog/prog_int.h"

struct mode {
	const char *name;
	enum bj_engine engine;
	bool checked;
};

static const struct mode modes[] = {
	{ "interp checked", BJ_ENGINE_INTERP, true },
	{ "interp", BJ_ENGINE_INTERP, false },
	{ "jit checked", BJ_ENGINE_JIT, true },
	{ "jit", BJ_ENGINE_JIT, false },
};

/* Programs that touch map memory run unchecked: checked mode only knows the regions given to the run. */
static const struct mode unchecked_modes[] = {
	{ "interp", BJ_ENGINE_INTERP, false },
	{ "jit", BJ_ENGINE_JIT, false },
};

/* Linux's MAX_TAIL_CALL_CNT, written out here so that the tests check the runtime's constant. */
#define BJ_MAX_TAIL_CALLS_LINUX 33

#define FOR_MODES(m, table) for (const struct mode *m = (table); m < (table) + BJ_ARRAY_SIZE(table); m++)

/* printf into a fresh buffer, for program text with addresses in it */
static char *text(const char *fmt, ...) BJ_PRINTF(1, 2);
static char *text(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	assert_non_null(s);
	return s;
}

struct extra {
	const struct bj_helper *helpers;
	size_t n_helpers;
	struct bj_map *const *maps;
	size_t n_maps;
	bj_trace_fn trace;
	void *trace_ctx;
};

static struct bj_prog *build_opts(const char *src, const struct mode *m, const struct extra *x)
{
	BJ_OPTS(bj_prog_opts, o, .engine = m->engine, .unchecked = !m->checked, .unverified = true);
	struct bj_insn *insns = NULL;
	struct bj_error err = { 0 };
	struct bj_prog *p = NULL;
	size_t n = 0;

	if (x) {
		o.helpers = x->helpers;
		o.n_helpers = x->n_helpers;
		o.trace = x->trace;
		o.trace_ctx = x->trace_ctx;
		o.maps = x->maps;
		o.n_maps = x->n_maps;
	}
	if (bj_asm(src, &insns, &n, &err))
		fail_msg("asm: %s (line %ld)\n%s", err.msg, err.offset, src);
	if (bj_prog__create(insns, n, &o, &p, &err))
		fail_msg("%s: create: %s", m->name, err.msg);
	free(insns);
	return p;
}

static struct bj_prog *build(const char *src, const struct mode *m)
{
	return build_opts(src, m, NULL);
}

/* With the maps that checked runs may name. */
static struct bj_prog *build_maps(const char *src, const struct mode *m, struct bj_map *const *maps, size_t n)
{
	struct extra x = { .maps = maps, .n_maps = n };

	return build_opts(src, m, &x);
}

/* Runs once on no data; returns the run's result (0 or -errno) and r0. */
static int exec(struct bj_prog *p, uint64_t *r0, struct bj_error *err)
{
	struct bj_error e = { 0 };
	int ret = bj_prog__exec(p, NULL, 0, r0, err ? err : &e);

	return ret;
}

/* Runs once on mem (a region of checked runs); stops the test if the run is stopped. */
static uint64_t exec_mem_ok(struct bj_prog *p, const struct mode *m, void *mem, size_t len)
{
	struct bj_error err = { 0 };
	uint64_t r0 = 0;

	if (bj_prog__exec(p, mem, len, &r0, &err))
		fail_msg("%s: run stopped: %s (insn %ld)", m->name, err.msg, err.insn);
	return r0;
}

static uint64_t exec_ok(struct bj_prog *p, const struct mode *m)
{
	struct bj_error err = { 0 };
	uint64_t r0 = 0;

	if (exec(p, &r0, &err))
		fail_msg("%s: run stopped: %s (insn %ld)", m->name, err.msg, err.insn);
	return r0;
}

/* Runs on a given worker, as the XDP runner does. */
static uint64_t exec_on_worker(struct bj_prog *p, unsigned worker, int *fault)
{
	struct bj_run run;
	uint64_t r0;

	bj_prog_run_init(p, &run);
	run.worker = worker;
	bj_epoch_enter();
	r0 = bj_prog_invoke(p, NULL, 0, &run);
	bj_epoch_exit();
	*fault = run.fault;
	return r0;
}

static struct bj_map *mkmap(enum bj_map_type t, uint32_t ks, uint32_t vs, uint32_t max, const struct bj_map_opts *o)
{
	struct bj_error err = { 0 };
	struct bj_map *map = NULL;

	if (bj_map__create(t, ks, vs, max, o, &map, &err))
		fail_msg("map create: %s", err.msg);
	return map;
}

/* ---- time, randomness, where the run is ---- */

static uint64_t now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_clocks(void **state)
{
	static const struct {
		int id;
		clockid_t clock;
		uint64_t unit;
	} clocks[] = {
		{ BJ_FN_KTIME_GET_NS, CLOCK_MONOTONIC, 1 },
		{ BJ_FN_KTIME_GET_BOOT_NS, CLOCK_BOOTTIME, 1 },
		{ BJ_FN_KTIME_GET_COARSE_NS, CLOCK_MONOTONIC_COARSE, 1 },
		{ BJ_FN_JIFFIES64, CLOCK_MONOTONIC_COARSE, 1000000000ull / BJ_JIFFIES_HZ },
	};

	(void)state;
	FOR_MODES(m, modes) {
		for (size_t i = 0; i < BJ_ARRAY_SIZE(clocks); i++) {
			char *src = text("call %d\nexit\n", clocks[i].id);
			struct bj_prog *p = build(src, m);
			uint64_t before = now(clocks[i].clock) / clocks[i].unit, r0 = exec_ok(p, m);
			uint64_t after = now(clocks[i].clock) / clocks[i].unit;

			if (r0 < before || r0 > after)
				fail_msg("%s: helper %d gave %" PRIu64 ", outside [%" PRIu64 ", %" PRIu64 "]", m->name,
					 clocks[i].id, r0, before, after);
			bj_prog__destroy(p);
			free(src);
		}
	}
}

static void test_prandom(void **state)
{
	const char *src = "call 7\n mov %r6, %r0\n call 7\n lsh %r0, 32\n or %r0, %r6\n exit\n";

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build(src, m);
		uint64_t first = exec_ok(p, m);
		unsigned differ = 0, same_halves = 0;

		for (int i = 0; i < 32; i++) {
			uint64_t r0 = exec_ok(p, m);

			differ += r0 != first;
			same_halves += (uint32_t)r0 == (uint32_t)(r0 >> 32);
		}
		/* 32-bit values: two equal draws in a row or across runs are a one-in-four-billion event. */
		assert_int_equal(differ, 32);
		assert_int_equal(same_halves, 0);
		bj_prog__destroy(p);
	}
}

static void test_worker_and_numa(void **state)
{
	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build("call 8\n mov %r6, %r0\n call 42\n lsh %r0, 32\n or %r0, %r6\n exit\n", m);
		int fault;

		assert_int_equal(exec_on_worker(p, 0, &fault), 0);
		assert_int_equal(exec_on_worker(p, 5, &fault), 5);
		assert_int_equal(fault, 0);
		bj_prog__destroy(p);
	}
}

/* ---- maps ---- */

static void test_array_lookup_update(void **state)
{
	struct bj_map *map = mkmap(BJ_MAP_TYPE_ARRAY, 4, 8, 4, NULL);
	char *src = text("stw [%%r10-4], 2\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 1\n"
			 " jeq %%r0, 0, miss\n ldxdw %%r6, [%%r0+0]\n add %%r6, 1\n stxdw [%%r10-16], %%r6\n"
			 " lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n mov %%r3, %%r10\n add %%r3, -16\n"
			 " mov %%r4, 0\n call 2\n jne %%r0, 0, miss\n"
			 " stw [%%r10-4], 9\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 1\n"
			 " jne %%r0, 0, miss\n mov %%r0, %%r6\n exit\n miss:\n mov %%r0, -1\n exit\n",
			 (uintptr_t)map, (uintptr_t)map, (uintptr_t)map);
	uint32_t key = 2;
	uint64_t v = 41;

	(void)state;
	assert_int_equal(bj_map__update_elem(map, &key, &v, BJ_ANY), 0);
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_maps(src, m, &map, 1);

		assert_int_equal(exec_ok(p, m), v + 1);
		assert_int_equal(bj_map__lookup_elem(map, &key, &v), 0);
		bj_prog__destroy(p);
	}
	assert_int_equal(v, 41 + BJ_ARRAY_SIZE(modes));
	/* a checked run may not name a map the program was not created with */
	{
		struct bj_prog *p = build(src, &modes[0]);
		struct bj_error err = { 0 };
		uint64_t r0;

		assert_int_equal(exec(p, &r0, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "bpf_map_lookup_elem: r1"));
		bj_prog__destroy(p);
	}
	/* nor hand a helper memory that is not the run's */
	FOR_MODES(m, modes) {
		char *wild = text("lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, 4096\n call 1\n exit\n", (uintptr_t)map);
		struct bj_prog *p = build_maps(wild, m, &map, 1);
		struct bj_error err = { 0 };
		uint64_t r0;

		if (m->checked) {
			assert_int_equal(exec(p, &r0, &err), -EFAULT);
			assert_non_null(strstr(err.msg, "key [0x1000, +4) is outside the memory of the run"));
			assert_int_equal(err.insn, 3);
		}
		bj_prog__destroy(p);
		free(wild);
	}
	free(src);
	bj_map__destroy(map);
}

static void test_hash_delete(void **state)
{
	struct bj_map *map = mkmap(BJ_MAP_TYPE_HASH, 4, 8, 8, NULL);
	char *src = text("stw [%%r10-4], 7\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 3\n"
			 " mov %%r6, %%r0\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 3\n"
			 " lsh %%r0, 32\n or %%r0, %%r6\n exit\n", (uintptr_t)map, (uintptr_t)map);
	uint32_t key = 7;
	uint64_t v = 1;

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_maps(src, m, &map, 1);

		assert_int_equal(bj_map__update_elem(map, &key, &v, BJ_ANY), 0);
		/* first delete 0, second -ENOENT (its low 32 bits land in the upper half) */
		assert_int_equal(exec_ok(p, m), (uint64_t)(uint32_t)-ENOENT << 32);
		assert_int_equal(bj_map__lookup_elem(map, &key, &v), -ENOENT);
		bj_prog__destroy(p);
	}
	free(src);
	bj_map__destroy(map);
}

static void test_percpu_slot(void **state)
{
	BJ_OPTS(bj_map_opts, mo, .n_workers = 4);
	struct bj_map *map = mkmap(BJ_MAP_TYPE_PERCPU_ARRAY, 4, 8, 2, &mo);
	char *src = text("stw [%%r10-4], 1\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 1\n"
			 " jeq %%r0, 0, out\n mov %%r6, %%r0\n call 8\n add %%r0, 100\n stxdw [%%r6+0], %%r0\n"
			 " out:\n exit\n", (uintptr_t)map);
	uint64_t slots[4];
	uint32_t key = 1;
	int fault;

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_maps(src, m, &map, 1);

		memset(slots, 0, sizeof(slots));
		assert_int_equal(bj_map__update_elem(map, &key, slots, BJ_ANY), 0);
		exec_on_worker(p, 2, &fault);
		assert_int_equal(fault, 0);
		assert_int_equal(bj_map__lookup_elem(map, &key, slots), 0);
		assert_int_equal(slots[0], 0);
		assert_int_equal(slots[1], 0);
		assert_int_equal(slots[2], 102);
		assert_int_equal(slots[3], 0);
		/* a worker the map has no slot for stops the run */
		exec_on_worker(p, 4, &fault);
		assert_int_equal(fault, -EINVAL);
		bj_prog__destroy(p);
	}
	free(src);
	bj_map__destroy(map);
}

static void test_map_in_map(void **state)
{
	struct bj_map *inner = mkmap(BJ_MAP_TYPE_ARRAY, 4, 8, 1, NULL);
	BJ_OPTS(bj_map_opts, mo, .inner_map = inner);
	struct bj_map *outer = mkmap(BJ_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 2, &mo);
	char *src = text("stw [%%r10-4], 1\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 1\n"
			 " jeq %%r0, 0, miss\n mov %%r1, %%r0\n stw [%%r10-4], 0\n mov %%r2, %%r10\n add %%r2, -4\n"
			 " call 1\n jeq %%r0, 0, miss\n ldxdw %%r0, [%%r0+0]\n exit\n miss:\n mov %%r0, -1\n exit\n",
			 (uintptr_t)outer);
	uint32_t key = 1, zero = 0;
	uint64_t v = 0xabcdef;

	(void)state;
	assert_int_equal(bj_map__update_elem(inner, &zero, &v, BJ_ANY), 0);
	assert_int_equal(bj_map__set_inner(outer, &key, inner, BJ_ANY), 0);
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_maps(src, m, &outer, 1);
		struct bj_error err = { 0 };
		uint64_t r0 = 0;

		/* checked runs accept only the program's own maps: not the inner map a lookup gave */
		if (m->checked) {
			assert_int_equal(exec(p, &r0, &err), -EINVAL);
			assert_non_null(strstr(err.msg, "not one of the program's maps"));
		} else {
			assert_int_equal(exec_ok(p, m), v);
		}
		bj_prog__destroy(p);
	}
	free(src);
	bj_map__destroy(outer);
	bj_map__destroy(inner);
}

static void test_queue(void **state)
{
	struct bj_map *q = mkmap(BJ_MAP_TYPE_QUEUE, 0, 8, 4, NULL);
	/* push 7, push 8, peek, pop, pop, pop (empty): r0 = peeked | popped << 8 | popped2 << 16 | (ret & 0xff) << 24 */
	char *src = text("lddw %%r6, 0x%" PRIxPTR "\n"
			 " stdw [%%r10-8], 7\n mov %%r1, %%r6\n mov %%r2, %%r10\n add %%r2, -8\n mov %%r3, 0\n call 87\n"
			 " stdw [%%r10-8], 8\n mov %%r1, %%r6\n mov %%r2, %%r10\n add %%r2, -8\n mov %%r3, 0\n call 87\n"
			 " mov %%r1, %%r6\n mov %%r2, %%r10\n add %%r2, -16\n call 89\n ldxdw %%r7, [%%r10-16]\n"
			 " mov %%r1, %%r6\n mov %%r2, %%r10\n add %%r2, -16\n call 88\n ldxdw %%r8, [%%r10-16]\n"
			 " lsh %%r8, 8\n or %%r7, %%r8\n"
			 " mov %%r1, %%r6\n mov %%r2, %%r10\n add %%r2, -16\n call 88\n ldxdw %%r8, [%%r10-16]\n"
			 " lsh %%r8, 16\n or %%r7, %%r8\n"
			 " mov %%r1, %%r6\n mov %%r2, %%r10\n add %%r2, -16\n call 88\n and %%r0, 255\n lsh %%r0, 24\n"
			 " or %%r0, %%r7\n exit\n", (uintptr_t)q);

	struct extra x = { .maps = &q, .n_maps = 1 };

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_opts(src, m, &x);

		assert_int_equal(exec_ok(p, m), 7 | 7 << 8 | 8 << 16 | (uint64_t)(uint8_t)-ENOENT << 24);
		bj_prog__destroy(p);
	}
	free(src);
	bj_map__destroy(q);
}

/* ---- tail calls ---- */

static void test_tail_call_limit(void **state)
{
	struct bj_map *pa = mkmap(BJ_MAP_TYPE_PROG_ARRAY, 4, 4, 4, NULL);
	uint64_t count = 0;
	/* count++, then tail call slot 0 (this program); when the call fails, r0 = count */
	char *src = text("mov %%r6, %%r1\n lddw %%r7, 0x%" PRIxPTR "\n ldxdw %%r8, [%%r7+0]\n add %%r8, 1\n"
			 " stxdw [%%r7+0], %%r8\n mov %%r1, %%r6\n lddw %%r2, 0x%" PRIxPTR "\n mov %%r3, 0\n call 12\n"
			 " ldxdw %%r0, [%%r7+0]\n exit\n", (uintptr_t)&count, (uintptr_t)pa);
	char *bad = text("lddw %%r2, 0x%" PRIxPTR "\n mov %%r3, %%r1\n call 12\n exit\n", (uintptr_t)pa);

	(void)state;
	FOR_MODES(m, unchecked_modes) {
		struct bj_prog *p = build(src, m), *b = build(bad, m);
		uint64_t r0;

		assert_int_equal(bj_map__set_prog(pa, 0, p), 0);
		count = 0;
		/* Linux's limit: 33 tail calls, so the program runs 34 times */
		assert_int_equal(exec_ok(p, m), 1 + BJ_MAX_TAIL_CALLS_LINUX);
		assert_int_equal(count, 1 + BJ_MAX_TAIL_CALLS_LINUX);
		/* an index beyond max_entries or an empty slot: the call fails and the program goes on */
		for (uint64_t idx = 1; idx <= 9; idx += 8) {
			assert_int_equal(bj_prog__exec(b, (void *)(uintptr_t)idx, 0, &r0, NULL), 0);
			assert_int_equal(r0, (uint64_t)-ENOENT);
		}
		assert_int_equal(bj_map__set_prog(pa, 0, NULL), 0);
		bj_prog__destroy(p);
		bj_prog__destroy(b);
	}
	free(src);
	free(bad);
	bj_map__destroy(pa);
}

static void test_tail_call_chain(void **state)
{
	struct bj_map *pa = mkmap(BJ_MAP_TYPE_PROG_ARRAY, 4, 4, 4, NULL);
	/* A tail calls B with its context; B returns ctx + 77, and that is the result of the run */
	char *a = text("mov %%r6, %%r1\n lddw %%r2, 0x%" PRIxPTR "\n mov %%r3, 1\n call 12\n mov %%r0, 1\n exit\n",
		       (uintptr_t)pa);

	struct extra x = { .maps = &pa, .n_maps = 1 };

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *pa_prog = build_opts(a, m, &x), *pb = build("mov %r0, %r1\n add %r0, 77\n exit\n", m);
		uint64_t r0 = 0;

		assert_int_equal(bj_map__set_prog(pa, 1, pb), 0);
		assert_int_equal(bj_prog__exec(pa_prog, (void *)100, 0, &r0, NULL), 0);
		assert_int_equal(r0, 177);
		assert_int_equal(bj_map__set_prog(pa, 1, NULL), 0);
		bj_prog__destroy(pa_prog);
		bj_prog__destroy(pb);
	}
	free(a);
	bj_map__destroy(pa);
}

/* ---- ring buffer ---- */

struct records {
	unsigned n;
	size_t size[4];
	uint64_t first[4], second[4];
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct records *r = ctx;

	if (r->n < 4) {
		r->size[r->n] = size;
		memcpy(&r->first[r->n], data, 8);
		if (size >= 16)
			memcpy(&r->second[r->n], (uint8_t *)data + 8, 8);
		r->n++;
	}
	return 0;
}

static void test_ringbuf(void **state)
{
	struct bj_map *rb = mkmap(BJ_MAP_TYPE_RINGBUF, 0, 0, 4096, NULL);
	/* reserve 16 + submit, output 8, reserve 8 + discard; r0 = bytes waiting (query 0) */
	char *src = text("lddw %%r9, 0x%" PRIxPTR "\n"
			 " mov %%r1, %%r9\n mov %%r2, 16\n mov %%r3, 0\n call 131\n jeq %%r0, 0, fail\n mov %%r6, %%r0\n"
			 " stdw [%%r6+0], 4660\n stdw [%%r6+8], 99\n mov %%r1, %%r6\n mov %%r2, 0\n call 132\n"
			 " stdw [%%r10-8], 555\n mov %%r1, %%r9\n mov %%r2, %%r10\n add %%r2, -8\n mov %%r3, 8\n mov %%r4, 0\n"
			 " call 130\n jne %%r0, 0, fail\n"
			 " mov %%r1, %%r9\n mov %%r2, 8\n mov %%r3, 0\n call 131\n jeq %%r0, 0, fail\n mov %%r1, %%r0\n"
			 " mov %%r2, 0\n call 133\n"
			 " mov %%r1, %%r9\n mov %%r2, 0\n call 134\n exit\n fail:\n mov %%r0, -1\n exit\n",
			 (uintptr_t)rb);
	char *bogus = text("lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, 0\n call 132\n exit\n", (uintptr_t)rb);

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_maps(src, m, &rb, 1), *b = build_maps(bogus, m, &rb, 1);
		struct bj_ring_buffer *ring = NULL;
		struct records recs = { 0 };
		struct bj_error err = { 0 };
		uint64_t r0;

		assert_int_equal(bj_ring_buffer__new(rb, on_record, &recs, NULL, &ring), 0);
		/* record lengths with their 8-byte headers, rounded to 8: the discarded one waits until consumed */
		assert_int_equal(exec_ok(p, m), 24 + 16 + 16);
		assert_true(bj_ring_buffer__consume(ring) >= 2);
		assert_int_equal(recs.n, 2);
		assert_int_equal(recs.size[0], 16);
		assert_int_equal(recs.first[0], 4660);
		assert_int_equal(recs.second[0], 99);
		assert_int_equal(recs.size[1], 8);
		assert_int_equal(recs.first[1], 555);
		/* submitting what the run did not reserve stops it */
		assert_int_equal(exec(b, &r0, &err), -EINVAL);
		assert_non_null(strstr(err.msg, "not a ring buffer record"));
		bj_ring_buffer__free(ring);
		bj_prog__destroy(p);
		bj_prog__destroy(b);
	}
	free(src);
	free(bogus);
	bj_map__destroy(rb);
}

/* ---- spin lock ---- */

struct lock_job {
	struct bj_prog *prog;
	uint32_t repeat;
	int ret;
};

static void *lock_worker(void *arg)
{
	struct lock_job *j = arg;
	BJ_OPTS(bj_run_opts, ro, .repeat = j->repeat);

	j->ret = bj_prog__run(j->prog, &ro, NULL);
	return NULL;
}

static void test_spin_lock_threads(void **state)
{
	BJ_OPTS(bj_map_opts, mo, .has_spin_lock = true, .spin_lock_off = 0);
	struct bj_map *map = mkmap(BJ_MAP_TYPE_ARRAY, 4, 16, 1, &mo);
	/* value = { lock, pad, counter }: a plain load-add-store under the lock */
	char *src = text("stw [%%r10-4], 0\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -4\n call 1\n"
			 " jeq %%r0, 0, out\n mov %%r6, %%r0\n mov %%r1, %%r6\n call 93\n ldxdw %%r7, [%%r6+8]\n"
			 " add %%r7, 1\n stxdw [%%r6+8], %%r7\n mov %%r1, %%r6\n call 94\n out:\n mov %%r0, 0\n exit\n",
			 (uintptr_t)map);
	const uint32_t per_thread = 20000;

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_maps(src, m, &map, 1);
		struct lock_job jobs[2] = { { p, per_thread, -1 }, { p, per_thread, -1 } };
		pthread_t t[2];
		uint64_t value[2] = { 0 };
		uint32_t key = 0;

		assert_int_equal(bj_map__update_elem(map, &key, value, BJ_ANY), 0);
		for (int i = 0; i < 2; i++)
			assert_int_equal(pthread_create(&t[i], NULL, lock_worker, &jobs[i]), 0);
		for (int i = 0; i < 2; i++)
			pthread_join(t[i], NULL);
		assert_int_equal(jobs[0].ret, 0);
		assert_int_equal(jobs[1].ret, 0);
		assert_int_equal(bj_map__lookup_elem(map, &key, value), 0);
		assert_int_equal(value[1], 2 * per_thread);
		bj_prog__destroy(p);
	}
	free(src);
	bj_map__destroy(map);
}

/* Checked runs keep Linux's lock rules at run time, and a lock that is never free stops the run. */
static void test_spin_lock_checked(void **state)
{
	/* r1 points at the lock word, in the run's memory */
	static const struct {
		const char *name, *src;
		uint32_t word;
		int fault;
		const char *msg;
	} cases[] = {
		{ "twice", "mov %r6, %r1\n call 93\n mov %r1, %r6\n call 93\n exit\n", 0, -EDEADLK, "already holds a lock" },
		{ "unlock not held", "call 94\n exit\n", 0, -EINVAL, "does not hold" },
		{ "exit holding it", "call 93\n exit\n", 0, -EINVAL, "ended holding" },
		{ "never free", "call 93\n exit\n", 1, -ETIME, "budget ran out" },
		{ "misaligned", "add %r1, 2\n call 93\n exit\n", 0, -EFAULT, "not an aligned lock" },
		{ "on the stack", "stw [%r10-8], 0\n mov %r1, %r10\n add %r1, -8\n call 93\n exit\n", 0, -EFAULT,
		  "not an aligned lock in a region" },
	};

	(void)state;
	FOR_MODES(m, modes) {
		if (!m->checked)
			continue;
		for (size_t i = 0; i < BJ_ARRAY_SIZE(cases); i++) {
			struct bj_prog *p = build(cases[i].src, m);
			struct bj_error err = { 0 };
			uint32_t mem[2] = { cases[i].word, 0 };
			uint64_t r0;
			int ret = bj_prog__exec(p, mem, sizeof(mem), &r0, &err);

			if (ret != cases[i].fault || !strstr(err.msg, cases[i].msg))
				fail_msg("%s: %s: %d '%s', want %d '%s'", m->name, cases[i].name, ret, err.msg, cases[i].fault,
					 cases[i].msg);
			/* a lock the run took is free again */
			assert_int_equal(mem[0], cases[i].word);
			bj_prog__destroy(p);
		}
	}
}

/* ---- trace_printk ---- */

struct sink {
	char buf[2048];
	size_t len;
	unsigned calls;
};

static void collect(void *ctx, const char *msg, size_t len)
{
	struct sink *s = ctx;

	if (s->len + len < sizeof(s->buf)) {
		memcpy(s->buf + s->len, msg, len);
		s->len += len;
		s->buf[s->len] = 0;
	}
	s->calls++;
}

struct trace_case {
	const char *fmt;
	uint64_t a[3];
	const char *out; /* NULL: -EINVAL */
	int cut;         /* fmt_size = strlen + 1 - cut */
};

static const char trace_str[] = "hello";

static const struct trace_case trace_cases[] = {
	{ "%d", { (uint64_t)-5 }, "-5", 0 },
	{ "%i", { 42 }, "42", 0 },
	{ "%d", { 0x100000005ull }, "5", 0 },
	{ "%u", { (uint64_t)-1 }, "4294967295", 0 },
	{ "%x", { 0x1234abcdull }, "1234abcd", 0 },
	{ "%X", { 0xbeefull }, "BEEF", 0 },
	{ "%ld", { (uint64_t)-5 }, "-5", 0 },
	{ "%lu", { 1ull << 63 }, "9223372036854775808", 0 },
	{ "%lx", { 0xdeadbeefcafeull }, "deadbeefcafe", 0 },
	{ "%lld", { 1ull << 63 }, "-9223372036854775808", 0 },
	{ "%llu", { (uint64_t)-1 }, "18446744073709551615", 0 },
	{ "%llx", { 0x0123456789abcdefull }, "123456789abcdef", 0 },
	{ "%p", { 0x1234 }, "0000000000001234", 0 },
	{ "%c%c", { 'o', 'k' }, "ok", 0 },
	{ "%%", { 0 }, "%", 0 },
	{ "100%% %d", { 7 }, "100% 7", 0 },
	{ "%5d|%-4d|%08x", { 42, 7, 0xbeef }, "   42|7   |0000beef", 0 },
	{ "a=%d b=%u c=%x\n", { 1, 2, 3 }, "a=1 b=2 c=3\n", 0 },
	{ "no args", { 0 }, "no args", 0 },
	{ "%d %d %d %d", { 1, 2, 3 }, NULL, 0 },
	{ "%q", { 0 }, NULL, 0 },
	{ "%hd", { 0 }, NULL, 0 },
	{ "%lllx", { 0 }, NULL, 0 },
	{ "%", { 0 }, NULL, 0 },
	{ "bell\a", { 0 }, NULL, 0 },
	{ "no NUL", { 0 }, NULL, 1 },
};

/* The format is copied to mem, the run's memory; string arguments should point into mem too. */
static void run_trace(const struct mode *m, const char *fmt, uint32_t size, const uint64_t a[3], struct sink *s,
		      uint64_t *r0, char *mem, size_t len)
{
	char *src = text("lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %u\n lddw %%r3, 0x%" PRIx64 "\n lddw %%r4, 0x%" PRIx64
			 "\n lddw %%r5, 0x%" PRIx64 "\n call 6\n exit\n", (uintptr_t)mem, size, a[0], a[1], a[2]);
	struct extra x = { .trace = collect, .trace_ctx = s };
	struct bj_prog *p = build_opts(src, m, &x);

	memcpy(mem, fmt, size);
	*r0 = exec_mem_ok(p, m, mem, len);
	bj_prog__destroy(p);
	free(src);
}

static void test_trace_printk(void **state)
{
	(void)state;
	FOR_MODES(m, modes) {
		for (size_t i = 0; i < BJ_ARRAY_SIZE(trace_cases); i++) {
			const struct trace_case *c = &trace_cases[i];
			struct sink s = { .len = 0 };
			char mem[64];
			uint64_t r0;

			run_trace(m, c->fmt, (uint32_t)(strlen(c->fmt) + 1 - (size_t)c->cut), c->a, &s, &r0, mem, sizeof(mem));
			if (!c->out) {
				if (r0 != (uint64_t)-EINVAL || s.calls)
					fail_msg("%s: '%s' gave %" PRId64 " with %u messages, want -EINVAL", m->name, c->fmt,
						 (int64_t)r0, s.calls);
				continue;
			}
			if (r0 != strlen(c->out) || s.calls != 1 || strcmp(s.buf, c->out))
				fail_msg("%s: '%s' gave '%s' (%" PRId64 "), want '%s'", m->name, c->fmt, s.buf, (int64_t)r0,
					 c->out);
		}
	}
}

static void test_trace_printk_strings(void **state)
{
	const char *fmt = "[%s] [%7s] [%s]", *wide = "%600s%600s";
	static char mem[2048];
	char *hello = mem + 64, *ab = mem + 80, *big = mem + 128;

	(void)state;
	FOR_MODES(m, modes) {
		const uint64_t a[3] = { (uintptr_t)hello, (uintptr_t)ab, 0 };
		const uint64_t b[3] = { (uintptr_t)big, 0, 0 };
		const uint64_t c[3] = { (uintptr_t)ab, (uintptr_t)ab, 0 };
		const uint64_t outside[3] = { (uintptr_t)trace_str, 0, 0 };
		struct sink s = { .len = 0 }, t = { .len = 0 }, u = { .len = 0 }, v = { .len = 0 };
		uint64_t r0;

		memset(mem, 0, sizeof(mem));
		strcpy(hello, trace_str);
		strcpy(ab, "ab");
		memset(big, 'x', 1500);
		run_trace(m, fmt, (uint32_t)strlen(fmt) + 1, a, &s, &r0, mem, sizeof(mem));
		assert_string_equal(s.buf, "[hello] [     ab] []");
		assert_int_equal(r0, strlen(s.buf));
		/* a string argument is read up to 511 bytes, as Linux copies it into its 512-byte argument buffer */
		run_trace(m, "%s", 3, b, &t, &r0, mem, sizeof(mem));
		assert_int_equal(r0, 511);
		assert_int_equal(t.len, 511);
		/* a message longer than the buffer is cut; the return value is its whole length */
		run_trace(m, wide, (uint32_t)strlen(wide) + 1, c, &u, &r0, mem, sizeof(mem));
		assert_int_equal(r0, 1200);
		assert_int_equal(u.len, BJ_TRACE_PRINTK_MAX - 1);
		assert_int_equal(u.buf[597], ' ');
		assert_int_equal(u.buf[598], 'a');
		/* checked runs read strings only inside their memory; outside it, Linux too prints nothing */
		run_trace(m, "%s", 3, outside, &v, &r0, mem, 64);
		assert_string_equal(v.buf, m->checked ? "" : trace_str);
	}
}

/* ---- csum_diff ---- */

struct csum_case {
	uint8_t from[16], to[16];
	uint32_t from_size, to_size, seed;
	uint64_t want;
};

/*
 * Expected values by hand: 32-bit little-endian words summed with end-around carry, folded to 16 bits;
 * `from` words are subtracted (added as their complement).
 */
static const struct csum_case csum_cases[] = {
	{ { 0 }, { 1, 2, 3, 4 }, 0, 4, 0, 0x0604 },
	{ { 0 }, { 1, 2, 3, 4 }, 0, 4, 0x10000, 0x0605 },
	{ { 0 }, { 0 }, 0, 0, 0x12345678, 0x1234 + 0x5678 },
	{ { 1, 2, 3, 4 }, { 1, 2, 3, 4 }, 4, 4, 0, 0xffff },
	{ { 0 }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 0, 8, 0, 0xffff },
	{ { 0 }, { 0x10, 0x20, 0x30, 0x40, 0x50, 0x60 }, 0, 6, 0, 0x2010 + 0x4030 + 0x6050 },
};

static void test_csum_diff_known(void **state)
{
	/* IPv4 header of the classic example, checksum field zeroed: its checksum is 0xb861 */
	static const uint8_t ip[20] = { 0x45, 0, 0, 0x73, 0, 0, 0x40, 0, 0x40, 0x11, 0, 0, 0xc0, 0xa8, 0, 1,
					0xc0, 0xa8, 0, 0xc7 };

	(void)state;
	FOR_MODES(m, modes) {
		for (size_t i = 0; i < BJ_ARRAY_SIZE(csum_cases); i++) {
			const struct csum_case *c = &csum_cases[i];
			uint8_t mem[32];
			char *src = text("lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %u\n lddw %%r3, 0x%" PRIxPTR "\n mov %%r4, %u\n"
					 " mov32 %%r5, %d\n call 28\n exit\n", (uintptr_t)mem, c->from_size,
					 (uintptr_t)(mem + 16), c->to_size, (int32_t)c->seed);
			struct bj_prog *p = build(src, m);
			uint64_t r0;

			memcpy(mem, c->from, 16);
			memcpy(mem + 16, c->to, 16);
			r0 = exec_mem_ok(p, m, mem, sizeof(mem));

			if (r0 != c->want)
				fail_msg("%s: case %zu: 0x%" PRIx64 ", want 0x%" PRIx64, m->name, i, r0, c->want);
			bj_prog__destroy(p);
			free(src);
		}
		uint8_t hdr[20];
		char *src = text("mov %%r1, 0\n mov %%r2, 0\n lddw %%r3, 0x%" PRIxPTR "\n mov %%r4, 20\n mov %%r5, 0\n"
				 " call 28\n xor %%r0, 0xffff\n be16 %%r0\n exit\n", (uintptr_t)hdr);
		struct bj_prog *p = build(src, m);

		memcpy(hdr, ip, sizeof(hdr));
		assert_int_equal(exec_mem_ok(p, m, hdr, sizeof(hdr)), 0xb861);
		bj_prog__destroy(p);
		free(src);
	}
}

/*
 * The kernel as the oracle: an XDP program calls bpf_csum_diff(data, from, data + from, to, seed) on the
 * packet and returns the result; BPF_PROG_TEST_RUN gives it back.
 */
static int kernel_csum_prog(uint32_t from, uint32_t to, uint32_t seed)
{
	const struct bj_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst = 6, .src = 1, .off = 0 },
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst = 7, .src = 1, .off = 4 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst = 2, .src = 6 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst = 2, .imm = (int32_t)(from + to) },
		{ .code = BPF_JMP | BPF_JGT | BPF_X, .dst = 2, .src = 7, .off = 8 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst = 1, .src = 6 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst = 2, .imm = (int32_t)from },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_X, .dst = 3, .src = 6 },
		{ .code = BPF_ALU64 | BPF_ADD | BPF_K, .dst = 3, .imm = (int32_t)from },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst = 4, .imm = (int32_t)to },
		{ .code = BPF_ALU | BPF_MOV | BPF_K, .dst = 5, .imm = (int32_t)seed },
		{ .code = BPF_JMP | BPF_CALL, .imm = BJ_FN_CSUM_DIFF },
		{ .code = BPF_JMP | BPF_EXIT },
		{ .code = BPF_ALU | BPF_MOV | BPF_K, .dst = 0, .imm = -1 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	LIBBPF_OPTS(bpf_prog_load_opts, lo);

	return bpf_prog_load(BPF_PROG_TYPE_XDP, "csum", "GPL", (const struct bpf_insn *)insns, BJ_ARRAY_SIZE(insns), &lo);
}

static uint64_t bj_csum(const struct mode *m, uint8_t *data, uint32_t from, uint32_t to, uint32_t seed)
{
	char *src = text("lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %u\n lddw %%r3, 0x%" PRIxPTR "\n mov %%r4, %u\n"
			 " mov32 %%r5, %d\n call 28\n exit\n", (uintptr_t)data, from, (uintptr_t)(data + from), to,
			 (int32_t)seed);
	struct bj_prog *p = build(src, m);
	uint64_t r0 = exec_mem_ok(p, m, data, from + to);

	bj_prog__destroy(p);
	free(src);
	return r0;
}

static void test_csum_diff_kernel(void **state)
{
	static const uint32_t sizes[] = { 0, 4, 6, 8, 12, 20, 36, 40, 44, 76, 80, 84, 124, 160, 200, 256 };
	static const uint32_t seeds[] = { 0, 0xffff, 0xffffffff, 0x8000abcd };
	uint8_t data[512];
	unsigned checked = 0;
	uint32_t rnd = 12345;

	(void)state;
	for (int fill = 0; fill < 3; fill++) {
		for (size_t i = 0; i < sizeof(data); i++) {
			rnd = rnd * 1103515245u + 12345u;
			data[i] = fill == 0 ? 0xff : fill == 1 ? 0 : (uint8_t)(rnd >> 16);
		}
		for (size_t f = 0; f < BJ_ARRAY_SIZE(sizes); f++) {
			for (size_t t = 0; t < BJ_ARRAY_SIZE(sizes); t += 2) {
				for (size_t s = 0; s < BJ_ARRAY_SIZE(seeds); s++) {
					uint32_t from = sizes[f], to = sizes[t], seed = seeds[s];
					uint32_t len = from + to < 64 ? 64 : from + to;
					LIBBPF_OPTS(bpf_test_run_opts, tr, .data_in = data, .data_size_in = len);
					int fd = kernel_csum_prog(from, to, seed);

					if (fd < 0) {
						if (!checked)
							skip();
						fail_msg("kernel refused the csum_diff program (%u, %u): %d", from, to, fd);
					}
					assert_int_equal(bpf_prog_test_run_opts(fd, &tr), 0);
					close(fd);
					FOR_MODES(m, modes) {
						uint64_t r0 = bj_csum(m, data, from, to, seed);

						if (r0 != tr.retval)
							fail_msg("%s: csum_diff(%u, %u, seed 0x%x) fill %d: 0x%" PRIx64
								 ", the kernel 0x%x", m->name, from, to, seed, fill, r0,
								 tr.retval);
					}
					checked++;
				}
			}
		}
	}
	print_message("csum_diff: %u cases agree with the kernel\n", checked);
}

/* ---- callbacks: bpf_loop ---- */

/* r0 = iterations << 32 | sum of the indexes seen (kept on the caller's stack) */
static char *loop_prog(uint32_t n, uint32_t stop, uint32_t flags)
{
	return text("stdw [%%r10-8], 0\n mov32 %%r1, %u\n lddw %%r2, func(cb)\n mov %%r3, %%r10\n add %%r3, -8\n"
		    " mov %%r4, %u\n call 181\n ldxdw %%r1, [%%r10-8]\n lsh %%r0, 32\n or %%r0, %%r1\n exit\n"
		    "cb:\n ldxdw %%r3, [%%r2+0]\n add %%r3, %%r1\n stxdw [%%r2+0], %%r3\n mov %%r0, 0\n"
		    " jne %%r1, %u, +1\n mov %%r0, 1\n exit\n", n, flags, stop);
}

static void test_loop(void **state)
{
	static const struct {
		uint32_t n, stop, flags;
		uint64_t want;
	} cases[] = {
		{ 10, 1000, 0, 10ull << 32 | 45 },
		{ 10, 5, 0, 6ull << 32 | 15 },
		{ 0, 1000, 0, 0 },
		{ 1, 0, 0, 1ull << 32 },
		{ 10, 1000, 1, (uint64_t)-EINVAL << 32 },
		{ BJ_MAX_LOOPS + 1, 1000, 0, (uint64_t)-E2BIG << 32 },
		{ 100000, 99999, 0, 100000ull << 32 | (99999ull * 100000 / 2) },
	};

	(void)state;
	FOR_MODES(m, modes) {
		for (size_t i = 0; i < BJ_ARRAY_SIZE(cases); i++) {
			char *src = loop_prog(cases[i].n, cases[i].stop, cases[i].flags);
			struct bj_prog *p = build(src, m);
			uint64_t r0 = exec_ok(p, m);

			if (r0 != cases[i].want)
				fail_msg("%s: loop case %zu: 0x%" PRIx64 ", want 0x%" PRIx64, m->name, i, r0, cases[i].want);
			bj_prog__destroy(p);
			free(src);
		}
	}
}

static void test_loop_nested(void **state)
{
	/* 3 outer iterations of 4 inner ones, each adding to a counter on the main frame; r6-r9 survive */
	const char *src = "mov %r6, 66\n stdw [%r10-8], 0\n mov %r1, 3\n lddw %r2, func(outer)\n mov %r3, %r10\n"
			  " add %r3, -8\n mov %r4, 0\n call 181\n ldxdw %r0, [%r10-8]\n mul %r0, %r6\n exit\n"
			  "outer:\n mov %r6, %r2\n stdw [%r10-8], 5\n mov %r3, %r2\n mov %r1, 4\n lddw %r2, func(inner)\n"
			  " mov %r4, 0\n call 181\n ldxdw %r1, [%r10-8]\n jne %r1, 5, bad\n ldxdw %r1, [%r6+0]\n add %r1, 100\n"
			  " stxdw [%r6+0], %r1\n mov %r0, 0\n exit\n bad:\n mov %r0, 1\n exit\n"
			  "inner:\n ldxdw %r3, [%r2+0]\n add %r3, 1\n stxdw [%r2+0], %r3\n mov %r0, 0\n exit\n";

	(void)state;
	FOR_MODES(m, modes) {
		struct bj_prog *p = build(src, m);

		assert_int_equal(exec_ok(p, m), (3 * 4 + 3 * 100) * 66);
		bj_prog__destroy(p);
	}
}

static uint64_t refuse(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r2, (void)r3, (void)r4, (void)r5;
	bj_run__fail(run, EPERM, "refused");
	return r1;
}

static void test_loop_faults(void **state)
{
	static const struct bj_helper mine[] = { { 600, "refuse", refuse } };
	static const struct {
		const char *name;
		const char *src;
		bool checked_only;
		int fault;
		const char *msg;
	} cases[] = {
		{ "helper stops the run in the third iteration",
		  "mov %r1, 5\n lddw %r2, func(cb)\n mov %r3, 0\n mov %r4, 0\n call 181\n mov %r0, 77\n exit\n"
		  "cb:\n jne %r1, 2, +1\n call 600\n mov %r0, 0\n exit\n",
		  false, -EPERM, "refused" },
		{ "out-of-bounds load in a callback",
		  "mov %r1, 5\n lddw %r2, func(cb)\n mov %r3, 0\n mov %r4, 0\n call 181\n mov %r0, 77\n exit\n"
		  "cb:\n ldxdw %r0, [%r3+16]\n mov %r0, 0\n exit\n",
		  true, -EFAULT, "" },
		{ "budget runs out in a callback",
		  "mov %r1, 5\n lddw %r2, func(cb)\n mov %r3, 0\n mov %r4, 0\n call 181\n mov %r0, 77\n exit\n"
		  "cb:\n ja -1\n",
		  true, -ETIME, "budget" },
		{ "callbacks nest beyond the frame limit",
		  "mov %r1, 1\n lddw %r2, func(cb)\n mov %r3, 0\n mov %r4, 0\n call 181\n exit\n"
		  "cb:\n mov %r1, 1\n lddw %r2, func(cb)\n mov %r3, 0\n mov %r4, 0\n call 181\n mov %r0, 0\n exit\n",
		  false, -E2BIG, "call depth" },
		{ "callback that is no subprogram",
		  "lddw %r6, func(cb)\n mov %r1, 1\n mov %r2, 12345\n mov %r3, 0\n mov %r4, 0\n call 181\n exit\n"
		  "cb:\n mov %r0, 0\n exit\n",
		  false, -EINVAL, "not a subprogram" },
		{ "tail call inside a callback",
		  "mov %r1, 1\n lddw %r2, func(cb)\n mov %r3, 0\n mov %r4, 0\n call 181\n exit\n"
		  "cb:\n mov %r2, 0\n mov %r3, 0\n call 12\n mov %r0, 0\n exit\n",
		  false, -EINVAL, "tail_call inside a callback" },
	};

	(void)state;
	FOR_MODES(m, modes) {
		for (size_t i = 0; i < BJ_ARRAY_SIZE(cases); i++) {
			struct extra x = { .helpers = mine, .n_helpers = 1 };
			struct bj_error err = { 0 };
			struct bj_prog *p;
			uint64_t r0 = 0;
			int ret;

			if (cases[i].checked_only && !m->checked)
				continue;
			p = build_opts(cases[i].src, m, &x);
			ret = exec(p, &r0, &err);
			if (ret != cases[i].fault || !strstr(err.msg, cases[i].msg))
				fail_msg("%s: %s: %d '%s', want %d '%s'", m->name, cases[i].name, ret, err.msg, cases[i].fault,
					 cases[i].msg);
			/* the program still runs normally afterwards */
			ret = exec(p, &r0, &err);
			assert_int_equal(ret, cases[i].fault);
			bj_prog__destroy(p);
		}
	}
}

/* A run that stops while it holds a ring buffer record gives the record up: the ring does not stay blocked. */
static void test_ringbuf_stopped_run(void **state)
{
	static const struct bj_helper mine[] = { { 600, "refuse", refuse } };
	struct bj_map *rb = mkmap(BJ_MAP_TYPE_RINGBUF, 0, 0, 4096, NULL);
	char *stops = text("lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, 8\n mov %%r3, 0\n call 131\n call 600\n exit\n",
			   (uintptr_t)rb);
	char *emits = text("stdw [%%r10-8], 31\n lddw %%r1, 0x%" PRIxPTR "\n mov %%r2, %%r10\n add %%r2, -8\n mov %%r3, 8\n"
			   " mov %%r4, 0\n call 130\n exit\n", (uintptr_t)rb);

	(void)state;
	FOR_MODES(m, modes) {
		struct extra x = { .helpers = mine, .n_helpers = 1, .maps = &rb, .n_maps = 1 };
		struct bj_prog *p = build_opts(stops, m, &x), *q = build_opts(emits, m, &x);
		struct bj_ring_buffer *ring = NULL;
		struct records recs = { 0 };
		uint64_t r0;

		assert_int_equal(bj_ring_buffer__new(rb, on_record, &recs, NULL, &ring), 0);
		assert_int_equal(exec(p, &r0, NULL), -EPERM);
		assert_int_equal(exec_ok(q, m), 0);
		bj_ring_buffer__consume(ring);
		assert_int_equal(recs.n, 1);
		assert_int_equal(recs.first[0], 31);
		bj_ring_buffer__free(ring);
		bj_prog__destroy(p);
		bj_prog__destroy(q);
	}
	free(stops);
	free(emits);
	bj_map__destroy(rb);
}

/* ---- Linux as the oracle for callback and tail-call semantics ---- */

/*
 * Loads assembler text into the kernel as an XDP program; -errno when it refuses. Subprograms that the program
 * takes the address of need BTF function records: each gets one with an `int f(void)` prototype.
 */
static int kernel_load(const char *src)
{
	struct bpf_func_info fi[8] = { { 0, 0 } };
	struct bj_insn *insns = NULL;
	struct bj_error err = { 0 };
	struct btf *btf = btf__new_empty();
	uint32_t n_fi = 1;
	size_t n = 0;
	int fd, proto;

	if (bj_asm(src, &insns, &n, &err))
		fail_msg("asm: %s\n%s", err.msg, src);
	assert_non_null(btf);
	proto = btf__add_func_proto(btf, btf__add_int(btf, "int", 4, BTF_INT_SIGNED));
	fi[0].type_id = (uint32_t)btf__add_func(btf, "main", BTF_FUNC_GLOBAL, proto);
	for (size_t i = 0; i < n; i++) {
		if (insns[i].code == BJ_LDDW && insns[i].src == BPF_PSEUDO_FUNC && n_fi < BJ_ARRAY_SIZE(fi)) {
			char name[16];

			snprintf(name, sizeof(name), "f%u", n_fi);
			fi[n_fi].insn_off = (uint32_t)((long)i + 1 + insns[i].imm);
			fi[n_fi++].type_id = (uint32_t)btf__add_func(btf, name, BTF_FUNC_STATIC, proto);
		}
	}
	if (btf__load_into_kernel(btf)) {
		fd = -errno;
	} else {
		LIBBPF_OPTS(bpf_prog_load_opts, lo, .prog_btf_fd = btf__fd(btf), .func_info = fi, .func_info_cnt = n_fi,
			    .func_info_rec_size = sizeof(fi[0]));

		fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "helpers", "GPL", (const struct bpf_insn *)insns, n, &lo);
	}
	btf__free(btf);
	free(insns);
	return fd;
}

static int kernel_retval(int fd, uint32_t *retval)
{
	uint8_t data[64] = { 0 };
	LIBBPF_OPTS(bpf_test_run_opts, tr, .data_in = data, .data_size_in = sizeof(data));
	int ret = bpf_prog_test_run_opts(fd, &tr);

	*retval = tr.retval;
	return ret;
}

/* r0 = bpf_loop's result << 20 | the sum of the indexes the callback saw */
static char *loop_oracle_prog(uint32_t n, uint32_t stop, uint32_t flags)
{
	return text("stdw [%%r10-8], 0\n mov32 %%r1, %d\n lddw %%r2, func(cb)\n mov %%r3, %%r10\n add %%r3, -8\n"
		    " mov %%r4, %u\n call 181\n ldxdw %%r1, [%%r10-8]\n lsh %%r0, 20\n add %%r0, %%r1\n exit\n"
		    "cb:\n ldxdw %%r3, [%%r2+0]\n add %%r3, %%r1\n stxdw [%%r2+0], %%r3\n mov %%r0, 0\n"
		    " jne %%r1, %u, +1\n mov %%r0, 1\n exit\n", (int32_t)n, flags, stop);
}

static void test_loop_kernel(void **state)
{
	static const struct {
		uint32_t n, stop, flags;
	} cases[] = {
		{ 10, 1000, 0 }, { 10, 5, 0 }, { 0, 1000, 0 }, { 1, 0, 0 }, { 10, 1000, 1 }, { BJ_MAX_LOOPS + 1, 1000, 0 },
		{ BJ_MAX_LOOPS, 3, 0 }, { 0xffffffffu, 3, 0 },
	};

	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(cases); i++) {
		char *src = loop_oracle_prog(cases[i].n, cases[i].stop, cases[i].flags);
		int fd = kernel_load(src);
		uint32_t want;

		if (fd < 0) {
			free(src);
			if (i == 0)
				skip();
			fail_msg("the kernel refused bpf_loop case %zu: %d", i, fd);
		}
		assert_int_equal(kernel_retval(fd, &want), 0);
		close(fd);
		FOR_MODES(m, modes) {
			struct bj_prog *p = build(src, m);
			uint32_t got = (uint32_t)exec_ok(p, m);

			if (got != want)
				fail_msg("%s: bpf_loop case %zu: 0x%x, the kernel 0x%x", m->name, i, got, want);
			bj_prog__destroy(p);
		}
		free(src);
	}
}

/* A program that counts its runs in an array map and tail calls itself: how many runs Linux allows. */
static void test_tail_call_limit_kernel(void **state)
{
	int counter = bpf_map_create(BPF_MAP_TYPE_ARRAY, "count", 4, 8, 1, NULL);
	int progs = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "progs", 4, 4, 1, NULL);
	uint32_t zero = 0, retval;
	uint64_t runs = 0;
	char *src;
	int fd;

	(void)state;
	if (counter < 0 || progs < 0) {
		if (counter >= 0)
			close(counter);
		if (progs >= 0)
			close(progs);
		skip();
	}
	src = text("mov %%r6, %%r1\n stw [%%r10-4], 0\n lddw %%r1, map_fd(%d)\n mov %%r2, %%r10\n add %%r2, -4\n"
		   " call 1\n jeq %%r0, 0, out\n mov %%r1, 1\n lock add [%%r0+0], %%r1\n mov %%r1, %%r6\n"
		   " lddw %%r2, map_fd(%d)\n mov %%r3, 0\n call 12\n out:\n mov %%r0, 2\n exit\n", counter, progs);
	fd = kernel_load(src);
	free(src);
	if (fd < 0) {
		close(counter);
		close(progs);
		fail_msg("the kernel refused the tail-call program: %d", fd);
	}
	assert_int_equal(bpf_map_update_elem(progs, &zero, &fd, BPF_ANY), 0);
	assert_int_equal(kernel_retval(fd, &retval), 0);
	assert_int_equal(bpf_map_lookup_elem(counter, &zero, &runs), 0);
	/* test_tail_call_limit asserts the same number for bpfjet */
	assert_int_equal(runs, 1 + BJ_MAX_TAIL_CALLS_LINUX);
	assert_int_equal(bpf_map_delete_elem(progs, &zero), 0);
	close(fd);
	close(counter);
	close(progs);
}

/*
 * for_each_map_elem over the same array and hash contents in the kernel and in bpfjet: r0 = the helper's
 * result << 20 | the sum of the values the callback saw; the callback stops at a value of 50.
 */
static void test_for_each_kernel(void **state)
{
	static const struct {
		enum bj_map_type type;
		uint32_t flags;
	} cases[] = {
		{ BJ_MAP_TYPE_ARRAY, 0 }, { BJ_MAP_TYPE_HASH, 0 }, { BJ_MAP_TYPE_ARRAY, 2 }, { BJ_MAP_TYPE_LRU_HASH, 0 },
	};
	const char *prog = "stdw [%%r10-8], 0\n lddw %%r1, %s\n lddw %%r2, func(cb)\n mov %%r3, %%r10\n add %%r3, -8\n"
			   " mov %%r4, %u\n call 164\n ldxdw %%r1, [%%r10-8]\n lsh %%r0, 20\n add %%r0, %%r1\n exit\n"
			   "cb:\n ldxdw %%r5, [%%r3+0]\n ldxdw %%r0, [%%r4+0]\n add %%r0, %%r5\n stxdw [%%r4+0], %%r0\n"
			   " mov %%r0, 0\n jne %%r5, 50, +1\n mov %%r0, 1\n exit\n";

	(void)state;
	for (size_t c = 0; c < BJ_ARRAY_SIZE(cases); c++) {
		/* kernel and bpfjet share the type numbers; the hash holds keys 1..7 (no 50), the array 0..7 (50 at 5) */
		int kfd = bpf_map_create((enum bpf_map_type)cases[c].type, "fe", 4, 8, 8, NULL);
		struct bj_map *map = mkmap(cases[c].type, 4, 8, 8, NULL);
		char ref[32], *ksrc, *bsrc;
		uint32_t want;
		int fd;

		if (kfd < 0) {
			bj_map__destroy(map);
			skip();
		}
		for (uint32_t key = cases[c].type == BJ_MAP_TYPE_ARRAY ? 0 : 1; key < 8; key++) {
			uint64_t v = cases[c].type == BJ_MAP_TYPE_ARRAY ? key * 10 : key * 3;

			assert_int_equal(bpf_map_update_elem(kfd, &key, &v, BPF_ANY), 0);
			assert_int_equal(bj_map__update_elem(map, &key, &v, BJ_ANY), 0);
		}
		snprintf(ref, sizeof(ref), "map_fd(%d)", kfd);
		ksrc = text(prog, ref, cases[c].flags);
		snprintf(ref, sizeof(ref), "0x%" PRIxPTR, (uintptr_t)map);
		bsrc = text(prog, ref, cases[c].flags);
		fd = kernel_load(ksrc);
		if (fd < 0)
			fail_msg("the kernel refused the for_each program (case %zu): %d", c, fd);
		assert_int_equal(kernel_retval(fd, &want), 0);
		close(fd);
		FOR_MODES(m, modes) {
			struct bj_prog *p = build_maps(bsrc, m, &map, 1);
			uint32_t got = (uint32_t)exec_ok(p, m);

			if (got != want)
				fail_msg("%s: for_each case %zu: 0x%x, the kernel 0x%x", m->name, c, got, want);
			bj_prog__destroy(p);
		}
		free(ksrc);
		free(bsrc);
		close(kfd);
		bj_map__destroy(map);
	}
}

/* ---- callbacks: for_each_map_elem ---- */

static char *for_each_prog(const struct bj_map *map, const char *cb_body, uint32_t flags)
{
	return text("stdw [%%r10-8], 0\n lddw %%r1, 0x%" PRIxPTR "\n lddw %%r2, func(cb)\n mov %%r3, %%r10\n"
		    " add %%r3, -8\n mov %%r4, %u\n call 164\n ldxdw %%r1, [%%r10-8]\n lsh %%r0, 32\n or %%r0, %%r1\n"
		    " exit\ncb:\n%s", (uintptr_t)map, flags, cb_body);
}

/* callback(map, key, value, ctx): *ctx += *value */
static const char sum_values[] = " ldxdw %r5, [%r3+0]\n ldxdw %r0, [%r4+0]\n add %r0, %r5\n stxdw [%r4+0], %r0\n"
				 " mov %r0, 0\n exit\n";

static void test_for_each_hash(void **state)
{
	static const enum bj_map_type types[] = { BJ_MAP_TYPE_HASH, BJ_MAP_TYPE_LRU_HASH, BJ_MAP_TYPE_PERCPU_HASH,
						  BJ_MAP_TYPE_LRU_PERCPU_HASH };
	BJ_OPTS(bj_map_opts, mo, .n_workers = 1);
	/* deletes every element it is given, through bpf_map_delete_elem(map, key) */
	const char *del = " mov %r6, %r4\n call 3\n ldxdw %r0, [%r6+0]\n add %r0, 1\n stxdw [%r6+0], %r0\n"
			  " mov %r0, 0\n exit\n";
	const char *stop = " mov %r0, 1\n exit\n";

	(void)state;
	for (size_t t = 0; t < BJ_ARRAY_SIZE(types); t++) {
		struct bj_map *map = mkmap(types[t], 4, 8, 16, &mo);
		char *sum = for_each_prog(map, sum_values, 0), *d = for_each_prog(map, del, 0);
		char *s = for_each_prog(map, stop, 0), *bad = for_each_prog(map, stop, 1);

		FOR_MODES(m, modes) {
			struct bj_prog *ps = build_maps(sum, m, &map, 1), *pd = build_maps(d, m, &map, 1), *pstop = build_maps(s, m, &map, 1), *pbad = build_maps(bad, m, &map, 1);
			uint32_t key;

			for (key = 1; key <= 10; key++) {
				uint64_t v = key * 10;
				assert_int_equal(bj_map__update_elem(map, &key, &v, BJ_ANY), 0);
			}
			assert_int_equal(exec_ok(ps, m), 10ull << 32 | 550);
			assert_int_equal(exec_ok(pstop, m), 1ull << 32);
			assert_int_equal(exec_ok(pbad, m), (uint64_t)-EINVAL << 32);
			assert_int_equal(exec_ok(pd, m), 10ull << 32 | 10);
			assert_int_equal(bj_map__get_next_key(map, NULL, &key), -ENOENT);
			assert_int_equal(exec_ok(ps, m), 0);
			bj_prog__destroy(ps);
			bj_prog__destroy(pd);
			bj_prog__destroy(pstop);
			bj_prog__destroy(pbad);
		}
		free(sum);
		free(d);
		free(s);
		free(bad);
		bj_map__destroy(map);
	}
}

static void test_for_each_array(void **state)
{
	BJ_OPTS(bj_map_opts, mo, .n_workers = 2);
	struct bj_map *arr = mkmap(BJ_MAP_TYPE_ARRAY, 4, 8, 6, NULL);
	struct bj_map *pc = mkmap(BJ_MAP_TYPE_PERCPU_ARRAY, 4, 8, 3, &mo);
	/* sums key * value: the key pointer is the element's index */
	const char *keyed = " ldxw %r5, [%r2+0]\n ldxdw %r1, [%r3+0]\n mul %r5, %r1\n ldxdw %r0, [%r4+0]\n"
			    " add %r0, %r5\n stxdw [%r4+0], %r0\n mov %r0, 0\n exit\n";
	char *a = for_each_prog(arr, keyed, 0), *p = for_each_prog(pc, sum_values, 0);

	(void)state;
	for (uint32_t key = 0; key < 6; key++) {
		uint64_t v = key + 1, slots[2] = { key + 1, 1000 };

		assert_int_equal(bj_map__update_elem(arr, &key, &v, BJ_ANY), 0);
		if (key < 3)
			assert_int_equal(bj_map__update_elem(pc, &key, slots, BJ_ANY), 0);
	}
	FOR_MODES(m, modes) {
		struct bj_prog *pa = build_maps(a, m, &arr, 1), *pp = build_maps(p, m, &pc, 1);
		int fault;

		assert_int_equal(exec_ok(pa, m), 6ull << 32 | (0 * 1 + 1 * 2 + 2 * 3 + 3 * 4 + 4 * 5 + 5 * 6));
		/* worker 0 sees its own slots (1 + 2 + 3), worker 1 its own (3 * 1000) */
		assert_int_equal(exec_on_worker(pp, 0, &fault), 3ull << 32 | 6);
		assert_int_equal(exec_on_worker(pp, 1, &fault), 3ull << 32 | 3000);
		assert_int_equal(fault, 0);
		bj_prog__destroy(pa);
		bj_prog__destroy(pp);
	}
	free(a);
	free(p);
	bj_map__destroy(arr);
	bj_map__destroy(pc);
}

/* ---- embedders' helpers ---- */

static uint64_t add3(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r4, (void)r5, (void)run;
	return r1 + r2 + r3;
}

static uint64_t fixed_clock(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	(void)r1, (void)r2, (void)r3, (void)r4, (void)r5, (void)run;
	return 1234;
}

/* An embedder's helper that calls back into the program, as bpf_loop does. */
static uint64_t twice(uint64_t fn, uint64_t arg, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	uint64_t a;

	(void)r3, (void)r4, (void)r5;
	a = bj_run__callback(run, fn, arg, 0, 0, 0, 0);
	if (bj_run__stopped(run))
		return 0;
	return a + bj_run__callback(run, fn, a, 0, 0, 0, 0);
}

static void test_user_helpers(void **state)
{
	static const struct bj_helper mine[] = {
		{ BJ_HELPER_ID_USER_MIN, "add3", add3 },
		{ BJ_FN_KTIME_GET_NS, "fixed_clock", fixed_clock },
		{ BJ_HELPER_ID_MAX - 1, "twice", twice },
	};
	const char *src = "mov %r1, 1\n mov %r2, 2\n mov %r3, 3\n call 512\n mov %r6, %r0\n call 5\n add %r6, %r0\n"
			  " lddw %r1, func(sq)\n mov %r2, 3\n call 1023\n add %r0, %r6\n exit\n"
			  "sq:\n mov %r0, %r1\n mul %r0, %r1\n exit\n";
	struct extra x = { .helpers = mine, .n_helpers = BJ_ARRAY_SIZE(mine) };
	size_t n;

	(void)state;
	/* every built-in has a Linux id, below the embedders' range */
	for (const struct bj_helper *h = bj_helpers(&n), *end = h + n; h < end; h++)
		assert_true(h->id > 0 && h->id < BJ_HELPER_ID_USER_MIN);
	FOR_MODES(m, modes) {
		struct bj_prog *p = build_opts(src, m, &x);

		/* 6 + 1234 + (9 + 81) */
		assert_int_equal(exec_ok(p, m), 6 + 1234 + 9 + 81);
		bj_prog__destroy(p);
	}
}

/* Every program gets the generic helpers; XDP programs also get the XDP ones. */
static void test_default_helpers(void **state)
{
	static const struct bj_insn calls_adjust_head[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BJ_XDP_FN_XDP_ADJUST_HEAD },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bj_error err = { 0 };
	struct bj_prog *p = NULL;

	(void)state;
	BJ_OPTS(bj_prog_opts, xdp, .type = BJ_PROG_TYPE_XDP, .unverified = true);
	assert_int_equal(bj_prog__create(calls_adjust_head, 2, &xdp, &p, &err), 0);
	bj_prog__destroy(p);
	p = NULL;
	BJ_OPTS(bj_prog_opts, mem, .type = BJ_PROG_TYPE_MEM, .unverified = true);
	assert_int_equal(bj_prog__create(calls_adjust_head, 2, &mem, &p, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "unknown helper 44"));
	assert_null(p);
}

/* JIT code reaches helpers with call rel32. */
static void test_jit_direct_calls(void **state)
{
	bj_helper_fn table[BJ_HELPER_ID_MAX] = { 0 };
	const struct bj_insn insns[] = {
		{ .code = BPF_JMP | BPF_CALL, .imm = BJ_FN_GET_PRANDOM_U32 },
		{ .code = BPF_JMP | BPF_CALL, .imm = BJ_FN_KTIME_GET_NS },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	struct bj_jit_code *code = NULL;
	struct bj_jit_opts jo = { 0 };
	struct bj_error err = { 0 };
	const uint8_t *img;
	unsigned found = 0;
	size_t n, len;

	(void)state;
	for (const struct bj_helper *h = bj_helpers(&n), *end = h + n; h < end; h++)
		table[h->id] = h->fn;
	assert_int_equal(bj_jit_compile(insns, BJ_ARRAY_SIZE(insns), table, &jo, &code, &err), 0);
	img = bj_jit_code_image(code, &len);
	for (size_t i = 0; i + 5 <= len; i++) {
		int32_t rel;
		uintptr_t target;

		if (img[i] != 0xe8)
			continue;
		memcpy(&rel, img + i + 1, 4);
		target = (uintptr_t)img + i + 5 + (intptr_t)rel;
		found += target == (uintptr_t)table[BJ_FN_GET_PRANDOM_U32] || target == (uintptr_t)table[BJ_FN_KTIME_GET_NS];
	}
	assert_int_equal(found, 2);
	bj_jit_code_free(code);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clocks),
		cmocka_unit_test(test_prandom),
		cmocka_unit_test(test_worker_and_numa),
		cmocka_unit_test(test_array_lookup_update),
		cmocka_unit_test(test_hash_delete),
		cmocka_unit_test(test_percpu_slot),
		cmocka_unit_test(test_map_in_map),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_tail_call_limit),
		cmocka_unit_test(test_tail_call_chain),
		cmocka_unit_test(test_ringbuf),
		cmocka_unit_test(test_spin_lock_threads),
		cmocka_unit_test(test_spin_lock_checked),
		cmocka_unit_test(test_trace_printk),
		cmocka_unit_test(test_trace_printk_strings),
		cmocka_unit_test(test_csum_diff_known),
		cmocka_unit_test(test_csum_diff_kernel),
		cmocka_unit_test(test_loop),
		cmocka_unit_test(test_loop_nested),
		cmocka_unit_test(test_loop_faults),
		cmocka_unit_test(test_loop_kernel),
		cmocka_unit_test(test_tail_call_limit_kernel),
		cmocka_unit_test(test_ringbuf_stopped_run),
		cmocka_unit_test(test_for_each_hash),
		cmocka_unit_test(test_for_each_kernel),
		cmocka_unit_test(test_for_each_array),
		cmocka_unit_test(test_user_helpers),
		cmocka_unit_test(test_default_helpers),
		cmocka_unit_test(test_jit_direct_calls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
