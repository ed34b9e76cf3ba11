/* SPDX-License-Identifier: Apache-2.0 */
/* Byte-wise copy and compare of 128-byte buffers, 8 rounds (the index wraps with a mask, which the kernel verifier can bound). */
#include "bench_prog.h"

BENCH_PROG(memops)
{
	volatile u32 seed = 0x9e3779b9;
	u8 a[128], b[128];
	u32 s = seed, diff = 0;

	(void)ctx;
	for (int i = 0; i < 128; i++)
		a[i] = (u8)xorshift32(&s);
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < 128; i++)
			b[i] = *(a + ((i + round) & 127));
		for (int i = 0; i < 128; i++)
			if (a[i] != b[i]) {
				diff += (u32)i;
				break;
			}
		a[round] ^= b[127 - round];
	}
	return (int)diff;
}
