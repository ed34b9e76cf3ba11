/* SPDX-License-Identifier: Apache-2.0 */
/* Any bytes as a pcap or pcapng file: reading them (and writing what was read) must not crash or leak. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfjet/io.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* 2048-byte frames make the multi-buffer refusal reachable with small inputs. */
	BJ_OPTS(bj_batch_opts, bopts, .frame_sz = 2048);
	struct bj_error err = { 0 }, again = { 0 };
	struct bj_batch *b = NULL;
	struct bj_io *in = NULL, *out = NULL;
	FILE *stream;
	int ret;

	if (!size)
		return 0;
	stream = fmemopen((void *)data, size, "rb");
	if (!stream)
		return 0;
	BJ_OPTS(bj_io_opts, iopts, .pcap_in_stream = stream);
	BJ_OPTS(bj_io_opts, oopts, .pcap_out = "/dev/null");
	if (bj_io__open(BJ_IO_PCAP, &iopts, &in, &err) || bj_io__open(BJ_IO_PCAP, &oopts, &out, &err) ||
	    bj_batch__create(16, &bopts, &b))
		goto out;
	while ((ret = bj_io__rx(in, b, &err)) > 0) {
		struct bj_frame *ptrs[16];

		for (uint32_t i = 0; i < b->n; i++) {
			if (b->frames[i].data_end > b->frames[i].buf_sz)
				abort();
			ptrs[i] = &b->frames[i];
		}
		if (bj_io__tx(out, ptrs, b->n, &err) != (int)b->n)
			abort();
	}
	/* An error stays: the next call must say the same. */
	if (ret != -ENODATA && (bj_io__rx(in, b, &again) != ret || strcmp(again.msg, err.msg)))
		abort();
out:
	bj_batch__destroy(b);
	bj_io__destroy(out);
	bj_io__destroy(in);
	return 0;
}
