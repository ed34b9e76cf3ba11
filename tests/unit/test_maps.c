/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "maps/map_internal.h"

#define W 3 /* workers of per-CPU maps in these tests */

static struct bj_map *mk(enum bj_map_type t, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	BJ_OPTS(bj_map_opts, o, .map_flags = flags, .n_workers = W, .name = "t");
	struct bj_map *m = NULL;
	struct bj_error err;
	int ret = bj_map__create(t, ks, vs, max, &o, &m, &err);

	if (ret)
		fail_msg("create %s: %d %s", bj_map_type__name(t), ret, err.msg);
	return m;
}

struct create_case {
	const char *name;
	enum bj_map_type type;
	uint32_t ks, vs, max, flags;
	int ret;
	const char *msg;
};

static const struct create_case creates[] = {
	{ "array key 8", BJ_MAP_TYPE_ARRAY, 8, 4, 4, 0, -EINVAL, "key_size 4" },
	{ "array no entries", BJ_MAP_TYPE_ARRAY, 4, 4, 0, 0, -EINVAL, "max_entries" },
	{ "array bad flag", BJ_MAP_TYPE_ARRAY, 4, 4, 4, BJ_F_NO_PREALLOC, -EINVAL, "invalid flags" },
	{ "array rdonly+wronly prog", BJ_MAP_TYPE_ARRAY, 4, 4, 4, BJ_F_RDONLY_PROG | BJ_F_WRONLY_PROG, -EINVAL, "flags" },
	{ "percpu mmapable", BJ_MAP_TYPE_PERCPU_ARRAY, 4, 4, 4, BJ_F_MMAPABLE, -EINVAL, "only ARRAY" },
	{ "percpu too big", BJ_MAP_TYPE_PERCPU_ARRAY, 4, 40000, 4, 0, -E2BIG, "too big" },
	{ "hash mmapable", BJ_MAP_TYPE_HASH, 4, 4, 4, BJ_F_MMAPABLE, -EINVAL, "invalid flags" },
	{ "hash key 0", BJ_MAP_TYPE_HASH, 0, 4, 4, 0, -EINVAL, "key_size" },
	{ "lru no prealloc", BJ_MAP_TYPE_LRU_HASH, 4, 4, 4, BJ_F_NO_PREALLOC, -BJ_ENOTSUPP, "preallocated" },
	{ "common lru on hash", BJ_MAP_TYPE_HASH, 4, 4, 4, BJ_F_NO_COMMON_LRU, -EINVAL, "LRU" },
	{ "queue with key", BJ_MAP_TYPE_QUEUE, 4, 4, 4, 0, -EINVAL, "key_size 0" },
	{ "ringbuf not pow2", BJ_MAP_TYPE_RINGBUF, 0, 0, 12288, 0, -EINVAL, "power of 2" },
	{ "ringbuf value", BJ_MAP_TYPE_RINGBUF, 0, 4, 4096, 0, -EINVAL, "value_size 0" },
	{ "prog_array value 8", BJ_MAP_TYPE_PROG_ARRAY, 4, 8, 4, 0, -EINVAL, "value_size 4" },
	{ "devmap value 6", BJ_MAP_TYPE_DEVMAP, 4, 6, 4, 0, -EINVAL, "value_size 4 or 8" },
	{ "xskmap key 8", BJ_MAP_TYPE_XSKMAP, 8, 4, 4, 0, -EINVAL, "key_size 4" },
	{ "of_maps no template", BJ_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, 0, -EINVAL, "inner_map" },
	{ "unknown type", (enum bj_map_type)99, 4, 4, 4, 0, -EINVAL, "unsupported map type 99" },
};

static void test_create_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(creates); i++) {
		const struct create_case *c = &creates[i];
		BJ_OPTS(bj_map_opts, o, .map_flags = c->flags, .n_workers = W);
		struct bj_map *m = (void *)1;
		struct bj_error err = { 0 };
		int ret = bj_map__create(c->type, c->ks, c->vs, c->max, &o, &m, &err);

		if (ret != c->ret || m || !strstr(err.msg, c->msg))
			fail_msg("%s: got %d '%s', want %d '%s'", c->name, ret, err.msg, c->ret, c->msg);
	}
}

static void test_opts_unknown_bytes(void **state)
{
	struct { struct bj_map_opts o; uint64_t extra; } big;
	struct bj_map *m;

	(void)state;
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.extra = 1;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_ARRAY, 4, 4, 4, &big.o, &m, NULL), -EINVAL);
	big.extra = 0;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_ARRAY, 4, 4, 4, &big.o, &m, NULL), 0);
	bj_map__destroy(m);
	bj_map__destroy(NULL);
}

