/* SPDX-License-Identifier: Apache-2.0 */
/* Batches, and the backend-independent half of an io handle (dispatch, sticky rx errors, counters). */
#include "io/io.h"
#include "io/io_config.h"
#include "common/lowmem.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <time.h>

static bool frame_size_ok(uint32_t sz)
{
	return sz >= 2048 && sz <= 65536 && sz % 64 == 0;
}

static size_t arena_size(uint32_t cap, uint32_t frame_sz)
{
	return (size_t)cap * (frame_sz + BJ_IO_FRAME_GAP);
}

int bj_batch__create(uint32_t cap, const struct bj_batch_opts *opts, struct bj_batch **out)
{
	uint32_t frame_sz = BJ_OPTS_GET(opts, frame_sz, 0) ? BJ_OPTS_GET(opts, frame_sz, 0) : BJ_IO_FRAME_SIZE;
	struct bj_batch *b;

	if (!out || !BJ_OPTS_VALID(opts, struct bj_batch_opts) || !frame_size_ok(frame_sz) || cap > 65536)
		return -EINVAL;
	if (!cap)
		cap = BJ_IO_BATCH_SIZE;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	b->cap = cap;
	b->frame_sz = frame_sz;
	b->frames = calloc(cap, sizeof(*b->frames));
	b->arena_low = BJ_OPTS_GET(opts, below_4g, false);
	if (b->arena_low)
		b->arena = bj_lowmem_alloc(arena_size(cap, frame_sz));
	/* Page-aligned, so that frames never share a cache line. */
	if (!b->frames ||
	    (b->arena_low ? !b->arena : posix_memalign((void **)&b->arena, 4096, arena_size(cap, frame_sz)))) {
		free(b->frames);
		free(b);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < cap; i++)
		bj_batch_frame_reset(b, i);
	*out = b;
	return 0;
}

void bj_batch_frame_reset(struct bj_batch *b, uint32_t i)
{
	struct bj_frame *f = &b->frames[i];

	*f = (struct bj_frame){
		.buf = b->arena + (size_t)i * (b->frame_sz + BJ_IO_FRAME_GAP),
		.buf_sz = b->frame_sz,
		.data = BJ_IO_HEADROOM,
		.data_end = BJ_IO_HEADROOM,
		.data_meta = BJ_IO_HEADROOM,
	};
}

void bj_batch__clear(struct bj_batch *b)
{
	uint32_t i = 0;

	if (!b)
		return;
	/* Frames of one backend are usually contiguous: hand them back in runs. */
	while (i < b->n) {
		struct bj_io *owner = b->frames[i].owner;
		uint32_t j = i + 1;

		while (j < b->n && b->frames[j].owner == owner)
			j++;
		if (owner && owner->ops->release)
			owner->ops->release(owner, &b->frames[i], j - i);
		i = j;
	}
	b->n = 0;
}

void bj_batch__destroy(struct bj_batch *b)
{
	if (!b)
		return;
	bj_batch__clear(b);
	if (b->arena_low)
		bj_lowmem_free(b->arena, arena_size(b->cap, b->frame_sz));
	else
		free(b->arena);
	free(b->frames);
	free(b);
}

static const struct bj_io_ops *backend(enum bj_io_kind kind)
{
	switch (kind) {
	case BJ_IO_PCAP:
		return BJ_HAVE_PCAP ? &bj_io_pcap_ops : NULL;
	case BJ_IO_AF_PACKET:
		return &bj_io_af_packet_ops;
	case BJ_IO_AF_XDP:
		return BJ_HAVE_AF_XDP ? &bj_io_af_xdp_ops : NULL;
	}
	return NULL;
}

