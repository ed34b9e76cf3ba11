/* SPDX-License-Identifier: Apache-2.0 */
/* ARRAY, PERCPU_ARRAY, and the array-indexed slot maps: PROG_ARRAY, ARRAY_OF_MAPS, DEVMAP, XSKMAP. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maps/map_internal.h"
#include "maps/remote.h"

#define ACCESS_MASK (BJ_F_RDONLY | BJ_F_WRONLY | BJ_F_RDONLY_PROG | BJ_F_WRONLY_PROG)
#define NUMA_NODE (1u << 2)
/* Value sizes the kernel will not allocate (KMALLOC_MAX_SIZE on x86-64, PCPU_MIN_UNIT_SIZE). */
#define MAX_VALUE_SIZE (1u << 22)
#define MAX_PERCPU_VALUE_SIZE (32u << 10)

struct mapping {
	void *addr;
	size_t len;
	bool writable;
	struct mapping *next;
};

struct array {
	size_t area_size;   /* bytes of the value area, page-aligned */
	int memfd, memfd_ro; /* BJ_F_MMAPABLE only */
	pthread_mutex_t lock; /* guards mappings */
	struct mapping *mappings;
};

static size_t page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

static size_t page_align(size_t n)
{
	return (n + page_size() - 1) & ~(page_size() - 1);
}

static uint32_t key_index(const void *key)
{
	uint32_t idx;

	memcpy(&idx, key, sizeof(idx));
	return idx;
}

/* array_map_alloc_check (kernel/bpf/arraymap.c) */
static int array_check(struct bj_map *map, struct bj_error *err)
{
	bool percpu = map->type == BJ_MAP_TYPE_PERCPU_ARRAY;

	if (!map->max_entries || map->key_size != 4 || !map->value_size)
		return bj_fail(err, EINVAL, -1, -1, "array maps need key_size 4 (got %u), a value_size and max_entries",
			       map->key_size);
	if (map->map_flags & ~(NUMA_NODE | BJ_F_MMAPABLE | ACCESS_MASK) || !bj_map_access_flags_ok(map->map_flags))
		return bj_fail(err, EINVAL, -1, -1, "invalid flags 0x%x for an array map", map->map_flags);
	if (map->type != BJ_MAP_TYPE_ARRAY && (map->map_flags & BJ_F_MMAPABLE))
		return bj_fail(err, EINVAL, -1, -1, "only ARRAY maps can be BJ_F_MMAPABLE");
	if (map->value_size > MAX_VALUE_SIZE || (percpu && map->value_stride > MAX_PERCPU_VALUE_SIZE))
		return bj_fail(err, E2BIG, -1, -1, "value_size %u is too big", map->value_size);
	return 0;
}

