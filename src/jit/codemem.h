/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for machine code, never writable and executable at once: an address range is reserved
 * (inaccessible) near the library so that calls into it fit a rel32, the used prefix is made writable while
 * the final pass writes it, then read+execute; the unused tail is given back.
 *
 * Images of up to BJ_CODEMEM_POOL_MAX bytes come from a process-wide pool of large reservations, page-granular
 * so that no page holds two images: a compile then costs two mprotect calls and a free one, instead of
 * mapping and unmapping its own range each time.
 */
#ifndef BJ_JIT_CODEMEM_H
#define BJ_JIT_CODEMEM_H

#include <stddef.h>
#include <stdint.h>

#define BJ_CODEMEM_POOL_MAX (8u << 20)

struct bj_codemem {
	uint8_t *base;
	size_t reserved; /* bytes mapped at base */
	int chunk;       /* pool chunk the range belongs to, or -1 for a mapping of its own */
};

/* Reserves `size` bytes, preferably within ±1.5 GiB of `near`. A non-zero `limit` caps the size (-ENOMEM). */
int bj_codemem_reserve(struct bj_codemem *m, size_t size, const void *near, size_t limit);
/* Makes the first `len` bytes writable (and not executable). */
int bj_codemem_open(struct bj_codemem *m, size_t len);
/* Makes the first `len` bytes read+execute and unmaps the rest of the reservation. */
int bj_codemem_seal(struct bj_codemem *m, size_t len);
void bj_codemem_release(struct bj_codemem *m);

#endif