/* Single-element errors that bpf(2) returns, per type. */
struct elem_case {
	const char *name;
	enum bj_map_type type;
	uint32_t ks, vs, max;
	int (*op)(struct bj_map *m);
	int ret;
};

static uint32_t k0 = 0, k9 = 9;
static uint64_t v1[16] = { 1 }; /* big enough for a per-CPU value */

static int op_upd_noexist(struct bj_map *m) { return bj_map__update_elem(m, &k0, v1, BJ_NOEXIST); }
static int op_upd_badflag(struct bj_map *m) { return bj_map__update_elem(m, &k0, v1, 8); }
static int op_upd_oob(struct bj_map *m) { return bj_map__update_elem(m, &k9, v1, BJ_ANY); }
static int op_upd_lock(struct bj_map *m) { return bj_map__update_elem(m, &k0, v1, BJ_F_LOCK); }
static int op_del(struct bj_map *m) { return bj_map__delete_elem(m, &k0); }
static int op_lookup_missing(struct bj_map *m) { uint64_t v; return bj_map__lookup_elem(m, &k0, &v); }
static int op_lookup_badflag(struct bj_map *m) { uint64_t v; return bj_map__lookup_elem_flags(m, &k0, &v, 1); }
static int op_upd_exist(struct bj_map *m) { return bj_map__update_elem(m, &k0, v1, BJ_EXIST); }
static int op_push_noexist(struct bj_map *m) { return bj_map__update_elem(m, NULL, v1, BJ_NOEXIST); }
static int op_pop_empty(struct bj_map *m) { uint64_t v; return bj_map__lookup_and_delete_elem(m, NULL, &v); }
static int op_next_key(struct bj_map *m) { uint64_t v; return bj_map__get_next_key(m, NULL, &v); }
static int op_lad_array(struct bj_map *m) { uint64_t v; return bj_map__lookup_and_delete_elem(m, &k0, &v); }
static int op_full(struct bj_map *m)
{
	uint32_t k;
	int ret = 0;
	for (k = 0; k < 5 && !ret; k++)
		ret = bj_map__update_elem(m, &k, v1, BJ_ANY);
	return ret;
}
static int op_push_full(struct bj_map *m)
{
	int ret = 0;
	for (int i = 0; i < 5 && !ret; i++)
		ret = bj_map__update_elem(m, NULL, v1, BJ_ANY);
	return ret;
}

static const struct elem_case elems[] = {
	{ "array NOEXIST", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_upd_noexist, -EEXIST },
	{ "array bad flag", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_upd_badflag, -EINVAL },
	{ "array out of range", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_upd_oob, -E2BIG },
	{ "array F_LOCK without lock", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_upd_lock, -EINVAL },
	{ "array delete", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_del, -EINVAL },
	{ "array lookup_and_delete", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_lad_array, -BJ_ENOTSUPP },
	{ "lookup bad flag", BJ_MAP_TYPE_ARRAY, 4, 8, 4, op_lookup_badflag, -EINVAL },
	{ "hash missing", BJ_MAP_TYPE_HASH, 4, 8, 4, op_lookup_missing, -ENOENT },
	{ "hash EXIST missing", BJ_MAP_TYPE_HASH, 4, 8, 4, op_upd_exist, -ENOENT },
	{ "hash delete missing", BJ_MAP_TYPE_HASH, 4, 8, 4, op_del, -ENOENT },
	{ "hash full", BJ_MAP_TYPE_HASH, 4, 8, 4, op_full, -E2BIG },
	{ "percpu hash full", BJ_MAP_TYPE_PERCPU_HASH, 4, 8, 4, op_full, -E2BIG },
	{ "lru never full", BJ_MAP_TYPE_LRU_HASH, 4, 8, 4, op_full, 0 },
	{ "percpu hash F_LOCK", BJ_MAP_TYPE_PERCPU_HASH, 4, 8, 4, op_upd_lock, -EINVAL },
	{ "queue NOEXIST", BJ_MAP_TYPE_QUEUE, 0, 8, 4, op_push_noexist, -EINVAL },
	{ "queue full", BJ_MAP_TYPE_QUEUE, 0, 8, 4, op_push_full, -E2BIG },
	{ "stack empty", BJ_MAP_TYPE_STACK, 0, 8, 4, op_pop_empty, -ENOENT },
	{ "queue next key", BJ_MAP_TYPE_QUEUE, 0, 8, 4, op_next_key, -EINVAL },
	{ "ringbuf lookup", BJ_MAP_TYPE_RINGBUF, 0, 0, 4096, op_lookup_missing, -BJ_ENOTSUPP },
	{ "ringbuf next key", BJ_MAP_TYPE_RINGBUF, 0, 0, 4096, op_next_key, -BJ_ENOTSUPP },
	{ "prog_array user update", BJ_MAP_TYPE_PROG_ARRAY, 4, 4, 4, op_upd_noexist, -EINVAL },
	{ "prog_array delete empty", BJ_MAP_TYPE_PROG_ARRAY, 4, 4, 4, op_del, -ENOENT },
	{ "devmap NOEXIST", BJ_MAP_TYPE_DEVMAP, 4, 4, 4, op_upd_noexist, -EEXIST },
	{ "devmap empty", BJ_MAP_TYPE_DEVMAP, 4, 4, 4, op_lookup_missing, -ENOENT },
	{ "xskmap lookup", BJ_MAP_TYPE_XSKMAP, 4, 4, 4, op_lookup_missing, -EOPNOTSUPP },
};

