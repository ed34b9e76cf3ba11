/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dispatcher and static calls: every entry count, fallbacks, refcounts, live updates under concurrent
 * callers, and W^X.
 *
 * ThreadSanitizer run of the same tests (stress included):
 *   CC=clang meson setup build-tsan -Db_sanitize=thread -Db_lundef=false -Dbuildtype=debug
 *   ninja -C build-tsan tests/test_dispatcher && build-tsan/tests/test_dispatcher
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#if __has_include(<capstone/capstone.h>)
#include <capstone/capstone.h>
#define HAVE_CAPSTONE 1
#endif

#include <bpfjet/dispatcher.h>

#include "dispatcher/synth.h"

#define N_SYNTH 300

static void *const R1 = (void *)0x1234567890ull;
static struct bj_run *const RUN = (struct bj_run *)0x7777000ull;

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * Every synthetic program, called through d, returns its own value; and exactly the first n_direct are direct.
 * The calls go through the entry, which does not sample, so that the hot chain stays in attach order.
 */
static void check_all(struct bj_dispatcher *d, const struct bj_synth *s, size_t n_direct, const char *what,
		      size_t n)
{
	for (size_t i = 0; i < s->n; i++) {
		uint64_t r2 = i * 0x9e3779b97f4a7c15ull, got;

		bj_dispatcher_read_lock();
		got = bj_dispatcher__entry(d)(R1, r2, RUN, bj_synth_prog(s, i));
		bj_dispatcher_read_unlock();

		if (got != bj_synth_expect(i, R1, r2, RUN))
			fail_msg("%s, %zu attached: program %zu returned %#llx", what, n, i, (unsigned long long)got);
		if (bj_dispatcher__is_direct(d, bj_synth_prog(s, i)) != (i < n_direct))
			fail_msg("%s, %zu attached: program %zu direct=%d", what, n, i,
				 bj_dispatcher__is_direct(d, bj_synth_prog(s, i)));
	}
}

struct layout_case {
	const char *name;
	enum bj_dispatcher_layout layout;
	enum bj_dispatcher_cmp cmp;
	unsigned linear_max;
	unsigned hot;
	size_t n_direct_max; /* how many programs, in attach order, are reached directly */
};

static const struct layout_case layouts[] = {
	{ "default (hot 4, table)", BJ_DISPATCHER_LAYOUT_DEFAULT, BJ_DISPATCHER_CMP_DEFAULT, 0, 0, 4 },
	{ "hot 1, bias", BJ_DISPATCHER_LAYOUT_HOT, BJ_DISPATCHER_CMP_BIAS, 0, 1, 1 },
	{ "hot 3, movabs", BJ_DISPATCHER_LAYOUT_HOT, BJ_DISPATCHER_CMP_MOVABS, 0, 3, 3 },
	{ "hot 16, table", BJ_DISPATCHER_LAYOUT_HOT, BJ_DISPATCHER_CMP_TABLE, 0, 16, 16 },
	{ "tree, default compare", BJ_DISPATCHER_LAYOUT_TREE, BJ_DISPATCHER_CMP_DEFAULT, 0, 0, 256 },
	{ "tree, bias, tree of 1", BJ_DISPATCHER_LAYOUT_TREE, BJ_DISPATCHER_CMP_BIAS, 1, 0, 256 },
	{ "tree, movabs, chains of 4", BJ_DISPATCHER_LAYOUT_TREE, BJ_DISPATCHER_CMP_MOVABS, 4, 0, 256 },
	{ "tree, movabs, tree of 1 (kernel shape)", BJ_DISPATCHER_LAYOUT_TREE, BJ_DISPATCHER_CMP_MOVABS, 1, 0, 256 },
	{ "tree, table, chains of 3", BJ_DISPATCHER_LAYOUT_TREE, BJ_DISPATCHER_CMP_TABLE, 3, 0, 256 },
	{ "tree, bias, chains of 16", BJ_DISPATCHER_LAYOUT_TREE, BJ_DISPATCHER_CMP_BIAS, 16, 0, 256 },
};

