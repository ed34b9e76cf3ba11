/* SPDX-License-Identifier: Apache-2.0 */
/* Bob Jenkins' lookup3 hash as the kernel's include/linux/jhash.h computes it, so that with a zero seed a
 * hash map puts keys in the same buckets (and batch cursors behave) exactly as the kernel's. */
#ifndef BJ_MAPS_JHASH_H
#define BJ_MAPS_JHASH_H

#include <stdint.h>
#include <string.h>

#define BJ_JHASH_INITVAL 0xdeadbeefu

static inline uint32_t bj_rol32(uint32_t w, unsigned s)
{
	return (w << s) | (w >> (32 - s));
}

#define BJ_JHASH_MIX(a, b, c)                                                                            \
	do {                                                                                             \
		a -= c; a ^= bj_rol32(c, 4);  c += b;                                                    \
		b -= a; b ^= bj_rol32(a, 6);  a += c;                                                    \
		c -= b; c ^= bj_rol32(b, 8);  b += a;                                                    \
		a -= c; a ^= bj_rol32(c, 16); c += b;                                                    \
		b -= a; b ^= bj_rol32(a, 19); a += c;                                                    \
		c -= b; c ^= bj_rol32(b, 4);  b += a;                                                    \
	} while (0)

#define BJ_JHASH_FINAL(a, b, c)                                                                          \
	do {                                                                                             \
		c ^= b; c -= bj_rol32(b, 14);                                                            \
		a ^= c; a -= bj_rol32(c, 11);                                                            \
		b ^= a; b -= bj_rol32(a, 25);                                                            \
		c ^= b; c -= bj_rol32(b, 16);                                                            \
		a ^= c; a -= bj_rol32(c, 4);                                                             \
		b ^= a; b -= bj_rol32(a, 14);                                                            \
		c ^= b; c -= bj_rol32(b, 24);                                                            \
	} while (0)

static inline uint32_t bj_get32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, 4);
	return v;
}

static inline uint32_t bj_jhash(const void *key, uint32_t length, uint32_t initval)
{
	const uint8_t *k = key;
	uint32_t a, b, c;

	a = b = c = BJ_JHASH_INITVAL + length + initval;
	while (length > 12) {
		a += bj_get32(k);
		b += bj_get32(k + 4);
		c += bj_get32(k + 8);
		BJ_JHASH_MIX(a, b, c);
		length -= 12;
		k += 12;
	}
	switch (length) {
	case 12: c += (uint32_t)k[11] << 24; /* fall through */
	case 11: c += (uint32_t)k[10] << 16; /* fall through */
	case 10: c += (uint32_t)k[9] << 8;   /* fall through */
	case 9:  c += k[8];                  /* fall through */
	case 8:  b += (uint32_t)k[7] << 24;  /* fall through */
	case 7:  b += (uint32_t)k[6] << 16;  /* fall through */
	case 6:  b += (uint32_t)k[5] << 8;   /* fall through */
	case 5:  b += k[4];                  /* fall through */
	case 4:  a += (uint32_t)k[3] << 24;  /* fall through */
	case 3:  a += (uint32_t)k[2] << 16;  /* fall through */
	case 2:  a += (uint32_t)k[1] << 8;   /* fall through */
	case 1:  a += k[0];
		BJ_JHASH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

/* jhash2: `length` 32-bit words. */
static inline uint32_t bj_jhash2(const uint8_t *k, uint32_t length, uint32_t initval)
{
	uint32_t a, b, c;

	a = b = c = BJ_JHASH_INITVAL + (length << 2) + initval;
	while (length > 3) {
		a += bj_get32(k);
		b += bj_get32(k + 4);
		c += bj_get32(k + 8);
		BJ_JHASH_MIX(a, b, c);
		length -= 3;
		k += 12;
	}
	switch (length) {
	case 3: c += bj_get32(k + 8); /* fall through */
	case 2: b += bj_get32(k + 4); /* fall through */
	case 1: a += bj_get32(k);
		BJ_JHASH_FINAL(a, b, c);
		break;
	default:
		break;
	}
	return c;
}

/* htab_map_hash */
static inline uint32_t bj_htab_hash(const void *key, uint32_t key_len, uint32_t seed)
{
	if ((key_len & 3) == 0)
		return bj_jhash2(key, key_len / 4, seed);
	return bj_jhash(key, key_len, seed);
}

#endif
