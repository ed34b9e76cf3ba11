/* SPDX-License-Identifier: Apache-2.0 */
/* Insertion sort of 12 pseudo-random words; returns a checksum of the sorted order. */
#include "bench_prog.h"

BENCH_PROG(sort)
{
	volatile u32 seed = 31337;
	u32 v[12];
	u32 s = seed, acc = 0;

	(void)ctx;
	for (int i = 0; i < 12; i++)
		v[i] = xorshift32(&s);
	for (int i = 1; i < 12; i++) {
		u32 x = v[i];
		int j = i - 1;
		while (j >= 0 && v[j] > x) {
			v[j + 1] = v[j];
			j--;
		}
		v[j + 1] = x;
	}
	for (int i = 0; i < 12; i++)
		acc = acc * 31 + v[i];
	return (int)acc;
}
