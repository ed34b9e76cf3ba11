/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The x86-64 csum_partial, step for step: 64-bit words added with carry in chains (two interleaved chains
 * of 40 bytes while 80 remain, then 40, 32, 16, 8 and the zero-padded tail), each chain ending with
 * `adc 0`, whose own carry is lost, then the fold of the 64-bit sum to 32 bits. bpf_csum_diff folds that to
 * 16 bits, but which of the two representations of zero comes out still depends on these steps.
 */
#include <string.h>

#include "helpers/helpers_int.h"

static uint64_t load64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* add, adc, ..., adc 0 over n words */
static uint64_t add_chain(uint64_t sum, const uint8_t *p, unsigned n)
{
	unsigned carry = 0;

	for (unsigned i = 0; i < n; i++) {
		unsigned __int128 s = (unsigned __int128)sum + load64(p + 8 * i) + carry;

		sum = (uint64_t)s;
		carry = (unsigned)(s >> 64);
	}
	return sum + carry;
}

static uint64_t add_with_carry(uint64_t a, uint64_t b)
{
	unsigned __int128 s = (unsigned __int128)a + b;

	return (uint64_t)s + (uint64_t)(s >> 64);
}

static uint32_t finalize(uint64_t sum)
{
	uint64_t ror = (sum >> 32) | (sum << 32);

	return (uint32_t)((sum + ror) >> 32);
}

uint32_t bj_csum_partial(const void *buf, uint32_t len, uint32_t seed)
{
	const uint8_t *p = buf;
	uint64_t sum = seed;

	if (len >= 80) {
		uint64_t sum2 = 0;

		do {
			sum = add_chain(sum, p, 5);
			sum2 = add_chain(sum2, p + 40, 5);
			p += 80;
			len -= 80;
		} while (len >= 80);
		sum = add_with_carry(sum, sum2);
	}
	if (len >= 40) {
		sum = add_chain(sum, p, 5);
		p += 40;
		len -= 40;
	}
	for (unsigned chunk = 32; chunk >= 8; chunk /= 2) {
		if (len & chunk) {
			sum = add_chain(sum, p, chunk / 8);
			p += chunk;
		}
	}
	if (len & 7) {
		uint64_t tail = 0;

		memcpy(&tail, p, len & 7);
		sum = add_with_carry(sum, tail);
	}
	return finalize(sum);
}

uint32_t bj_csum_sub(uint32_t a, uint32_t b)
{
	uint32_t nb = ~b, res = a + nb;

	return res + (res < nb);
}

uint16_t bj_csum_from32to16(uint32_t sum)
{
	sum += (sum >> 16) | (sum << 16);
	return (uint16_t)(sum >> 16);
}