int bj_io__open(enum bj_io_kind kind, const struct bj_io_opts *opts, struct bj_io **out, struct bj_error *err)
{
	const struct bj_io_ops *ops;
	struct bj_io *io = NULL;
	int ret;

	if (!out)
		return bj_fail(err, EINVAL, -1, -1, "io: no place for the handle");
	*out = NULL;
	if (!BJ_OPTS_VALID(opts, struct bj_io_opts))
		return bj_fail(err, EINVAL, -1, -1, "io: options carry unknown non-zero fields");
	if ((unsigned)kind > BJ_IO_AF_XDP)
		return bj_fail(err, EINVAL, -1, -1, "io: unknown backend %d", (int)kind);
	ops = backend(kind);
	if (!ops)
		return bj_fail(err, EOPNOTSUPP, -1, -1, "io: backend %d was not built (its library is missing)",
			       (int)kind);
	ret = ops->open(opts, &io, err);
	if (ret)
		return ret;
	io->ops = ops;
	io->kind = kind;
	io->stats.sz = sizeof(io->stats);
	*out = io;
	return 0;
}

void bj_io__destroy(struct bj_io *io)
{
	if (io)
		io->ops->close(io);
}

int bj_io__rx(struct bj_io *io, struct bj_batch *b, struct bj_error *err)
{
	int ret;

	if (!io || !b)
		return bj_fail(err, EINVAL, -1, -1, "io: rx without an io or a batch");
	bj_batch__clear(b);
	if (io->rx_error) {
		if (err)
			*err = io->rx_err;
		return io->rx_error;
	}
	ret = io->ops->rx_batch(io, b, err);
	for (uint32_t i = 0; i < b->n; i++)
		io->stats.rx_bytes += bj_frame__len(&b->frames[i]);
	io->stats.rx_packets += b->n;
	if (ret >= 0 || ret == -ENODATA)
		return ret;
	/* Sticky, so that a loop which stops at the first error sees the frames before it, then the error. */
	io->rx_error = ret;
	if (err)
		io->rx_err = *err;
	else
		bj_fail(&io->rx_err, -ret, -1, -1, "io: receive failed");
	return b->n ? (int)b->n : ret;
}

int bj_io__tx(struct bj_io *io, struct bj_frame *const *frames, uint32_t n, struct bj_error *err)
{
	int ret;

	if (!io || (n && !frames))
		return bj_fail(err, EINVAL, -1, -1, "io: tx without an io or frames");
	if (!io->ops->tx_batch)
		return bj_fail(err, EOPNOTSUPP, -1, -1, "io: %s cannot transmit", io->ops->name);
	ret = io->ops->tx_batch(io, frames, n, err);
	for (int i = 0; i < ret; i++)
		io->stats.tx_bytes += bj_frame__len(frames[i]);
	if (ret > 0)
		io->stats.tx_packets += (uint64_t)ret;
	return ret;
}

int bj_io__flush(struct bj_io *io)
{
	if (!io)
		return -EINVAL;
	return io->ops->flush ? io->ops->flush(io) : 0;
}

int bj_io__stats(struct bj_io *io, struct bj_io_stats *st)
{
	struct bj_io_stats all;

	if (!io || !st || st->sz < sizeof(size_t))
		return -EINVAL;
	all = io->stats;
	if (io->ops->stats)
		io->ops->stats(io, &all);
	/* A caller built against an older header gets the fields it knows. */
	memcpy((char *)st + sizeof(size_t), (char *)&all + sizeof(size_t),
	       (st->sz < sizeof(all) ? st->sz : sizeof(all)) - sizeof(size_t));
	return 0;
}

enum bj_io_kind bj_io__kind(const struct bj_io *io)
{
	return io->kind;
}

int bj_io__fd(const struct bj_io *io)
{
	return io && io->ops->fd ? io->ops->fd(io) : -1;
}

bool bj_io__zerocopy(const struct bj_io *io)
{
	return io && io->zerocopy;
}

uint32_t bj_io_ring_size(const struct bj_io_opts *opts)
{
	uint32_t n = BJ_OPTS_GET(opts, ring_size, 0);

	return n ? n : 2048;
}

uint32_t bj_io_frame_size(const struct bj_io_opts *opts)
{
	uint32_t n = BJ_OPTS_GET(opts, frame_sz, 0);

	return n ? n : BJ_IO_FRAME_SIZE;
}

int bj_io_wait(int fd, int wait_ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int ret;

	if (!wait_ms)
		return 0;
	do
		ret = poll(&p, 1, wait_ms < 0 ? -1 : wait_ms);
	while (ret < 0 && errno == EINTR);
	return ret < 0 ? -errno : ret > 0;
}

uint64_t bj_io_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
