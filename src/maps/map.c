/* SPDX-License-Identifier: Apache-2.0 */
/* Creation, the user-space side of bpf(2) (permissions, flags, batches), and what every type shares. */
#include <errno.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "maps/map_internal.h"
#include "maps/remote.h"

static const struct {
	enum bj_map_type type;
	const char *name;
	const struct bj_map_ops *ops;
} map_types[] = {
	{ BJ_MAP_TYPE_HASH, "hash", &bj_htab_ops },
	{ BJ_MAP_TYPE_ARRAY, "array", &bj_array_ops },
	{ BJ_MAP_TYPE_PROG_ARRAY, "prog_array", &bj_prog_array_ops },
	{ BJ_MAP_TYPE_PERCPU_HASH, "percpu_hash", &bj_percpu_htab_ops },
	{ BJ_MAP_TYPE_PERCPU_ARRAY, "percpu_array", &bj_percpu_array_ops },
	{ BJ_MAP_TYPE_LRU_HASH, "lru_hash", &bj_lru_htab_ops },
	{ BJ_MAP_TYPE_LRU_PERCPU_HASH, "lru_percpu_hash", &bj_lru_percpu_htab_ops },
	{ BJ_MAP_TYPE_ARRAY_OF_MAPS, "array_of_maps", &bj_array_of_maps_ops },
	{ BJ_MAP_TYPE_HASH_OF_MAPS, "hash_of_maps", &bj_htab_of_maps_ops },
	{ BJ_MAP_TYPE_DEVMAP, "devmap", &bj_devmap_ops },
	{ BJ_MAP_TYPE_XSKMAP, "xskmap", &bj_xskmap_ops },
	{ BJ_MAP_TYPE_QUEUE, "queue", &bj_queue_ops },
	{ BJ_MAP_TYPE_STACK, "stack", &bj_stack_ops },
	{ BJ_MAP_TYPE_DEVMAP_HASH, "devmap_hash", &bj_devmap_hash_ops },
	{ BJ_MAP_TYPE_RINGBUF, "ringbuf", &bj_ringbuf_ops },
};

/* Ids are unique across the process, as the kernel's are across the system. */
static _Atomic uint32_t next_map_id = 1;

const char *bj_map_type__name(enum bj_map_type type)
{
	for (size_t i = 0; i < BJ_ARRAY_SIZE(map_types); i++)
		if (map_types[i].type == type)
			return map_types[i].name;
	return NULL;
}

static const struct bj_map_ops *type_ops(enum bj_map_type type)
{
	for (size_t i = 0; i < BJ_ARRAY_SIZE(map_types); i++)
		if (map_types[i].type == type)
			return map_types[i].ops;
	return NULL;
}

bool bj_map_access_flags_ok(uint32_t flags)
{
	return !((flags & BJ_F_RDONLY) && (flags & BJ_F_WRONLY)) &&
	       !((flags & BJ_F_RDONLY_PROG) && (flags & BJ_F_WRONLY_PROG));
}

static unsigned default_workers(void)
{
	long n = sysconf(_SC_NPROCESSORS_CONF);
	return n > 0 ? (unsigned)n : 1;
}

