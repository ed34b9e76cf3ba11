/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The compute programs of bench_jit. Each file is built twice: with `clang -O2 -target bpf` into an XDP
 * section (run by the bpfjet JIT and by the kernel's JIT) and natively with -O2 (the baseline). Programs use
 * only the stack: no maps, no global data, so their instructions run without relocation. The seed is a
 * volatile stack slot so that no compiler folds the work away.
 */
#ifndef BENCH_PROG_H
#define BENCH_PROG_H

typedef __UINT8_TYPE__ u8;
typedef __UINT16_TYPE__ u16;
typedef __UINT32_TYPE__ u32;
typedef __UINT64_TYPE__ u64;

#ifdef __bpf__
#define BENCH_PROG(name) __attribute__((section("xdp"), used)) int name(void *ctx)
#elif defined(BENCH_SCALAR)
/* Native again without vectorisation (the JIT emits scalar code): how much of a gap SIMD alone makes. */
#define BENCH_PROG(name) int bench_scalar_##name(void *ctx)
#else
#define BENCH_PROG(name) int bench_native_##name(void *ctx)
#endif

#define INLINE static inline __attribute__((always_inline))

INLINE u32 xorshift32(u32 *s)
{
	u32 x = *s;
	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*s = x;
	return x;
}

#endif