static void test_element_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(elems); i++) {
		const struct elem_case *c = &elems[i];
		struct bj_map *m = mk(c->type, c->ks, c->vs, c->max, 0);
		int ret = c->op(m);

		bj_map__destroy(m);
		if (ret != c->ret)
			fail_msg("%s: got %d, want %d", c->name, ret, c->ret);
	}
}

static void test_percpu_layout(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_PERCPU_HASH, 4, 12, 8, 0);
	uint8_t in[W * 16], out[W * 16];
	uint32_t key = 7;

	(void)state;
	assert_int_equal(bj_map__value_buf_size(m), W * 16);
	memset(in, 0xaa, sizeof(in));
	for (int w = 0; w < W; w++)
		memset(in + w * 16, w + 1, 12);
	assert_int_equal(bj_map__update_elem(m, &key, in, BJ_ANY), 0);
	/* A program on worker 1 sees its own slot and updates only it. */
	bj_epoch_enter();
	uint8_t *p = bj_map_lookup(m, &key, 1);
	assert_non_null(p);
	assert_int_equal(p[0], 2);
	p[0] = 0x55;
	bj_epoch_exit();
	memset(out, 0xee, sizeof(out));
	assert_int_equal(bj_map__lookup_elem(m, &key, out), 0);
	for (int w = 0; w < W; w++) {
		assert_int_equal(out[w * 16], w == 1 ? 0x55 : w + 1);
		assert_int_equal(out[w * 16 + 11], w + 1);
		for (int b = 12; b < 16; b++)
			assert_int_equal(out[w * 16 + b], 0); /* padding reads as zero */
	}
	/* Program-side update of a new key sets one slot; the others are zero. */
	key = 8;
	bj_epoch_enter();
	assert_int_equal(bj_map_update(m, &key, in, BJ_NOEXIST, 2), 0);
	bj_epoch_exit();
	assert_int_equal(bj_map__lookup_elem(m, &key, out), 0);
	assert_int_equal(out[0], 0);
	assert_int_equal(out[2 * 16], 1);
	bj_map__destroy(m);
}

static void test_lru_keeps_recent(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_LRU_HASH, 4, 8, 16, 0);
	uint64_t v = 0;
	uint32_t k, hot = 3, n = 0, key, *prev = NULL;

	(void)state;
	for (k = 0; k < 200; k++) {
		assert_int_equal(bj_map__update_elem(m, &k, &v, BJ_ANY), 0);
		bj_epoch_enter();
		if (k >= hot)
			assert_non_null(bj_map_lookup(m, &hot, 0)); /* keeps key 3 hot */
		bj_epoch_exit();
	}
	while (!bj_map__get_next_key(m, prev, &key)) {
		n++;
		prev = &key;
	}
	assert_true(n <= 16);
	assert_int_equal(bj_map__lookup_elem(m, &hot, &v), 0);
	k = 199;
	assert_int_equal(bj_map__lookup_elem(m, &k, &v), 0);
	k = 0;
	assert_int_equal(bj_map__lookup_elem(m, &k, &v), -ENOENT);
	bj_map__destroy(m);
}