int bj_map__create(enum bj_map_type type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
		   const struct bj_map_opts *opts, struct bj_map **out, struct bj_error *err)
{
	const struct bj_map_ops *ops = type_ops(type);
	struct bj_map *map;
	const char *name;
	int ret;

	*out = NULL;
	if (!BJ_OPTS_VALID(opts, struct bj_map_opts))
		return bj_fail(err, EINVAL, -1, -1, "map opts: unknown non-zero fields");
	if (!ops)
		return bj_fail(err, EINVAL, -1, -1, "unsupported map type %d", (int)type);
	map = calloc(1, sizeof(*map));
	if (!map)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	map->ops = ops;
	map->type = type;
	map->key_size = key_size;
	map->value_size = value_size;
	map->max_entries = max_entries;
	map->map_flags = BJ_OPTS_GET(opts, map_flags, 0);
	map->value_stride = BJ_ROUND8(value_size);
	map->n_workers = BJ_OPTS_GET(opts, n_workers, 0);
	if (!map->n_workers)
		map->n_workers = default_workers();
	map->spin_lock_off = BJ_OPTS_GET(opts, has_spin_lock, false) ? (int32_t)BJ_OPTS_GET(opts, spin_lock_off, 0) : -1;
	name = BJ_OPTS_GET(opts, name, NULL);
	snprintf(map->name, sizeof(map->name), "%s", name ? name : "");
	atomic_init(&map->refcnt, 1);
	pthread_mutex_init(&map->freeze_lock, NULL);
	if (map->spin_lock_off >= 0 && (type != BJ_MAP_TYPE_HASH && type != BJ_MAP_TYPE_ARRAY)) {
		ret = bj_fail(err, EINVAL, -1, -1, "bpf_spin_lock is only allowed in hash and array maps");
		goto fail;
	}
	if (map->spin_lock_off >= 0 && (uint64_t)map->spin_lock_off + 4 > value_size) {
		ret = bj_fail(err, EINVAL, -1, -1, "spin lock at offset %d does not fit a %u-byte value",
			      map->spin_lock_off, value_size);
		goto fail;
	}
	if (map->spin_lock_off >= 0 && (map->spin_lock_off % 4 ||
					(map->map_flags & (BJ_F_RDONLY_PROG | BJ_F_WRONLY_PROG)))) {
		ret = bj_fail(err, map->spin_lock_off % 4 ? EINVAL : EACCES, -1, -1,
			      "spin lock must be 4-byte aligned and the map writable by programs");
		goto fail;
	}
	ret = ops->alloc(map, opts, err);
	if (ret)
		goto fail;
	map->id = atomic_fetch_add(&next_map_id, 1);
	*out = map;
	return 0;
fail:
	pthread_mutex_destroy(&map->freeze_lock);
	free(map);
	return ret;
}

void bj_map_get(struct bj_map *map)
{
	atomic_fetch_add(&map->refcnt, 1);
}

void bj_map_put(struct bj_map *map)
{
	if (!map || atomic_fetch_sub(&map->refcnt, 1) != 1)
		return;
	bj_pin_stop(map);
	/* Nothing references the map any more, so no reader can be left in its retired memory. */
	bj_epoch_forget(map);
	map->ops->free(map);
	if (map->inner_meta)
		bj_map_put(map->inner_meta);
	pthread_mutex_destroy(&map->freeze_lock);
	free(map);
}

void bj_map__destroy(struct bj_map *map)
{
	bj_map_put(map);
}

enum bj_map_type bj_map__type(const struct bj_map *map) { return map->type; }
const char *bj_map__name(const struct bj_map *map) { return map->name; }
uint32_t bj_map__key_size(const struct bj_map *map) { return map->key_size; }
uint32_t bj_map__value_size(const struct bj_map *map) { return map->value_size; }
uint32_t bj_map__max_entries(const struct bj_map *map) { return map->max_entries; }
uint32_t bj_map__flags(const struct bj_map *map) { return map->map_flags; }
uint32_t bj_map__n_workers(const struct bj_map *map) { return map->n_workers; }
uint32_t bj_map__id(const struct bj_map *map) { return map->id; }
bool bj_map__is_frozen(const struct bj_map *map) { return atomic_load(&map->frozen); }

static bool is_percpu(enum bj_map_type t)
{
	return t == BJ_MAP_TYPE_PERCPU_ARRAY || t == BJ_MAP_TYPE_PERCPU_HASH || t == BJ_MAP_TYPE_LRU_PERCPU_HASH;
}

size_t bj_map__value_buf_size(const struct bj_map *map)
{
	return is_percpu(map->type) ? (size_t)map->value_stride * map->n_workers : map->value_size;
}

/* ---- values and locks ---- */

void bj_map_spin_lock(void *lock)
{
	_Atomic uint32_t *l = lock;

	while (atomic_exchange_explicit(l, 1, memory_order_acquire))
		while (atomic_load_explicit(l, memory_order_relaxed))
			_mm_pause();
}

void bj_map_spin_unlock(void *lock)
{
	atomic_store_explicit((_Atomic uint32_t *)lock, 0, memory_order_release);
}

void bj_map_copy_value(const struct bj_map *map, void *dst, const void *src, void *lock)
{
	size_t off = (size_t)map->spin_lock_off;
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (map->spin_lock_off < 0) {
		memcpy(dst, src, map->value_size);
		return;
	}
	/* The lock word belongs to the map value: it is never copied either way. */
	if (lock)
		bj_map_spin_lock(lock);
	memcpy(d, s, off);
	memcpy(d + off + 4, s + off + 4, map->value_size - off - 4);
	if (lock)
		bj_map_spin_unlock(lock);
}

