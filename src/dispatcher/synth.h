/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Synthetic programs for the dispatcher's tests, fuzzer and benchmark: program i returns
 * r1 ^ r2 ^ run ^ BJ_SYNTH_ID(i), so a caller sees both which program ran and that the arguments arrived
 * untouched. Each is 16 bytes at a 16-byte boundary, like JIT output.
 */
#ifndef BJ_DISPATCHER_SYNTH_H
#define BJ_DISPATCHER_SYNTH_H

#include "dispatcher/dispatcher_int.h"

#define BJ_SYNTH_ID(i) (0x5a000000u + (uint32_t)(i))

struct bj_synth {
	struct bj_dualmap map;
	size_t n;
};

static inline int bj_synth_create(struct bj_synth *s, size_t n, const void *near)
{
	int err = bj_dualmap_create(n * 16, near, &s->map);

	if (err)
		return err;
	s->n = n;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = s->map.rw + 16 * i;
		uint32_t id = BJ_SYNTH_ID(i);
		static const uint8_t head[] = {
			0x48, 0x89, 0xf8, /* mov rax, rdi */
			0x48, 0x31, 0xf0, /* xor rax, rsi */
			0x48, 0x31, 0xd0, /* xor rax, rdx */
			0x48, 0x35,       /* xor rax, imm32 */
		};

		memcpy(p, head, sizeof(head));
		memcpy(p + sizeof(head), &id, 4);
		p[15] = 0xc3; /* ret */
	}
	return 0;
}

static inline bj_prog_fn bj_synth_prog(const struct bj_synth *s, size_t i)
{
	return (bj_prog_fn)(void *)(s->map.rx + 16 * i);
}

static inline uint64_t bj_synth_expect(size_t i, void *r1, uint64_t r2, struct bj_run *run)
{
	return (uint64_t)r1 ^ r2 ^ (uint64_t)run ^ BJ_SYNTH_ID(i);
}

static inline void bj_synth_destroy(struct bj_synth *s)
{
	bj_dualmap_destroy(&s->map);
}

#endif
