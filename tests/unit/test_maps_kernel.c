/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Differential test: the same random sequence of operations on a kernel map (bpf(2) through libbpf) and a
 * bpfjet map; return codes, counts, cursors and bytes must agree at every step. Hash maps use the zero seed
 * on both sides, so even bucket order and batch cursors must match.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "maps/map_internal.h"

struct scenario {
	const char *name;
	enum bj_map_type type;
	uint32_t ks, vs, max, flags;
	uint32_t key_range; /* keys drawn from [0, key_range) */
};

static const struct scenario scenarios[] = {
	{ "hash", BJ_MAP_TYPE_HASH, 4, 8, 64, BJ_F_ZERO_SEED, 100 },
	{ "hash key 6", BJ_MAP_TYPE_HASH, 6, 12, 32, BJ_F_ZERO_SEED, 60 },
	{ "hash no prealloc", BJ_MAP_TYPE_HASH, 8, 4, 16, BJ_F_ZERO_SEED | BJ_F_NO_PREALLOC, 30 },
	{ "percpu hash", BJ_MAP_TYPE_PERCPU_HASH, 4, 12, 32, BJ_F_ZERO_SEED, 50 },
	{ "lru hash", BJ_MAP_TYPE_LRU_HASH, 4, 8, 1024, BJ_F_ZERO_SEED, 150 },
	{ "lru percpu hash", BJ_MAP_TYPE_LRU_PERCPU_HASH, 4, 4, 1024, BJ_F_ZERO_SEED, 150 },
	{ "array", BJ_MAP_TYPE_ARRAY, 4, 12, 40, 0, 50 },
	{ "percpu array", BJ_MAP_TYPE_PERCPU_ARRAY, 4, 8, 20, 0, 25 },
	{ "mmapable array", BJ_MAP_TYPE_ARRAY, 4, 8, 20, BJ_F_MMAPABLE, 25 },
	{ "queue", BJ_MAP_TYPE_QUEUE, 0, 8, 8, 0, 1 },
	{ "stack", BJ_MAP_TYPE_STACK, 0, 4, 8, 0, 1 },
};

enum { OP_UPDATE, OP_DELETE, OP_LOOKUP, OP_LAD, OP_NEXT_KEY, OP_LOOKUP_BATCH, OP_LAD_BATCH, OP_UPDATE_BATCH,
       OP_DELETE_BATCH, N_OPS };

struct side {
	int fd;
	struct bj_map *m;
};

static uint64_t rng;
static uint32_t rnd(uint32_t n)
{
	rng = rng * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng >> 33) % n;
}

static int k_create(const struct scenario *s)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = s->flags);
	int fd = bpf_map_create((enum bpf_map_type)s->type, "bjdiff", s->ks, s->vs, s->max, &o);
	return fd < 0 ? -errno : fd;
}

struct ctx {
	const struct scenario *s;
	struct side k, b;
	size_t vsz, cur;
	unsigned step;
};

/* How often each return code was seen, so the log shows which paths the sequence reached. */
static unsigned rc_seen[600];

#define CHECK(c, cond, ...)                                                                               \
	do {                                                                                              \
		if (!(cond))                                                                              \
			fail_msg("%s step %u: " __VA_ARGS__);                                             \
	} while (0)

static void tally(int rc)
{
	if (rc <= 0 && -rc < (int)BJ_ARRAY_SIZE(rc_seen))
		rc_seen[-rc]++;
}

static void make_key(const struct ctx *c, uint8_t *key)
{
	uint32_t k = rnd(c->s->key_range);

	memset(key, 0, c->s->ks);
	memcpy(key, &k, c->s->ks < 4 ? c->s->ks : 4);
	if (c->s->ks > 4)
		key[c->s->ks - 1] = (uint8_t)(k * 7);
}

static void make_value(const struct ctx *c, uint8_t *v)
{
	memset(v, 0, c->vsz);
	for (size_t i = 0; i < c->vsz; i += c->s->vs > 8 ? 8 : 1)
		v[i] = (uint8_t)rnd(256);
	/* Per-CPU padding is never stored: keep it zero so byte comparison is fair. */
	if (c->vsz != c->s->vs)
		for (size_t w = 0; w < c->vsz / BJ_ROUND8(c->s->vs); w++)
			memset(v + w * BJ_ROUND8(c->s->vs) + c->s->vs, 0, BJ_ROUND8(c->s->vs) - c->s->vs);
}

static const uint64_t upd_flags[] = { BJ_ANY, BJ_ANY, BJ_NOEXIST, BJ_EXIST, 8, BJ_F_LOCK };
static const uint64_t elem_flags[] = { 0, 0, 0, BJ_NOEXIST, BJ_F_LOCK, 64 };
static const uint32_t counts[] = { 0, 1, 2, 3, 5, 17, 64, 2000 };