static int alloc_area(struct bj_map *map, struct array *a, struct bj_error *err)
{
	uint64_t slots = (uint64_t)map->max_entries * (map->type == BJ_MAP_TYPE_PERCPU_ARRAY ? map->n_workers : 1);
	uint64_t bytes = slots * map->value_stride;
	char path[64];
	void *p;

	if (bytes > (1ull << 38))
		return bj_fail(err, ENOMEM, -1, -1, "value area of %llu bytes is too big", (unsigned long long)bytes);
	a->area_size = page_align((size_t)bytes);
	a->memfd = a->memfd_ro = -1;
	if (!(map->map_flags & BJ_F_MMAPABLE)) {
		p = mmap(NULL, a->area_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return bj_fail(err, ENOMEM, -1, -1, "cannot allocate %zu bytes of values", a->area_size);
		map->value_base = p;
		return 0;
	}
	/* Shared memory, so that other processes and mappings see the very bytes programs update. */
	a->memfd = memfd_create(map->name[0] ? map->name : "bpfjet-array", MFD_CLOEXEC);
	if (a->memfd < 0 || ftruncate(a->memfd, (off_t)a->area_size))
		goto fail;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", a->memfd);
	/* Mappings made through a read-only descriptor can never be made writable with mprotect. */
	a->memfd_ro = open(path, O_RDONLY | O_CLOEXEC);
	if (a->memfd_ro < 0)
		goto fail;
	p = mmap(NULL, a->area_size, PROT_READ | PROT_WRITE, MAP_SHARED, a->memfd, 0);
	if (p == MAP_FAILED)
		goto fail;
	map->value_base = p;
	return 0;
fail:
	if (a->memfd >= 0)
		close(a->memfd);
	if (a->memfd_ro >= 0)
		close(a->memfd_ro);
	return bj_fail(err, errno ? errno : ENOMEM, -1, -1, "cannot create the shared value area: %s", strerror(errno));
}

static int array_alloc(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	struct array *a;
	int ret;

	(void)opts;
	ret = array_check(map, err);
	if (ret)
		return ret;
	a = calloc(1, sizeof(*a));
	if (!a)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	ret = alloc_area(map, a, err);
	if (ret) {
		free(a);
		return ret;
	}
	pthread_mutex_init(&a->lock, NULL);
	map->priv = a;
	return 0;
}

static void array_free(struct bj_map *map)
{
	struct array *a = map->priv;

	while (a->mappings) {
		struct mapping *m = a->mappings;
		a->mappings = m->next;
		munmap(m->addr, m->len);
		free(m);
	}
	munmap(map->value_base, a->area_size);
	if (a->memfd >= 0)
		close(a->memfd);
	if (a->memfd_ro >= 0)
		close(a->memfd_ro);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static uint8_t *slot(const struct bj_map *map, uint32_t idx, unsigned worker)
{
	return map->value_base + ((size_t)idx * (map->type == BJ_MAP_TYPE_PERCPU_ARRAY ? map->n_workers : 1) +
				  worker) * map->value_stride;
}

static void *array_lookup(struct bj_map *map, const void *key, unsigned worker)
{
	uint32_t idx = key_index(key);

	if (BJ_UNLIKELY(idx >= map->max_entries))
		return NULL;
	return slot(map, idx, map->type == BJ_MAP_TYPE_PERCPU_ARRAY ? worker : 0);
}

static int array_update(struct bj_map *map, const void *key, const void *value, uint64_t flags, int worker)
{
	uint32_t idx = key_index(key);
	bool percpu = map->type == BJ_MAP_TYPE_PERCPU_ARRAY;
	uint8_t *dst;

	if ((percpu ? flags : (flags & ~BJ_F_LOCK)) > BJ_EXIST)
		return -EINVAL;
	if (idx >= map->max_entries)
		return -E2BIG;
	if (flags & BJ_NOEXIST)
		return -EEXIST;
	if (!percpu) {
		dst = slot(map, idx, 0);
		bj_map_copy_value(map, dst, value,
				  (flags & BJ_F_LOCK) && map->spin_lock_off >= 0 ? dst + map->spin_lock_off : NULL);
		return 0;
	}
	if (worker >= 0) {
		memcpy(slot(map, idx, (unsigned)worker), value, map->value_size);
		return 0;
	}
	for (unsigned w = 0; w < map->n_workers; w++)
		memcpy(slot(map, idx, w), (const uint8_t *)value + (size_t)w * map->value_stride, map->value_size);
	return 0;
}

static int array_delete(struct bj_map *map, const void *key)
{
	(void)map;
	(void)key;
	return -EINVAL;
}

static int array_copy(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	uint32_t idx = key_index(key);
	uint8_t *src;

	if (idx >= map->max_entries)
		return -ENOENT;
	src = slot(map, idx, 0);
	if (map->type == BJ_MAP_TYPE_PERCPU_ARRAY) {
		bj_map_percpu_copy_out(map, value, src, map->value_stride);
		return 0;
	}
	bj_map_copy_value(map, value, src, (flags & BJ_F_LOCK) ? src + map->spin_lock_off : NULL);
	if (map->spin_lock_off >= 0)
		memset((uint8_t *)value + map->spin_lock_off, 0, 4);
	return 0;
}

static int array_get_next_key(struct bj_map *map, const void *key, void *next_key)
{
	uint32_t idx = key ? key_index(key) : UINT32_MAX, next;

	if (idx >= map->max_entries) {
		next = 0;
	} else {
		if (idx == map->max_entries - 1)
			return -ENOENT;
		next = idx + 1;
	}
	memcpy(next_key, &next, sizeof(next));
	return 0;
}

/*
 * generic_map_lookup_batch specialised for arrays, where every index exists: the cursor is the last index
 * returned, an out-of-range cursor restarts at 0 (array get_next_key does), and -ENOENT means the copy
 * reached the end before `count` elements.
 */
static int array_lookup_batch(struct bj_map *map, const void *in_batch, void *out_batch, void *keys, void *values,
			      uint32_t *count, uint64_t elem_flags, uint64_t flags, bool do_delete)
{
	size_t vsz = bj_map__value_buf_size(map);
	uint32_t max = *count, idx = 0, n, last;
	uint32_t *k = keys;
	uint8_t *v = values;

	(void)flags;
	(void)do_delete;
	if ((elem_flags & ~BJ_F_LOCK) || ((elem_flags & BJ_F_LOCK) && map->spin_lock_off < 0))
		return -EINVAL;
	if (!max)
		return 0;
	*count = 0;
	if (in_batch && key_index(in_batch) < map->max_entries)
		idx = key_index(in_batch) + 1;
	if (idx >= map->max_entries)
		return -ENOENT;
	n = map->max_entries - idx < max ? map->max_entries - idx : max;
	for (uint32_t i = 0; i < n; i++)
		k[i] = idx + i;
	if (map->type == BJ_MAP_TYPE_ARRAY && map->spin_lock_off < 0 && map->value_size == map->value_stride) {
		memcpy(v, slot(map, idx, 0), (size_t)n * vsz);
	} else {
		for (uint32_t i = 0; i < n; i++)
			array_copy(map, &k[i], v + (size_t)i * vsz, elem_flags);
	}
	*count = n;
	last = idx + n - 1;
	memcpy(out_batch, &last, sizeof(last));
	return n < max ? -ENOENT : 0;
}

const struct bj_map_ops bj_array_ops = {
	.alloc = array_alloc, .free = array_free, .lookup = array_lookup, .update = array_update,
	.delete = array_delete, .copy = array_copy, .get_next_key = array_get_next_key,
	.lookup_batch = array_lookup_batch, .has_lookup_batch = true, .has_update_batch = true,
};

const struct bj_map_ops bj_percpu_array_ops = {
	.alloc = array_alloc, .free = array_free, .lookup = array_lookup, .update = array_update,
	.delete = array_delete, .copy = array_copy, .get_next_key = array_get_next_key,
	.lookup_batch = array_lookup_batch, .has_lookup_batch = true, .has_update_batch = true,
};

/* ---- memory mapping ---- */

size_t bj_map__mmap_size(const struct bj_map *map)
{
	if (map->ops->remote)
		return bj_remote_mmap_size(map);
	if (map->type != BJ_MAP_TYPE_ARRAY || !(map->map_flags & BJ_F_MMAPABLE))
		return 0;
	return ((struct array *)map->priv)->area_size;
}

int bj_array_memfd(const struct bj_map *map, bool ro)
{
	struct array *a = map->priv;

	if (map->type != BJ_MAP_TYPE_ARRAY || !(map->map_flags & BJ_F_MMAPABLE))
		return -1;
	return ro ? a->memfd_ro : a->memfd;
}

/* The checks of bpf_map_mmap and array_map_mmap; on success a writable mapping is counted. */
int bj_map_mmap_check(struct bj_map *map, size_t offset, size_t len, int prot, size_t area, struct bj_error *err)
{
	if (map->type != BJ_MAP_TYPE_ARRAY || !(map->map_flags & BJ_F_MMAPABLE))
		return bj_fail(err, EINVAL, -1, -1, "map '%s' is not mmapable (only ARRAY maps with BJ_F_MMAPABLE are)",
			       map->name);
	if (map->spin_lock_off >= 0)
		return bj_fail(err, BJ_ENOTSUPP, -1, -1, "values with a bpf_spin_lock cannot be mapped");
	if (!len || offset % page_size() || offset > area || len > area - offset)
		return bj_fail(err, EINVAL, -1, -1, "mapping [%zu, +%zu) is outside the %zu-byte value area", offset, len,
			       area);
	if (prot & ~(PROT_READ | PROT_WRITE))
		return bj_fail(err, EACCES, -1, -1, "map memory can only be mapped for reading and writing");
	if (!(prot & PROT_WRITE))
		return 0;
	if (map->map_flags & BJ_F_RDONLY_PROG)
		return bj_fail(err, EACCES, -1, -1, "a BJ_F_RDONLY_PROG map cannot be mapped writable");
	if (map->map_flags & BJ_F_RDONLY)
		return bj_fail(err, EACCES, -1, -1, "a BJ_F_RDONLY map cannot be mapped writable");
	pthread_mutex_lock(&map->freeze_lock);
	if (atomic_load(&map->frozen)) {
		pthread_mutex_unlock(&map->freeze_lock);
		return bj_fail(err, EPERM, -1, -1, "a frozen map cannot be mapped writable");
	}
	atomic_fetch_add(&map->writecnt, 1);
	pthread_mutex_unlock(&map->freeze_lock);
	return 0;
}

int bj_map__mmap(struct bj_map *map, size_t offset, size_t len, int prot, void **addr, struct bj_error *err)
{
	struct array *a;
	struct mapping *m;
	void *p;
	int ret;

	*addr = NULL;
	if (map->ops->remote)
		return bj_remote_mmap(map, offset, len, prot, addr, err);
	a = map->type == BJ_MAP_TYPE_ARRAY ? map->priv : NULL;
	ret = bj_map_mmap_check(map, offset, len, prot, a ? a->area_size : 0, err);
	if (ret)
		return ret;
	m = malloc(sizeof(*m));
	p = m ? mmap(NULL, len, prot, MAP_SHARED, (prot & PROT_WRITE) ? a->memfd : a->memfd_ro, (off_t)offset)
	      : MAP_FAILED;
	if (p == MAP_FAILED) {
		ret = bj_fail(err, m ? errno : ENOMEM, -1, -1, "mmap: %s", strerror(m ? errno : ENOMEM));
		free(m);
		if (prot & PROT_WRITE)
			atomic_fetch_sub(&map->writecnt, 1);
		return ret;
	}
	*m = (struct mapping){ p, len, (prot & PROT_WRITE) != 0, NULL };
	pthread_mutex_lock(&a->lock);
	m->next = a->mappings;
	a->mappings = m;
	pthread_mutex_unlock(&a->lock);
	*addr = p;
	return 0;
}

int bj_map__munmap(struct bj_map *map, void *addr, size_t len)
{
	struct array *a;
	struct mapping **pp, *m = NULL;

	if (map->ops->remote)
		return bj_remote_munmap(map, addr, len);
	if (map->type != BJ_MAP_TYPE_ARRAY || !(map->map_flags & BJ_F_MMAPABLE))
		return -EINVAL;
	a = map->priv;
	pthread_mutex_lock(&a->lock);
	for (pp = &a->mappings; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == addr && (*pp)->len == len) {
			m = *pp;
			*pp = m->next;
			break;
		}
	pthread_mutex_unlock(&a->lock);
	if (!m)
		return -EINVAL;
	munmap(m->addr, m->len);
	if (m->writable)
		atomic_fetch_sub(&map->writecnt, 1);
	free(m);
	return 0;
}

/* ---- slot maps: PROG_ARRAY, ARRAY_OF_MAPS, XSKMAP hold pointers; DEVMAP holds bpf_devmap_val ---- */

struct slots {
	_Atomic(void *) ptr[0];
};

static int slots_alloc(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	struct slots *s;
	struct bj_map *inner = BJ_OPTS_GET(opts, inner_map, NULL);

	switch (map->type) {
	case BJ_MAP_TYPE_PROG_ARRAY:
	case BJ_MAP_TYPE_ARRAY_OF_MAPS:
		/* fd_array_map_alloc_check */
		if (map->value_size != 4 || (map->map_flags & (BJ_F_RDONLY_PROG | BJ_F_WRONLY_PROG)))
			return bj_fail(err, EINVAL, -1, -1, "%s needs value_size 4 and no program access flags",
				       bj_map_type__name(map->type));
		if (map->key_size != 4 || !map->max_entries || (map->map_flags & ~(NUMA_NODE | ACCESS_MASK)) ||
		    !bj_map_access_flags_ok(map->map_flags))
			return bj_fail(err, EINVAL, -1, -1, "%s needs key_size 4, max_entries and valid flags",
				       bj_map_type__name(map->type));
		break;
	case BJ_MAP_TYPE_DEVMAP:
		if (!map->max_entries || map->key_size != 4 || (map->value_size != 4 && map->value_size != 8) ||
		    (map->map_flags & ~(NUMA_NODE | ACCESS_MASK)))
			return bj_fail(err, EINVAL, -1, -1, "devmap needs key_size 4, value_size 4 or 8, max_entries");
		break;
	default: /* XSKMAP */
		if (!map->max_entries || map->key_size != 4 || map->value_size != 4 ||
		    (map->map_flags & ~(NUMA_NODE | BJ_F_RDONLY | BJ_F_WRONLY)))
			return bj_fail(err, EINVAL, -1, -1, "xskmap needs key_size 4, value_size 4, max_entries");
		break;
	}
	if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS) {
		if (!inner || inner->ops->remote || inner->type == BJ_MAP_TYPE_ARRAY_OF_MAPS ||
		    inner->type == BJ_MAP_TYPE_HASH_OF_MAPS || inner->type == BJ_MAP_TYPE_PROG_ARRAY)
			return bj_fail(err, EINVAL, -1, -1, "array_of_maps needs an inner_map template (not a map of maps)");
	}
	s = calloc(map->max_entries, sizeof(void *));
	if (!s)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	map->priv = s;
	if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS) {
		map->inner_meta = inner;
		bj_map_get(inner);
	}
	return 0;
}

