/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_XDP through libxdp's xsk API: one umem and one socket per queue. Received frames point into the
 * umem (each chunk is a frame: 256 bytes of headroom, then the packet, then room to grow), so no copy is
 * made on receive, and a frame sent back out of the same socket leaves without a copy too.
 *
 * Every chunk is always in exactly one place: the fill ring or the kernel, the RX ring, a batch, the TX
 * ring or the kernel, the completion ring, or the free stack. Clearing a batch moves its chunks to the
 * fill ring; completions move them to the free stack, which feeds copies for TX and the fill ring.
 */
#include "io/io.h"
#include "common/lowmem.h"

#include <errno.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <xdp/xsk.h>

struct xsk_io {
	struct bj_io io;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint8_t *area;
	size_t area_len;
	uint32_t frame_sz, nframes;
	uint64_t *free;             /* chunk addresses */
	uint32_t nfree;
	uint32_t ifindex, queue;
	int wait_ms;
};

static struct xsk_io *to_xsk(struct bj_io *io)
{
	return (struct xsk_io *)io;
}

static uint64_t chunk_of(const struct xsk_io *x, uint64_t addr)
{
	return addr - addr % x->frame_sz;
}

static void xsk_close(struct bj_io *io)
{
	struct xsk_io *x = to_xsk(io);

	xsk_socket__delete(x->xsk);
	if (x->umem)
		xsk_umem__delete(x->umem);
	if (x->area)
		munmap(x->area, x->area_len);
	free(x->free);
	free(x);
}

static void refill(struct xsk_io *x)
{
	uint32_t n = xsk_prod_nb_free(&x->fill, x->nfree), idx;

	n = n < x->nfree ? n : x->nfree;
	if (!n || xsk_ring_prod__reserve(&x->fill, n, &idx) != n)
		return;
	for (uint32_t i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&x->fill, idx + i) = x->free[--x->nfree];
	xsk_ring_prod__submit(&x->fill, n);
}

static void reclaim_completions(struct xsk_io *x)
{
	uint32_t idx, n = xsk_ring_cons__peek(&x->comp, x->nframes, &idx);

	for (uint32_t i = 0; i < n; i++)
		x->free[x->nfree++] = chunk_of(x, *xsk_ring_cons__comp_addr(&x->comp, idx + i));
	xsk_ring_cons__release(&x->comp, n);
}

static int create_umem(struct xsk_io *x, uint32_t ring, const char *ifname, bool below_4g, struct bj_error *err)
{
	struct xsk_umem_config cfg = {
		.fill_size = ring,
		.comp_size = ring,
		.frame_size = x->frame_sz,
		.frame_headroom = 0,
	};
	int ret;

	/* As many chunks again as the fill ring holds: for frames in batches and copies on their way out. */
	x->nframes = 2 * ring;
	x->area_len = (size_t)x->nframes * x->frame_sz;
	x->area = mmap(NULL, x->area_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | (below_4g ? MAP_32BIT : 0), -1, 0);
	if (x->area != MAP_FAILED && below_4g && !bj_lowmem_fits(x->area, x->area_len)) {
		munmap(x->area, x->area_len);
		errno = ENOMEM;
		x->area = MAP_FAILED;
	}
	if (x->area == MAP_FAILED) {
		x->area = NULL;
		return bj_fail(err, errno, -1, -1, "af_xdp: %s: umem of %zu bytes: %s", ifname, x->area_len,
			       strerror(errno));
	}
	x->free = calloc(x->nframes, sizeof(*x->free));
	if (!x->free)
		return bj_fail(err, ENOMEM, -1, -1, "af_xdp: out of memory");
	for (uint32_t i = 0; i < x->nframes; i++)
		x->free[x->nfree++] = (uint64_t)(x->nframes - 1 - i) * x->frame_sz;
	ret = xsk_umem__create(&x->umem, x->area, x->area_len, &x->fill, &x->comp, &cfg);
	if (ret) {
		x->umem = NULL;
		return bj_fail(err, -ret, -1, -1, "af_xdp: %s: umem: %s", ifname, strerror(-ret));
	}
	return 0;
}

static uint32_t xdp_flags(enum bj_io_xdp_mode mode)
{
	return mode == BJ_IO_XDP_NATIVE ? XDP_FLAGS_DRV_MODE : mode == BJ_IO_XDP_SKB ? XDP_FLAGS_SKB_MODE : 0;
}

static uint16_t bind_flags(enum bj_io_copy_mode mode)
{
	uint16_t copy = mode == BJ_IO_COPY_FORCE ? XDP_COPY : mode == BJ_IO_ZEROCOPY_FORCE ? XDP_ZEROCOPY : 0;

	return copy | XDP_USE_NEED_WAKEUP;
}

