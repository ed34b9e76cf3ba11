/* SPDX-License-Identifier: Apache-2.0 */
#include "jit/codemem.h"

#include <errno.h>
#include <stdbool.h>
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

int bj_codemem_reserve(struct bj_codemem *m, size_t size, const void *near, size_t limit)
{
	/* Below the library first: that is where the kernel grows the mmap area on x86-64. */
	static const int64_t deltas[] = { -(1ll << 28), -(1ll << 30), 1ll << 28, 1ll << 30 };
	uintptr_t n = (uintptr_t)near & ~(uintptr_t)0xfffff;
	void *p = NULL;

	m->base = NULL;
	m->reserved = 0;
	size = page_round(size);
	if (limit && size > limit)
		return -ENOMEM;
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
	if (!p)
		return -ENOMEM;
	m->base = p;
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
		munmap(m->base + len, m->reserved - len);
		m->reserved = len;
	}
	return 0;
}

void bj_codemem_release(struct bj_codemem *m)
{
	if (m->base)
		munmap(m->base, m->reserved);
	m->base = NULL;
	m->reserved = 0;
}
