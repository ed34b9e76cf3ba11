/* SPDX-License-Identifier: Apache-2.0 */
/* The Internet checksum (RFC 1071) of a 256-byte buffer, 32 times over a changing buffer. */
#include "bench_prog.h"

BENCH_PROG(checksum)
{
	volatile u32 seed = 12345;
	u16 buf[128];
	u32 s = seed, acc = 0;

	(void)ctx;
	for (int i = 0; i < 128; i++)
		buf[i] = (u16)xorshift32(&s);
	for (int round = 0; round < 32; round++) {
		u32 sum = 0;
		for (int i = 0; i < 128; i++)
			sum += buf[i];
		sum = (sum & 0xffff) + (sum >> 16);
		sum = (sum & 0xffff) + (sum >> 16);
		acc += ~sum & 0xffff;
		buf[round] = (u16)acc;
	}
	return (int)acc;
}