static void test_every_count(void **state)
{
	struct bj_synth s;

	(void)state;
	assert_int_equal(bj_synth_create(&s, N_SYNTH, bj_dispatcher_code_hint()), 0);
	for (size_t l = 0; l < BJ_ARRAY_SIZE(layouts); l++) {
		const struct layout_case *lc = &layouts[l];
		BJ_OPTS(bj_dispatcher_opts, opts, .cmp = lc->cmp, .linear_max = lc->linear_max, .layout = lc->layout,
			.hot = lc->hot);
		struct bj_dispatcher *d;
		size_t n_direct;

		assert_int_equal(bj_dispatcher__create(&opts, &d), 0);
		for (size_t n = 0; n <= 260; n++) {
			size_t want_direct = n < lc->n_direct_max ? n : lc->n_direct_max;

			check_all(d, &s, want_direct, layouts[l].name, n);
			assert_int_equal(bj_dispatcher__n_progs(d, &n_direct), n);
			assert_int_equal(n_direct, want_direct);
			assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, n)), 0);
		}
		bj_dispatcher__destroy(d);
	}
	bj_synth_destroy(&s);
}

#ifdef HAVE_CAPSTONE
/*
 * The image decodes as the search it should be: one je per direct program, only the expected opcodes. TREE
 * decodes to its end; HOT is one chain ending in `jmp rcx`, followed by its table of the chain's addresses in
 * chain order (attach order while nothing is sampled).
 */
static void check_image(csh cs, const struct bj_synth *s, enum bj_dispatcher_layout layout, unsigned count)
{
	BJ_OPTS(bj_dispatcher_opts, opts, .layout = layout);
	bool hot = layout != BJ_DISPATCHER_LAYOUT_TREE;
	size_t want_je = hot && count > BJ_DISPATCHER_DEFAULT_HOT ? BJ_DISPATCHER_DEFAULT_HOT : count;
	size_t len, n_je = 0, n_bad = 0, decoded = 0, n;
	struct bj_dispatcher *d;
	uint64_t je_to[BJ_DISPATCHER_DEFAULT_HOT];
	const uint8_t *img;
	cs_insn *insn;

	assert_int_equal(bj_dispatcher__create(&opts, &d), 0);
	for (unsigned i = 0; i < count; i++)
		assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(s, i)), 0);
	img = bj_dispatcher__image(d, &len);
	n = cs_disasm(cs, img, len, (uint64_t)img, 0, &insn);
	for (size_t i = 0; i < n; i++) {
		const char *m = insn[i].mnemonic;

		decoded += insn[i].size;
		if (!strcmp(m, "je")) {
			uint64_t t = strtoull(insn[i].op_str, NULL, 0);

			if (hot && n_je < BJ_DISPATCHER_DEFAULT_HOT)
				je_to[n_je] = t;
			n_je++;
			if ((t - (uint64_t)s->map.rx) % 16 || t < (uint64_t)s->map.rx ||
			    t >= (uint64_t)s->map.rx + 16 * count)
				fail_msg("%u programs: je to %#llx, not a program", count, (unsigned long long)t);
		} else if (hot && !strcmp(m, "jmp")) {
			assert_string_equal(insn[i].op_str, "rcx");
			break;
		} else if (strcmp(m, "cmp") && strcmp(m, "jg") && strcmp(m, "jmp") && strcmp(m, "int3") &&
			   strcmp(m, "movabs") && strcmp(m, "add")) {
			n_bad++;
		}
	}
	assert_int_equal(n_je, want_je);
	assert_int_equal(n_bad, 0);
	if (!hot)
		assert_int_equal(decoded, len);
	for (size_t i = 0; hot && i < want_je; i++) {
		uint64_t entry;

		assert_true(je_to[i] == (uint64_t)bj_synth_prog(s, i));
		memcpy(&entry, img + len - 8 * (want_je - i), 8);
		assert_true(entry == je_to[i]);
	}
	cs_free(insn, n);
	bj_dispatcher__destroy(d);
}

static void test_image_disassembles(void **state)
{
	static const unsigned counts[] = { 0, 1, 2, 5, 16, 48, 256 };
	struct bj_synth s;
	csh cs;

	(void)state;
	assert_int_equal(bj_synth_create(&s, 256, bj_dispatcher_code_hint()), 0);
	assert_int_equal(cs_open(CS_ARCH_X86, CS_MODE_64, &cs), CS_ERR_OK);
	for (size_t c = 0; c < BJ_ARRAY_SIZE(counts); c++) {
		check_image(cs, &s, BJ_DISPATCHER_LAYOUT_TREE, counts[c]);
		check_image(cs, &s, BJ_DISPATCHER_LAYOUT_DEFAULT, counts[c]);
	}
	cs_close(&cs);
	bj_synth_destroy(&s);
}
#endif