static void put_inner(void *ptr, void *owner)
{
	(void)owner;
	bj_map_put(ptr);
}

static void free_devval(void *ptr, void *owner)
{
	(void)owner;
	free(ptr);
}

static void slots_free(struct bj_map *map)
{
	struct slots *s = map->priv;

	for (uint32_t i = 0; i < map->max_entries; i++) {
		void *p = atomic_load(&s->ptr[i]);
		if (!p)
			continue;
		if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS)
			bj_map_put(p);
		else if (map->type == BJ_MAP_TYPE_DEVMAP)
			free(p);
	}
	free(s);
}

/* Drops what a slot held, once no program can still use it. */
static void release_slot(struct bj_map *map, void *old)
{
	if (!old)
		return;
	if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS)
		bj_epoch_retire(old, map, put_inner);
	else if (map->type == BJ_MAP_TYPE_DEVMAP)
		bj_epoch_retire(old, map, free_devval);
}

static void *slots_lookup(struct bj_map *map, const void *key, unsigned worker)
{
	struct slots *s = map->priv;
	uint32_t idx = key_index(key);

	(void)worker;
	if (idx >= map->max_entries)
		return NULL;
	if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS)
		return (void *)&s->ptr[idx];
	return atomic_load_explicit(&s->ptr[idx], memory_order_acquire);
}

