/* SPDX-License-Identifier: Apache-2.0 */
/* The helpers module inside: Linux's checksum arithmetic and bpf_trace_printk's formatter. */
#ifndef BJ_HELPERS_INT_H
#define BJ_HELPERS_INT_H

#include <stddef.h>
#include <stdint.h>

/* Linux's csum_partial as x86-64 computes it (arch/x86/lib/csum-partial_64.c): the same 32-bit value. */
uint32_t bj_csum_partial(const void *buf, uint32_t len, uint32_t sum);
/* include/net/checksum.h: one's complement subtraction and the 32- to 16-bit fold. */
uint32_t bj_csum_sub(uint32_t a, uint32_t b);
uint16_t bj_csum_from32to16(uint32_t sum);

struct bj_run;

/* At the end of a run: discards the ring buffer records it still holds and releases a held spin lock. */
void bj_helpers_run_end(struct bj_run *run);

/*
 * Formats a bpf_trace_printk message into out (cap bytes, NUL-terminated, cut if need be). Returns the
 * length the whole message has, or -EINVAL for a format Linux refuses. In checked runs a %s string is
 * read only within the run's memory.
 */
int bj_trace_format(const char *fmt, uint32_t fmt_size, const uint64_t args[3], const struct bj_run *run, char *out,
		    size_t cap);

#endif
