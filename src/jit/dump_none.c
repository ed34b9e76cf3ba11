/* SPDX-License-Identifier: Apache-2.0 */
/* Built when capstone is missing: dumps are unavailable, everything else works. */
#include <errno.h>

#include "jit/jit.h"

int bj_jit_code_dump(const struct bj_jit_code *code, const struct bj_insn *insns, FILE *out)
{
	(void)code;
	(void)insns;
	(void)out;
	return -EOPNOTSUPP;
}
