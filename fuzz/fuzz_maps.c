/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random operation sequences on hash, array and queue maps, checked against a plain reference model:
 * return codes, counts and contents must agree after every step.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "maps/map_internal.h"

#define KEYS 16
#define MAX 8

struct model {
	bool present[KEYS];
	uint64_t val[KEYS];
	unsigned n;
	uint64_t q[MAX];
	unsigned qhead, qlen; /* queue: oldest at qhead */
};

struct input {
	const uint8_t *p;
	size_t n;
};

static uint8_t next(struct input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

#define EXPECT(c)                                                                                         \
	do {                                                                                              \
		if (!(c))                                                                                 \
			abort();                                                                          \
	} while (0)

static int model_update(struct model *m, bool array, uint32_t k, uint64_t v, uint64_t flags)
{
	if (flags > BJ_EXIST)
		return -EINVAL;
	if (array) {
		if (k >= MAX)
			return -E2BIG;
		if (flags == BJ_NOEXIST)
			return -EEXIST;
		m->val[k] = v;
		return 0;
	}
	if (m->present[k] && flags == BJ_NOEXIST)
		return -EEXIST;
	if (!m->present[k] && flags == BJ_EXIST)
		return -ENOENT;
	if (!m->present[k] && m->n == MAX)
		return -E2BIG;
	if (!m->present[k])
		m->n++;
	m->present[k] = true;
	m->val[k] = v;
	return 0;
}

static int model_delete(struct model *m, bool array, uint32_t k)
{
	if (array)
		return -EINVAL;
	if (!m->present[k])
		return -ENOENT;
	m->present[k] = false;
	m->n--;
	return 0;
}

/* Walks the map with lookup_batch in steps of `step` and checks it returns exactly the model's elements. */
static void check_walk(struct bj_map *map, struct model *m, bool array, uint32_t step)
{
	uint32_t keys[KEYS], cursor = 0, out, count, total = 0;
	uint64_t vals[KEYS];
	bool seen[KEYS] = { 0 };
	int ret;

	for (int guard = 0; guard < 64; guard++) {
		count = step;
		ret = bj_map__lookup_batch(map, guard ? &cursor : NULL, &out, keys, vals, &count, NULL);
		EXPECT(ret == 0 || ret == -ENOENT || ret == -ENOSPC);
		if (ret == -ENOSPC) {
			EXPECT(!count);
			step++;
			continue;
		}
		for (uint32_t i = 0; i < count; i++) {
			EXPECT(keys[i] < KEYS && !seen[keys[i]]);
			EXPECT(array || m->present[keys[i]]);
			EXPECT(vals[i] == m->val[keys[i]]);
			seen[keys[i]] = true;
		}
		total += count;
		if (ret == -ENOENT)
			break;
		cursor = out;
	}
	EXPECT(total == (array ? MAX : m->n));
}

static void run_kv(struct bj_map *map, struct input *in, bool array)
{
	struct model m;

	memset(&m, 0, sizeof(m));
	while (in->n) {
		uint8_t op = next(in), a = next(in);
		uint32_t k = a % KEYS;
		uint64_t v = (uint64_t)next(in) * 0x0101010101ull, got;
		uint64_t flags = (a >> 4) % 5 == 4 ? 3 : (a >> 4) % 5 % 3;
		int r;

		switch (op % 6) {
		case 0:
			EXPECT(bj_map__update_elem(map, &k, &v, flags) == model_update(&m, array, k, v, flags));
			break;
		case 1:
			EXPECT(bj_map__delete_elem(map, &k) == model_delete(&m, array, k));
			break;
		case 2:
			r = bj_map__lookup_elem(map, &k, &got);
			if (array ? k < MAX : m.present[k])
				EXPECT(r == 0 && got == m.val[k]);
			else
				EXPECT(r == -ENOENT);
			break;
		case 3:
			check_walk(map, &m, array, 1 + a % 9);
			break;
		case 4: {
			/* A batch of updates stops at the first failure, with the count done before it. */
			uint32_t keys[4], count = 1 + a % 4, want = 0;
			uint64_t vals[4];
			int want_ret = 0;
			for (uint32_t i = 0; i < count; i++) {
				keys[i] = next(in) % KEYS;
				vals[i] = next(in);
			}
			for (; want < count && !want_ret; want += !want_ret)
				want_ret = model_update(&m, array, keys[want], vals[want], BJ_ANY);
			EXPECT(bj_map__update_batch(map, keys, vals, &count, NULL) == want_ret && count == want);
			break;
		}
		default: {
			uint32_t keys[4], count = 1 + a % 4, want = 0;
			int want_ret = 0, r2;
			for (uint32_t i = 0; i < count; i++)
				keys[i] = next(in) % KEYS;
			r2 = bj_map__delete_batch(map, keys, &count, NULL);
			if (array) {
				EXPECT(r2 == -BJ_ENOTSUPP);
				break;
			}
			for (; want < 4 && want < 1 + a % 4 && !want_ret; want += !want_ret)
				want_ret = model_delete(&m, false, keys[want]);
			EXPECT(r2 == want_ret && count == want);
			break;
		}
		}
	}
}

static void run_queue(struct bj_map *map, struct input *in)
{
	struct model m;

	memset(&m, 0, sizeof(m));
	while (in->n) {
		uint8_t op = next(in);
		uint64_t v = next(in), got, flags = op >> 6;
		int want;

		if (op % 3 == 0) {
			if ((flags & BJ_NOEXIST) || flags > BJ_EXIST)
				want = -EINVAL;
			else if (m.qlen == MAX && !(flags & BJ_EXIST))
				want = -E2BIG;
			else {
				want = 0;
				if (m.qlen == MAX) {
					m.qhead = (m.qhead + 1) % MAX;
					m.qlen--;
				}
				m.q[(m.qhead + m.qlen++) % MAX] = v;
			}
			EXPECT(bj_map__update_elem(map, NULL, &v, flags) == want);
		} else {
			bool pop = op % 3 == 1;
			int r = pop ? bj_map__lookup_and_delete_elem(map, NULL, &got) : bj_map__lookup_elem(map, NULL, &got);
			if (!m.qlen) {
				EXPECT(r == -ENOENT);
				continue;
			}
			EXPECT(r == 0 && got == m.q[m.qhead]);
			if (pop) {
				m.qhead = (m.qhead + 1) % MAX;
				m.qlen--;
			}
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum bj_map_type types[] = { BJ_MAP_TYPE_HASH, BJ_MAP_TYPE_ARRAY, BJ_MAP_TYPE_QUEUE,
						  BJ_MAP_TYPE_HASH };
	struct input in = { data, size };
	uint8_t sel = next(&in);
	enum bj_map_type t = types[sel % 4];
	BJ_OPTS(bj_map_opts, o, .n_workers = 2, .map_flags = (sel % 4 == 3) ? BJ_F_NO_PREALLOC : 0);
	struct bj_map *map;

	if (bj_map__create(t, t == BJ_MAP_TYPE_QUEUE ? 0 : 4, 8, MAX, &o, &map, NULL))
		abort();
	if (t == BJ_MAP_TYPE_QUEUE)
		run_queue(map, &in);
	else
		run_kv(map, &in, t == BJ_MAP_TYPE_ARRAY);
	bj_map__destroy(map);
	return 0;
}