/* Sets slot idx; flags as the kernel checks them for the type. */
static int slots_set(struct bj_map *map, uint32_t idx, void *obj, uint64_t flags)
{
	struct slots *s = map->priv;
	void *old;

	if (map->type == BJ_MAP_TYPE_PROG_ARRAY || map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS) {
		if (flags != BJ_ANY)
			return -EINVAL;
	} else if (flags > BJ_EXIST) {
		return -EINVAL;
	}
	if (idx >= map->max_entries)
		return -E2BIG;
	if (map->type == BJ_MAP_TYPE_DEVMAP && flags == BJ_NOEXIST)
		return -EEXIST;
	if (map->type == BJ_MAP_TYPE_XSKMAP) {
		old = atomic_load(&s->ptr[idx]);
		if ((flags == BJ_NOEXIST && old) || (flags == BJ_EXIST && !old))
			return old ? -EEXIST : -ENOENT;
	}
	old = atomic_exchange_explicit(&s->ptr[idx], obj, memory_order_acq_rel);
	release_slot(map, old);
	return 0;
}

static int slots_update(struct bj_map *map, const void *key, const void *value, uint64_t flags, int worker)
{
	struct { uint32_t ifindex, prog_fd; } val = { 0, 0 };
	void *entry;
	int ret;

	(void)worker;
	/* Programs, sockets and inner maps are not file descriptors here: see bj_map__set_*. */
	if (map->type != BJ_MAP_TYPE_DEVMAP)
		return -EINVAL;
	memcpy(&val, value, map->value_size);
	if (val.prog_fd)
		return -EINVAL; /* devmap programs are not supported */
	if (!val.ifindex)
		return slots_set(map, key_index(key), NULL, flags);
	entry = calloc(1, 8);
	if (!entry)
		return -ENOMEM;
	memcpy(entry, &val, map->value_size);
	ret = slots_set(map, key_index(key), entry, flags);
	if (ret)
		free(entry);
	return ret;
}

