/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The generic built-in helpers, with Linux's IDs, checks and return codes (kernel/bpf/helpers.c,
 * kernel/bpf/bpf_iter.c, kernel/bpf/ringbuf.c, net/core/filter.c).
 */
#include <bpfjet/helpers.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/run.h"
#include "helpers/helpers_int.h"
#include "maps/map_internal.h"

#define UNUSED5(a, b, c, d, e) ((void)(a), (void)(b), (void)(c), (void)(d), (void)(e))

/* The map in r1; in checked runs it must be one of the program's maps. NULL (run stopped) if not. */
static struct bj_map *map_arg(struct bj_run *run, uint64_t r1, const char *helper)
{
	struct bj_map *map = (struct bj_map *)(uintptr_t)r1;

	if (BJ_LIKELY(!run->checked)) {
		if (BJ_UNLIKELY(!map))
			bj_run_fault(run, EINVAL, -1, "%s: r1 is NULL, not a map", helper);
		return map;
	}
	for (size_t i = 0; i < run->n_maps; i++)
		if (run->maps[i] == map)
			return map;
	bj_run_fault(run, EINVAL, -1, "%s: r1 (0x%llx) is not one of the program's maps (bj_prog_opts.maps)", helper,
		     (unsigned long long)r1);
	return NULL;
}

/* Checked runs: memory a helper reads or writes must be the run's. */
static bool mem_arg(struct bj_run *run, uint64_t addr, uint64_t len, bool write, const char *helper, const char *what)
{
	if (BJ_LIKELY(!run->checked) || !len || bj_run_mem_ok(run, (uintptr_t)addr, len, write))
		return true;
	bj_run_fault(run, EFAULT, -1, "%s: %s [0x%llx, +%llu) is outside the memory of the run", helper, what,
		     (unsigned long long)addr, (unsigned long long)len);
	return false;
}

/* Checked runs: memory a helper hands to the program becomes a region of the run. */
static void give_region(struct bj_run *run, const void *p, size_t len, bool writable)
{
	if (run->checked && p && !bj_run_mem_ok(run, (uintptr_t)p, len, writable))
		bj_run_add_region(run, p, len, writable);
}

/* Keeps the order of the others: visit() drops the regions it added by truncating the list. */
static void take_region(struct bj_run *run, const void *p)
{
	for (unsigned i = 0; run->checked && i < run->n_regions; i++) {
		if (run->regions[i].start == (uintptr_t)p) {
			memmove(&run->regions[i], &run->regions[i + 1], (run->n_regions - i - 1) * sizeof(run->regions[0]));
			run->n_regions--;
			return;
		}
	}
}

static bool is_percpu(const struct bj_map *map)
{
	return map->type == BJ_MAP_TYPE_PERCPU_ARRAY || map->type == BJ_MAP_TYPE_PERCPU_HASH ||
	       map->type == BJ_MAP_TYPE_LRU_PERCPU_HASH;
}

/* A per-CPU map has one slot per worker it was created for: a run on another worker has none. */
static bool worker_ok(struct bj_run *run, const struct bj_map *map, const char *helper)
{
	if (BJ_LIKELY(!is_percpu(map) || run->worker < map->n_workers))
		return true;
	bj_run_fault(run, EINVAL, -1, "%s: worker %u has no slot in per-CPU map '%s' (%u workers)", helper, run->worker,
		     map->name, map->n_workers);
	return false;
}

/* ---- maps ---- */

static uint64_t map_lookup_elem(uint64_t r1, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_map_lookup_elem");

	void *value;

	UNUSED5(r3, r4, r5, 0, 0);
	if (!map || !worker_ok(run, map, "bpf_map_lookup_elem") ||
	    !mem_arg(run, key, map->key_size, false, "bpf_map_lookup_elem", "key"))
		return 0;
	if (map->type == BJ_MAP_TYPE_ARRAY_OF_MAPS || map->type == BJ_MAP_TYPE_HASH_OF_MAPS)
		return (uintptr_t)bj_map_inner_get(map, (const void *)(uintptr_t)key);
	value = bj_map_lookup(map, (const void *)(uintptr_t)key, run->worker);
	give_region(run, value, map->value_size, !(map->map_flags & BJ_F_RDONLY_PROG));
	return (uintptr_t)value;
}