/* The program the hot chain tests first: the default image starts `cmp rcx, [rip + d32]; je rel32`. */
static uint64_t first_hot(struct bj_dispatcher *d)
{
	const uint8_t *img = bj_dispatcher__image(d, NULL);
	int32_t rel;

	assert_memory_equal(img, ((uint8_t[]){ 0x48, 0x3b, 0x0d }), 3);
	assert_memory_equal(img + 7, ((uint8_t[]){ 0x0f, 0x84 }), 2);
	memcpy(&rel, img + 9, 4);
	return (uint64_t)img + 13 + (uint64_t)(int64_t)rel;
}

/* Calls program i through the sampling wrapper `times` times. */
static void call_n(struct bj_dispatcher *d, const struct bj_synth *s, size_t i, unsigned times)
{
	for (unsigned k = 0; k < times; k++)
		if (bj_dispatcher__call(d, R1, k, RUN, bj_synth_prog(s, i)) != bj_synth_expect(i, R1, k, RUN))
			fail_msg("program %zu returned a wrong value", i);
}

/* Samples order the chain: the most called first; a shift in the load moves it after a few relayouts. */
static void test_hot_follows_samples(void **state)
{
	BJ_OPTS(bj_dispatcher_opts, opts, .hot = 2, .manual_relayout = true);
	struct bj_dispatcher *d;
	struct bj_synth s;
	size_t n_direct;

	(void)state;
	assert_int_equal(bj_synth_create(&s, 8, bj_dispatcher_code_hint()), 0);
	assert_int_equal(bj_dispatcher__create(&opts, &d), 0);
	for (size_t i = 0; i < 8; i++)
		assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, i)), 0);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 0));
	call_n(d, &s, 6, 64 * 100);
	call_n(d, &s, 5, 64 * 300);
	call_n(d, &s, 0, 64 * 10);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 0)); /* manual: nothing moves by itself */
	assert_int_equal(bj_dispatcher__relayout(d), 0);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 5));
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 6)));
	assert_false(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 0)));
	assert_int_equal(bj_dispatcher__n_progs(d, &n_direct), 8);
	assert_int_equal(n_direct, 2);
	/* Counts halve at each relayout, so a new favourite takes over; one that fades below a fifth of the
	 * samples leaves the chain, even with room in it. */
	call_n(d, &s, 2, 64 * 200);
	assert_int_equal(bj_dispatcher__relayout(d), 0);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 2));
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 5)));
	for (int r = 0; r < 3; r++) {
		call_n(d, &s, 2, 64 * 200);
		assert_int_equal(bj_dispatcher__relayout(d), 0);
	}
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 2));
	assert_false(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 5)));
	assert_int_equal(bj_dispatcher__n_progs(d, &n_direct), 8);
	assert_int_equal(n_direct, 1);
	/* A uniform load leaves no program hot enough: everything goes through the indirect jump. */
	for (int r = 0; r < 6; r++) {
		for (size_t i = 0; i < 8; i++)
			call_n(d, &s, i, 64 * 50);
		assert_int_equal(bj_dispatcher__relayout(d), 0);
	}
	assert_int_equal(bj_dispatcher__n_progs(d, &n_direct), 8);
	assert_int_equal(n_direct, 0);
	for (size_t i = 0; i < 8; i++)
		call_n(d, &s, i, 3);
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&s);
}