static void one_op(struct ctx *c, int op)
{
	enum { MAXN = 2000 };
	static uint8_t kk[MAXN * 8], bk[MAXN * 8], kv[MAXN * 64], bv[MAXN * 64], kin[8], kout[8], bout[8];
	uint8_t key[8], val[64];
	const char *name = c->s->name;
	uint64_t f;
	uint32_t kc, bc, n;
	int kr = 0, br;
	void *kp = c->s->ks ? key : NULL;

	memset(kk, 0, sizeof(kk)); memset(bk, 0, sizeof(bk)); memset(kv, 0, sizeof(kv)); memset(bv, 0, sizeof(bv));
	memset(kout, 0xcc, sizeof(kout)); memset(bout, 0xcc, sizeof(bout));
	make_key(c, key);
	switch (op) {
	case OP_UPDATE:
		make_value(c, val);
		f = upd_flags[rnd(BJ_ARRAY_SIZE(upd_flags))];
		kr = bpf_map_update_elem(c->k.fd, kp, val, f);
		br = bj_map__update_elem(c->b.m, kp, val, f);
		tally(kr);
		CHECK(c, kr == br, "update flags %llu: kernel %d bpfjet %d", name, c->step, (unsigned long long)f, kr, br);
		return;
	case OP_DELETE:
		kr = bpf_map_delete_elem(c->k.fd, kp);
		br = bj_map__delete_elem(c->b.m, kp);
		tally(kr);
		CHECK(c, kr == br, "delete: kernel %d bpfjet %d", name, c->step, kr, br);
		return;
	case OP_LOOKUP:
	case OP_LAD:
		kr = op == OP_LOOKUP ? bpf_map_lookup_elem(c->k.fd, kp, kv) : bpf_map_lookup_and_delete_elem(c->k.fd, kp, kv);
		br = op == OP_LOOKUP ? bj_map__lookup_elem(c->b.m, kp, bv) : bj_map__lookup_and_delete_elem(c->b.m, kp, bv);
		CHECK(c, kr == br, "lookup%s: kernel %d bpfjet %d", name, c->step, op == OP_LAD ? "_and_delete" : "", kr, br);
		CHECK(c, kr || !memcmp(kv, bv, c->vsz), "lookup: values differ", name, c->step);
		return;
	case OP_NEXT_KEY: {
		bool null_key = rnd(3) == 0;
		kr = bpf_map_get_next_key(c->k.fd, null_key ? NULL : kp, kk);
		br = bj_map__get_next_key(c->b.m, null_key ? NULL : kp, bk);
		CHECK(c, kr == br, "get_next_key: kernel %d bpfjet %d", name, c->step, kr, br);
		CHECK(c, kr || !memcmp(kk, bk, c->s->ks), "get_next_key: keys differ", name, c->step);
		return;
	}
	case OP_LOOKUP_BATCH:
	case OP_LAD_BATCH: {
		LIBBPF_OPTS(bpf_map_batch_opts, ko);
		struct bj_map_batch_opts bo = { .sz = sizeof(bo) };
		bool first = true;
		ko.elem_flags = bo.elem_flags = rnd(8) ? 0 : elem_flags[rnd(BJ_ARRAY_SIZE(elem_flags))];
		ko.flags = bo.flags = rnd(8) ? 0 : 1;
		n = counts[rnd(BJ_ARRAY_SIZE(counts))];
		/* Walk the whole map in steps of n (one step for lookup_and_delete), comparing every call. */
		for (int guard = 0; guard < 300; guard++) {
			kc = bc = n;
			if (op == OP_LOOKUP_BATCH) {
				kr = bpf_map_lookup_batch(c->k.fd, first ? NULL : kin, kout, kk, kv, &kc, &ko);
				br = bj_map__lookup_batch(c->b.m, first ? NULL : kin, bout, bk, bv, &bc, &bo);
			} else {
				kr = bpf_map_lookup_and_delete_batch(c->k.fd, first ? NULL : kin, kout, kk, kv, &kc, &ko);
				br = bj_map__lookup_and_delete_batch(c->b.m, first ? NULL : kin, bout, bk, bv, &bc, &bo);
			}
			tally(kr);
			CHECK(c, kr == br && kc == bc, "%s count %u: kernel %d/%u bpfjet %d/%u", name, c->step,
			      op == OP_LAD_BATCH ? "lookup_and_delete_batch" : "lookup_batch", n, kr, kc, br, bc);
			CHECK(c, !memcmp(kout, bout, c->cur), "batch cursors differ", name, c->step);
			CHECK(c, !memcmp(kk, bk, (size_t)kc * c->s->ks), "batch keys differ", name, c->step);
			CHECK(c, !memcmp(kv, bv, (size_t)kc * c->vsz), "batch values differ", name, c->step);
			if (kr || !n || op == OP_LAD_BATCH)
				return;
			memcpy(kin, kout, sizeof(kin));
			first = false;
		}
		return;
	}
	case OP_UPDATE_BATCH:
	case OP_DELETE_BATCH: {
		LIBBPF_OPTS(bpf_map_batch_opts, ko);
		struct bj_map_batch_opts bo = { .sz = sizeof(bo) };
		ko.elem_flags = bo.elem_flags = rnd(6) ? 0 : elem_flags[rnd(BJ_ARRAY_SIZE(elem_flags))];
		ko.flags = bo.flags = rnd(6) ? 0 : BJ_NOEXIST;
		n = counts[rnd(6)];
		for (uint32_t i = 0; i < n; i++) {
			make_key(c, kk + (size_t)i * c->s->ks);
			make_value(c, kv + (size_t)i * c->vsz);
		}
		kc = bc = n;
		if (op == OP_UPDATE_BATCH) {
			kr = bpf_map_update_batch(c->k.fd, kk, kv, &kc, &ko);
			br = bj_map__update_batch(c->b.m, kk, kv, &bc, &bo);
		} else {
			kr = bpf_map_delete_batch(c->k.fd, kk, &kc, &ko);
			br = bj_map__delete_batch(c->b.m, kk, &bc, &bo);
		}
		tally(kr);
		CHECK(c, kr == br && kc == bc, "%s count %u elem_flags %llu: kernel %d/%u bpfjet %d/%u", name, c->step,
		      op == OP_UPDATE_BATCH ? "update_batch" : "delete_batch", n, (unsigned long long)ko.elem_flags, kr, kc,
		      br, bc);
		return;
	}
	}
}

