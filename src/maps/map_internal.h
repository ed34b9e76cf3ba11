/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The maps module as the loader, the helpers and the XDP workers see it.
 *
 * Fast paths (bj_map_lookup, bj_map_update, ...) are what helpers call from a running program: no
 * permission checks of the user-space side, values in a worker's own layout (one slot of a per-CPU value).
 * They must run inside an epoch section (bj_epoch_enter/exit, see epoch.h): a pointer returned by
 * bj_map_lookup stays valid until the section ends. The bj_map__* public functions enter sections themselves.
 */
#ifndef BJ_MAPS_INTERNAL_H
#define BJ_MAPS_INTERNAL_H

#include <bpfjet/map.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>

#include "common/common.h"
#include "maps/epoch.h"

#define BJ_MAP_NAME_LEN 16
#define BJ_ROUND8(x) (((x) + 7u) & ~7u)

struct bj_map;
struct bj_pin;

struct bj_map_ops {
	/* Checks the attributes (kernel rules) and allocates the type's state. */
	int (*alloc)(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err);
	void (*free)(struct bj_map *map);
	/* Program side: the value of worker `worker`, or NULL. */
	void *(*lookup)(struct bj_map *map, const void *key, unsigned worker);
	/* worker < 0: `value` holds every worker's slot (user-space layout); else only that worker's. */
	int (*update)(struct bj_map *map, const void *key, const void *value, uint64_t flags, int worker);
	int (*delete)(struct bj_map *map, const void *key);
	/* User-space copy of one element (every worker's slot for per-CPU maps). */
	int (*copy)(struct bj_map *map, const void *key, void *value, uint64_t flags);
	int (*get_next_key)(struct bj_map *map, const void *key, void *next_key);
	int (*lookup_and_delete)(struct bj_map *map, const void *key, void *value);
	/* Queue and stack. */
	int (*push)(struct bj_map *map, const void *value, uint64_t flags);
	int (*pop)(struct bj_map *map, void *value);
	int (*peek)(struct bj_map *map, void *value);
	/* Batch lookup (and delete) with the type's cursor; NULL = generic (get_next_key), or unsupported. */
	int (*lookup_batch)(struct bj_map *map, const void *in_batch, void *out_batch, void *keys, void *values,
			    uint32_t *count, uint64_t elem_flags, uint64_t flags, bool do_delete);
	/* Batches: starts fetching what an operation on `key` will touch (its bucket, or with `chain` the
	 * bucket's first element, once the bucket has arrived); NULL where memory is not scattered. */
	void (*prefetch)(struct bj_map *map, const void *key, bool chain);
	/* Which batch commands the kernel has for the type. */
	bool has_lookup_batch, has_lookup_and_delete_batch, has_update_batch, has_delete_batch;
	/* Pinned maps opened from another process forward every public call to their owner. */
	bool remote;
};

struct bj_map {
	const struct bj_map_ops *ops;
	enum bj_map_type type;
	uint32_t key_size;
	uint32_t value_size;
	uint32_t max_entries;
	uint32_t map_flags;
	uint32_t value_stride;  /* round_up(value_size, 8): stride of array values and per-CPU slots */
	uint32_t n_workers;
	uint32_t id;
	int32_t spin_lock_off;  /* -1 when the value has no bpf_spin_lock */
	char name[BJ_MAP_NAME_LEN];
	/*
	 * Arrays (ARRAY, PERCPU_ARRAY): element i of worker w is at value_base + (i * n + w) * value_stride,
	 * with n = 1 for ARRAY, so programs address globals directly (ld_imm64 MAP_VALUE). NULL otherwise.
	 */
	uint8_t *value_base;
	_Atomic int refcnt;
	_Atomic bool frozen;
	/* Live writable mappings; freezing is refused while non-zero. */
	_Atomic int writecnt;
	pthread_mutex_t freeze_lock;
	struct bj_pin *pin;
	struct bj_map *inner_meta; /* *_OF_MAPS: the template inner maps must match (a reference) */
	void *priv;             /* the type's state */
};

/* Takes a reference (a program or an outer map using the map); bj_map_put drops one. */
void bj_map_get(struct bj_map *map);
void bj_map_put(struct bj_map *map);

/* ---- fast paths for helpers ---- */

/* bpf_map_lookup_elem: pointer to the value (per-CPU maps: the slot of `worker`), NULL when absent. */
static inline void *bj_map_lookup(struct bj_map *map, const void *key, unsigned worker)
{
	return map->ops->lookup ? map->ops->lookup(map, key, worker) : NULL;
}

