/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Several threads on one map, as XDP workers run programs: atomic increments through lookup pointers lose
 * nothing, readers never touch freed memory while writers replace and delete (ASan, and TSan with
 * `meson setup -Db_sanitize=thread`), and every ring buffer record is delivered once or counted as dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

enum { THREADS = 4, KEYS = 64, ROUNDS = 20000 };

struct worker_arg {
	struct bj_map *m;
	unsigned id;
	_Atomic bool *stop;
	uint64_t bad;
};

static struct bj_map *mk(enum bj_map_type t, uint32_t ks, uint32_t vs, uint32_t max, uint32_t flags)
{
	BJ_OPTS(bj_map_opts, o, .map_flags = flags, .n_workers = THREADS);
	struct bj_map *m = NULL;

	assert_int_equal(bj_map__create(t, ks, vs, max, &o, &m, NULL), 0);
	return m;
}

/* Every thread adds 1 to every counter in each round, through the pointer a program would get. */
static void *incrementer(void *p)
{
	struct worker_arg *a = p;

	for (int r = 0; r < ROUNDS; r++) {
		bj_epoch_enter();
		for (uint32_t k = 0; k < KEYS; k++) {
			uint64_t *v = bj_map_lookup(a->m, &k, a->id);
			if (v)
				__atomic_fetch_add(v, 1, __ATOMIC_RELAXED);
			else
				a->bad++;
		}
		bj_epoch_exit();
	}
	return NULL;
}

static void run_increments(struct bj_map *m)
{
	pthread_t t[THREADS];
	struct worker_arg args[THREADS];
	uint64_t v = 0;

	for (uint32_t k = 0; k < KEYS; k++)
		assert_int_equal(bj_map__update_elem(m, &k, &v, BJ_ANY), 0);
	for (unsigned i = 0; i < THREADS; i++) {
		args[i] = (struct worker_arg){ m, i, NULL, 0 };
		pthread_create(&t[i], NULL, incrementer, &args[i]);
	}
	for (unsigned i = 0; i < THREADS; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(args[i].bad, 0);
	}
	for (uint32_t k = 0; k < KEYS; k++) {
		assert_int_equal(bj_map__lookup_elem(m, &k, &v), 0);
		assert_int_equal(v, (uint64_t)THREADS * ROUNDS);
	}
}

static void test_no_lost_increments(void **state)
{
	struct bj_map *h = mk(BJ_MAP_TYPE_HASH, 4, 8, KEYS, 0), *a = mk(BJ_MAP_TYPE_ARRAY, 4, 8, KEYS, 0);

	(void)state;
	run_increments(h);
	run_increments(a);
	bj_map__destroy(h);
	bj_map__destroy(a);
}

/*
 * Writers replace values (new elements), delete and re-insert keys; readers check that any value they see
 * is consistent (both halves written by the same update), which fails on a reused or freed element.
 */
static void *churner(void *p)
{
	struct worker_arg *a = p;
	uint64_t seed = a->id * 7919 + 1;

	for (int r = 0; r < ROUNDS; r++) {
		uint32_t k;
		uint64_t v[2];

		seed = seed * 6364136223846793005ull + 1;
		k = (uint32_t)(seed >> 40) % KEYS;
		v[0] = seed;
		v[1] = ~seed;
		bj_epoch_enter();
		if ((seed >> 20) % 4 == 0)
			bj_map_delete(a->m, &k);
		else
			bj_map_update(a->m, &k, v, BJ_ANY, a->id);
		bj_epoch_exit();
	}
	return NULL;
}

static void *reader(void *p)
{
	struct worker_arg *a = p;

	while (!atomic_load(a->stop)) {
		bj_epoch_enter();
		for (uint32_t k = 0; k < KEYS; k++) {
			volatile uint64_t *v = bj_map_lookup(a->m, &k, 0);
			if (v && v[0] != ~v[1])
				a->bad++;
		}
		bj_epoch_exit();
	}
	return NULL;
}

