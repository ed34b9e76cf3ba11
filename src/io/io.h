/* SPDX-License-Identifier: Apache-2.0 */
/* The io module inside: one vtable per backend, and the state every backend shares. */
#ifndef BJ_IO_IO_H
#define BJ_IO_IO_H

#include <bpfjet/io.h>

#include "common/common.h"

struct bj_io_ops {
	const char *name;
	/* Allocates the backend (struct bj_io first) and fills *out; generic fields are set by the caller. */
	int (*open)(const struct bj_io_opts *opts, struct bj_io **out, struct bj_error *err);
	/*
	 * Appends received frames to b (b->n is 0 on entry). Returns b->n, 0 if nothing came, -ENODATA at the
	 * end of input, or -errno with err filled; on an error, the frames already in b are kept.
	 */
	int (*rx_batch)(struct bj_io *io, struct bj_batch *b, struct bj_error *err);
	int (*tx_batch)(struct bj_io *io, struct bj_frame *const *frames, uint32_t n, struct bj_error *err);
	/* Takes back the buffers of frames this backend handed out (never TAKEN ones). */
	void (*release)(struct bj_io *io, struct bj_frame *frames, uint32_t n);
	int (*flush)(struct bj_io *io);
	void (*close)(struct bj_io *io);
	/* Adds what only the kernel knows (drops) to the counters kept in io->stats. */
	void (*stats)(struct bj_io *io, struct bj_io_stats *st);
	int (*fd)(const struct bj_io *io);
};

struct bj_io {
	const struct bj_io_ops *ops;
	enum bj_io_kind kind;
	struct bj_io_stats stats;
	/* An rx error that follows frames already returned: handed out by the next bj_io__rx. */
	int rx_error;
	struct bj_error rx_err;
	bool zerocopy;
};

extern const struct bj_io_ops bj_io_pcap_ops;
extern const struct bj_io_ops bj_io_af_packet_ops;
extern const struct bj_io_ops bj_io_af_xdp_ops;

/* Points frame i of a batch at its own arena slot, data at the headroom, no metadata. */
void bj_batch_frame_reset(struct bj_batch *b, uint32_t i);
/* Live defaults shared by AF_PACKET and AF_XDP. */
uint32_t bj_io_ring_size(const struct bj_io_opts *opts);
uint32_t bj_io_frame_size(const struct bj_io_opts *opts);
/* Waits for fd to become readable as rx_wait_ms says; 1 if it did, 0 if not, -errno. */
int bj_io_wait(int fd, int wait_ms);
uint64_t bj_io_now_ns(void);

#endif