/* Slots that hold objects rather than values: Linux's verifier refuses program writes to them. */
static bool holds_objects(const struct bj_map *map)
{
	switch (map->type) {
	case BJ_MAP_TYPE_PROG_ARRAY:
	case BJ_MAP_TYPE_ARRAY_OF_MAPS:
	case BJ_MAP_TYPE_HASH_OF_MAPS:
	case BJ_MAP_TYPE_DEVMAP:
	case BJ_MAP_TYPE_DEVMAP_HASH:
	case BJ_MAP_TYPE_XSKMAP:
		return true;
	default:
		return false;
	}
}

static uint64_t map_update_elem(uint64_t r1, uint64_t key, uint64_t value, uint64_t flags, uint64_t r5,
				struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_map_update_elem");

	(void)r5;
	if (!map || !worker_ok(run, map, "bpf_map_update_elem") ||
	    !mem_arg(run, key, map->key_size, false, "bpf_map_update_elem", "key") ||
	    !mem_arg(run, value, map->value_size, false, "bpf_map_update_elem", "value"))
		return 0;
	if (holds_objects(map))
		return (uint64_t)-EINVAL;
	return (uint64_t)(int64_t)bj_map_update(map, (const void *)(uintptr_t)key, (const void *)(uintptr_t)value,
						flags, run->worker);
}

static uint64_t map_delete_elem(uint64_t r1, uint64_t key, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_map_delete_elem");

	UNUSED5(r3, r4, r5, 0, 0);
	if (!map || !mem_arg(run, key, map->key_size, false, "bpf_map_delete_elem", "key"))
		return 0;
	if (holds_objects(map))
		return (uint64_t)-EINVAL;
	return (uint64_t)(int64_t)bj_map_delete(map, (const void *)(uintptr_t)key);
}

static uint64_t map_push_elem(uint64_t r1, uint64_t value, uint64_t flags, uint64_t r4, uint64_t r5,
			      struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_map_push_elem");

	(void)r4, (void)r5;
	if (!map || !mem_arg(run, value, map->value_size, false, "bpf_map_push_elem", "value"))
		return 0;
	return (uint64_t)(int64_t)bj_map_push(map, (const void *)(uintptr_t)value, flags);
}

static uint64_t map_pop_elem(uint64_t r1, uint64_t value, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_map_pop_elem");

	UNUSED5(r3, r4, r5, 0, 0);
	if (!map || !mem_arg(run, value, map->value_size, true, "bpf_map_pop_elem", "value"))
		return 0;
	return (uint64_t)(int64_t)bj_map_pop(map, (void *)(uintptr_t)value);
}

static uint64_t map_peek_elem(uint64_t r1, uint64_t value, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_map_peek_elem");

	UNUSED5(r3, r4, r5, 0, 0);
	if (!map || !mem_arg(run, value, map->value_size, true, "bpf_map_peek_elem", "value"))
		return 0;
	return (uint64_t)(int64_t)bj_map_peek(map, (void *)(uintptr_t)value);
}

/*
 * Checked runs: the lock word must be aligned and in a writable region of the run (as in Linux, never on
 * the stack, which is gone when a lock left held is given back), one lock at a time, and
 * waiting for it costs budget, so that a lock never released (or a word that is no lock) stops the run
 * instead of hanging it. The lock word protocol is the maps module's: 0 free, 1 taken.
 */