static int slots_delete(struct bj_map *map, const void *key)
{
	struct slots *s = map->priv;
	uint32_t idx = key_index(key);
	void *old;

	if (idx >= map->max_entries)
		return map->type == BJ_MAP_TYPE_PROG_ARRAY || map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS ? -E2BIG : -EINVAL;
	old = atomic_exchange(&s->ptr[idx], NULL);
	release_slot(map, old);
	if (!old && (map->type == BJ_MAP_TYPE_PROG_ARRAY || map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS))
		return -ENOENT;
	return 0;
}

static int slots_copy(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	struct slots *s = map->priv;
	uint32_t idx = key_index(key), id;
	void *p;

	(void)flags;
	if (map->type == BJ_MAP_TYPE_XSKMAP || map->type == BJ_MAP_TYPE_PROG_ARRAY)
		return -EOPNOTSUPP; /* the kernel returns a program id; bpfjet programs have none */
	if (idx >= map->max_entries || !(p = atomic_load(&s->ptr[idx])))
		return -ENOENT;
	if (map->type == BJ_MAP_TYPE_DEVMAP) {
		memcpy(value, p, map->value_size);
		return 0;
	}
	id = bj_map_inner_id(p);
	memcpy(value, &id, sizeof(id));
	return 0;
}

struct bj_prog *bj_map_prog_array_get(struct bj_map *map, uint32_t index)
{
	return map->type == BJ_MAP_TYPE_PROG_ARRAY ? slots_lookup(map, &index, 0) : NULL;
}

