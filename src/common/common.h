/* SPDX-License-Identifier: Apache-2.0 */
/* Internal helpers shared by every module. */
#ifndef BJ_COMMON_H
#define BJ_COMMON_H

#include <bpfjet/bpfjet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#define BJ_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BJ_UNUSED __attribute__((unused))
#define BJ_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define BJ_LIKELY(x) __builtin_expect(!!(x), 1)
#define BJ_UNLIKELY(x) __builtin_expect(!!(x), 0)

/*
 * Opts structs start with `size_t sz`. A caller built against a newer header may pass a bigger struct:
 * that is fine as long as every byte we do not know is zero.
 */
bool bj_opts_valid(const void *opts, size_t known_sz);
#define BJ_OPTS_VALID(opts, type) ((opts) == NULL || bj_opts_valid((opts), sizeof(type)))
/* Reads field `f` of an opts struct, or `def` when the caller's struct is too old to have it. */
#define BJ_OPTS_GET(opts, f, def)                                                                        \
	(((opts) && (opts)->sz >= offsetof(__typeof__(*(opts)), f) + sizeof((opts)->f)) ? (opts)->f : (def))

/* A clock in nanoseconds (CLOCK_MONOTONIC for durations). */
static inline uint64_t bj_clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Fills err (if not NULL) and returns -errnum, so callers can `return bj_fail(...)`. */
int bj_fail(struct bj_error *err, int errnum, long insn, long offset, const char *fmt, ...) BJ_PRINTF(5, 6);

#endif
