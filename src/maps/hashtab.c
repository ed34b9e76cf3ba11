/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The hash family: HASH, PERCPU_HASH, LRU_HASH, LRU_PERCPU_HASH, HASH_OF_MAPS, DEVMAP_HASH.
 *
 * Buckets are singly linked lists that readers walk without locks; writers of a bucket serialise on its
 * spin lock. A removed or replaced element is retired to the epoch domain and reused only when no reader
 * can still hold it. Layout and order follow the kernel (roundup_pow_of_two(max_entries) buckets, new
 * elements at the head, the kernel's jhash), so batch cursors behave the same.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/random.h>

#include "maps/jhash.h"
#include "maps/map_internal.h"
#include "maps/remote.h"

#define ACCESS_MASK (BJ_F_RDONLY | BJ_F_WRONLY | BJ_F_RDONLY_PROG | BJ_F_WRONLY_PROG)
#define NUMA_NODE (1u << 2)
#define CREATE_MASK (BJ_F_NO_PREALLOC | BJ_F_NO_COMMON_LRU | NUMA_NODE | ACCESS_MASK | BJ_F_ZERO_SEED)
#define MAX_ELEM_SIZE (1u << 22)
#define MAX_PERCPU_VALUE_SIZE (32u << 10)

/*
 * The element header is 16 bytes so that a small element (4-byte key, 8-byte value) fills half a cache
 * line and a lookup or a batch walk touches one line per element. LRU maps keep their list links after
 * the value (struct lru_node at lru_off), so other maps do not pay for them.
 */
struct elem {
	_Atomic(struct elem *) next;
	uint32_t hash;
	uint8_t heap;        /* malloc'ed, not from the preallocated slab */
	uint8_t linked;      /* in its bucket (bucket lock) */
	uint8_t on_lru;      /* in the LRU list (lru lock) */
	_Atomic uint8_t ref; /* LRU: used since the clock hand last passed */
	uint8_t data[] __attribute__((aligned(8))); /* key, then the value at round_up(key_size, 8) */
};

struct lru_node {
	struct lru_node *prev, *next;
};

struct bucket {
	_Atomic(struct elem *) head;
	_Atomic uint32_t lock;
};

struct htab {
	struct bucket *buckets;
	uint32_t n_buckets;
	uint32_t seed;
	uint32_t elem_size;
	uint32_t value_off;
	uint32_t lru_off;     /* LRU maps: offset of the element's lru_node in data */
	_Atomic uint32_t count;
	bool percpu, lru, of_maps;
	uint8_t *slab;
	_Atomic uint32_t free_lock;
	struct elem *free_list;
	_Atomic uint32_t lru_lock;
	struct lru_node lru_head; /* sentinel: next = most recent */
};

static inline struct htab *H(const struct bj_map *map)
{
	return map->priv;
}

static inline uint8_t *elem_value(const struct htab *h, struct elem *e)
{
	return e->data + h->value_off;
}

/* ---- allocation ---- */

static int htab_check(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	bool percpu = map->type == BJ_MAP_TYPE_PERCPU_HASH || map->type == BJ_MAP_TYPE_LRU_PERCPU_HASH;
	bool lru = map->type == BJ_MAP_TYPE_LRU_HASH || map->type == BJ_MAP_TYPE_LRU_PERCPU_HASH;
	uint32_t f = map->map_flags;

	if (map->type == BJ_MAP_TYPE_DEVMAP_HASH) {
		if (!map->max_entries || map->key_size != 4 || (map->value_size != 4 && map->value_size != 8) ||
		    (f & ~(NUMA_NODE | ACCESS_MASK)))
			return bj_fail(err, EINVAL, -1, -1, "devmap_hash needs key_size 4, value_size 4 or 8, max_entries");
		return 0;
	}
	if (map->type == BJ_MAP_TYPE_HASH_OF_MAPS) {
		struct bj_map *inner = BJ_OPTS_GET(opts, inner_map, NULL);
		if (map->value_size != 4)
			return bj_fail(err, EINVAL, -1, -1, "hash_of_maps needs value_size 4");
		if (!inner || inner->ops->remote || inner->type == BJ_MAP_TYPE_ARRAY_OF_MAPS ||
		    inner->type == BJ_MAP_TYPE_HASH_OF_MAPS || inner->type == BJ_MAP_TYPE_PROG_ARRAY)
			return bj_fail(err, EINVAL, -1, -1, "hash_of_maps needs an inner_map template (not a map of maps)");
	}
	if ((f & ~CREATE_MASK) || !bj_map_access_flags_ok(f))
		return bj_fail(err, EINVAL, -1, -1, "invalid flags 0x%x for a hash map", f);
	if (!lru && (f & BJ_F_NO_COMMON_LRU))
		return bj_fail(err, EINVAL, -1, -1, "BJ_F_NO_COMMON_LRU needs an LRU map");
	if (lru && (f & BJ_F_NO_PREALLOC))
		return bj_fail(err, BJ_ENOTSUPP, -1, -1, "LRU maps are always preallocated (BJ_F_NO_PREALLOC)");
	if (!map->max_entries || !map->key_size || !map->value_size)
		return bj_fail(err, EINVAL, -1, -1, "hash maps need key_size, value_size and max_entries (got %u, %u, %u)",
			       map->key_size, map->value_size, map->max_entries);
	if ((uint64_t)map->key_size + map->value_size >= MAX_ELEM_SIZE ||
	    (percpu && map->value_stride > MAX_PERCPU_VALUE_SIZE))
		return bj_fail(err, E2BIG, -1, -1, "key_size %u + value_size %u is too big", map->key_size,
			       map->value_size);
	if (map->max_entries > (1u << 31))
		return bj_fail(err, E2BIG, -1, -1, "max_entries %u is too big", map->max_entries);
	return 0;
}

/* Zeroed memory for big tables, on transparent huge pages where possible: lookups of random keys would
 * otherwise miss the TLB on nearly every access. */
static void *big_zalloc(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (size >= (2u << 20))
		madvise(p, size, MADV_HUGEPAGE);
	return p;
}

static void big_free(void *p, size_t size)
{
	if (p)
		munmap(p, size);
}

static void free_push(struct htab *h, struct elem *e)
{
	bj_map_spin_lock(&h->free_lock);
	atomic_store_explicit(&e->next, h->free_list, memory_order_relaxed);
	h->free_list = e;
	bj_map_spin_unlock(&h->free_lock);
}

static struct elem *free_pop(struct htab *h)
{
	struct elem *e;

	bj_map_spin_lock(&h->free_lock);
	e = h->free_list;
	if (e)
		h->free_list = atomic_load_explicit(&e->next, memory_order_relaxed);
	bj_map_spin_unlock(&h->free_lock);
	return e;
}

static int htab_alloc(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	struct htab *h;
	uint32_t vbytes;
	int ret = htab_check(map, opts, err);

	if (ret)
		return ret;
	h = calloc(1, sizeof(*h));
	if (!h)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	h->percpu = map->type == BJ_MAP_TYPE_PERCPU_HASH || map->type == BJ_MAP_TYPE_LRU_PERCPU_HASH;
	h->lru = map->type == BJ_MAP_TYPE_LRU_HASH || map->type == BJ_MAP_TYPE_LRU_PERCPU_HASH;
	h->of_maps = map->type == BJ_MAP_TYPE_HASH_OF_MAPS;
	h->n_buckets = 1;
	while (h->n_buckets < map->max_entries)
		h->n_buckets <<= 1;
	if (!(map->map_flags & BJ_F_ZERO_SEED) && getrandom(&h->seed, sizeof(h->seed), 0) != sizeof(h->seed))
		h->seed = (uint32_t)(uintptr_t)h;
	h->value_off = BJ_ROUND8(map->key_size);
	vbytes = h->percpu ? map->value_stride * map->n_workers : h->of_maps ? 8 : map->value_stride;
	h->lru_off = h->value_off + (uint32_t)BJ_ROUND8(vbytes);
	h->elem_size = (uint32_t)sizeof(struct elem) + h->lru_off + (h->lru ? (uint32_t)sizeof(struct lru_node) : 0);
	h->lru_head.next = h->lru_head.prev = &h->lru_head;
	h->buckets = big_zalloc((size_t)h->n_buckets * sizeof(*h->buckets));
	if (!h->buckets)
		goto nomem;
	if (!(map->map_flags & BJ_F_NO_PREALLOC) && map->type != BJ_MAP_TYPE_DEVMAP_HASH) {
		h->slab = big_zalloc((size_t)map->max_entries * h->elem_size);
		if (!h->slab)
			goto nomem;
		for (uint32_t i = map->max_entries; i-- > 0;)
			free_push(h, (struct elem *)(h->slab + (size_t)i * h->elem_size));
	}
	map->priv = h;
	if (h->of_maps) {
		map->inner_meta = BJ_OPTS_GET(opts, inner_map, NULL);
		bj_map_get(map->inner_meta);
	}
	return 0;
nomem:
	big_free(h->buckets, (size_t)h->n_buckets * sizeof(*h->buckets));
	free(h);
	return bj_fail(err, ENOMEM, -1, -1, "cannot allocate a hash map of %u entries", map->max_entries);
}

static void drop_payload(struct bj_map *map, struct elem *e)
{
	if (H(map)->of_maps)
		bj_map_put(*(struct bj_map **)elem_value(H(map), e));
}

static void htab_free(struct bj_map *map)
{
	struct htab *h = H(map);

	for (uint32_t i = 0; i < h->n_buckets; i++) {
		struct elem *e = atomic_load(&h->buckets[i].head), *next;
		for (; e; e = next) {
			next = atomic_load(&e->next);
			drop_payload(map, e);
			if (e->heap)
				free(e);
		}
	}
	big_free(h->slab, (size_t)map->max_entries * h->elem_size);
	big_free(h->buckets, (size_t)h->n_buckets * sizeof(*h->buckets));
	free(h);
}

static void elem_release(void *ptr, void *owner)
{
	struct bj_map *map = owner;
	struct elem *e = ptr;

	drop_payload(map, e);
	if (e->heap)
		free(e);
	else
		free_push(H(map), e);
}

/* A fresh, zeroed element; NULL when the map's memory is exhausted. */
static struct elem *elem_get(struct bj_map *map)
{
	struct htab *h = H(map);
	struct elem *e = h->slab ? free_pop(h) : NULL;
	bool heap = false;

	/* Freed slab elements may still be waiting for readers to move on. */
	if (!e && h->slab && bj_epoch_reclaim())
		e = free_pop(h);
	if (!e) {
		e = malloc(h->elem_size);
		heap = true;
		if (!e)
			return NULL;
	}
	memset(e, 0, h->elem_size);
	e->heap = heap;
	return e;
}

/* ---- LRU: a clock over the elements in insertion order ---- */

static struct lru_node *lru_node_of(const struct htab *h, struct elem *e)
{
	return (struct lru_node *)(e->data + h->lru_off);
}

static struct elem *lru_elem_of(const struct htab *h, struct lru_node *n)
{
	return (struct elem *)((uint8_t *)n - h->lru_off - offsetof(struct elem, data));
}

static void lru_unlink(struct htab *h, struct elem *e)
{
	struct lru_node *n = lru_node_of(h, e);

	n->prev->next = n->next;
	n->next->prev = n->prev;
	e->on_lru = 0;
}

static void lru_push_head(struct htab *h, struct elem *e)
{
	struct lru_node *n = lru_node_of(h, e);

	n->next = h->lru_head.next;
	n->prev = &h->lru_head;
	h->lru_head.next->prev = n;
	h->lru_head.next = n;
	e->on_lru = 1;
}

static void lru_add(struct htab *h, struct elem *e)
{
	bj_map_spin_lock(&h->lru_lock);
	lru_push_head(h, e);
	bj_map_spin_unlock(&h->lru_lock);
}

static void lru_remove(struct htab *h, struct elem *e)
{
	bj_map_spin_lock(&h->lru_lock);
	if (e->on_lru)
		lru_unlink(h, e);
	bj_map_spin_unlock(&h->lru_lock);
}

static bool unlink_elem(struct bucket *b, struct elem *e);

/* Evicts the least recently used element (second chance for those used since the last pass). */
static void lru_evict(struct bj_map *map)
{
	struct htab *h = H(map);

	for (int tries = 0; tries < 4; tries++) {
		struct elem *victim = NULL;
		struct bucket *b;

		bj_map_spin_lock(&h->lru_lock);
		for (uint32_t scanned = 0; h->lru_head.prev != &h->lru_head; scanned++) {
			struct elem *e = lru_elem_of(h, h->lru_head.prev);
			lru_unlink(h, e);
			if (atomic_load_explicit(&e->ref, memory_order_relaxed) && scanned < map->max_entries) {
				atomic_store_explicit(&e->ref, 0, memory_order_relaxed);
				lru_push_head(h, e);
				continue;
			}
			victim = e;
			break;
		}
		bj_map_spin_unlock(&h->lru_lock);
		if (!victim)
			return;
		b = &h->buckets[victim->hash & (h->n_buckets - 1)];
		bj_map_spin_lock(&b->lock);
		bool removed = victim->linked && unlink_elem(b, victim);
		bj_map_spin_unlock(&b->lock);
		if (removed) {
			atomic_fetch_sub(&h->count, 1);
			bj_epoch_retire(victim, map, elem_release);
			return;
		}
	}
}

/* ---- buckets ---- */

static inline struct bucket *bucket_of(struct htab *h, uint32_t hash)
{
	return &h->buckets[hash & (h->n_buckets - 1)];
}

static inline struct elem *find(struct bucket *b, uint32_t hash, const void *key, uint32_t key_size)
{
	for (struct elem *e = atomic_load_explicit(&b->head, memory_order_acquire); e;
	     e = atomic_load_explicit(&e->next, memory_order_acquire))
		if (e->hash == hash && !memcmp(e->data, key, key_size))
			return e;
	return NULL;
}

/* Under the bucket lock. */
static bool unlink_elem(struct bucket *b, struct elem *e)
{
	_Atomic(struct elem *) *pp = &b->head;

	for (struct elem *cur; (cur = atomic_load_explicit(pp, memory_order_relaxed)); pp = &cur->next)
		if (cur == e) {
			atomic_store_explicit(pp, atomic_load_explicit(&e->next, memory_order_relaxed),
					      memory_order_release);
			e->linked = 0;
			return true;
		}
	return false;
}

static void link_head(struct bucket *b, struct elem *e)
{
	atomic_store_explicit(&e->next, atomic_load_explicit(&b->head, memory_order_relaxed), memory_order_relaxed);
	e->linked = 1;
	atomic_store_explicit(&b->head, e, memory_order_release);
}

static void *htab_lookup(struct bj_map *map, const void *key, unsigned worker)
{
	struct htab *h = H(map);
	uint32_t hash = bj_htab_hash(key, map->key_size, h->seed);
	struct elem *e = find(bucket_of(h, hash), hash, key, map->key_size);

	if (!e)
		return NULL;
	if (h->lru && !atomic_load_explicit(&e->ref, memory_order_relaxed))
		atomic_store_explicit(&e->ref, 1, memory_order_relaxed);
	return elem_value(h, e) + (h->percpu ? (size_t)worker * map->value_stride : 0);
}

static void set_values(struct bj_map *map, struct elem *e, const void *value, int worker, bool fresh)
{
	struct htab *h = H(map);
	uint8_t *v = elem_value(h, e);

	if (!h->percpu) {
		bj_map_copy_value(map, v, value, NULL);
		return;
	}
	if (worker >= 0) {
		/* A new element's other slots are zero, as the kernel's pcpu_init_value leaves them. */
		if (fresh)
			memset(v, 0, (size_t)map->value_stride * map->n_workers);
		memcpy(v + (size_t)worker * map->value_stride, value, map->value_size);
		return;
	}
	for (unsigned w = 0; w < map->n_workers; w++)
		memcpy(v + (size_t)w * map->value_stride, (const uint8_t *)value + (size_t)w * map->value_stride,
		       map->value_size);
}

static int check_flags(struct elem *old, uint64_t flags)
{
	if (old && (flags & ~BJ_F_LOCK) == BJ_NOEXIST)
		return -EEXIST;
	if (!old && (flags & ~BJ_F_LOCK) == BJ_EXIST)
		return -ENOENT;
	return 0;
}

/* Inserts or replaces; `value` is a bj_map * for HASH_OF_MAPS (the reference passes to the element). */
static int htab_store(struct bj_map *map, const void *key, const void *value, uint64_t flags, int worker)
{
	struct htab *h = H(map);
	uint32_t hash = bj_htab_hash(key, map->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	struct elem *old, *e;
	bool reserved = false;
	int ret;

	if ((flags & BJ_F_LOCK) && map->spin_lock_off >= 0) {
		/* In place under the value's own lock, without the bucket lock. */
		old = find(b, hash, key, map->key_size);
		ret = check_flags(old, flags);
		if (ret)
			return ret;
		if (old) {
			uint8_t *v = elem_value(h, old);
			bj_map_copy_value(map, v, value, v + map->spin_lock_off);
			return 0;
		}
	}
	if (h->lru && !find(b, hash, key, map->key_size)) {
		/* Make room before taking the bucket lock: eviction takes another bucket's lock. */
		reserved = true;
		if (atomic_fetch_add(&h->count, 1) >= map->max_entries)
			lru_evict(map);
	}
	bj_map_spin_lock(&b->lock);
	old = find(b, hash, key, map->key_size);
	ret = check_flags(old, flags);
	if (ret)
		goto unlock;
	if (old && ((flags & BJ_F_LOCK) || h->percpu)) {
		if (h->percpu)
			set_values(map, old, value, worker, false);
		else
			bj_map_copy_value(map, elem_value(h, old), value, elem_value(h, old) + map->spin_lock_off);
		goto unlock;
	}
	if (!old && !reserved) {
		if (atomic_fetch_add(&h->count, 1) >= map->max_entries) {
			atomic_fetch_sub(&h->count, 1);
			ret = -E2BIG;
			goto unlock;
		}
		reserved = true;
	}
	e = elem_get(map);
	if (!e) {
		ret = -ENOMEM;
		goto unlock;
	}
	e->hash = hash;
	memcpy(e->data, key, map->key_size);
	if (h->of_maps)
		memcpy(elem_value(h, e), &value, sizeof(value));
	else
		set_values(map, e, value, worker, true);
	link_head(b, e);
	if (old)
		unlink_elem(b, old);
	if (h->lru) {
		if (old)
			lru_remove(h, old);
		lru_add(h, e);
	}
	reserved = false;
	bj_map_spin_unlock(&b->lock);
	if (old)
		bj_epoch_retire(old, map, elem_release);
	return 0;
unlock:
	bj_map_spin_unlock(&b->lock);
	if (reserved)
		atomic_fetch_sub(&h->count, 1);
	return ret;
}

static int htab_update(struct bj_map *map, const void *key, const void *value, uint64_t flags, int worker)
{
	struct htab *h = H(map);

	if (h->lru || h->percpu ? flags > BJ_EXIST : (flags & ~BJ_F_LOCK) > BJ_EXIST)
		return -EINVAL;
	if (h->of_maps)
		return -EINVAL; /* inner maps are not file descriptors here: bj_map__set_inner */
	if (map->type == BJ_MAP_TYPE_DEVMAP_HASH) {
		uint32_t val[2] = { 0, 0 };
		memcpy(val, value, map->value_size);
		if (!val[0] || val[1])
			return -EINVAL; /* no such device / devmap programs are not supported */
	}
	return htab_store(map, key, value, flags, worker);
}

int bj_htab_of_maps_set(struct bj_map *map, const void *key, struct bj_map *inner, uint64_t flags)
{
	int ret;

	if (flags > BJ_EXIST)
		return -EINVAL;
	if (bj_map_inner_compatible(map, inner))
		return -EINVAL;
	bj_map_get(inner);
	bj_epoch_enter();
	ret = htab_store(map, key, inner, flags, -1);
	bj_epoch_exit();
	if (ret)
		bj_map_put(inner);
	return ret;
}

static void htab_prefetch(struct bj_map *map, const void *key, bool chain)
{
	struct htab *h = H(map);
	struct bucket *b = bucket_of(h, bj_htab_hash(key, map->key_size, h->seed));

	if (chain)
		__builtin_prefetch(atomic_load_explicit(&b->head, memory_order_relaxed));
	else
		__builtin_prefetch(b, 1);
}

static int htab_delete(struct bj_map *map, const void *key)
{
	struct htab *h = H(map);
	uint32_t hash = bj_htab_hash(key, map->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	struct elem *e;

	bj_map_spin_lock(&b->lock);
	e = find(b, hash, key, map->key_size);
	if (e) {
		unlink_elem(b, e);
		if (h->lru)
			lru_remove(h, e);
	}
	bj_map_spin_unlock(&b->lock);
	if (!e)
		return -ENOENT;
	atomic_fetch_sub(&h->count, 1);
	bj_epoch_retire(e, map, elem_release);
	return 0;
}

/* Copies one element's value to a user-space buffer. */
static void copy_out(struct bj_map *map, struct elem *e, void *dst, uint64_t flags)
{
	struct htab *h = H(map);
	uint8_t *v = elem_value(h, e);

	if (h->percpu) {
		bj_map_percpu_copy_out(map, dst, v, map->value_stride);
	} else if (h->of_maps) {
		uint32_t id = bj_map_inner_id(*(struct bj_map **)v);
		memcpy(dst, &id, sizeof(id));
	} else {
		bj_map_copy_value(map, dst, v, (flags & BJ_F_LOCK) ? v + map->spin_lock_off : NULL);
		if (map->spin_lock_off >= 0)
			memset((uint8_t *)dst + map->spin_lock_off, 0, 4);
	}
}

static int htab_copy(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	struct htab *h = H(map);
	uint32_t hash = bj_htab_hash(key, map->key_size, h->seed);
	struct elem *e = find(bucket_of(h, hash), hash, key, map->key_size);

	if (!e)
		return -ENOENT;
	copy_out(map, e, value, flags);
	return 0;
}

static int htab_lookup_and_delete(struct bj_map *map, const void *key, void *value)
{
	struct htab *h = H(map);
	uint32_t hash = bj_htab_hash(key, map->key_size, h->seed);
	struct bucket *b = bucket_of(h, hash);
	struct elem *e;

	bj_map_spin_lock(&b->lock);
	e = find(b, hash, key, map->key_size);
	if (e) {
		copy_out(map, e, value, 0);
		unlink_elem(b, e);
		if (h->lru)
			lru_remove(h, e);
	}
	bj_map_spin_unlock(&b->lock);
	if (!e)
		return -ENOENT;
	atomic_fetch_sub(&h->count, 1);
	bj_epoch_retire(e, map, elem_release);
	return 0;
}

static int htab_get_next_key(struct bj_map *map, const void *key, void *next_key)
{
	struct htab *h = H(map);
	uint32_t i = 0;

	if (key) {
		uint32_t hash = bj_htab_hash(key, map->key_size, h->seed);
		struct elem *e = find(bucket_of(h, hash), hash, key, map->key_size), *next;
		if (e) {
			next = atomic_load_explicit(&e->next, memory_order_acquire);
			if (next) {
				memcpy(next_key, next->data, map->key_size);
				return 0;
			}
			i = (hash & (h->n_buckets - 1)) + 1;
		}
	}
	for (; i < h->n_buckets; i++) {
		struct elem *e = atomic_load_explicit(&h->buckets[i].head, memory_order_acquire);
		if (e) {
			memcpy(next_key, e->data, map->key_size);
			return 0;
		}
	}
	return -ENOENT;
}

/* True if the list from `head` has more than n elements. */
static bool bucket_longer(struct elem *head, uint32_t n)
{
	for (struct elem *e = head; e; e = atomic_load_explicit(&e->next, memory_order_acquire))
		if (n-- == 0)
			return true;
	return false;
}

/* Key and value sizes are mostly small powers of two: a copy of a constant size is one move, not a call. */
static inline void copy_bytes(void *dst, const void *src, uint32_t size)
{
	switch (size) {
	case 4: memcpy(dst, src, 4); return;
	case 8: memcpy(dst, src, 8); return;
	case 16: memcpy(dst, src, 16); return;
	default: memcpy(dst, src, size);
	}
}

/*
 * A batch walks buckets in order, and their elements are scattered over the slab: every element is a cache
 * miss. Fetching bucket heads far ahead, then the second element of each chain once its head has arrived,
 * keeps several misses in flight (a quarter of the elements of a full table are not at a chain's head).
 */
#define PREFETCH_HEADS 32
#define PREFETCH_NEXT 12

static inline void prefetch_buckets_ahead(const struct htab *h, uint32_t batch)
{
	struct elem *e;

	if (batch + PREFETCH_HEADS < h->n_buckets)
		__builtin_prefetch(atomic_load_explicit(&h->buckets[batch + PREFETCH_HEADS].head, memory_order_relaxed));
	if (batch + PREFETCH_NEXT < h->n_buckets &&
	    (e = atomic_load_explicit(&h->buckets[batch + PREFETCH_NEXT].head, memory_order_relaxed)))
		__builtin_prefetch(atomic_load_explicit(&e->next, memory_order_relaxed));
}

/* __htab_map_lookup_and_delete_batch: the cursor is a bucket index; buckets are copied whole. */
static int htab_lookup_batch(struct bj_map *map, const void *in_batch, void *out_batch, void *keys, void *values,
			     uint32_t *count, uint64_t elem_flags, uint64_t flags, bool do_delete)
{
	struct htab *h = H(map);
	size_t vsz = bj_map__value_buf_size(map);
	uint32_t max = *count, total = 0, batch = 0;
	struct elem **dead = NULL;
	bool plain = !h->percpu && !h->of_maps && map->spin_lock_off < 0;
	int ret = 0;

	if ((elem_flags & ~BJ_F_LOCK) || ((elem_flags & BJ_F_LOCK) && map->spin_lock_off < 0) || flags)
		return -EINVAL;
	if (!max)
		return 0;
	*count = 0;
	if (in_batch)
		memcpy(&batch, in_batch, sizeof(batch));
	if (batch >= h->n_buckets)
		return -ENOENT;
	/* Removed elements keep their links for concurrent readers until they are retired. */
	if (do_delete && !(dead = malloc((size_t)max * sizeof(*dead))))
		return -ENOMEM;
	for (;;) {
		struct bucket *b = &h->buckets[batch];
		struct elem *head = atomic_load_explicit(&b->head, memory_order_acquire);
		uint32_t n = 0;

		prefetch_buckets_ahead(h, batch);
		if (head && !do_delete) {
			/* Lookups need no lock: one pass copies the bucket, undone if it does not fit. */
			for (struct elem *e = head; e; e = atomic_load_explicit(&e->next, memory_order_acquire), n++) {
				if (n >= max - total)
					break;
				copy_bytes((uint8_t *)keys + (size_t)(total + n) * map->key_size, e->data, map->key_size);
				if (plain)
					copy_bytes((uint8_t *)values + (size_t)(total + n) * vsz, elem_value(h, e),
						   map->value_size);
				else
					copy_out(map, e, (uint8_t *)values + (size_t)(total + n) * vsz, elem_flags);
			}
			if (n == max - total && bucket_longer(head, n)) {
				if (!total)
					ret = -ENOSPC;
				break;
			}
			total += n;
		} else if (head) {
			bj_map_spin_lock(&b->lock);
			for (struct elem *e = atomic_load(&b->head); e; e = atomic_load(&e->next))
				n++;
			if (n > max - total) {
				bj_map_spin_unlock(&b->lock);
				if (!total)
					ret = -ENOSPC;
				break;
			}
			for (struct elem *e = atomic_load(&b->head), *next; e; e = next) {
				next = atomic_load(&e->next);
				memcpy((uint8_t *)keys + (size_t)total * map->key_size, e->data, map->key_size);
				copy_out(map, e, (uint8_t *)values + (size_t)total * vsz, elem_flags);
				unlink_elem(b, e);
				if (h->lru)
					lru_remove(h, e);
				atomic_fetch_sub(&h->count, 1);
				dead[total++] = e;
			}
			bj_map_spin_unlock(&b->lock);
		}
		if (++batch >= h->n_buckets) {
			ret = -ENOENT;
			break;
		}
	}
	for (uint32_t i = 0; dead && i < total; i++)
		bj_epoch_retire(dead[i], map, elem_release);
	free(dead);
	*count = total;
	memcpy(out_batch, &batch, sizeof(batch));
	return ret;
}

#define HTAB_OPS(batch)                                                                                   \
	.alloc = htab_alloc, .free = htab_free, .lookup = htab_lookup, .update = htab_update,              \
	.delete = htab_delete, .copy = htab_copy, .get_next_key = htab_get_next_key,                       \
	.lookup_and_delete = htab_lookup_and_delete, .lookup_batch = (batch) ? htab_lookup_batch : NULL,  \
	.prefetch = htab_prefetch,                                                                         \
	.has_lookup_batch = (batch), .has_lookup_and_delete_batch = (batch), .has_update_batch = (batch),  \
	.has_delete_batch = (batch)

const struct bj_map_ops bj_htab_ops = { HTAB_OPS(true) };
const struct bj_map_ops bj_percpu_htab_ops = { HTAB_OPS(true) };
const struct bj_map_ops bj_lru_htab_ops = { HTAB_OPS(true) };
const struct bj_map_ops bj_lru_percpu_htab_ops = { HTAB_OPS(true) };
const struct bj_map_ops bj_htab_of_maps_ops = { HTAB_OPS(true) };
const struct bj_map_ops bj_devmap_hash_ops = { HTAB_OPS(false) };