static void test_queue_stack_order(void **state)
{
	struct bj_map *q = mk(BJ_MAP_TYPE_QUEUE, 0, 4, 3, 0), *s = mk(BJ_MAP_TYPE_STACK, 0, 4, 3, 0);
	uint32_t v;

	(void)state;
	for (uint32_t i = 1; i <= 4; i++) {
		/* The fourth push overwrites the oldest with BJ_EXIST. */
		assert_int_equal(bj_map__update_elem(q, NULL, &i, i == 4 ? BJ_EXIST : BJ_ANY), 0);
		assert_int_equal(bj_map__update_elem(s, NULL, &i, i == 4 ? BJ_EXIST : BJ_ANY), 0);
	}
	assert_int_equal(bj_map__lookup_elem(q, NULL, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(bj_map__lookup_elem(s, NULL, &v), 0);
	assert_int_equal(v, 4);
	for (uint32_t want = 2; want <= 4; want++) {
		assert_int_equal(bj_map__lookup_and_delete_elem(q, NULL, &v), 0);
		assert_int_equal(v, want);
	}
	for (uint32_t want = 4; want >= 2; want--) {
		assert_int_equal(bj_map__lookup_and_delete_elem(s, NULL, &v), 0);
		assert_int_equal(v, want);
	}
	assert_int_equal(bj_map__lookup_and_delete_elem(q, NULL, &v), -ENOENT);
	bj_map__destroy(q);
	bj_map__destroy(s);
}

static void test_slot_maps(void **state)
{
	struct bj_map *tmpl = mk(BJ_MAP_TYPE_ARRAY, 4, 8, 4, 0), *inner = mk(BJ_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	struct bj_map *bad = mk(BJ_MAP_TYPE_ARRAY, 4, 8, 5, 0), *aom, *hom, *pa, *dm, *xm;
	BJ_OPTS(bj_map_opts, o, .inner_map = tmpl);
	uint32_t k = 1, id, dv[2] = { 7, 0 };
	int sock;

	(void)state;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_ARRAY_OF_MAPS, 4, 4, 4, &o, &aom, NULL), 0);
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_HASH_OF_MAPS, 4, 4, 4, &o, &hom, NULL), 0);
	bj_map__destroy(tmpl); /* the outer maps keep their template */
	assert_int_equal(bj_map__set_inner(aom, &k, bad, BJ_ANY), -EINVAL);
	assert_int_equal(bj_map__set_inner(aom, &k, inner, BJ_ANY), 0);
	assert_int_equal(bj_map__set_inner(hom, &k, inner, BJ_ANY), 0);
	assert_ptr_equal(bj_map__inner(aom, &k), inner);
	assert_ptr_equal(bj_map__inner(hom, &k), inner);
	assert_int_equal(bj_map__lookup_elem(aom, &k, &id), 0);
	assert_int_equal(id, bj_map__id(inner));
	assert_int_equal(bj_map__lookup_elem(hom, &k, &id), 0);
	assert_int_equal(id, bj_map__id(inner));
	bj_map__destroy(inner); /* still referenced by both outer maps */
	inner = bj_map__inner(aom, &k);
	assert_int_equal(bj_map__update_elem(inner, &k, v1, BJ_ANY), 0);
	assert_int_equal(bj_map__delete_elem(aom, &k), 0);
	assert_int_equal(bj_map__delete_elem(aom, &k), -ENOENT);
	assert_int_equal(bj_map__delete_elem(hom, &k), 0);
	assert_null(bj_map__inner(hom, &k));

	pa = mk(BJ_MAP_TYPE_PROG_ARRAY, 4, 4, 4, 0);
	assert_int_equal(bj_map__set_prog(pa, 2, (struct bj_prog *)&sock), 0);
	assert_ptr_equal(bj_map_prog_array_get(pa, 2), &sock);
	assert_null(bj_map_prog_array_get(pa, 3));
	assert_int_equal(bj_map__set_prog(pa, 4, (struct bj_prog *)&sock), -E2BIG);
	dm = mk(BJ_MAP_TYPE_DEVMAP, 4, 8, 4, 0);
	assert_int_equal(bj_map__update_elem(dm, &k, dv, BJ_ANY), 0);
	assert_int_equal(*(uint32_t *)bj_map_devmap_get(dm, 1), 7);
	assert_null(bj_map_devmap_get(dm, 0));
	assert_int_equal(bj_map__delete_elem(dm, &k), 0);
	assert_null(bj_map_devmap_get(dm, 1));
	xm = mk(BJ_MAP_TYPE_XSKMAP, 4, 4, 4, 0);
	assert_int_equal(bj_map__set_xsk(xm, 0, &sock), 0);
	assert_ptr_equal(bj_map_xskmap_get(xm, 0), &sock);
	bj_map__destroy(aom);
	bj_map__destroy(hom);
	bj_map__destroy(bad);
	bj_map__destroy(pa);
	bj_map__destroy(dm);
	bj_map__destroy(xm);
}

