/* SPDX-License-Identifier: Apache-2.0 */
/* Sieve of Eratosthenes over the first 256 integers (a bit array on the stack); returns the prime count. */
#include "bench_prog.h"

BENCH_PROG(sieve)
{
	volatile u32 seed = 256;
	u64 bits[4];
	u32 limit = seed, count = 0;

	(void)ctx;
	for (int i = 0; i < 4; i++)
		bits[i] = 0;
	for (u32 p = 2; p < 16; p++) {
		if (bits[p >> 6] & (1ull << (p & 63)))
			continue;
		for (u32 m = p * p; m < 256 && m < limit; m += p)
			bits[m >> 6] |= 1ull << (m & 63);
	}
	for (u32 i = 2; i < 256; i++)
		count += !(bits[i >> 6] & (1ull << (i & 63)));
	return (int)count;
}
