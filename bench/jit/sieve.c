/* SPDX-License-Identifier: Apache-2.0 */
/* Sieve of Eratosthenes over the first 2048 integers (a bit array on the stack); returns the prime count. */
#include "bench_prog.h"

BENCH_PROG(sieve)
{
	volatile u32 seed = 2048;
	u64 bits[32];
	u32 limit = seed, count = 0;

	(void)ctx;
	for (int i = 0; i < 32; i++)
		bits[i] = 0;
	for (u32 p = 2; p < 46; p++) {
		if (bits[p >> 6] & (1ull << (p & 63)))
			continue;
		for (u32 m = p * p; m < 2048 && m < limit; m += p)
			bits[m >> 6] |= 1ull << (m & 63);
	}
	for (u32 i = 2; i < 2048; i++)
		count += !(bits[i >> 6] & (1ull << (i & 63)));
	return (int)count;
}