void bj_map_percpu_copy_out(const struct bj_map *map, void *dst, const void *src_slots, size_t src_stride)
{
	uint8_t *d = dst;
	const uint8_t *s = src_slots;

	for (unsigned w = 0; w < map->n_workers; w++) {
		memcpy(d + (size_t)w * map->value_stride, s + (size_t)w * src_stride, map->value_size);
		memset(d + (size_t)w * map->value_stride + map->value_size, 0, map->value_stride - map->value_size);
	}
}

uint32_t bj_map_inner_id(const struct bj_map *inner)
{
	return inner ? inner->id : 0;
}

int bj_map_inner_compatible(const struct bj_map *map, const struct bj_map *inner)
{
	const struct bj_map *m = map->inner_meta;

	if (!inner || inner->ops->remote || inner->type == BJ_MAP_TYPE_PROG_ARRAY ||
	    inner->type == BJ_MAP_TYPE_ARRAY_OF_MAPS || inner->type == BJ_MAP_TYPE_HASH_OF_MAPS)
		return -EINVAL;
	if (m->type != inner->type || m->key_size != inner->key_size || m->value_size != inner->value_size ||
	    m->max_entries != inner->max_entries || m->map_flags != inner->map_flags)
		return -EINVAL;
	return 0;
}

/* ---- the user-space side of bpf(2) ---- */

static bool can_read(const struct bj_map *map)
{
	return !(map->map_flags & BJ_F_WRONLY);
}

static bool can_write(const struct bj_map *map)
{
	return !(map->map_flags & BJ_F_RDONLY) && !atomic_load(&map->frozen);
}

static bool is_queue_stack(const struct bj_map *map)
{
	return map->type == BJ_MAP_TYPE_QUEUE || map->type == BJ_MAP_TYPE_STACK;
}

static int lock_flag_ok(const struct bj_map *map, uint64_t flags)
{
	return (flags & BJ_F_LOCK) && map->spin_lock_off < 0 ? -EINVAL : 0;
}

static int copy_value(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	int ret;

	if (is_queue_stack(map))
		return map->ops->peek(map, value);
	bj_epoch_enter();
	ret = map->ops->copy(map, key, value, flags);
	bj_epoch_exit();
	return ret;
}

static int update_value(struct bj_map *map, const void *key, const void *value, uint64_t flags)
{
	int ret;

	if (is_queue_stack(map))
		return map->ops->push(map, value, flags);
	bj_epoch_enter();
	ret = map->ops->update(map, key, value, flags, -1);
	bj_epoch_exit();
	return ret;
}

static int delete_value(struct bj_map *map, const void *key)
{
	int ret;

	bj_epoch_enter();
	ret = map->ops->delete(map, key);
	bj_epoch_exit();
	return ret;
}

int bj_map__lookup_elem_flags(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	if (map->ops->remote)
		return bj_remote_lookup(map, key, value, flags);
	if (flags & ~BJ_F_LOCK)
		return -EINVAL;
	if (!can_read(map))
		return -EPERM;
	if (lock_flag_ok(map, flags))
		return -EINVAL;
	return copy_value(map, key, value, flags);
}

int bj_map__lookup_elem(struct bj_map *map, const void *key, void *value)
{
	return bj_map__lookup_elem_flags(map, key, value, 0);
}

int bj_map__update_elem(struct bj_map *map, const void *key, const void *value, uint64_t flags)
{
	if (map->ops->remote)
		return bj_remote_update(map, key, value, flags);
	if (!can_write(map))
		return -EPERM;
	if (lock_flag_ok(map, flags))
		return -EINVAL;
	return update_value(map, key, value, flags);
}

int bj_map__delete_elem(struct bj_map *map, const void *key)
{
	if (map->ops->remote)
		return bj_remote_delete(map, key);
	if (!can_write(map))
		return -EPERM;
	return delete_value(map, key);
}

int bj_map__lookup_and_delete_elem(struct bj_map *map, const void *key, void *value)
{
	int ret;

	if (map->ops->remote)
		return -EOPNOTSUPP;
	if (!can_read(map) || !can_write(map))
		return -EPERM;
	if (is_queue_stack(map))
		return map->ops->pop(map, value);
	if (!map->ops->lookup_and_delete)
		return -BJ_ENOTSUPP;
	bj_epoch_enter();
	ret = map->ops->lookup_and_delete(map, key, value);
	bj_epoch_exit();
	return ret;
}

int bj_map__get_next_key(struct bj_map *map, const void *key, void *next_key)
{
	int ret;

	if (map->ops->remote)
		return bj_remote_get_next_key(map, key, next_key);
	if (!can_read(map))
		return -EPERM;
	bj_epoch_enter();
	ret = map->ops->get_next_key(map, key, next_key);
	bj_epoch_exit();
	return ret;
}

