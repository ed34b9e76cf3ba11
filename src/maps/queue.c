/* SPDX-License-Identifier: Apache-2.0 */
/* QUEUE and STACK (kernel/bpf/queue_stack_maps.c): a ring of max_entries + 1 slots under a spin lock. */
#include <errno.h>
#include <stdlib.h>

#include "maps/map_internal.h"

#define ACCESS_MASK (BJ_F_RDONLY | BJ_F_WRONLY | BJ_F_RDONLY_PROG | BJ_F_WRONLY_PROG)
#define NUMA_NODE (1u << 2)

struct qs {
	_Atomic uint32_t lock;
	uint32_t head, tail, size;
	uint8_t elems[];
};

static int qs_alloc(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	struct qs *q;

	(void)opts;
	if (!map->max_entries || map->key_size || !map->value_size || (map->map_flags & ~(NUMA_NODE | ACCESS_MASK)) ||
	    !bj_map_access_flags_ok(map->map_flags))
		return bj_fail(err, EINVAL, -1, -1, "%s maps need key_size 0 (got %u), a value_size and max_entries",
			       bj_map_type__name(map->type), map->key_size);
	if ((uint64_t)map->value_size * ((uint64_t)map->max_entries + 1) > (1ull << 32))
		return bj_fail(err, ENOMEM, -1, -1, "queue of %u x %u bytes is too big", map->max_entries,
			       map->value_size);
	q = calloc(1, sizeof(*q) + (size_t)map->value_size * (map->max_entries + 1));
	if (!q)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	q->size = map->max_entries + 1;
	map->priv = q;
	return 0;
}

static void qs_free(struct bj_map *map)
{
	free(map->priv);
}

static bool qs_full(const struct qs *q)
{
	uint32_t head = q->head + 1;
	return (head >= q->size ? 0 : head) == q->tail;
}

static int qs_push(struct bj_map *map, const void *value, uint64_t flags)
{
	struct qs *q = map->priv;
	int ret = 0;

	if ((flags & BJ_NOEXIST) || flags > BJ_EXIST)
		return -EINVAL;
	bj_map_spin_lock(&q->lock);
	if (qs_full(q)) {
		if (!(flags & BJ_EXIST)) {
			ret = -E2BIG;
			goto out;
		}
		/* BJ_EXIST: the oldest element makes room. */
		if (++q->tail >= q->size)
			q->tail = 0;
	}
	memcpy(q->elems + (size_t)q->head * map->value_size, value, map->value_size);
	if (++q->head >= q->size)
		q->head = 0;
out:
	bj_map_spin_unlock(&q->lock);
	return ret;
}

static int qs_take(struct bj_map *map, void *value, bool remove)
{
	struct qs *q = map->priv;
	bool stack = map->type == BJ_MAP_TYPE_STACK;
	uint32_t idx;
	int ret = 0;

	bj_map_spin_lock(&q->lock);
	if (q->head == q->tail) {
		ret = -ENOENT;
		goto out;
	}
	if (stack) {
		idx = q->head ? q->head - 1 : q->size - 1;
		if (remove)
			q->head = idx;
	} else {
		idx = q->tail;
		if (remove && ++q->tail >= q->size)
			q->tail = 0;
	}
	memcpy(value, q->elems + (size_t)idx * map->value_size, map->value_size);
out:
	bj_map_spin_unlock(&q->lock);
	return ret;
}

static int qs_pop(struct bj_map *map, void *value)
{
	return qs_take(map, value, true);
}

static int qs_peek(struct bj_map *map, void *value)
{
	return qs_take(map, value, false);
}

static int qs_update(struct bj_map *map, const void *key, const void *value, uint64_t flags, int worker)
{
	(void)key;
	(void)worker;
	return qs_push(map, value, flags);
}

static int qs_einval(struct bj_map *map, const void *key)
{
	(void)map;
	(void)key;
	return -EINVAL;
}

static int qs_next_key(struct bj_map *map, const void *key, void *next)
{
	(void)map;
	(void)key;
	(void)next;
	return -EINVAL;
}

static int qs_copy(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	(void)key;
	(void)flags;
	return qs_peek(map, value);
}

const struct bj_map_ops bj_queue_ops = {
	.alloc = qs_alloc, .free = qs_free, .update = qs_update, .delete = qs_einval, .copy = qs_copy,
	.get_next_key = qs_next_key, .push = qs_push, .pop = qs_pop, .peek = qs_peek,
};

const struct bj_map_ops bj_stack_ops = {
	.alloc = qs_alloc, .free = qs_free, .update = qs_update, .delete = qs_einval, .copy = qs_copy,
	.get_next_key = qs_next_key, .push = qs_push, .pop = qs_pop, .peek = qs_peek,
};