static void test_mmap_rules(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_ARRAY, 4, 12, 1000, BJ_F_MMAPABLE);
	struct bj_map *plain = mk(BJ_MAP_TYPE_ARRAY, 4, 8, 4, 0);
	struct bj_map *ro = mk(BJ_MAP_TYPE_ARRAY, 4, 8, 4, BJ_F_MMAPABLE | BJ_F_RDONLY_PROG);
	size_t page = (size_t)sysconf(_SC_PAGESIZE), size = bj_map__mmap_size(m);
	struct bj_error err;
	uint8_t *w, *r, val[12] = { 1, 2, 3 };
	uint32_t k = 1;

	(void)state;
	assert_int_equal(size, (16000 + page - 1) / page * page);
	assert_int_equal(bj_map__mmap(plain, 0, page, PROT_READ, (void **)&r, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "not mmapable"));
	assert_int_equal(bj_map__mmap(m, 0, size + page, PROT_READ, (void **)&r, &err), -EINVAL);
	assert_int_equal(bj_map__mmap(m, 1, page, PROT_READ, (void **)&r, &err), -EINVAL);
	assert_int_equal(bj_map__mmap(ro, 0, page, PROT_READ | PROT_WRITE, (void **)&r, &err), -EACCES);
	assert_int_equal(bj_map__mmap(m, page, size - page, PROT_READ, (void **)&r, &err), 0);
	assert_int_equal(bj_map__munmap(m, r, size - page), 0);

	assert_int_equal(bj_map__mmap(m, 0, size, PROT_READ | PROT_WRITE, (void **)&w, &err), 0);
	assert_int_equal(bj_map__update_elem(m, &k, val, BJ_ANY), 0);
	assert_int_equal(w[16], 1); /* element 1 at 16: 8-byte stride */
	assert_int_equal(w[12], 0);
	w[16 + 2] = 9;
	assert_int_equal(bj_map__lookup_elem(m, &k, val), 0);
	assert_int_equal(val[2], 9);
	assert_int_equal(bj_map__freeze(m), -EBUSY); /* a writable mapping is live */
	assert_int_equal(bj_map__munmap(m, w, size), 0);
	assert_int_equal(bj_map__munmap(m, w, size), -EINVAL);
	assert_int_equal(bj_map__freeze(m), 0);
	assert_int_equal(bj_map__freeze(m), -EPERM);
	assert_int_equal(bj_map__update_elem(m, &k, val, BJ_ANY), -EPERM);
	assert_int_equal(bj_map__mmap(m, 0, size, PROT_READ | PROT_WRITE, (void **)&w, &err), -EPERM);
	assert_int_equal(bj_map__mmap(m, 0, size, PROT_READ, (void **)&r, &err), 0);
	assert_int_equal(r[16 + 2], 9);
	assert_int_equal(mprotect(r, size, PROT_READ | PROT_WRITE), -1); /* cannot be upgraded */
	assert_int_equal(errno, EACCES);
	bj_map__destroy(m); /* unmaps what is still mapped */
	bj_map__destroy(plain);
	bj_map__destroy(ro);
}

/* ---- batches ---- */

static void test_batch_array_cursor(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_ARRAY, 4, 8, 10, 0);
	uint32_t keys[10], in = 0, out = 77, count;
	uint64_t vals[10];
	static const struct { int ret; uint32_t count, out; } want[] = { { 0, 4, 3 }, { 0, 4, 7 }, { -ENOENT, 2, 9 },
									 { -ENOENT, 0, 9 } };
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE(want); i++) {
		count = 4;
		int ret = bj_map__lookup_batch(m, i ? &in : NULL, &out, keys, vals, &count, NULL);
		if (ret != want[i].ret || count != want[i].count || out != want[i].out)
			fail_msg("call %zu: got %d/%u out %u", i, ret, count, out);
		in = out;
	}
	count = 2;
	assert_int_equal(bj_map__delete_batch(m, keys, &count, NULL), -BJ_ENOTSUPP);
	BJ_OPTS(bj_map_batch_opts, bad, .elem_flags = BJ_NOEXIST);
	count = 2;
	assert_int_equal(bj_map__update_batch(m, keys, vals, &count, &bad), -EINVAL);
	assert_int_equal(count, 2);
	bj_map__destroy(m);
}