static void test_priorities(void **state)
{
	BJ_OPTS(bj_dispatcher_opts, opts, .hot = 2, .manual_relayout = true);
	BJ_OPTS(bj_dispatcher_opts, tree, .layout = BJ_DISPATCHER_LAYOUT_TREE);
	struct bj_dispatcher *d;
	struct bj_synth s;

	(void)state;
	assert_int_equal(bj_synth_create(&s, 6, bj_dispatcher_code_hint()), 0);
	assert_int_equal(bj_dispatcher__create(&opts, &d), 0);
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, i)), 0);
	call_n(d, &s, 1, 64 * 100);
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 4), 3), 0);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 4));
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 3), 2), 0);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 4));
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 3)));
	assert_false(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 1)));
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 4), 0), 0);
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 3), 0), 0);
	assert_int_equal(bj_dispatcher__relayout(d), 0);
	assert_true(first_hot(d) == (uint64_t)bj_synth_prog(&s, 1));
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 5), 1), -ENOENT);
	assert_int_equal(bj_dispatcher__set_priority(d, NULL, 1), -EINVAL);
	assert_int_equal(bj_dispatcher__set_priority(NULL, bj_synth_prog(&s, 1), 1), -EINVAL);
	assert_int_equal(bj_dispatcher__relayout(NULL), -EINVAL);
	bj_dispatcher_read_lock();
	assert_int_equal(bj_dispatcher__relayout(d), -EDEADLK);
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 1), 1), -EDEADLK);
	bj_dispatcher_read_unlock();
	bj_dispatcher__destroy(d);
	/* TREE reaches everything directly: priorities are accepted and change nothing. */
	assert_int_equal(bj_dispatcher__create(&tree, &d), 0);
	assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, 0)), 0);
	assert_int_equal(bj_dispatcher__set_priority(d, bj_synth_prog(&s, 0), 9), 0);
	assert_int_equal(bj_dispatcher__relayout(d), 0);
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 0)));
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&s);
}

/* By default the wrapper's samples re-lay out the chain by themselves, within the rate limit. */
static void test_auto_relayout(void **state)
{
	BJ_OPTS(bj_dispatcher_opts, opts, .hot = 1, .relayout_ms = 1);
	struct bj_dispatcher *d;
	struct bj_synth s;
	uint64_t start = now_ms();

	(void)state;
	assert_int_equal(bj_synth_create(&s, 4, bj_dispatcher_code_hint()), 0);
	assert_int_equal(bj_dispatcher__create(&opts, &d), 0);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, i)), 0);
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 0)));
	while (!bj_dispatcher__is_direct(d, bj_synth_prog(&s, 3)) && now_ms() - start < 10000)
		call_n(d, &s, 3, 4096);
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 3)));
	assert_false(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 0)));
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&s);
}

static void test_far_program_falls_back(void **state)
{
	struct bj_dispatcher *d;
	struct bj_synth far;
	size_t n_direct;

	(void)state;
	assert_int_equal(bj_synth_create(&far, 2, NULL), 0);
	assert_int_equal(bj_dispatcher__create(NULL, &d), 0);
	if (bj_rel32_ok((uint64_t)bj_dispatcher__entry(d), (uint64_t)far.map.rx)) {
		bj_dispatcher__destroy(d);
		bj_synth_destroy(&far);
		skip();
	}
	assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&far, 0)), 0);
	assert_int_equal(bj_dispatcher__n_progs(d, &n_direct), 1);
	assert_int_equal(n_direct, 0);
	assert_false(bj_dispatcher__is_direct(d, bj_synth_prog(&far, 0)));
	for (size_t i = 0; i < 2; i++)
		assert_true(bj_dispatcher__call(d, R1, i, RUN, bj_synth_prog(&far, i)) == bj_synth_expect(i, R1, i, RUN));
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&far);
}

static void test_refcounts_and_update(void **state)
{
	struct bj_dispatcher *d;
	struct bj_synth s;
	bj_prog_fn a, b, c;

	(void)state;
	assert_int_equal(bj_synth_create(&s, 3, bj_dispatcher_code_hint()), 0);
	a = bj_synth_prog(&s, 0), b = bj_synth_prog(&s, 1), c = bj_synth_prog(&s, 2);
	assert_int_equal(bj_dispatcher__create(NULL, &d), 0);
	assert_int_equal(bj_dispatcher__attach(d, a), 0);
	assert_int_equal(bj_dispatcher__attach(d, a), 0);
	assert_int_equal(bj_dispatcher__n_progs(d, NULL), 1);
	assert_int_equal(bj_dispatcher__detach(d, a), 0);
	assert_true(bj_dispatcher__is_direct(d, a));
	assert_int_equal(bj_dispatcher__detach(d, a), 0);
	assert_false(bj_dispatcher__is_direct(d, a));
	assert_int_equal(bj_dispatcher__detach(d, a), -ENOENT);
	assert_int_equal(bj_dispatcher__detach(d, NULL), -EINVAL);
	assert_int_equal(bj_dispatcher__attach(d, NULL), -EINVAL);
	assert_int_equal(bj_dispatcher__update(d, b, c), -ENOENT);
	assert_int_equal(bj_dispatcher__update(d, NULL, b), 0);
	assert_int_equal(bj_dispatcher__update(d, b, c), 0);
	assert_false(bj_dispatcher__is_direct(d, b));
	assert_true(bj_dispatcher__is_direct(d, c));
	assert_int_equal(bj_dispatcher__update(d, c, c), 0);
	assert_int_equal(bj_dispatcher__update(d, c, NULL), 0);
	assert_int_equal(bj_dispatcher__n_progs(d, NULL), 0);
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&s);
}