static void report(const struct scenario *s)
{
	char line[256];
	int n = snprintf(line, sizeof(line), "%-18s", s->name);

	for (size_t i = 0; i < BJ_ARRAY_SIZE(rc_seen) && n < (int)sizeof(line) - 16; i++)
		if (rc_seen[i])
			n += snprintf(line + n, sizeof(line) - (size_t)n, " %s%zu:%u", i ? "-" : "", i, rc_seen[i]);
	print_message("%s\n", line);
	memset(rc_seen, 0, sizeof(rc_seen));
}

static void run_scenario(const struct scenario *s)
{
	BJ_OPTS(bj_map_opts, o, .map_flags = s->flags, .n_workers = (uint32_t)libbpf_num_possible_cpus());
	struct ctx c = { .s = s };
	struct bj_error err;
	int kr, br;

	rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)s->type * 977 ^ s->ks;
	c.k.fd = k_create(s);
	if (c.k.fd < 0)
		fail_msg("%s: kernel map create failed: %d", s->name, c.k.fd);
	assert_int_equal(bj_map__create(s->type, s->ks, s->vs, s->max, &o, &c.b.m, &err), 0);
	c.vsz = bj_map__value_buf_size(c.b.m);
	c.cur = s->type == BJ_MAP_TYPE_HASH || s->type == BJ_MAP_TYPE_PERCPU_HASH || s->type == BJ_MAP_TYPE_LRU_HASH ||
			s->type == BJ_MAP_TYPE_LRU_PERCPU_HASH ? 4 : s->ks;
	for (c.step = 0; c.step < 1500; c.step++) {
		unsigned r = rnd(100);
		int op = r < 40 ? OP_UPDATE : r < 50 ? OP_DELETE : r < 60 ? OP_LOOKUP : r < 63 ? OP_LAD :
			 r < 70 ? OP_NEXT_KEY : r < 82 ? OP_LOOKUP_BATCH : r < 85 ? OP_LAD_BATCH :
			 r < 95 ? OP_UPDATE_BATCH : OP_DELETE_BATCH;
		one_op(&c, op);
	}
	/* The end state, by a full walk, then freezing. */
	for (int i = 0; i < 3; i++)
		one_op(&c, OP_LOOKUP_BATCH);
	kr = bpf_map_freeze(c.k.fd);
	br = bj_map__freeze(c.b.m);
	CHECK(&c, kr == br, "freeze: kernel %d bpfjet %d", s->name, c.step, kr, br);
	kr = bpf_map_freeze(c.k.fd);
	br = bj_map__freeze(c.b.m);
	CHECK(&c, kr == br, "freeze twice: kernel %d bpfjet %d", s->name, c.step, kr, br);
	for (int i = 0; i < 40; i++, c.step++)
		one_op(&c, (int)rnd(N_OPS));
	close(c.k.fd);
	bj_map__destroy(c.b.m);
	report(s);
}

static void test_differential(void **state)
{
	int probe = bpf_map_create(BPF_MAP_TYPE_ARRAY, "bjprobe", 4, 4, 1, NULL);

	(void)state;
	if (probe < 0) {
		print_message("kernel BPF maps unavailable (%s): skipping the differential test\n", strerror(errno));
		skip();
	}
	close(probe);
	for (size_t i = 0; i < BJ_ARRAY_SIZE(scenarios); i++)
		run_scenario(&scenarios[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_differential),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
