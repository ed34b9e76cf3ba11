/* SPDX-License-Identifier: Apache-2.0 */
/* Private to the dispatcher module: code memory, the x86-64 emitter, and read-side sections. */
#ifndef BJ_DISPATCHER_INT_H
#define BJ_DISPATCHER_INT_H

#include <bpfjet/dispatcher.h>

#include "common/common.h"

/* One memfd mapped twice: `rw` to write, `rx` to run. Neither mapping is ever both writable and executable. */
struct bj_dualmap {
	uint8_t *rw;
	uint8_t *rx;
	size_t size;
};

/* Maps `size` bytes (rounded to pages) with the executable view placed near `near` when that is free. */
int bj_dualmap_create(size_t size, const void *near, struct bj_dualmap *out);
void bj_dualmap_destroy(struct bj_dualmap *m);
/* Replaces the (page-aligned) executable page at `page` by a dual mapping of a copy of its bytes. */
int bj_dualmap_adopt_page(void *page, struct bj_dualmap *out);

/* Every thread (also those not running now) executes a full barrier and re-fetches instructions. */
void bj_sync_all_cores(void);
/* Waits until every read-side section that was open when it started has ended; -EDEADLK inside one. */
int bj_synchronize(void);
bool bj_in_read_section(void);

/* True when a rel32 displacement from `from` to `to` is representable. */
static inline bool bj_rel32_ok(uint64_t from, uint64_t to)
{
	int64_t d = (int64_t)(to - from);
	return d >= INT32_MIN && d <= INT32_MAX;
}

/* Emitter: a byte cursor with a sticky error; with buf == NULL it only counts (dry pass). */
struct bj_emit {
	uint8_t *buf;
	size_t cap;
	size_t len;
	uint64_t base; /* run-time address of buf[0] */
	int err;
};

struct bj_dispatch_layout {
	enum bj_dispatcher_cmp cmp;
	unsigned linear_max;
	bool chain; /* one compare chain in the given order (HOT), else a sorted tree of chains */
};

/*
 * Emits the search over `progs` (sorted by bj_dispatch_sort, unless lay->chain) at e->base. Every entry must be eligible
 * (bj_dispatch_eligible); anything else reaches the final indirect jumps.
 */
void bj_emit_dispatch(struct bj_emit *e, const uint64_t *progs, size_t n, const struct bj_dispatch_layout *lay);
/* Largest image for up to `n` programs. */
size_t bj_dispatch_max_size(size_t n, const struct bj_dispatch_layout *lay);
bool bj_dispatch_eligible(uint64_t image, size_t image_len, uint64_t prog, enum bj_dispatcher_cmp cmp);
void bj_dispatch_sort(uint64_t *progs, size_t n);

#endif