static bool query_zerocopy(struct xsk_io *x)
{
	struct xdp_options o = { 0 };
	socklen_t len = sizeof(o);

	return !getsockopt(xsk_socket__fd(x->xsk), SOL_XDP, XDP_OPTIONS, &o, &len) && (o.flags & XDP_OPTIONS_ZEROCOPY);
}

static int create_socket(struct xsk_io *x, const struct bj_io_opts *opts, uint32_t ring, const char *ifname,
			 struct bj_error *err)
{
	struct xsk_socket_config cfg = {
		.rx_size = ring,
		.tx_size = ring,
		.xdp_flags = xdp_flags(BJ_OPTS_GET(opts, xdp_mode, BJ_IO_XDP_AUTO)),
		.bind_flags = bind_flags(BJ_OPTS_GET(opts, copy_mode, BJ_IO_COPY_AUTO)),
	};
	int ret = xsk_socket__create(&x->xsk, ifname, x->queue, x->umem, &x->rx, &x->tx, &cfg);

	if (ret) {
		x->xsk = NULL;
		return bj_fail(err, -ret, -1, -1, "af_xdp: %s queue %u: socket: %s%s", ifname, x->queue, strerror(-ret),
			       ret == -EOPNOTSUPP ? " (zero-copy or this XDP mode is not supported by the driver)" : "");
	}
	x->io.zerocopy = query_zerocopy(x);
	refill(x);
	return 0;
}

static int xsk_open(const struct bj_io_opts *opts, struct bj_io **out, struct bj_error *err)
{
	const char *ifname = BJ_OPTS_GET(opts, ifname, NULL);
	uint32_t ring = bj_io_ring_size(opts);
	struct xsk_io *x;
	int ret;

	if (!ifname)
		return bj_fail(err, EINVAL, -1, -1, "af_xdp: no interface name");
	if (ring & (ring - 1))
		return bj_fail(err, EINVAL, -1, -1, "af_xdp: ring size %u is not a power of two", ring);
	x = calloc(1, sizeof(*x));
	if (!x)
		return bj_fail(err, ENOMEM, -1, -1, "af_xdp: out of memory");
	x->io.ops = &bj_io_af_xdp_ops;
	x->frame_sz = bj_io_frame_size(opts);
	x->ifindex = if_nametoindex(ifname);
	x->queue = BJ_OPTS_GET(opts, queue, 0);
	x->wait_ms = BJ_OPTS_GET(opts, rx_wait_ms, 0);
	if (!x->ifindex)
		ret = bj_fail(err, ENODEV, -1, -1, "af_xdp: %s: no such interface", ifname);
	else if (x->frame_sz & (x->frame_sz - 1) || x->frame_sz < 2048 || x->frame_sz > 4096)
		ret = bj_fail(err, EINVAL, -1, -1, "af_xdp: frame size %u is not 2048 or 4096", x->frame_sz);
	else if (!(ret = create_umem(x, ring, ifname, BJ_OPTS_GET(opts, below_4g, false), err)))
		ret = create_socket(x, opts, ring, ifname, err);
	if (ret) {
		xsk_close(&x->io);
		return ret;
	}
	*out = &x->io;
	return 0;
}

static int kick_rx(struct xsk_io *x)
{
	if (xsk_ring_prod__needs_wakeup(&x->fill) &&
	    recvfrom(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 && errno != EAGAIN &&
	    errno != EBUSY && errno != ENOBUFS)
		return -errno;
	return 0;
}

static void take_descs(struct xsk_io *x, struct bj_batch *b, uint32_t idx, uint32_t n)
{
	uint64_t now = bj_io_now_ns();

	for (uint32_t i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&x->rx, idx + i);
		uint64_t chunk = chunk_of(x, d->addr);
		uint32_t data = (uint32_t)(d->addr - chunk);
		struct bj_frame *f = &b->frames[b->n++];

		*f = (struct bj_frame){
			.buf = x->area + chunk,
			.buf_sz = x->frame_sz,
			.data = data,
			.data_end = data + d->len,
			.data_meta = data,
			.ingress_ifindex = x->ifindex,
			.rx_queue_index = x->queue,
			.ts_ns = now,
			.owner = &x->io,
			.cookie = chunk,
		};
	}
	xsk_ring_cons__release(&x->rx, n);
}

static int xsk_rx(struct bj_io *io, struct bj_batch *b, struct bj_error *err)
{
	struct xsk_io *x = to_xsk(io);
	uint32_t idx, n;
	int ret;

	reclaim_completions(x);
	refill(x);
	n = xsk_ring_cons__peek(&x->rx, b->cap, &idx);
	if (!n) {
		ret = kick_rx(x);
		if (!ret)
			ret = bj_io_wait(xsk_socket__fd(x->xsk), x->wait_ms);
		if (ret < 0)
			return bj_fail(err, -ret, -1, -1, "af_xdp: waiting for frames: %s", strerror(-ret));
		n = xsk_ring_cons__peek(&x->rx, b->cap, &idx);
	}
	take_descs(x, b, idx, n);
	return (int)n;
}

