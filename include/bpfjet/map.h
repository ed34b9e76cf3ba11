/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Maps: the kernel's BPF map types in user space, with the semantics and error codes of bpf(2) as seen
 * through libbpf's bpf_map_* functions. "Per-CPU" means per worker thread: a per-CPU value has one slot
 * per worker, and user space sees all of them laid out as the kernel does (value size rounded up to 8,
 * worker-major).
 */
#ifndef BPFJET_MAP_H
#define BPFJET_MAP_H

#include <bpfjet/bpfjet.h>
#include <stdbool.h>

struct bj_map;
struct bj_prog;

/* Same numbers as the kernel's enum bpf_map_type. */
enum bj_map_type {
	BJ_MAP_TYPE_HASH = 1,
	BJ_MAP_TYPE_ARRAY = 2,
	BJ_MAP_TYPE_PROG_ARRAY = 3,
	BJ_MAP_TYPE_PERCPU_HASH = 5,
	BJ_MAP_TYPE_PERCPU_ARRAY = 6,
	BJ_MAP_TYPE_LRU_HASH = 9,
	BJ_MAP_TYPE_LRU_PERCPU_HASH = 10,
	BJ_MAP_TYPE_ARRAY_OF_MAPS = 12,
	BJ_MAP_TYPE_HASH_OF_MAPS = 13,
	BJ_MAP_TYPE_DEVMAP = 14,
	BJ_MAP_TYPE_XSKMAP = 17,
	BJ_MAP_TYPE_QUEUE = 22,
	BJ_MAP_TYPE_STACK = 23,
	BJ_MAP_TYPE_DEVMAP_HASH = 25,
	BJ_MAP_TYPE_RINGBUF = 27,
};

/* Element flags (update and lookup), as BPF_ANY, BPF_NOEXIST, BPF_EXIST, BPF_F_LOCK. */
#define BJ_ANY 0ull
#define BJ_NOEXIST 1ull
#define BJ_EXIST 2ull
#define BJ_F_LOCK 4ull

/* Creation flags, same bits as the kernel's. */
#define BJ_F_NO_PREALLOC (1u << 0)
#define BJ_F_NO_COMMON_LRU (1u << 1)
#define BJ_F_RDONLY (1u << 3)       /* user space may not write */
#define BJ_F_WRONLY (1u << 4)       /* user space may not read */
#define BJ_F_ZERO_SEED (1u << 6)    /* hash maps: the kernel's jhash with seed 0 (reproducible bucket order) */
#define BJ_F_RDONLY_PROG (1u << 7)
#define BJ_F_WRONLY_PROG (1u << 8)
#define BJ_F_MMAPABLE (1u << 10)

/* The kernel's ENOTSUPP (524): what bpf(2) returns for an operation a map type lacks. */
#define BJ_ENOTSUPP 524

struct bj_map_opts {
	size_t sz;
	const char *name;           /* up to 15 characters are kept */
	uint32_t map_flags;         /* BJ_F_* */
	uint32_t n_workers;         /* slots of per-CPU values; 0 = number of configured CPUs */
	/* ARRAY_OF_MAPS / HASH_OF_MAPS: every inner map must match this one (type, sizes, max_entries). */
	struct bj_map *inner_map;
	/* The value holds a struct bpf_spin_lock (4 bytes) at this offset, enabling BJ_F_LOCK. */
	bool has_spin_lock;
	uint32_t spin_lock_off;
};

/* As bpf_map_create(): kernel validation rules and error codes (-EINVAL, -E2BIG, -BJ_ENOTSUPP). */
BJ_API int bj_map__create(enum bj_map_type type, uint32_t key_size, uint32_t value_size, uint32_t max_entries,
			  const struct bj_map_opts *opts, struct bj_map **out, struct bj_error *err);
/* Drops the caller's reference; the map goes away when nothing (program, outer map, pin) holds it. */
BJ_API void bj_map__destroy(struct bj_map *map);

BJ_API enum bj_map_type bj_map__type(const struct bj_map *map);
BJ_API const char *bj_map__name(const struct bj_map *map);
BJ_API uint32_t bj_map__key_size(const struct bj_map *map);
BJ_API uint32_t bj_map__value_size(const struct bj_map *map);
BJ_API uint32_t bj_map__max_entries(const struct bj_map *map);
BJ_API uint32_t bj_map__flags(const struct bj_map *map);
BJ_API uint32_t bj_map__n_workers(const struct bj_map *map);
/* Unique for the life of the process; ARRAY/HASH_OF_MAPS lookups return inner maps' ids. */
BJ_API uint32_t bj_map__id(const struct bj_map *map);
/* Bytes one value occupies in user-space buffers: value_size, or round_up(value_size, 8) * workers. */
BJ_API size_t bj_map__value_buf_size(const struct bj_map *map);
/* The name of a map type ("hash", "percpu_array", ...), or NULL. */
BJ_API const char *bj_map_type__name(enum bj_map_type type);

/* Single elements, as bpf_map_{lookup,update,delete,lookup_and_delete}_elem / get_next_key. Queue and stack
 * take a NULL key: update pushes, lookup peeks, lookup_and_delete pops. */
BJ_API int bj_map__lookup_elem(struct bj_map *map, const void *key, void *value);
BJ_API int bj_map__lookup_elem_flags(struct bj_map *map, const void *key, void *value, uint64_t flags);
BJ_API int bj_map__update_elem(struct bj_map *map, const void *key, const void *value, uint64_t flags);
BJ_API int bj_map__delete_elem(struct bj_map *map, const void *key);
BJ_API int bj_map__lookup_and_delete_elem(struct bj_map *map, const void *key, void *value);
BJ_API int bj_map__get_next_key(struct bj_map *map, const void *key, void *next_key);
/* As BPF_MAP_FREEZE: user space can no longer write; -EBUSY while mapped writable, -EPERM when frozen already. */
BJ_API int bj_map__freeze(struct bj_map *map);
BJ_API bool bj_map__is_frozen(const struct bj_map *map);