static void churn(enum bj_map_type type, uint32_t flags)
{
	struct bj_map *m = mk(type, 4, 16, KEYS, flags);
	pthread_t w[THREADS / 2], r[THREADS / 2];
	struct worker_arg wa[THREADS / 2], ra[THREADS / 2];
	_Atomic bool stop = false;
	uint32_t key, n = 0, *prev = NULL;

	for (unsigned i = 0; i < THREADS / 2; i++) {
		wa[i] = (struct worker_arg){ m, i, &stop, 0 };
		ra[i] = (struct worker_arg){ m, i, &stop, 0 };
		pthread_create(&w[i], NULL, churner, &wa[i]);
		pthread_create(&r[i], NULL, reader, &ra[i]);
	}
	for (unsigned i = 0; i < THREADS / 2; i++)
		pthread_join(w[i], NULL);
	atomic_store(&stop, true);
	for (unsigned i = 0; i < THREADS / 2; i++) {
		pthread_join(r[i], NULL);
		assert_int_equal(ra[i].bad, 0);
	}
	while (!bj_map__get_next_key(m, prev, &key)) {
		uint64_t v[2];
		assert_int_equal(bj_map__lookup_elem(m, &key, v), 0);
		assert_int_equal(v[0], ~v[1]);
		prev = &key;
		n++;
	}
	assert_true(n <= KEYS);
	bj_map__destroy(m);
}

static void test_churn_hash(void **state)
{
	(void)state;
	churn(BJ_MAP_TYPE_HASH, 0);
	churn(BJ_MAP_TYPE_HASH, BJ_F_NO_PREALLOC);
	churn(BJ_MAP_TYPE_LRU_HASH, 0);
}

/* ---- ring buffer: several producers, one consumer ---- */

enum { PRODUCERS = 3, RECORDS = 50000 };

struct rb_state {
	uint8_t seen[PRODUCERS][RECORDS];
	uint64_t delivered, duplicates;
};

struct producer_arg {
	struct bj_map *m;
	uint32_t id;
	uint64_t dropped;
};

static void *producer(void *p)
{
	struct producer_arg *a = p;

	for (uint32_t i = 0; i < RECORDS; i++) {
		uint32_t rec[2] = { a->id, i };
		if (i % 256 == 0)
			sched_yield(); /* give the consumer a chance, so both delivery and drops happen */
		if (i % 3 == 0) {
			if (bj_ringbuf__output(a->m, rec, sizeof(rec), 0))
				a->dropped++;
			continue;
		}
		uint32_t *r = bj_ringbuf__reserve(a->m, 8 + (i % 5) * 4, 0);
		if (!r) {
			a->dropped++;
			continue;
		}
		memcpy(r, rec, sizeof(rec));
		bj_ringbuf__submit(a->m, r, 0);
	}
	return NULL;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct rb_state *s = ctx;
	uint32_t rec[2];

	if (size < 8)
		return -EINVAL;
	memcpy(rec, data, sizeof(rec));
	if (rec[0] >= PRODUCERS || rec[1] >= RECORDS)
		return -EINVAL;
	if (s->seen[rec[0]][rec[1]]++)
		s->duplicates++;
	s->delivered++;
	return 0;
}

static void test_ringbuf_producers(void **state)
{
	struct bj_map *m = mk(BJ_MAP_TYPE_RINGBUF, 0, 0, 1u << 12, 0);
	struct producer_arg args[PRODUCERS];
	struct rb_state *s = calloc(1, sizeof(*s));
	struct bj_ring_buffer *rb;
	pthread_t t[PRODUCERS];
	uint64_t dropped = 0;
	int n;

	(void)state;
	assert_int_equal(bj_ring_buffer__new(m, on_record, s, NULL, &rb), 0);
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		args[i] = (struct producer_arg){ m, i, 0 };
		pthread_create(&t[i], NULL, producer, &args[i]);
	}
	/* Poll while they run: a small ring forces drops, so the accounting is tested too. */
	for (int idle = 0; idle < 50;) {
		n = bj_ring_buffer__poll(rb, 5);
		assert_true(n >= 0);
		idle = n ? 0 : idle + 1;
	}
	for (uint32_t i = 0; i < PRODUCERS; i++) {
		pthread_join(t[i], NULL);
		dropped += args[i].dropped;
	}
	assert_true(bj_ring_buffer__consume(rb) >= 0);
	assert_int_equal(s->duplicates, 0);
	assert_int_equal(s->delivered + dropped, (uint64_t)PRODUCERS * RECORDS);
	assert_int_equal(bj_ringbuf__dropped(m), dropped);
	assert_true(s->delivered > 0);
	print_message("ringbuf: %llu delivered, %llu dropped\n", (unsigned long long)s->delivered,
		      (unsigned long long)dropped);
	bj_ring_buffer__free(rb);
	bj_map__destroy(m);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_lost_increments),
		cmocka_unit_test(test_churn_hash),
		cmocka_unit_test(test_ringbuf_producers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
