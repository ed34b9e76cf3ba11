/* SPDX-License-Identifier: Apache-2.0 */
/* Integer log2 by binary search of 2048 pseudo-random 64-bit values. */
#include "bench_prog.h"

INLINE u32 ilog2(u64 v)
{
	u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

BENCH_PROG(intlog)
{
	volatile u32 seed = 777;
	u32 s = seed, acc = 0;

	(void)ctx;
	for (int i = 0; i < 2048; i++) {
		u64 v = ((u64)xorshift32(&s) << 32 | xorshift32(&s)) >> (i & 63);
		acc += ilog2(v | 1);
	}
	return (int)acc;
}