static void test_batch_hash_cursor(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_HASH, 4, 8, 64, BJ_F_ZERO_SEED);
	struct bj_map *other = mk(BJ_MAP_TYPE_HASH, 4, 8, 8, 0);
	uint32_t keys[64], cursor, out, count, seen = 0, total = 0;
	uint64_t vals[64];
	int ret;

	(void)state;
	for (uint32_t k = 0; k < 20; k++) {
		uint64_t v = k * 10;
		assert_int_equal(bj_map__update_elem(m, &k, &v, BJ_NOEXIST), 0);
	}
	/* Small batches walk every key once; the last call says -ENOENT. */
	for (uint32_t *in = NULL;; in = &cursor) {
		count = 3;
		ret = bj_map__lookup_batch(m, in, &out, keys, vals, &count, NULL);
		assert_true(ret == 0 || ret == -ENOENT || ret == -ENOSPC);
		for (uint32_t i = 0; i < count; i++) {
			assert_int_equal(vals[i], keys[i] * 10);
			assert_false(seen & (1u << keys[i]));
			seen |= 1u << keys[i];
		}
		total += count;
		cursor = out;
		if (ret == -ENOENT)
			break;
		assert_int_not_equal(ret, -ENOSPC);
	}
	assert_int_equal(total, 20);
	assert_int_equal(seen, (1u << 20) - 1);
	/* A cursor from a bigger map is past this map's 8 buckets. */
	cursor = 40;
	count = 8;
	out = 12345;
	assert_int_equal(bj_map__lookup_batch(other, &cursor, &out, keys, vals, &count, NULL), -ENOENT);
	assert_int_equal(count, 0);
	assert_int_equal(out, 12345);
	/* flags must be zero for the hash family. */
	BJ_OPTS(bj_map_batch_opts, f, .flags = 1);
	count = 8;
	assert_int_equal(bj_map__lookup_batch(m, NULL, &out, keys, vals, &count, &f), -EINVAL);
	/* lookup_and_delete empties the map. */
	total = 0;
	for (uint32_t *in = NULL;; in = &cursor) {
		count = 64;
		ret = bj_map__lookup_and_delete_batch(m, in, &cursor, keys, vals, &count, NULL);
		total += count;
		if (ret)
			break;
	}
	assert_int_equal(ret, -ENOENT);
	assert_int_equal(total, 20);
	assert_int_equal(bj_map__get_next_key(m, NULL, keys), -ENOENT);
	bj_map__destroy(m);
	bj_map__destroy(other);
}

/* ---- ring buffer ---- */

struct rb_seen {
	uint32_t n, sum;
};

static int rb_cb(void *ctx, void *data, size_t size)
{
	struct rb_seen *s = ctx;

	assert_int_equal(size, 4);
	s->n++;
	s->sum += *(uint32_t *)data;
	return 0;
}

static void test_ringbuf_basic(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_RINGBUF, 0, 0, 4096, 0);
	struct bj_ring_buffer *rb;
	struct rb_seen seen = { 0, 0 };
	uint32_t v = 5, accepted = 0;
	void *rec;

	(void)state;
	assert_int_equal(bj_ring_buffer__new(m, rb_cb, &seen, NULL, &rb), 0);
	assert_int_equal(bj_ring_buffer__poll(rb, 0), 0);
	assert_null(bj_ringbuf__reserve(m, 4, 1));     /* flags must be zero */
	assert_null(bj_ringbuf__reserve(m, 4096, 0));  /* cannot fit with its header */
	assert_int_equal(bj_ringbuf__output(m, &v, 4, 8), -EINVAL);
	rec = bj_ringbuf__reserve(m, 4, 0);
	assert_non_null(rec);
	*(uint32_t *)rec = 100;
	bj_ringbuf__discard(m, rec, 0);
	/* 16 bytes per record: the 4 KiB ring holds 255 of them before it is full. */
	while (!bj_ringbuf__output(m, &v, 4, 0))
		accepted++;
	assert_int_equal(accepted, 254);
	assert_int_equal(bj_ringbuf__dropped(m), 1);
	assert_int_equal(bj_ring_buffer__poll(rb, 1000), (int)accepted);
	assert_int_equal(seen.sum, accepted * 5);
	assert_int_equal(bj_ringbuf__output(m, &v, 4, 0), 0);
	assert_int_equal(bj_ring_buffer__consume(rb), 1);
	bj_ring_buffer__free(rb);
	bj_map__destroy(m);
}