/* Object slots, where the kernel takes file descriptors. The map does not own programs or sockets: they
 * must outlive their slot. Inner maps gain a reference. NULL clears the slot. */
BJ_API int bj_map__set_prog(struct bj_map *map, uint32_t index, struct bj_prog *prog);
BJ_API int bj_map__set_xsk(struct bj_map *map, uint32_t index, void *xsk);
BJ_API int bj_map__set_inner(struct bj_map *map, const void *key, struct bj_map *inner, uint64_t flags);
/* The inner map stored under key (borrowed), or NULL. */
BJ_API struct bj_map *bj_map__inner(struct bj_map *map, const void *key);

/* Batched operations, as libbpf's bpf_map_*_batch (see ../../shared/spec/batch-ops.md). The cursor
 * buffers must hold max(key_size, 4) bytes. *count is always written back. */
struct bj_map_batch_opts {
	size_t sz;
	uint64_t elem_flags;
	uint64_t flags;
};
BJ_API int bj_map__lookup_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys, void *values,
				uint32_t *count, const struct bj_map_batch_opts *opts);
BJ_API int bj_map__lookup_and_delete_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys,
					   void *values, uint32_t *count, const struct bj_map_batch_opts *opts);
BJ_API int bj_map__update_batch(struct bj_map *map, const void *keys, const void *values, uint32_t *count,
				const struct bj_map_batch_opts *opts);
BJ_API int bj_map__delete_batch(struct bj_map *map, const void *keys, uint32_t *count,
				const struct bj_map_batch_opts *opts);

/*
 * Memory mapping of BJ_F_MMAPABLE arrays, with the kernel's rules: MAP_SHARED only, `offset` and `len`
 * within the page-rounded value area, no writable mapping of a frozen or RDONLY_PROG map, and a writable
 * mapping keeps the map from being frozen until bj_map__munmap. Element i is at i * round_up(value_size, 8).
 */
BJ_API int bj_map__mmap(struct bj_map *map, size_t offset, size_t len, int prot, void **addr,
			struct bj_error *err);
BJ_API int bj_map__munmap(struct bj_map *map, void *addr, size_t len);
/* Bytes of the value area a mapping may cover: PAGE_ALIGN(max_entries * round_up(value_size, 8)). */
BJ_API size_t bj_map__mmap_size(const struct bj_map *map);

/*
 * Pinning. A pinned map is served by this process on a unix socket at `path` (the directory is the
 * caller's choice); another process opens it with bj_map__open_pinned and uses the same API (lookup,
 * update, delete, get_next_key, batches, and mmap for mmapable arrays, whose memory is passed over).
 * -EEXIST when the path exists, -ENOENT when opening a path with no server.
 */
BJ_API int bj_map__pin(struct bj_map *map, const char *path, struct bj_error *err);
BJ_API int bj_map__unpin(struct bj_map *map);
BJ_API int bj_map__open_pinned(const char *path, struct bj_map **out, struct bj_error *err);

/* Ring buffer producer API (user space side of bpf_ringbuf_*). Flags: BJ_RB_NO_WAKEUP / FORCE_WAKEUP. */
#define BJ_RB_NO_WAKEUP 1ull
#define BJ_RB_FORCE_WAKEUP 2ull
BJ_API void *bj_ringbuf__reserve(struct bj_map *map, uint64_t size, uint64_t flags);
BJ_API void bj_ringbuf__submit(struct bj_map *map, void *sample, uint64_t flags);
BJ_API void bj_ringbuf__discard(struct bj_map *map, void *sample, uint64_t flags);
/* 0, -EAGAIN when the buffer is full, -EINVAL for bad flags or size. */
BJ_API int bj_ringbuf__output(struct bj_map *map, const void *data, uint64_t size, uint64_t flags);
/* Records a full buffer refused (reserve or output) since creation. */
BJ_API uint64_t bj_ringbuf__dropped(const struct bj_map *map);

/* Consumer side, as libbpf's ring_buffer. The callback returns 0 to go on, or a value that stops the
 * poll and is returned. */
struct bj_ring_buffer;
typedef int (*bj_ring_buffer_sample_fn)(void *ctx, void *data, size_t size);
struct bj_ring_buffer_opts {
	size_t sz;
};
BJ_API int bj_ring_buffer__new(struct bj_map *map, bj_ring_buffer_sample_fn fn, void *ctx,
			       const struct bj_ring_buffer_opts *opts, struct bj_ring_buffer **out);
BJ_API int bj_ring_buffer__add(struct bj_ring_buffer *rb, struct bj_map *map, bj_ring_buffer_sample_fn fn,
			       void *ctx);
/* Waits up to timeout_ms (-1 = forever) for records, consumes them; returns the number consumed or -errno. */
BJ_API int bj_ring_buffer__poll(struct bj_ring_buffer *rb, int timeout_ms);
/* Consumes what is there without waiting. */
BJ_API int bj_ring_buffer__consume(struct bj_ring_buffer *rb);
/* An epoll fd that becomes readable when records arrive. */
BJ_API int bj_ring_buffer__epoll_fd(const struct bj_ring_buffer *rb);
BJ_API void bj_ring_buffer__free(struct bj_ring_buffer *rb);

#endif