static bool lock_arg(struct bj_run *run, uint64_t lock, const char *helper)
{
	bool on_stack = lock >= run->stack_lo && lock < run->stack_hi;

	if (!(lock & 3) && !on_stack && bj_run_mem_ok(run, (uintptr_t)lock, 4, true))
		return true;
	bj_run_fault(run, EFAULT, -1, "%s: 0x%llx is not an aligned lock in a region of the run", helper,
		     (unsigned long long)lock);
	return false;
}

/* Budget one wait for a taken lock costs: a pause lasts about as long as that many instructions. */
#define LOCK_WAIT_COST 32

static void checked_spin_lock(struct bj_run *run, uint64_t lock)
{
	_Atomic uint32_t *word = (_Atomic uint32_t *)(uintptr_t)lock;

	if (!lock_arg(run, lock, "bpf_spin_lock"))
		return;
	if (run->held_lock) {
		bj_run_fault(run, EDEADLK, -1, "bpf_spin_lock: the run already holds a lock (Linux allows one)");
		return;
	}
	while (atomic_exchange_explicit(word, 1, memory_order_acquire)) {
		if (run->budget < LOCK_WAIT_COST) {
			run->budget = 0;
			bj_run_fault(run, ETIME, -1, "bpf_spin_lock: the budget ran out waiting for the lock at 0x%llx",
				     (unsigned long long)lock);
			return;
		}
		run->budget -= LOCK_WAIT_COST;
		__builtin_ia32_pause();
	}
	run->held_lock = word;
}

static void checked_spin_unlock(struct bj_run *run, uint64_t lock)
{
	if (run->held_lock != (void *)(uintptr_t)lock) {
		bj_run_fault(run, EINVAL, -1, "bpf_spin_unlock: the run does not hold the lock at 0x%llx",
			     (unsigned long long)lock);
		return;
	}
	run->held_lock = NULL;
	bj_map_spin_unlock((void *)(uintptr_t)lock);
}

static uint64_t spin_lock(uint64_t lock, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	UNUSED5(r2, r3, r4, r5, 0);
	if (BJ_UNLIKELY(run->checked))
		checked_spin_lock(run, lock);
	else
		bj_map_spin_lock((void *)(uintptr_t)lock);
	return 0;
}

static uint64_t spin_unlock(uint64_t lock, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	UNUSED5(r2, r3, r4, r5, 0);
	if (BJ_UNLIKELY(run->checked))
		checked_spin_unlock(run, lock);
	else
		bj_map_spin_unlock((void *)(uintptr_t)lock);
	return 0;
}

/* ---- time, randomness, where the run is ---- */

static uint64_t ktime_get_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	UNUSED5(r1, r2, r3, r4, r5), (void)run;
	return bj_clock_ns(CLOCK_MONOTONIC);
}

static uint64_t ktime_get_boot_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				  struct bj_run *run)
{
	UNUSED5(r1, r2, r3, r4, r5), (void)run;
	return bj_clock_ns(CLOCK_BOOTTIME);
}

static uint64_t ktime_get_coarse_ns(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				    struct bj_run *run)
{
	UNUSED5(r1, r2, r3, r4, r5), (void)run;
	return bj_clock_ns(CLOCK_MONOTONIC_COARSE);
}

static uint64_t jiffies64(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	UNUSED5(r1, r2, r3, r4, r5), (void)run;
	return bj_clock_ns(CLOCK_MONOTONIC_COARSE) / (1000000000ull / BJ_JIFFIES_HZ);
}

/* splitmix64: the state only has to differ between runs, and 0 marks a generator not seeded yet. */
static uint64_t get_prandom_u32(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bj_run *run)
{
	uint64_t z;

	UNUSED5(r1, r2, r3, r4, r5);
	if (BJ_UNLIKELY(!run->prandom)) {
		if (getrandom(&run->prandom, sizeof(run->prandom), GRND_NONBLOCK) != sizeof(run->prandom))
			run->prandom = bj_clock_ns(CLOCK_MONOTONIC) ^ (uintptr_t)run;
		run->prandom |= 1;
	}
	z = (run->prandom += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (uint32_t)((z ^ (z >> 31)) >> 32);
}

static uint64_t get_smp_processor_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				     struct bj_run *run)
{
	UNUSED5(r1, r2, r3, r4, r5);
	return run->worker;
}

