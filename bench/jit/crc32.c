/* SPDX-License-Identifier: Apache-2.0 */
/* Bitwise CRC-32 (IEEE, reflected) of a 32-byte buffer, 2 rounds. */
#include "bench_prog.h"

BENCH_PROG(crc32)
{
	volatile u32 seed = 0x1234567;
	u8 buf[32];
	u32 s = seed, crc = 0xffffffff;

	(void)ctx;
	for (int i = 0; i < 32; i++)
		buf[i] = (u8)xorshift32(&s);
	for (int round = 0; round < 2; round++) {
		for (int i = 0; i < 32; i++) {
			crc ^= buf[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0xedb88320 & -(crc & 1));
		}
		buf[round] = (u8)crc;
	}
	return (int)~crc;
}