int bj_map__freeze(struct bj_map *map)
{
	int ret = 0;

	if (map->ops->remote)
		return -EOPNOTSUPP;
	if (map->spin_lock_off >= 0)
		return -BJ_ENOTSUPP;
	/* A frozen map has lost write permission, so freezing again is -EPERM (checked on Linux 6.18). */
	if (!can_write(map))
		return -EPERM;
	pthread_mutex_lock(&map->freeze_lock);
	if (atomic_load(&map->writecnt) || atomic_load(&map->frozen))
		ret = -EBUSY;
	else
		atomic_store(&map->frozen, true);
	pthread_mutex_unlock(&map->freeze_lock);
	return ret;
}

/* ---- batches ---- */

enum batch_cmd { BATCH_LOOKUP, BATCH_LOOKUP_AND_DELETE, BATCH_UPDATE, BATCH_DELETE };

static int batch_check(struct bj_map *map, enum batch_cmd cmd, const struct bj_map_batch_opts *opts)
{
	bool rd = cmd == BATCH_LOOKUP || cmd == BATCH_LOOKUP_AND_DELETE;
	bool wr = cmd != BATCH_LOOKUP;
	bool has[] = { map->ops->has_lookup_batch, map->ops->has_lookup_and_delete_batch,
		       map->ops->has_update_batch, map->ops->has_delete_batch };

	if (!BJ_OPTS_VALID(opts, struct bj_map_batch_opts))
		return -EINVAL;
	if ((rd && !can_read(map)) || (wr && !can_write(map)))
		return -EPERM;
	return has[cmd] ? 0 : -BJ_ENOTSUPP;
}

static int elem_flags_check(const struct bj_map *map, uint64_t elem_flags)
{
	return (elem_flags & ~BJ_F_LOCK) || lock_flag_ok(map, elem_flags) ? -EINVAL : 0;
}

/* generic_map_lookup_batch: the cursor is the last key returned. */
static int generic_lookup_batch(struct bj_map *map, const void *in_batch, void *out_batch, void *keys,
				void *values, uint32_t *count, uint64_t elem_flags)
{
	size_t vsz = bj_map__value_buf_size(map);
	uint32_t max = *count, cp = 0;
	uint8_t *a = malloc(2 * (size_t)map->key_size), *b = a + map->key_size, *prev = NULL, *key = b;
	int ret = 0;

	if (!a)
		return -ENOMEM;
	if (in_batch) {
		prev = a;
		memcpy(prev, in_batch, map->key_size);
	}
	*count = 0;
	while (cp < max) {
		ret = bj_map__get_next_key(map, prev, key);
		if (ret)
			break;
		ret = copy_value(map, key, (uint8_t *)values + (size_t)cp * vsz, elem_flags);
		/* A key deleted since get_next_key is skipped, as since Linux 6.14. */
		if (ret && ret != -ENOENT)
			break;
		if (!ret)
			memcpy((uint8_t *)keys + (size_t)cp++ * map->key_size, key, map->key_size);
		ret = 0;
		prev = key;
		key = prev == a ? b : a;
	}
	*count = cp;
	if (cp)
		memcpy(out_batch, prev, map->key_size);
	free(a);
	return ret;
}

static int lookup_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys, void *values,
			uint32_t *count, const struct bj_map_batch_opts *opts, bool do_delete)
{
	uint64_t elem_flags = BJ_OPTS_GET(opts, elem_flags, 0), flags = BJ_OPTS_GET(opts, flags, 0);
	int ret;

	if (map->ops->remote)
		return do_delete ? -EOPNOTSUPP
				 : bj_remote_lookup_batch(map, in_batch, out_batch, keys, values, count, opts);
	ret = batch_check(map, do_delete ? BATCH_LOOKUP_AND_DELETE : BATCH_LOOKUP, opts);
	if (ret)
		return ret;
	if (map->ops->lookup_batch) {
		bj_epoch_enter();
		ret = map->ops->lookup_batch(map, in_batch, out_batch, keys, values, count, elem_flags, flags,
					     do_delete);
		bj_epoch_exit();
		return ret;
	}
	if (elem_flags_check(map, elem_flags))
		return -EINVAL;
	if (!*count)
		return 0;
	return generic_lookup_batch(map, in_batch, out_batch, keys, values, count, elem_flags);
}

