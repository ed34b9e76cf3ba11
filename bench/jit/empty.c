/* SPDX-License-Identifier: Apache-2.0 */
/* Returns XDP_PASS at once: the per-run cost of each engine (call, prologue, epilogue, the caller's loop). */
#include "bench_prog.h"

BENCH_PROG(empty)
{
	(void)ctx;
	return 2;
}
