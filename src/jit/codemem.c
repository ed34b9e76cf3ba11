/* SPDX-License-Identifier: Apache-2.0 */
#include "jit/codemem.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define NEAR_RANGE (3ull << 29) /* 1.5 GiB: leaves room for the image itself inside a rel32 */

static size_t page_round(size_t n)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	return (n + page - 1) & ~(page - 1);
}

static bool is_near(uintptr_t a, size_t size, uintptr_t near)
{
	uintptr_t lo = a < near ? a : near, hi = a + size > near ? a + size : near;
	return hi - lo < NEAR_RANGE;
}

static void *map_at(uintptr_t hint, size_t size)
{
	void *p = mmap((void *)hint, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

/* A PROT_NONE range of its own, near `near` when the address space allows. */
static void *reserve_own(size_t size, const void *near)
{
	/* Below the library first: that is where the kernel grows the mmap area on x86-64. */
	static const int64_t deltas[] = { -(1ll << 28), -(1ll << 30), 1ll << 28, 1ll << 30 };
	uintptr_t n = (uintptr_t)near & ~(uintptr_t)0xfffff;
	void *p;

	/* Where the kernel puts it anyway is often near (a shared library lives in the mmap area), and cheapest:
	 * its page tables already exist. */
	p = map_at(0, size);
	if (p && !is_near((uintptr_t)p, size, (uintptr_t)near)) {
		munmap(p, size);
		p = NULL;
	}
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]) && !p; i++) {
		uintptr_t hint = n + (uintptr_t)deltas[i];
		if ((deltas[i] < 0 && hint > n) || hint < (1u << 20))
			continue;
		p = map_at(hint, size);
		if (p && !is_near((uintptr_t)p, size, (uintptr_t)near)) {
			munmap(p, size);
			p = NULL;
		}
	}
	if (!p)
		p = map_at(0, size); /* far away: calls into the library go through movabs + call */
	return p;
}

/*
 * The pool: chunks of POOL_CHUNK bytes of address space, one byte per page saying whether an image holds it.
 * Process-wide because code memory is what every compile shares; the lock is held only to pick pages.
 */
#define POOL_CHUNK (32u << 20)
#define POOL_MAX_CHUNKS 16
#define POOL_PAGES_MAX (POOL_CHUNK / 4096)

struct pool_chunk {
	uint8_t *base;
	size_t pages;
	size_t hint; /* first page to look at: allocation is next-fit */
	uint8_t used[POOL_PAGES_MAX];
};

static struct {
	pthread_mutex_t lock;
	struct pool_chunk *chunks[POOL_MAX_CHUNKS];
	int n;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER };

static long chunk_find(struct pool_chunk *c, size_t pages)
{
	for (size_t pass = 0; pass < 2; pass++) {
		size_t from = pass ? 0 : c->hint, to = pass ? c->hint + pages : c->pages;
		size_t run = 0;
		if (to > c->pages)
			to = c->pages;
		for (size_t p = from; p < to; p++) {
			run = c->used[p] ? 0 : run + 1;
			if (run == pages)
				return (long)(p + 1 - pages);
		}
	}
	return -1;
}

static int pool_take(struct bj_codemem *m, size_t size, const void *near)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = size / page;
	int ret = -ENOMEM;

	if (page != 4096)
		return -ENOMEM;
	pthread_mutex_lock(&pool.lock);
	for (int i = 0; i <= pool.n && i < POOL_MAX_CHUNKS; i++) {
		struct pool_chunk *c = pool.chunks[i];
		if (i == pool.n) {
			c = calloc(1, sizeof(*c));
			if (!c)
				break;
			c->base = reserve_own(POOL_CHUNK, near);
			if (!c->base) {
				free(c);
				break;
			}
			c->pages = POOL_PAGES_MAX;
			pool.chunks[pool.n++] = c;
		}
		long at = chunk_find(c, pages);
		if (at < 0)
			continue;
		memset(c->used + at, 1, pages);
		c->hint = (size_t)at + pages;
		m->base = c->base + (size_t)at * page;
		m->reserved = size;
		m->chunk = i;
		ret = 0;
		break;
	}
	pthread_mutex_unlock(&pool.lock);
	return ret;
}

/* Gives pages [base, base + len) back to their chunk; they are PROT_NONE already. */
static void pool_give(int chunk, uint8_t *base, size_t len)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	pthread_mutex_lock(&pool.lock);
	struct pool_chunk *c = pool.chunks[chunk];
	size_t first = (size_t)(base - c->base) / page;
	memset(c->used + first, 0, len / page);
	if (first < c->hint)
		c->hint = first;
	pthread_mutex_unlock(&pool.lock);
}

int bj_codemem_reserve(struct bj_codemem *m, size_t size, const void *near, size_t limit)
{
	m->base = NULL;
	m->reserved = 0;
	m->chunk = -1;
	size = page_round(size);
	if (limit && size > limit)
		return -ENOMEM;
	if (size <= BJ_CODEMEM_POOL_MAX && !pool_take(m, size, near))
		return 0;
	m->base = reserve_own(size, near);
	if (!m->base)
		return -ENOMEM;
	m->reserved = size;
	return 0;
}

int bj_codemem_open(struct bj_codemem *m, size_t len)
{
	len = page_round(len);
	if (len > m->reserved)
		return -EFAULT;
	return mprotect(m->base, len, PROT_READ | PROT_WRITE) ? -errno : 0;
}

int bj_codemem_seal(struct bj_codemem *m, size_t len)
{
	len = page_round(len);
	if (len > m->reserved)
		return -EFAULT;
	if (mprotect(m->base, len, PROT_READ | PROT_EXEC))
		return -errno;
	if (len < m->reserved) {
		if (m->chunk >= 0)
			pool_give(m->chunk, m->base + len, m->reserved - len);
		else
			munmap(m->base + len, m->reserved - len);
		m->reserved = len;
	}
	return 0;
}

void bj_codemem_release(struct bj_codemem *m)
{
	/* Pooled pages become inaccessible again before another image may take them. */
	if (m->base && m->chunk >= 0 && !mprotect(m->base, m->reserved, PROT_NONE))
		pool_give(m->chunk, m->base, m->reserved);
	else if (m->base && m->chunk < 0)
		munmap(m->base, m->reserved);
	m->base = NULL;
	m->reserved = 0;
	m->chunk = -1;
}