static uint64_t get_numa_node_id(uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5,
				 struct bj_run *run)
{
	UNUSED5(r1, r2, r3, r4, r5), (void)run;
	return 0;
}

/* ---- tail calls ---- */

/* As Linux's interpreter: the index is checked first, then the count (which a failed lookup still uses up). */
static uint64_t tail_call(uint64_t ctx, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *map = (struct bj_map *)(uintptr_t)r2;
	uint32_t index = (uint32_t)r3;
	struct bj_prog *prog;

	(void)ctx, (void)r4, (void)r5;
	if (BJ_UNLIKELY(run->cb_depth)) {
		bj_run_fault(run, EINVAL, -1, "bpf_tail_call inside a callback: not allowed (as in Linux)");
		return 0;
	}
	if (run->checked && !map_arg(run, r2, "bpf_tail_call"))
		return 0;
	if (!map || map->type != BJ_MAP_TYPE_PROG_ARRAY || index >= map->max_entries)
		return (uint64_t)-ENOENT;
	if (run->tail_calls >= BJ_MAX_TAIL_CALLS)
		return (uint64_t)-ENOENT;
	run->tail_calls++;
	prog = bj_map_prog_array_get(map, index);
	if (!prog)
		return (uint64_t)-ENOENT;
	run->tail_prog = prog;
	return 0;
}

/* ---- checksums ---- */

static uint64_t csum_diff(uint64_t from, uint64_t from_size, uint64_t to, uint64_t to_size, uint64_t seed,
			  struct bj_run *run)
{
	uint32_t fs = (uint32_t)from_size, ts = (uint32_t)to_size, ret = (uint32_t)seed;

	if (!mem_arg(run, from, fs, false, "bpf_csum_diff", "from") || !mem_arg(run, to, ts, false, "bpf_csum_diff", "to"))
		return 0;
	/* Linux (since 6.13): csum(to) - csum(from), folded to 16 bits so that every architecture agrees (the
	 * seed alone too, when both sizes are 0). */
	if (fs && ts)
		ret = bj_csum_sub(bj_csum_partial((const void *)(uintptr_t)to, ts, ret),
				  bj_csum_partial((const void *)(uintptr_t)from, fs, 0));
	else if (ts)
		ret = bj_csum_partial((const void *)(uintptr_t)to, ts, ret);
	else if (fs)
		ret = ~bj_csum_partial((const void *)(uintptr_t)from, fs, ~ret);
	return bj_csum_from32to16(ret);
}

/* ---- ring buffers ---- */

static uint64_t ringbuf_output(uint64_t r1, uint64_t data, uint64_t size, uint64_t flags, uint64_t r5,
			       struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_ringbuf_output");

	(void)r5;
	if (!map || !mem_arg(run, data, size, false, "bpf_ringbuf_output", "data"))
		return 0;
	if (map->type != BJ_MAP_TYPE_RINGBUF)
		return (uint64_t)-EINVAL;
	return (uint64_t)(int64_t)bj_ringbuf_output(map, (const void *)(uintptr_t)data, size, flags);
}

static uint64_t ringbuf_reserve(uint64_t r1, uint64_t size, uint64_t flags, uint64_t r4, uint64_t r5,
				struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_ringbuf_reserve");
	void *sample;

	(void)r4, (void)r5;
	if (!map || map->type != BJ_MAP_TYPE_RINGBUF || run->n_reserved >= BJ_RUN_MAX_RESERVED)
		return 0;
	sample = bj_ringbuf_reserve(map, size, flags);
	if (sample) {
		run->reserved[run->n_reserved++] = (struct bj_rb_reserved){ sample, map };
		give_region(run, sample, size, true);
	}
	return (uintptr_t)sample;
}