/* ---- pinning ---- */

static char pin_dir[64];

static void pin_path(char *buf, size_t n, const char *name)
{
	if (!pin_dir[0]) {
		strcpy(pin_dir, "/tmp/bpfjet-test-XXXXXX");
		assert_non_null(mkdtemp(pin_dir));
	}
	snprintf(buf, n, "%s/%s", pin_dir, name);
}

static void test_pin_errors(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_HASH, 4, 8, 16, 0), *r;
	struct bj_error err;
	char path[128];
	uint32_t k = 1, keys[16];
	uint64_t v = 42, vals[16];

	(void)state;
	pin_path(path, sizeof(path), "hash");
	assert_int_equal(bj_map__open_pinned(path, &r, &err), -ENOENT);
	assert_non_null(strstr(err.msg, "no map is pinned"));
	assert_int_equal(bj_map__pin(m, path, &err), 0);
	assert_int_equal(bj_map__pin(m, path, &err), -EBUSY);
	struct bj_map *m2 = mk(BJ_MAP_TYPE_HASH, 4, 8, 16, 0);
	assert_int_equal(bj_map__pin(m2, path, &err), -EEXIST);
	bj_map__destroy(m2);
	bj_map__destroy(m); /* the pin keeps it alive */
	assert_int_equal(bj_map__open_pinned(path, &r, &err), 0);
	assert_int_equal(bj_map__key_size(r), 4);
	assert_int_equal(bj_map__update_elem(r, &k, &v, BJ_NOEXIST), 0);
	assert_int_equal(bj_map__update_elem(r, &k, &v, BJ_NOEXIST), -EEXIST);
	v = 0;
	assert_int_equal(bj_map__lookup_elem(r, &k, &v), 0);
	assert_int_equal(v, 42);
	uint32_t count = 16, cursor;
	assert_int_equal(bj_map__lookup_batch(r, NULL, &cursor, keys, vals, &count, NULL), -ENOENT);
	assert_int_equal(count, 1);
	assert_int_equal(keys[0], 1);
	assert_int_equal(vals[0], 42);
	assert_int_equal(bj_map__delete_elem(r, &k), 0);
	assert_int_equal(bj_map__delete_elem(r, &k), -ENOENT);
	assert_int_equal(bj_map__mmap(r, 0, 4096, PROT_READ, (void **)&keys, &err), -EINVAL);
	bj_map__destroy(r);
	assert_int_equal(bj_map__unpin(m), 0); /* drops the last reference */
	assert_int_equal(bj_map__open_pinned(path, &r, &err), -ENOENT);
}

/* Two processes: the child increments counters atomically as a program would, through its own mapping
 * of the pinned map; the parent reads them through its mapping while it runs. */
