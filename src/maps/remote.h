/* SPDX-License-Identifier: Apache-2.0 */
/* Maps opened from a pin: every public call becomes a request to the owning process (pin.c). */
#ifndef BJ_MAPS_REMOTE_H
#define BJ_MAPS_REMOTE_H

#include "maps/map_internal.h"

int bj_remote_lookup(struct bj_map *map, const void *key, void *value, uint64_t flags);
int bj_remote_update(struct bj_map *map, const void *key, const void *value, uint64_t flags);
int bj_remote_delete(struct bj_map *map, const void *key);
int bj_remote_get_next_key(struct bj_map *map, const void *key, void *next_key);
int bj_remote_lookup_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys, void *values,
			   uint32_t *count, const struct bj_map_batch_opts *opts);
int bj_remote_update_batch(struct bj_map *map, const void *keys, const void *values, uint32_t *count,
			   const struct bj_map_batch_opts *opts);
int bj_remote_delete_batch(struct bj_map *map, const void *keys, uint32_t *count,
			   const struct bj_map_batch_opts *opts);
size_t bj_remote_mmap_size(const struct bj_map *map);
int bj_remote_mmap(struct bj_map *map, size_t offset, size_t len, int prot, void **addr, struct bj_error *err);
int bj_remote_munmap(struct bj_map *map, void *addr, size_t len);
/* The mmap checks shared by local and served mappings; counts a writable mapping on success. */
int bj_map_mmap_check(struct bj_map *map, size_t offset, size_t len, int prot, size_t area, struct bj_error *err);
/* ARRAY_OF_MAPS / HASH_OF_MAPS slot setters. */
int bj_array_of_maps_set(struct bj_map *map, const void *key, struct bj_map *inner, uint64_t flags);
int bj_htab_of_maps_set(struct bj_map *map, const void *key, struct bj_map *inner, uint64_t flags);

#endif
