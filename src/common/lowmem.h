/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory below 4 GiB, for program contexts whose 32-bit fields hold real pointers (XDP's data, data_end and
 * data_meta): a program then loads them as the kernel's rewritten loads would, with no context rewriting.
 */
#ifndef BJ_LOWMEM_H
#define BJ_LOWMEM_H

#include <stddef.h>
#include <stdint.h>

/* Zeroed, page-aligned, readable and writable, entirely below 4 GiB; NULL (errno set) when none is left. */
void *bj_lowmem_alloc(size_t len);
void bj_lowmem_free(void *p, size_t len);

/* True when [p, p + len) lies below 4 GiB, so that every address in it fits a u32. */
static inline int bj_lowmem_fits(const void *p, size_t len)
{
	return (uintptr_t)p + len <= (1ull << 32);
}

#endif
