/* SPDX-License-Identifier: Apache-2.0 */
/* FNV-1a over 256 bytes and a Jenkins-style hash (jhash mix) over 64 words, 8 rounds. */
#include "bench_prog.h"

#define ROL32(x, k) (((x) << (k)) | ((x) >> (32 - (k))))

BENCH_PROG(hash)
{
	volatile u32 seed = 0xdeadbeef;
	u32 words[64];
	u32 s = seed, out = 0;

	(void)ctx;
	for (int i = 0; i < 64; i++)
		words[i] = xorshift32(&s);
	for (int round = 0; round < 8; round++) {
		u32 h = 2166136261u;
		for (int i = 0; i < 64; i++) {
			u32 w = words[i];
			for (int k = 0; k < 4; k++) {
				h ^= (w >> (8 * k)) & 0xff;
				h *= 16777619u;
			}
		}
		u32 a = 0xdeadbeef + round, b = a, c = a;
		for (int i = 0; i + 3 <= 64; i += 3) {
			a += words[i];
			b += words[i + 1];
			c += words[i + 2];
			a -= c; a ^= ROL32(c, 4); c += b;
			b -= a; b ^= ROL32(a, 6); a += c;
			c -= b; c ^= ROL32(b, 8); b += a;
			a -= c; a ^= ROL32(c, 16); c += b;
			b -= a; b ^= ROL32(a, 19); a += c;
			c -= b; c ^= ROL32(b, 4); b += a;
		}
		out ^= h + c;
		words[round] ^= out;
	}
	return (int)out;
}
