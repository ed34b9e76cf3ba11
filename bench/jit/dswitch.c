/* SPDX-License-Identifier: Apache-2.0 */
/* A dense switch driving a small state machine over 2048 pseudo-random inputs. */
#include "bench_prog.h"

BENCH_PROG(dswitch)
{
	volatile u32 seed = 4242;
	u32 s = seed, state = 0, acc = 0;

	(void)ctx;
	for (int i = 0; i < 2048; i++) {
		u32 in = xorshift32(&s);
		switch ((state + in) & 15) {
		case 0: acc += in; state = 3; break;
		case 1: acc ^= in >> 3; state = 7; break;
		case 2: acc -= in & 0xff; state = 1; break;
		case 3: acc += acc >> 5; state = 12; break;
		case 4: acc *= 3; state = 9; break;
		case 5: acc ^= 0x5a5a5a5a; state = 2; break;
		case 6: acc += 17; state = 14; break;
		case 7: acc = (acc << 1) | (acc >> 31); state = 5; break;
		case 8: acc -= 99; state = 0; break;
		case 9: acc ^= in; state = 11; break;
		case 10: acc += in >> 16; state = 6; break;
		case 11: acc = ~acc; state = 8; break;
		case 12: acc += 1; state = 15; break;
		case 13: acc ^= acc << 7; state = 4; break;
		case 14: acc -= in >> 9; state = 10; break;
		default: acc += state; state = 13; break;
		}
	}
	return (int)acc;
}
