/* SPDX-License-Identifier: Apache-2.0 */
/* Random bytes into the .data reader (and the assembler behind it): never crash or leak. */
#include <stdlib.h>

#include "../tests/lib/datafile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bj_datafile df;
	struct bj_error err;
	struct bj_insn *prog = NULL;
	size_t n;

	if (bj_datafile_parse(data, size, NULL, &df, &err))
		return 0;
	if (!bj_datafile_program(&df, &prog, &n, &err))
		free(prog);
	bj_datafile_free(&df);
	return 0;
}