int bj_map__lookup_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys, void *values,
			 uint32_t *count, const struct bj_map_batch_opts *opts)
{
	return lookup_batch(map, in_batch, out_batch, keys, values, count, opts, false);
}

int bj_map__lookup_and_delete_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys,
				    void *values, uint32_t *count, const struct bj_map_batch_opts *opts)
{
	return lookup_batch(map, in_batch, out_batch, keys, values, count, opts, true);
}

/*
 * Element cp + PREFETCH_BUCKET has its bucket fetched, element cp + PREFETCH_CHAIN the bucket's first
 * element: by the time the batch reaches an element, the misses of its lookup have been in flight for a few
 * elements' time instead of being paid one after the other.
 */
#define PREFETCH_BUCKET 16
#define PREFETCH_CHAIN 6

static void batch_prefetch(struct bj_map *map, const void *keys, uint32_t cp, uint32_t max)
{
	if (!map->ops->prefetch)
		return;
	if (cp + PREFETCH_BUCKET < max)
		map->ops->prefetch(map, (const uint8_t *)keys + (size_t)(cp + PREFETCH_BUCKET) * map->key_size, false);
	if (cp + PREFETCH_CHAIN < max)
		map->ops->prefetch(map, (const uint8_t *)keys + (size_t)(cp + PREFETCH_CHAIN) * map->key_size, true);
}

int bj_map__update_batch(struct bj_map *map, const void *keys, const void *values, uint32_t *count,
			 const struct bj_map_batch_opts *opts)
{
	uint64_t elem_flags = BJ_OPTS_GET(opts, elem_flags, 0);
	size_t vsz = bj_map__value_buf_size(map);
	uint32_t max, cp;
	int ret;

	if (map->ops->remote)
		return bj_remote_update_batch(map, keys, values, count, opts);
	ret = batch_check(map, BATCH_UPDATE, opts);
	if (ret)
		return ret;
	if (elem_flags_check(map, elem_flags))
		return -EINVAL;
	max = *count;
	if (!max)
		return 0;
	*count = 0;
	/* One section per element, so that memory the batch retires can be reclaimed while it runs. */
	for (cp = 0; cp < max; cp++) {
		batch_prefetch(map, keys, cp, max);
		bj_epoch_enter();
		ret = map->ops->update(map, (const uint8_t *)keys + (size_t)cp * map->key_size,
				       (const uint8_t *)values + (size_t)cp * vsz, elem_flags, -1);
		bj_epoch_exit();
		if (ret)
			break;
	}
	*count = cp;
	return ret;
}

int bj_map__delete_batch(struct bj_map *map, const void *keys, uint32_t *count, const struct bj_map_batch_opts *opts)
{
	uint64_t elem_flags = BJ_OPTS_GET(opts, elem_flags, 0);
	uint32_t max, cp;
	int ret;

	if (map->ops->remote)
		return bj_remote_delete_batch(map, keys, count, opts);
	ret = batch_check(map, BATCH_DELETE, opts);
	if (ret)
		return ret;
	if (elem_flags_check(map, elem_flags))
		return -EINVAL;
	max = *count;
	if (!max)
		return 0;
	*count = 0;
	for (cp = 0; cp < max; cp++) {
		batch_prefetch(map, keys, cp, max);
		bj_epoch_enter();
		ret = map->ops->delete(map, (const uint8_t *)keys + (size_t)cp * map->key_size);
		bj_epoch_exit();
		if (ret)
			break;
	}
	*count = cp;
	return ret;
}

/* ---- object slots ---- */

int bj_map__set_inner(struct bj_map *map, const void *key, struct bj_map *inner, uint64_t flags)
{
	if (map->ops->remote || !can_write(map))
		return map->ops->remote ? -EOPNOTSUPP : -EPERM;
	if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS)
		return bj_array_of_maps_set(map, key, inner, flags);
	if (map->type == BJ_MAP_TYPE_HASH_OF_MAPS)
		return inner ? bj_htab_of_maps_set(map, key, inner, flags) : bj_map__delete_elem(map, key);
	return -EINVAL;
}

struct bj_map *bj_map__inner(struct bj_map *map, const void *key)
{
	struct bj_map *inner;

	if (map->ops->remote || (map->type != BJ_MAP_TYPE_ARRAY_OF_MAPS && map->type != BJ_MAP_TYPE_HASH_OF_MAPS))
		return NULL;
	bj_epoch_enter();
	inner = bj_map_inner_get(map, key);
	bj_epoch_exit();
	return inner;
}