/* The map a record of this run came from; the record is no longer held. NULL (run stopped) if none. */
static struct bj_map *take_reserved(struct bj_run *run, uint64_t sample, const char *helper)
{
	for (unsigned i = 0; i < run->n_reserved; i++) {
		if ((uintptr_t)run->reserved[i].sample == sample) {
			struct bj_map *map = run->reserved[i].map;

			run->reserved[i] = run->reserved[--run->n_reserved];
			take_region(run, (const void *)(uintptr_t)sample);
			return map;
		}
	}
	bj_run_fault(run, EINVAL, -1, "%s: 0x%llx is not a ring buffer record this run reserved", helper,
		     (unsigned long long)sample);
	return NULL;
}

static uint64_t ringbuf_submit(uint64_t sample, uint64_t flags, uint64_t r3, uint64_t r4, uint64_t r5,
			       struct bj_run *run)
{
	struct bj_map *map = take_reserved(run, sample, "bpf_ringbuf_submit");

	(void)r3, (void)r4, (void)r5;
	if (map)
		bj_ringbuf_commit(map, (void *)(uintptr_t)sample, flags, false);
	return 0;
}

static uint64_t ringbuf_discard(uint64_t sample, uint64_t flags, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bj_run *run)
{
	struct bj_map *map = take_reserved(run, sample, "bpf_ringbuf_discard");

	(void)r3, (void)r4, (void)r5;
	if (map)
		bj_ringbuf_commit(map, (void *)(uintptr_t)sample, flags, true);
	return 0;
}

void bj_helpers_run_end(struct bj_run *run)
{
	/* Linux refuses programs that exit holding a lock; a checked run that did gives it back and fails. */
	if (run->held_lock) {
		bj_map_spin_unlock(run->held_lock);
		run->held_lock = NULL;
		bj_run_fault(run, EINVAL, -1, "the program ended holding a bpf_spin_lock");
	}
	while (run->n_reserved) {
		struct bj_rb_reserved *r = &run->reserved[--run->n_reserved];

		bj_ringbuf_commit(r->map, r->sample, BJ_RB_NO_WAKEUP, true);
	}
}

static uint64_t ringbuf_query(uint64_t r1, uint64_t flags, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_ringbuf_query");

	UNUSED5(r3, r4, r5, 0, 0);
	if (!map || map->type != BJ_MAP_TYPE_RINGBUF)
		return 0;
	return bj_ringbuf_query(map, flags);
}

/* ---- callbacks ---- */

/* bpf_loop: the callback gets (index, ctx) and returns 0 to go on, anything else to stop. */
static uint64_t loop(uint64_t nr_loops, uint64_t cb, uint64_t ctx, uint64_t flags, uint64_t r5, struct bj_run *run)
{
	uint32_t n = (uint32_t)nr_loops, i;

	(void)r5;
	if (flags)
		return (uint64_t)-EINVAL;
	if (n > BJ_MAX_LOOPS)
		return (uint64_t)-E2BIG;
	for (i = 0; i < n; i++) {
		uint64_t args[5] = { i, ctx, 0, 0, 0 };
		uint64_t ret = bj_run_call(run, cb, args);

		if (run->fault)
			return 0;
		if (ret)
			return (uint64_t)i + 1;
	}
	return i;
}

/* One element for for_each_map_elem: true when the walk must stop (callback said so, or a fault). */
static bool visit(struct bj_run *run, struct bj_map *map, uint64_t cb, const void *key, void *value, uint64_t ctx)
{
	uint64_t args[5] = { (uintptr_t)map, (uintptr_t)key, (uintptr_t)value, ctx, 0 };
	unsigned n_regions = run->n_regions;
	uint64_t ret;

	/* Checked runs: the callback may read the key and use the value, for as long as it runs. */
	give_region(run, key, map->key_size, false);
	give_region(run, value, map->value_size, !(map->map_flags & BJ_F_RDONLY_PROG));
	ret = bj_run_call(run, cb, args);
	if (run->checked)
		run->n_regions = n_regions;
	return run->fault || ret;
}