/* Over capacity, later programs use the fallback until an earlier one leaves. */
static void test_over_capacity_promotes(void **state)
{
	BJ_OPTS(bj_dispatcher_opts, opts, .capacity = 2);
	struct bj_dispatcher *d;
	struct bj_synth s;

	(void)state;
	assert_int_equal(bj_synth_create(&s, 3, bj_dispatcher_code_hint()), 0);
	assert_int_equal(bj_dispatcher__create(&opts, &d), 0);
	for (size_t i = 0; i < 3; i++)
		assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, i)), 0);
	check_all(d, &s, 2, "capacity 2", 3);
	assert_int_equal(bj_dispatcher__detach(d, bj_synth_prog(&s, 0)), 0);
	assert_true(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 2)));
	assert_false(bj_dispatcher__is_direct(d, bj_synth_prog(&s, 0)));
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&s);
}

struct opts_big {
	struct bj_dispatcher_opts o;
	uint64_t future;
};

static void test_bad_opts(void **state)
{
	BJ_OPTS(bj_dispatcher_opts, too_many, .capacity = BJ_DISPATCHER_MAX_CAPACITY + 1);
	BJ_OPTS(bj_dispatcher_opts, bad_cmp, .cmp = (enum bj_dispatcher_cmp)99);
	struct opts_big big = { .o = { .sz = sizeof(big) }, .future = 1 };
	struct bj_dispatcher *d = NULL;

	(void)state;
	assert_int_equal(bj_dispatcher__create(&too_many, &d), -EINVAL);
	assert_int_equal(bj_dispatcher__create(&bad_cmp, &d), -EINVAL);
	assert_int_equal(bj_dispatcher__create(&big.o, &d), -EINVAL);
	big.future = 0;
	assert_int_equal(bj_dispatcher__create(&big.o, &d), 0);
	bj_dispatcher__destroy(d);
	bj_dispatcher__destroy(NULL);
}

static void test_update_inside_section_is_refused(void **state)
{
	struct bj_dispatcher *d;
	struct bj_synth s;

	(void)state;
	assert_int_equal(bj_synth_create(&s, 1, bj_dispatcher_code_hint()), 0);
	assert_int_equal(bj_dispatcher__create(NULL, &d), 0);
	bj_dispatcher_read_lock();
	bj_dispatcher_read_lock();
	assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, 0)), -EDEADLK);
	bj_dispatcher_read_unlock();
	bj_dispatcher_read_unlock();
	assert_int_equal(bj_dispatcher__attach(d, bj_synth_prog(&s, 0)), 0);
	bj_dispatcher__destroy(d);
	bj_synth_destroy(&s);
}

/* No mapping of the process is both writable and executable. */
static void assert_no_wx_mapping(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512], perms[8];

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %7s", perms) == 1 && perms[1] == 'w' && perms[2] == 'x')
			fail_msg("writable and executable mapping: %s", line);
	fclose(f);
}

BJ_DEFINE_XDP_CALL(test_rx);
BJ_DEFINE_XDP_CALL(stress_rx);