void *bj_map_xskmap_get(struct bj_map *map, uint32_t index)
{
	return map->type == BJ_MAP_TYPE_XSKMAP ? slots_lookup(map, &index, 0) : NULL;
}

int bj_map__set_prog(struct bj_map *map, uint32_t index, struct bj_prog *prog)
{
	if (map->type != BJ_MAP_TYPE_PROG_ARRAY || map->ops->remote)
		return -EINVAL;
	if (!prog)
		return slots_delete(map, &index);
	return slots_set(map, index, prog, BJ_ANY);
}

int bj_map__set_xsk(struct bj_map *map, uint32_t index, void *xsk)
{
	if (map->type != BJ_MAP_TYPE_XSKMAP || map->ops->remote)
		return -EINVAL;
	if (!xsk)
		return slots_delete(map, &index);
	return slots_set(map, index, xsk, BJ_ANY);
}

int bj_array_of_maps_set(struct bj_map *map, const void *key, struct bj_map *inner, uint64_t flags)
{
	int ret;

	if (!inner)
		return slots_delete(map, key);
	if (bj_map_inner_compatible(map, inner))
		return -EINVAL;
	bj_map_get(inner);
	ret = slots_set(map, key_index(key), inner, flags);
	if (ret)
		bj_map_put(inner);
	return ret;
}

const struct bj_map_ops bj_prog_array_ops = {
	.alloc = slots_alloc, .free = slots_free, .lookup = slots_lookup, .update = slots_update,
	.delete = slots_delete, .copy = slots_copy, .get_next_key = array_get_next_key,
};

const struct bj_map_ops bj_array_of_maps_ops = {
	.alloc = slots_alloc, .free = slots_free, .lookup = slots_lookup, .update = slots_update,
	.delete = slots_delete, .copy = slots_copy, .get_next_key = array_get_next_key,
	.has_lookup_batch = true, .has_update_batch = true,
};

const struct bj_map_ops bj_devmap_ops = {
	.alloc = slots_alloc, .free = slots_free, .lookup = slots_lookup, .update = slots_update,
	.delete = slots_delete, .copy = slots_copy, .get_next_key = array_get_next_key,
};

const struct bj_map_ops bj_xskmap_ops = {
	.alloc = slots_alloc, .free = slots_free, .lookup = slots_lookup, .update = slots_update,
	.delete = slots_delete, .copy = slots_copy, .get_next_key = array_get_next_key,
};

void *bj_map_devmap_get(struct bj_map *map, uint32_t key)
{
	if (map->type == BJ_MAP_TYPE_DEVMAP)
		return slots_lookup(map, &key, 0);
	if (map->type == BJ_MAP_TYPE_DEVMAP_HASH)
		return map->ops->lookup(map, &key, 0);
	return NULL;
}