static uint64_t for_each_array(struct bj_run *run, struct bj_map *map, uint64_t cb, uint64_t ctx)
{
	uint64_t visited = 0;

	for (uint32_t i = 0; i < map->max_entries; i++) {
		uint32_t key = i;
		void *value = bj_map_lookup(map, &key, run->worker);

		visited++;
		if (visit(run, map, cb, &key, value, ctx))
			break;
	}
	return visited;
}

/*
 * Hash maps are walked by key. The next key is taken before the callback runs, so a callback may delete
 * the element it is given, as Linux allows.
 */
static uint64_t for_each_hash(struct bj_run *run, struct bj_map *map, uint64_t cb, uint64_t ctx)
{
	uint8_t small[2][64];
	uint8_t *cur = small[0], *next = small[1], *heap = NULL;
	uint64_t visited = 0;
	int ret;

	if (map->key_size > sizeof(small[0])) {
		heap = malloc(2 * (size_t)map->key_size);
		if (!heap) {
			bj_run_fault(run, ENOMEM, -1, "bpf_for_each_map_elem: out of memory for keys");
			return 0;
		}
		cur = heap;
		next = heap + map->key_size;
	}
	for (ret = map->ops->get_next_key(map, NULL, cur); !ret;) {
		void *value = bj_map_lookup(map, cur, run->worker);
		uint8_t *t;

		ret = map->ops->get_next_key(map, cur, next);
		if (value) {
			visited++;
			if (visit(run, map, cb, cur, value, ctx))
				break;
		}
		t = cur, cur = next, next = t;
	}
	free(heap);
	return visited;
}

static uint64_t for_each_map_elem(uint64_t r1, uint64_t cb, uint64_t ctx, uint64_t flags, uint64_t r5,
				  struct bj_run *run)
{
	struct bj_map *map = map_arg(run, r1, "bpf_for_each_map_elem");

	(void)r5;
	if (!map || !worker_ok(run, map, "bpf_for_each_map_elem"))
		return 0;
	if (flags)
		return (uint64_t)-EINVAL;
	switch (map->type) {
	case BJ_MAP_TYPE_ARRAY:
	case BJ_MAP_TYPE_PERCPU_ARRAY:
		return for_each_array(run, map, cb, ctx);
	case BJ_MAP_TYPE_HASH:
	case BJ_MAP_TYPE_PERCPU_HASH:
	case BJ_MAP_TYPE_LRU_HASH:
	case BJ_MAP_TYPE_LRU_PERCPU_HASH:
		return for_each_hash(run, map, cb, ctx);
	default:
		return (uint64_t)-EINVAL;
	}
}

/* ---- trace_printk ---- */

static uint64_t trace_printk(uint64_t fmt, uint64_t fmt_size, uint64_t a1, uint64_t a2, uint64_t a3,
			     struct bj_run *run)
{
	const uint64_t args[3] = { a1, a2, a3 };
	char msg[BJ_TRACE_PRINTK_MAX];
	size_t out;
	int len;

	if (!mem_arg(run, fmt, (uint32_t)fmt_size, false, "bpf_trace_printk", "fmt"))
		return 0;
	len = bj_trace_format((const char *)(uintptr_t)fmt, (uint32_t)fmt_size, args, run, msg, sizeof(msg));
	if (len < 0)
		return (uint64_t)(int64_t)len;
	out = (size_t)len < sizeof(msg) ? (size_t)len : sizeof(msg) - 1;
	if (run->trace)
		run->trace(run->trace_ctx, msg, out);
	else
		fwrite(msg, 1, out, stderr);
	return (uint64_t)len;
}

