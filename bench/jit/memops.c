/* SPDX-License-Identifier: Apache-2.0 */
/* Byte-wise copy and compare of 192-byte buffers, 16 rounds. */
#include "bench_prog.h"

BENCH_PROG(memops)
{
	volatile u32 seed = 0x9e3779b9;
	u8 a[192], b[192];
	u32 s = seed, diff = 0;

	(void)ctx;
	for (int i = 0; i < 192; i++)
		a[i] = (u8)xorshift32(&s);
	for (int round = 0; round < 16; round++) {
		for (int i = 0; i < 192; i++)
			b[i] = a[(i + round) % 192];
		for (int i = 0; i < 192; i++)
			if (a[i] != b[i]) {
				diff += (u32)i;
				break;
			}
		a[round] ^= b[191 - round];
	}
	return (int)diff;
}