static void test_static_call(void **state)
{
	struct bj_synth near, far;
	bool direct;
	bj_prog_fn a, b, f;

	(void)state;
	assert_int_equal(bj_synth_create(&near, 2, (void *)bj_xdp_call_tramp_test_rx), 0);
	assert_int_equal(bj_synth_create(&far, 1, NULL), 0);
	a = bj_synth_prog(&near, 0), b = bj_synth_prog(&near, 1), f = bj_synth_prog(&far, 0);
	assert_int_equal(((uintptr_t)bj_xdp_call_tramp_test_rx) % BJ_STATIC_CALL_PAGE, 0);
	assert_true(BJ_XDP_CALL(test_rx, R1, 5, RUN) == 0);
	assert_null(bj_static_call__target(&bj_xdp_call_test_rx, NULL));

	assert_int_equal(BJ_XDP_CALL_UPDATE(test_rx, b, a), -EBUSY);
	assert_int_equal(BJ_XDP_CALL_UPDATE(test_rx, NULL, a), 0);
	assert_true(bj_static_call__target(&bj_xdp_call_test_rx, &direct) == a);
	assert_true(direct);
	assert_true(BJ_XDP_CALL(test_rx, R1, 5, RUN) == bj_synth_expect(0, R1, 5, RUN));
	assert_int_equal(BJ_XDP_CALL_UPDATE(test_rx, NULL, b), -EBUSY);
	assert_int_equal(BJ_XDP_CALL_UPDATE(test_rx, a, b), 0);
	assert_true(BJ_XDP_CALL(test_rx, R1, 6, RUN) == bj_synth_expect(1, R1, 6, RUN));

	assert_int_equal(BJ_XDP_CALL_UPDATE(test_rx, b, f), 0);
	assert_true(bj_static_call__target(&bj_xdp_call_test_rx, &direct) == f);
	assert_int_equal(direct, bj_rel32_ok((uint64_t)bj_xdp_call_tramp_test_rx + 5, (uint64_t)f));
	assert_true(BJ_XDP_CALL(test_rx, R1, 7, RUN) == bj_synth_expect(0, R1, 7, RUN));
	assert_int_equal(BJ_XDP_CALL_UPDATE(test_rx, f, NULL), 0);
	assert_true(BJ_XDP_CALL(test_rx, R1, 8, RUN) == 0);
	assert_no_wx_mapping();
	bj_synth_destroy(&near);
	bj_synth_destroy(&far);
}

#define STRESS_CALLERS 3
#define STRESS_MS 1500
#define STRESS_PROGS 40

struct stress {
	struct bj_dispatcher *d;
	struct bj_synth s;
	atomic_bool stop;
	atomic_ulong calls, wrong, updates;
};

static uint64_t xorshift(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/*
 * Asks for programs (attached or not), alternating single calls and batches in one section. Half the single
 * calls go to a favourite that changes every 8192 calls, so that sampling keeps re-laying out the hot chain.
 */
static void *stress_caller(void *arg)
{
	struct stress *st = arg;
	uint64_t x = (uint64_t)pthread_self() | 1, calls = 0, wrong = 0;
	bj_dispatch_fn entry = bj_dispatcher__entry(st->d);

	while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
		for (int i = 0; i < 64; i++) {
			size_t r = xorshift(&x), p = r % 2 ? (calls >> 13) % STRESS_PROGS : (r >> 1) % STRESS_PROGS;
			wrong += bj_dispatcher__call(st->d, R1, x, RUN, bj_synth_prog(&st->s, p)) !=
				 bj_synth_expect(p, R1, x, RUN);
		}
		bj_dispatcher_read_lock();
		for (int i = 0; i < 64; i++) {
			size_t p = xorshift(&x) % STRESS_PROGS;
			wrong += entry(R1, x, RUN, bj_synth_prog(&st->s, p)) != bj_synth_expect(p, R1, x, RUN);
		}
		bj_dispatcher_read_unlock();
		calls += 128;
	}
	atomic_fetch_add(&st->calls, calls);
	atomic_fetch_add(&st->wrong, wrong);
	return NULL;
}

static void *stress_updater(void *arg)
{
	struct stress *st = arg;
	unsigned users[STRESS_PROGS] = { 0 };
	uint64_t x = 88172645463325252ull;

	while (!atomic_load_explicit(&st->stop, memory_order_relaxed)) {
		size_t p = xorshift(&x) % STRESS_PROGS, q = xorshift(&x) % STRESS_PROGS;
		int err;

		if (users[p] && xorshift(&x) % 2) {
			err = bj_dispatcher__detach(st->d, bj_synth_prog(&st->s, p));
			users[p]--;
		} else if (users[p]) {
			err = bj_dispatcher__update(st->d, bj_synth_prog(&st->s, p), bj_synth_prog(&st->s, q));
			users[p]--;
			users[q]++;
		} else {
			err = bj_dispatcher__attach(st->d, bj_synth_prog(&st->s, p));
			users[p]++;
		}
		if (err)
			atomic_fetch_add(&st->wrong, 1);
		atomic_fetch_add(&st->updates, 1);
	}
	return NULL;
}

