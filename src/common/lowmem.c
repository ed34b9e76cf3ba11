/* SPDX-License-Identifier: Apache-2.0 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "common/lowmem.h"

#include <errno.h>
#include <sys/mman.h>

void *bj_lowmem_alloc(size_t len)
{
	void *p;

	if (!len) {
		errno = EINVAL;
		return NULL;
	}
	/* MAP_32BIT is x86-64's "first 2 GiB" request: anonymous, so the pages come zeroed. */
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	if (!bj_lowmem_fits(p, len)) {
		munmap(p, len);
		errno = ENOMEM;
		return NULL;
	}
	return p;
}

void bj_lowmem_free(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}