static void test_pin_mmap_two_processes(void **state)
{
	enum { N = 64, ROUNDS = 20000 };
	struct bj_map *m = mk(BJ_MAP_TYPE_ARRAY, 4, 8, N, BJ_F_MMAPABLE), *r;
	struct bj_error err;
	char path[128];
	uint64_t *mine, last = 0;
	int status;
	pid_t pid;

	(void)state;
	pin_path(path, sizeof(path), "counters");
	assert_int_equal(bj_map__pin(m, path, &err), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint64_t *ctr;
		if (bj_map__open_pinned(path, &r, &err) ||
		    bj_map__mmap(r, 0, bj_map__mmap_size(r), PROT_READ | PROT_WRITE, (void **)&ctr, &err))
			_exit(2);
		for (int i = 0; i < ROUNDS; i++)
			for (int k = 0; k < N; k++)
				__atomic_fetch_add(&ctr[k], (uint64_t)k + 1, __ATOMIC_RELAXED);
		bj_map__destroy(r);
		_exit(0);
	}
	assert_int_equal(bj_map__mmap(m, 0, bj_map__mmap_size(m), PROT_READ, (void **)&mine, &err), 0);
	/* Reads during the run never go backwards. */
	for (int i = 0; i < 1000; i++) {
		uint64_t now = __atomic_load_n(&mine[N - 1], __ATOMIC_RELAXED);
		assert_true(now >= last);
		last = now;
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	for (int k = 0; k < N; k++)
		assert_int_equal(mine[k], (uint64_t)ROUNDS * (k + 1));
	/* The child's writable mapping ended with its connection: freezing works again. */
	for (int i = 0; i < 100 && bj_map__freeze(m) == -EBUSY; i++)
		usleep(10000);
	assert_true(bj_map__is_frozen(m));
	assert_int_equal(bj_map__unpin(m), 0);
	bj_map__destroy(m);
	rmdir(pin_dir);
}

/* Runs the bpfjet command line; returns its exit status and its stdout+stderr in out. */
static int cli(char *out, size_t cap, const char *fmt, ...)
{
	char cmd[512];
	const char *root = getenv("BJ_BUILD_ROOT");
	int n = snprintf(cmd, sizeof(cmd), "%s/bpfjet ", root ? root : "build");
	va_list ap;
	FILE *f;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(cmd + n, sizeof(cmd) - (size_t)n, fmt, ap);
	va_end(ap);
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	f = popen(cmd, "r");
	assert_non_null(f);
	len = fread(out, 1, cap - 1, f);
	out[len] = 0;
	return WEXITSTATUS(pclose(f));
}

static void test_cli_map(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_HASH, 4, 8, 512, 0), *a = mk(BJ_MAP_TYPE_PERCPU_ARRAY, 4, 4, 2, 0);
	char path[128], apath[128], out[65536];
	uint32_t k;
	uint64_t v;

	(void)state;
	pin_path(path, sizeof(path), "cli");
	pin_path(apath, sizeof(apath), "cli_pcpu");
	assert_int_equal(bj_map__pin(m, path, NULL), 0);
	assert_int_equal(bj_map__pin(a, apath, NULL), 0);
	assert_int_equal(cli(out, sizeof(out), "map update %s '01 00 00 00' 0x2a,0,0,0,0,0,0,0", path), 0);
	assert_int_equal(cli(out, sizeof(out), "map update %s 01000000 2b00000000000000 noexist", path), 1);
	assert_non_null(strstr(out, "the key exists"));
	k = 1;
	assert_int_equal(bj_map__lookup_elem(m, &k, &v), 0);
	assert_int_equal(v, 0x2a);
	assert_int_equal(cli(out, sizeof(out), "map lookup %s '01 00 00 00'", path), 0);
	assert_non_null(strstr(out, "key: 01 00 00 00  value: 2a 00 00 00 00 00 00 00"));
	assert_int_equal(cli(out, sizeof(out), "map lookup %s '01 00 00'", path), 1);
	assert_non_null(strstr(out, "key has 3 bytes, the map's key size is 4"));
	assert_int_equal(cli(out, sizeof(out), "map lookup %s 'zz'", path), 1);
	/* Enough keys that the dump needs several batches. */
	for (k = 2; k < 400; k++)
		assert_int_equal(bj_map__update_elem(m, &k, &v, BJ_ANY), 0);
	assert_int_equal(cli(out, sizeof(out), "map dump %s", path), 0);
	assert_non_null(strstr(out, "Found 399 elements"));
	if (cli(out, sizeof(out), "map dump %s --json", apath))
		fail_msg("%s", out);
	assert_non_null(strstr(out, "[{\"key\":[\"0x00\",\"0x00\",\"0x00\",\"0x00\"],\"values\":[{\"cpu\":0,"));
	assert_int_equal(cli(out, sizeof(out), "map delete %s 01000000", path), 0);
	assert_int_equal(cli(out, sizeof(out), "map delete %s 01000000", path), 1);
	assert_non_null(strstr(out, "no such key"));
	assert_int_equal(cli(out, sizeof(out), "map delete %s/none 01000000", pin_dir), 1);
	assert_non_null(strstr(out, "no map is pinned"));
	assert_int_equal(bj_map__unpin(m), 0);
	assert_int_equal(bj_map__unpin(a), 0);
	bj_map__destroy(m);
	bj_map__destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_rejects),
		cmocka_unit_test(test_opts_unknown_bytes),
		cmocka_unit_test(test_element_errors),
		cmocka_unit_test(test_percpu_layout),
		cmocka_unit_test(test_lru_keeps_recent),
		cmocka_unit_test(test_queue_stack_order),
		cmocka_unit_test(test_slot_maps),
		cmocka_unit_test(test_mmap_rules),
		cmocka_unit_test(test_batch_array_cursor),
		cmocka_unit_test(test_batch_hash_cursor),
		cmocka_unit_test(test_ringbuf_basic),
		cmocka_unit_test(test_pin_errors),
		cmocka_unit_test(test_cli_map),
		cmocka_unit_test(test_pin_mmap_two_processes),
	};
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
