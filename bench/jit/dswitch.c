/* SPDX-License-Identifier: Apache-2.0 */
/* A dense switch driving a small state machine over 512 pseudo-random inputs. The next state
 * comes from the input, so the kernel verifier sees the same unknown state after every case and can prune. */
#include "bench_prog.h"

BENCH_PROG(dswitch)
{
	volatile u32 seed = 4242;
	u32 s = seed, state = 0, acc = 0;

	(void)ctx;
	for (int i = 0; i < 512; i++) {
		u32 in = xorshift32(&s);
		switch ((state + in) & 15) {
		case 0: acc += in; state = (in >> 3) & 15; break;
		case 1: acc ^= in >> 3; state = (in >> 6) & 15; break;
		case 2: acc -= in & 0xff; state = (in >> 9) & 15; break;
		case 3: acc += acc >> 5; state = (in >> 12) & 15; break;
		case 4: acc *= 3; state = (in >> 15) & 15; break;
		case 5: acc ^= 0x5a5a5a5a; state = (in >> 18) & 15; break;
		case 6: acc += 17; state = (in >> 21) & 15; break;
		case 7: acc = (acc << 1) | (acc >> 31); state = (in >> 24) & 15; break;
		case 8: acc -= 99; state = (in >> 27) & 15; break;
		case 9: acc ^= in; state = (in >> 1) & 15; break;
		case 10: acc += in >> 16; state = (in >> 4) & 15; break;
		case 11: acc = ~acc; state = (in >> 7) & 15; break;
		case 12: acc += 1; state = (in >> 10) & 15; break;
		case 13: acc ^= acc << 7; state = (in >> 13) & 15; break;
		case 14: acc -= in >> 9; state = (in >> 16) & 15; break;
		default: acc += state; state = (in >> 19) & 15; break;
		}
	}
	return (int)acc;
}