/* bpf_map_update_elem from a program: per-CPU maps set the slot of `worker` only. */
static inline int bj_map_update(struct bj_map *map, const void *key, const void *value, uint64_t flags,
				unsigned worker)
{
	return map->ops->update ? map->ops->update(map, key, value, flags, (int)worker) : -EINVAL;
}

static inline int bj_map_delete(struct bj_map *map, const void *key)
{
	return map->ops->delete ? map->ops->delete(map, key) : -EINVAL;
}

/* bpf_map_push_elem / pop / peek: copies into or out of `value` (value_size bytes). */
static inline int bj_map_push(struct bj_map *map, const void *value, uint64_t flags)
{
	return map->ops->push ? map->ops->push(map, value, flags) : -EINVAL;
}
static inline int bj_map_pop(struct bj_map *map, void *value)
{
	return map->ops->pop ? map->ops->pop(map, value) : -EINVAL;
}
static inline int bj_map_peek(struct bj_map *map, void *value)
{
	return map->ops->peek ? map->ops->peek(map, value) : -EINVAL;
}

/* Direct value access (ld_imm64 MAP_VALUE, mmapped arrays): element 0 of an ARRAY, NULL for other types. */
static inline uint8_t *bj_map_value_base(const struct bj_map *map)
{
	return map->value_base;
}

/* bpf_tail_call: the program in slot `index` of a PROG_ARRAY, or NULL. */
struct bj_prog *bj_map_prog_array_get(struct bj_map *map, uint32_t index);
/* bpf_redirect_map on a DEVMAP / DEVMAP_HASH: the entry (struct bpf_devmap_val layout: ifindex first), or
 * NULL. On an XSKMAP: the socket set with bj_map__set_xsk, or NULL. */
void *bj_map_devmap_get(struct bj_map *map, uint32_t key);
void *bj_map_xskmap_get(struct bj_map *map, uint32_t index);
/* bpf_map_lookup_elem on ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map, or NULL. */
static inline struct bj_map *bj_map_inner_get(struct bj_map *map, const void *key)
{
	struct bj_map **slot = bj_map_lookup(map, key, 0);
	return slot ? atomic_load_explicit((_Atomic(struct bj_map *) *)slot, memory_order_acquire) : NULL;
}

/* bpf_ringbuf_reserve / submit / discard / output / query. */
void *bj_ringbuf_reserve(struct bj_map *map, uint64_t size, uint64_t flags);
void bj_ringbuf_commit(struct bj_map *map, void *sample, uint64_t flags, bool discard);
int bj_ringbuf_output(struct bj_map *map, const void *data, uint64_t size, uint64_t flags);
uint64_t bj_ringbuf_query(struct bj_map *map, uint64_t flags);

/* bpf_spin_lock / bpf_spin_unlock on the 4-byte lock word inside a value. */
void bj_map_spin_lock(void *lock);
void bj_map_spin_unlock(void *lock);

/* ---- for the type implementations ---- */

extern const struct bj_map_ops bj_array_ops, bj_percpu_array_ops, bj_prog_array_ops, bj_array_of_maps_ops,
	bj_devmap_ops, bj_xskmap_ops;
extern const struct bj_map_ops bj_htab_ops, bj_percpu_htab_ops, bj_lru_htab_ops, bj_lru_percpu_htab_ops,
	bj_htab_of_maps_ops, bj_devmap_hash_ops;
extern const struct bj_map_ops bj_queue_ops, bj_stack_ops, bj_ringbuf_ops, bj_remote_ops;

/* Creation flags a type accepts besides the access bits. */
bool bj_map_access_flags_ok(uint32_t flags);
/* Copies a value in or out, never the spin lock word; under `lock` (the map value's lock word) if not NULL. */
void bj_map_copy_value(const struct bj_map *map, void *dst, const void *src, void *lock);
/* Zeroes the 8-byte padding of a per-CPU slot in user-space buffers. */
void bj_map_percpu_copy_out(const struct bj_map *map, void *dst, const void *src_slots, size_t src_stride);

/* The inner map's id as user space sees it; 0 for NULL. */
uint32_t bj_map_inner_id(const struct bj_map *inner);
/* Checks that `inner` can live in outer map `map`. */
int bj_map_inner_compatible(const struct bj_map *map, const struct bj_map *inner);
/* Pins: bj_pin_stop is called by bj_map__unpin and when the map dies. */
void bj_pin_stop(struct bj_map *map);
/* The memfd behind an mmapable array (read-only variant when `ro`), or -1. */
int bj_array_memfd(const struct bj_map *map, bool ro);

#endif
