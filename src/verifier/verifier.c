/* SPDX-License-Identifier: Apache-2.0 */
/* PLACEHOLDER until the verifier lands: validates the instructions only. Not to be committed as done. */
#include <bpfjet/verifier.h>

#include <errno.h>

#include "common/common.h"

int bj_verify(const struct bj_insn *insns, size_t n, const struct bj_verifier_opts *opts,
	      struct bj_verifier_stats *stats, struct bj_error *err)
{
	if (!BJ_OPTS_VALID(opts, struct bj_verifier_opts))
		return bj_fail(err, EINVAL, -1, -1, "bj_verifier_opts: unknown non-zero fields");
	if (stats)
		*stats = (struct bj_verifier_stats){ 0 };
	return bj_insns_validate(insns, n, err);
}
