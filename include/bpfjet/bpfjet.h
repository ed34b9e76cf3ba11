/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet: a user-space eBPF and XDP runtime.
 *
 * Conventions shared by every module:
 *  - handles are opaque; constructors return 0 or -errno and hand the object back through an out-parameter;
 *  - getters return borrowed pointers that live as long as their parent;
 *  - bj_<obj>__destroy(NULL) does nothing;
 *  - anything that may grow takes a `const struct bj_<x>_opts *` (NULL = defaults) built with BJ_OPTS(),
 *    whose first member is its size; non-zero bytes the library does not know give -EINVAL.
 */
#ifndef BPFJET_BPFJET_H
#define BPFJET_BPFJET_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define BJ_API __attribute__((visibility("default")))

/* Declares `struct TYPE NAME`, zeroed (padding included), with .sz set and the given fields. */
#define BJ_OPTS(TYPE, NAME, ...)                                                   \
	struct TYPE NAME = ({                                                      \
		memset(&NAME, 0, sizeof(struct TYPE));                             \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };           \
	})

/* Where a failure happened and why, for functions that can name an instruction or a byte offset. */
struct bj_error {
	long insn;       /* instruction index, or -1 */
	long offset;     /* byte offset in the input, or -1 */
	char msg[256];
};

BJ_API const char *bj_version(void);

#endif