static void stress(const struct bj_dispatcher_opts *opts, const char *what)
{
	pthread_t callers[STRESS_CALLERS], updater;
	struct stress st = { 0 };

	assert_int_equal(bj_synth_create(&st.s, STRESS_PROGS, bj_dispatcher_code_hint()), 0);
	assert_int_equal(bj_dispatcher__create(opts, &st.d), 0);
	for (int i = 0; i < STRESS_CALLERS; i++)
		assert_int_equal(pthread_create(&callers[i], NULL, stress_caller, &st), 0);
	assert_int_equal(pthread_create(&updater, NULL, stress_updater, &st), 0);
	/* Enough updates, however loaded the machine: a caller preempted inside a section holds an update up. */
	for (uint64_t start = now_ms(); now_ms() - start < STRESS_MS || atomic_load(&st.updates) < 300;) {
		if (now_ms() - start > 20 * STRESS_MS)
			break;
		assert_no_wx_mapping();
		nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
	}
	atomic_store(&st.stop, true);
	for (int i = 0; i < STRESS_CALLERS; i++)
		pthread_join(callers[i], NULL);
	pthread_join(updater, NULL);
	printf("stress (%s): %lu calls, %lu updates, %lu wrong\n", what, atomic_load(&st.calls),
	       atomic_load(&st.updates), atomic_load(&st.wrong));
	assert_int_equal(atomic_load(&st.wrong), 0);
	assert_true(atomic_load(&st.updates) >= 300);
	bj_dispatcher__destroy(st.d);
	bj_synth_destroy(&st.s);
}

/* Callers never see a wrong result while attach/detach/update and (HOT) sampled relayouts run. */
static void test_concurrent_updates(void **state)
{
	BJ_OPTS(bj_dispatcher_opts, tree, .layout = BJ_DISPATCHER_LAYOUT_TREE, .capacity = 12);
	BJ_OPTS(bj_dispatcher_opts, hot, .relayout_ms = 1);

	(void)state;
	stress(&tree, "tree");
	stress(&hot, "hot, relayout every 1 ms");
}

/* Callers of a static call see the program before or after an update, never anything else. */
struct sc_stress {
	struct bj_synth s;
	atomic_bool stop;
	atomic_ulong wrong;
};

static void *sc_caller(void *arg)
{
	struct sc_stress *st = arg;
	unsigned long wrong = 0;

	for (uint64_t r2 = 0; !atomic_load_explicit(&st->stop, memory_order_relaxed); r2++) {
		uint64_t got = BJ_XDP_CALL(stress_rx, R1, r2, RUN);
		wrong += got != 0 && got != bj_synth_expect(0, R1, r2, RUN) && got != bj_synth_expect(1, R1, r2, RUN);
	}
	atomic_fetch_add(&st->wrong, wrong);
	return NULL;
}

static void test_static_call_concurrent(void **state)
{
	pthread_t callers[STRESS_CALLERS];
	struct sc_stress st = { 0 };
	bj_prog_fn seq[3];
	unsigned updates = 0;

	(void)state;
	assert_int_equal(bj_synth_create(&st.s, 2, (void *)bj_xdp_call_tramp_stress_rx), 0);
	seq[0] = NULL, seq[1] = bj_synth_prog(&st.s, 0), seq[2] = bj_synth_prog(&st.s, 1);
	for (int i = 0; i < STRESS_CALLERS; i++)
		assert_int_equal(pthread_create(&callers[i], NULL, sc_caller, &st), 0);
	for (uint64_t end = now_ms() + STRESS_MS / 3; now_ms() < end; updates++)
		assert_int_equal(BJ_XDP_CALL_UPDATE(stress_rx, seq[updates % 3], seq[(updates + 1) % 3]), 0);
	atomic_store(&st.stop, true);
	for (int i = 0; i < STRESS_CALLERS; i++)
		pthread_join(callers[i], NULL);
	assert_int_equal(atomic_load(&st.wrong), 0);
	assert_true(updates > 10);
	bj_synth_destroy(&st.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_count),
#ifdef HAVE_CAPSTONE
		cmocka_unit_test(test_image_disassembles),
#endif
		cmocka_unit_test(test_hot_follows_samples),
		cmocka_unit_test(test_priorities),
		cmocka_unit_test(test_auto_relayout),
		cmocka_unit_test(test_far_program_falls_back),
		cmocka_unit_test(test_refcounts_and_update),
		cmocka_unit_test(test_over_capacity_promotes),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_update_inside_section_is_refused),
		cmocka_unit_test(test_static_call),
		cmocka_unit_test(test_concurrent_updates),
		cmocka_unit_test(test_static_call_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