static void xsk_release(struct bj_io *io, struct bj_frame *frames, uint32_t n)
{
	struct xsk_io *x = to_xsk(io);

	for (uint32_t i = 0; i < n; i++)
		if (!(frames[i].flags & BJ_FRAME_F_TAKEN))
			x->free[x->nfree++] = frames[i].cookie;
	refill(x);
}

static bool owns(const struct xsk_io *x, const struct bj_frame *f)
{
	return f->owner == &x->io && !(f->flags & BJ_FRAME_F_TAKEN);
}

/* How many frames (from the front) one TX call consumes, and how many ring slots they need. */
static uint32_t plan_tx(struct xsk_io *x, struct bj_frame *const *frames, uint32_t n, uint32_t *slots)
{
	uint32_t room = xsk_prod_nb_free(&x->tx, n), copies = x->nfree, max = x->frame_sz - BJ_IO_HEADROOM, m;

	*slots = 0;
	for (m = 0; m < n; m++) {
		if (bj_frame__len(frames[m]) > max && !owns(x, frames[m]))
			continue; /* dropped as a TX error */
		if (*slots == room || (!owns(x, frames[m]) && !copies))
			break;
		if (!owns(x, frames[m]))
			copies--;
		++*slots;
	}
	return m;
}

static int kick_tx(struct xsk_io *x)
{
	/* Copy mode never sends on its own: it always wants the kick. */
	if ((!x->io.zerocopy || xsk_ring_prod__needs_wakeup(&x->tx)) &&
	    sendto(xsk_socket__fd(x->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN &&
	    errno != EBUSY && errno != ENOBUFS && errno != ENETDOWN)
		return -errno;
	return 0;
}

static int xsk_tx(struct bj_io *io, struct bj_frame *const *frames, uint32_t n, struct bj_error *err)
{
	struct xsk_io *x = to_xsk(io);
	uint32_t slots, idx = 0, used = 0, m;
	int ret;

	reclaim_completions(x);
	m = plan_tx(x, frames, n, &slots);
	if (slots && xsk_ring_prod__reserve(&x->tx, slots, &idx) != slots)
		return bj_fail(err, EAGAIN, -1, -1, "af_xdp: TX ring changed under us");
	for (uint32_t i = 0; i < m; i++) {
		struct bj_frame *f = frames[i];
		struct xdp_desc *d;
		uint32_t len = bj_frame__len(f);

		if (!owns(x, f) && len > x->frame_sz - BJ_IO_HEADROOM) {
			io->stats.tx_errors++;
			continue;
		}
		d = xsk_ring_prod__tx_desc(&x->tx, idx + used++);
		if (owns(x, f)) {
			d->addr = f->cookie + f->data;
			f->flags |= BJ_FRAME_F_TAKEN;
		} else {
			uint64_t chunk = x->free[--x->nfree];

			memcpy(x->area + chunk + BJ_IO_HEADROOM, bj_frame__data(f), len);
			d->addr = chunk + BJ_IO_HEADROOM;
		}
		d->len = len;
		d->options = 0;
	}
	xsk_ring_prod__submit(&x->tx, used);
	ret = used ? kick_tx(x) : 0;
	if (ret)
		return bj_fail(err, -ret, -1, -1, "af_xdp: send: %s", strerror(-ret));
	return (int)m;
}

static int xsk_flush(struct bj_io *io)
{
	struct xsk_io *x = to_xsk(io);
	int ret = kick_tx(x);

	reclaim_completions(x);
	refill(x);
	return ret;
}

static void xsk_stats(struct bj_io *io, struct bj_io_stats *st)
{
	struct xsk_io *x = to_xsk(io);
	struct xdp_statistics ks = { 0 };
	socklen_t len = sizeof(ks);

	/* rx_fill_ring_empty_descs is not added: those drops are counted in rx_dropped already. */
	if (!getsockopt(xsk_socket__fd(x->xsk), SOL_XDP, XDP_STATISTICS, &ks, &len)) {
		st->rx_dropped += ks.rx_dropped + ks.rx_ring_full + ks.rx_invalid_descs;
		st->tx_errors += ks.tx_invalid_descs;
	}
}

static int xsk_fd(const struct bj_io *io)
{
	return xsk_socket__fd(((const struct xsk_io *)io)->xsk);
}

const struct bj_io_ops bj_io_af_xdp_ops = {
	.name = "af_xdp",
	.open = xsk_open,
	.rx_batch = xsk_rx,
	.tx_batch = xsk_tx,
	.release = xsk_release,
	.flush = xsk_flush,
	.close = xsk_close,
	.stats = xsk_stats,
	.fd = xsk_fd,
};
