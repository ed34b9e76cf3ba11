/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Memory for machine code, never writable and executable at once: an address range is reserved
 * (inaccessible) near the library so that calls into it fit a rel32, the used prefix is made writable while
 * the final pass writes it, then read+execute; the unused tail is given back.
 */
#ifndef BJ_JIT_CODEMEM_H
#define BJ_JIT_CODEMEM_H

#include <stddef.h>
#include <stdint.h>

struct bj_codemem {
	uint8_t *base;
	size_t reserved; /* bytes mapped at base */
};

/* Reserves `size` bytes, preferably within ±1.5 GiB of `near`. A non-zero `limit` caps the size (-ENOMEM). */
int bj_codemem_reserve(struct bj_codemem *m, size_t size, const void *near, size_t limit);
/* Makes the first `len` bytes writable (and not executable). */
int bj_codemem_open(struct bj_codemem *m, size_t len);
/* Makes the first `len` bytes read+execute and unmaps the rest of the reservation. */
int bj_codemem_seal(struct bj_codemem *m, size_t len);
void bj_codemem_release(struct bj_codemem *m);

#endif