static const struct bj_helper builtin[] = {
	{ BJ_FN_MAP_LOOKUP_ELEM, "bpf_map_lookup_elem", map_lookup_elem },
	{ BJ_FN_MAP_UPDATE_ELEM, "bpf_map_update_elem", map_update_elem },
	{ BJ_FN_MAP_DELETE_ELEM, "bpf_map_delete_elem", map_delete_elem },
	{ BJ_FN_KTIME_GET_NS, "bpf_ktime_get_ns", ktime_get_ns },
	{ BJ_FN_TRACE_PRINTK, "bpf_trace_printk", trace_printk },
	{ BJ_FN_GET_PRANDOM_U32, "bpf_get_prandom_u32", get_prandom_u32 },
	{ BJ_FN_GET_SMP_PROCESSOR_ID, "bpf_get_smp_processor_id", get_smp_processor_id },
	{ BJ_FN_TAIL_CALL, "bpf_tail_call", tail_call },
	{ BJ_FN_CSUM_DIFF, "bpf_csum_diff", csum_diff },
	{ BJ_FN_GET_NUMA_NODE_ID, "bpf_get_numa_node_id", get_numa_node_id },
	{ BJ_FN_MAP_PUSH_ELEM, "bpf_map_push_elem", map_push_elem },
	{ BJ_FN_MAP_POP_ELEM, "bpf_map_pop_elem", map_pop_elem },
	{ BJ_FN_MAP_PEEK_ELEM, "bpf_map_peek_elem", map_peek_elem },
	{ BJ_FN_SPIN_LOCK, "bpf_spin_lock", spin_lock },
	{ BJ_FN_SPIN_UNLOCK, "bpf_spin_unlock", spin_unlock },
	{ BJ_FN_JIFFIES64, "bpf_jiffies64", jiffies64 },
	{ BJ_FN_KTIME_GET_BOOT_NS, "bpf_ktime_get_boot_ns", ktime_get_boot_ns },
	{ BJ_FN_RINGBUF_OUTPUT, "bpf_ringbuf_output", ringbuf_output },
	{ BJ_FN_RINGBUF_RESERVE, "bpf_ringbuf_reserve", ringbuf_reserve },
	{ BJ_FN_RINGBUF_SUBMIT, "bpf_ringbuf_submit", ringbuf_submit },
	{ BJ_FN_RINGBUF_DISCARD, "bpf_ringbuf_discard", ringbuf_discard },
	{ BJ_FN_RINGBUF_QUERY, "bpf_ringbuf_query", ringbuf_query },
	{ BJ_FN_KTIME_GET_COARSE_NS, "bpf_ktime_get_coarse_ns", ktime_get_coarse_ns },
	{ BJ_FN_FOR_EACH_MAP_ELEM, "bpf_for_each_map_elem", for_each_map_elem },
	{ BJ_FN_LOOP, "bpf_loop", loop },
};

const struct bj_helper *bj_helpers(size_t *n)
{
	if (n)
		*n = BJ_ARRAY_SIZE(builtin);
	return builtin;
}

/* ---- for embedders' helpers ---- */

unsigned bj_run__worker(const struct bj_run *run)
{
	return run->worker;
}

void bj_run__fail(struct bj_run *run, int errnum, const char *msg)
{
	bj_run_fault(run, errnum > 0 ? errnum : EINVAL, -1, "%s", msg ? msg : "stopped by a helper");
}

uint64_t bj_run__callback(struct bj_run *run, uint64_t fn, uint64_t r1, uint64_t r2, uint64_t r3, uint64_t r4,
			  uint64_t r5)
{
	const uint64_t args[5] = { r1, r2, r3, r4, r5 };

	return bj_run_call(run, fn, args);
}

bool bj_run__stopped(const struct bj_run *run)
{
	return run->fault != 0;
}
