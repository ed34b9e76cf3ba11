/* SPDX-License-Identifier: Apache-2.0 */
/*
 * AF_PACKET: a TPACKET_V3 block ring for receive and a mapped TX ring (V3 where the kernel takes it, else
 * a second socket with V2). Packets are copied between the rings and the batch: a V3 block is handed back
 * as a whole, so frames cannot point into it without pinning every packet of the block.
 */
#include "io/io.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define RX_BLOCK_SZ (1u << 18)
#define TX_BLOCK_SZ (1u << 16)
/* Hand a partly filled block over after 1 ms, so a slow trickle is not held back. */
#define RX_BLOCK_TIMEOUT_MS 1

struct afp_io {
	struct bj_io io;
	int fd;
	int tx_fd;                  /* fd, or a V2 socket when V3 has no TX ring here */
	uint32_t ifindex, queue;
	int wait_ms;
	uint8_t *rx_ring;
	size_t rx_len;
	uint32_t block_nr, block;   /* the block being read */
	uint8_t *pkt;               /* next packet in it, or NULL: the block is not ours yet */
	uint32_t pkts_left;
	uint8_t *tx_ring;
	size_t tx_len;
	uint32_t tx_frame_sz, tx_frame_nr, tx_head, tx_version;
	uint64_t drops;
};

static struct afp_io *to_afp(struct bj_io *io)
{
	return (struct afp_io *)io;
}

static int sock_opt(int fd, int name, const void *val, socklen_t len)
{
	return setsockopt(fd, SOL_PACKET, name, val, len) ? -errno : 0;
}

static int packet_socket(int version)
{
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0)
		return -errno;
	if (sock_opt(fd, PACKET_VERSION, &version, sizeof(version)) ||
	    sock_opt(fd, PACKET_QDISC_BYPASS, &one, sizeof(one))) {
		int ret = -errno;

		close(fd);
		return ret;
	}
	return fd;
}

static int setup_rx_ring(struct afp_io *a, uint32_t ring_size)
{
	struct tpacket_req3 req = {
		.tp_block_size = RX_BLOCK_SZ,
		.tp_frame_size = 2048,
		.tp_retire_blk_tov = RX_BLOCK_TIMEOUT_MS,
	};

	a->block_nr = (uint32_t)((uint64_t)ring_size * 2048 / RX_BLOCK_SZ);
	a->block_nr = a->block_nr < 2 ? 2 : a->block_nr;
	req.tp_block_nr = a->block_nr;
	req.tp_frame_nr = a->block_nr * (RX_BLOCK_SZ / 2048);
	a->rx_len = (size_t)a->block_nr * RX_BLOCK_SZ;
	return sock_opt(a->fd, PACKET_RX_RING, &req, sizeof(req));
}

static int setup_tx_ring(int fd, int version, struct afp_io *a, uint32_t ring_size)
{
	struct tpacket_req3 req = {
		.tp_block_size = TX_BLOCK_SZ,
		.tp_frame_size = a->tx_frame_sz,
	};

	a->tx_frame_nr = ring_size;
	req.tp_block_nr = (uint32_t)((uint64_t)ring_size * a->tx_frame_sz / TX_BLOCK_SZ);
	req.tp_block_nr = req.tp_block_nr ? req.tp_block_nr : 1;
	req.tp_frame_nr = req.tp_block_nr * (TX_BLOCK_SZ / a->tx_frame_sz);
	a->tx_frame_nr = req.tp_frame_nr;
	a->tx_len = (size_t)req.tp_block_nr * TX_BLOCK_SZ;
	a->tx_version = (uint32_t)version;
	/* V2 takes the first four fields only: the same struct prefix. */
	return sock_opt(fd, PACKET_TX_RING, &req, version == TPACKET_V3 ? sizeof(req) : sizeof(struct tpacket_req));
}

static int bind_to(int fd, uint32_t ifindex, uint16_t proto)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(proto),
		.sll_ifindex = (int)ifindex,
	};

	return bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ? -errno : 0;
}

static void afp_close(struct bj_io *io)
{
	struct afp_io *a = to_afp(io);

	/* One mapping covers the RX ring and, on the same socket, the TX ring behind it. */
	if (a->rx_ring)
		munmap(a->rx_ring, a->rx_len + (a->tx_fd == a->fd ? a->tx_len : 0));
	if (a->tx_ring && (a->tx_fd != a->fd || !a->rx_ring))
		munmap(a->tx_ring, a->tx_len);
	if (a->tx_fd >= 0 && a->tx_fd != a->fd)
		close(a->tx_fd);
	if (a->fd >= 0)
		close(a->fd);
	free(a);
}

static int map_rings(struct afp_io *a, const char *ifname, struct bj_error *err)
{
	bool shared = a->tx_fd == a->fd;
	size_t len = a->rx_len + (shared ? a->tx_len : 0);
	uint8_t *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->fd, 0);

	if (m == MAP_FAILED)
		return bj_fail(err, errno, -1, -1, "af_packet: %s: mapping the rings: %s", ifname, strerror(errno));
	a->rx_ring = a->rx_len ? m : NULL;
	if (shared)
		a->tx_ring = m + a->rx_len;
	if (!shared) {
		a->tx_ring = mmap(NULL, a->tx_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, a->tx_fd, 0);
		if (a->tx_ring == MAP_FAILED) {
			a->tx_ring = NULL;
			return bj_fail(err, errno, -1, -1, "af_packet: %s: mapping the TX ring: %s", ifname,
				       strerror(errno));
		}
	}
	return 0;
}

/* V3 TX rings came with Linux 4.11; older kernels get a V2 socket for sending. */
static int open_tx(struct afp_io *a, uint32_t ring_size)
{
	int ret = setup_tx_ring(a->fd, TPACKET_V3, a, ring_size);

	if (!ret) {
		a->tx_fd = a->fd;
		return 0;
	}
	a->tx_fd = packet_socket(TPACKET_V2);
	if (a->tx_fd < 0)
		return a->tx_fd;
	return setup_tx_ring(a->tx_fd, TPACKET_V2, a, ring_size);
}

static int afp_setup(struct afp_io *a, const struct bj_io_opts *opts, const char *ifname, struct bj_error *err)
{
	uint32_t ring = bj_io_ring_size(opts);
	bool tx_only = BJ_OPTS_GET(opts, tx_only, false);
	uint16_t group = BJ_OPTS_GET(opts, fanout_group, 0);
	int one = 1, ret;

	a->fd = packet_socket(TPACKET_V3);
	if (a->fd < 0)
		return bj_fail(err, -a->fd, -1, -1, "af_packet: %s: socket: %s", ifname, strerror(-a->fd));
	/* XDP sees ingress only; without this the socket would also read what it sends. */
	if (!tx_only && (sock_opt(a->fd, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) ||
			 setup_rx_ring(a, ring)))
		return bj_fail(err, errno, -1, -1, "af_packet: %s: RX ring of %u blocks: %s", ifname, a->block_nr,
			       strerror(errno));
	ret = open_tx(a, ring);
	if (ret)
		return bj_fail(err, -ret, -1, -1, "af_packet: %s: TX ring of %u frames: %s", ifname, ring,
			       strerror(-ret));
	ret = map_rings(a, ifname, err);
	if (ret)
		return ret;
	/* Bound last, so that no packet of another interface slips in before. */
	ret = bind_to(a->fd, a->ifindex, tx_only ? 0 : ETH_P_ALL);
	if (!ret && a->tx_fd != a->fd)
		ret = bind_to(a->tx_fd, a->ifindex, 0);
	if (ret)
		return bj_fail(err, -ret, -1, -1, "af_packet: %s: bind: %s", ifname, strerror(-ret));
	if (group && !tx_only) {
		int arg = group | (int)BJ_OPTS_GET(opts, fanout_mode, 0) << 16;

		if (sock_opt(a->fd, PACKET_FANOUT, &arg, sizeof(arg)))
			return bj_fail(err, errno, -1, -1, "af_packet: %s: fanout group %u: %s", ifname, group,
				       strerror(errno));
	}
	return 0;
}

static int afp_open(const struct bj_io_opts *opts, struct bj_io **out, struct bj_error *err)
{
	const char *ifname = BJ_OPTS_GET(opts, ifname, NULL);
	struct afp_io *a;
	int ret;

	if (!ifname)
		return bj_fail(err, EINVAL, -1, -1, "af_packet: no interface name");
	a = calloc(1, sizeof(*a));
	if (!a)
		return bj_fail(err, ENOMEM, -1, -1, "af_packet: out of memory");
	a->fd = a->tx_fd = -1;
	a->io.ops = &bj_io_af_packet_ops;
	a->ifindex = if_nametoindex(ifname);
	a->queue = BJ_OPTS_GET(opts, queue, 0);
	a->wait_ms = BJ_OPTS_GET(opts, rx_wait_ms, 0);
	a->tx_frame_sz = bj_io_frame_size(opts);
	if (!a->ifindex)
		ret = bj_fail(err, ENODEV, -1, -1, "af_packet: %s: no such interface", ifname);
	else if (a->tx_frame_sz < 2048 || a->tx_frame_sz > TX_BLOCK_SZ || TX_BLOCK_SZ % a->tx_frame_sz)
		ret = bj_fail(err, EINVAL, -1, -1, "af_packet: frame size %u does not divide %u", a->tx_frame_sz,
			      TX_BLOCK_SZ);
	else
		ret = afp_setup(a, opts, ifname, err);
	if (ret) {
		afp_close(&a->io);
		return ret;
	}
	*out = &a->io;
	return 0;
}

static struct tpacket_block_desc *block_desc(struct afp_io *a, uint32_t i)
{
	return (struct tpacket_block_desc *)(a->rx_ring + (size_t)i * RX_BLOCK_SZ);
}

/* The next packet of the ring, or NULL when the kernel still fills the current block. */
static struct tpacket3_hdr *next_packet(struct afp_io *a)
{
	struct tpacket_block_desc *d = block_desc(a, a->block);
	struct tpacket3_hdr *h;

	while (!a->pkt) {
		if (!(__atomic_load_n(&d->hdr.bh1.block_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			return NULL;
		a->pkts_left = d->hdr.bh1.num_pkts;
		a->pkt = (uint8_t *)d + d->hdr.bh1.offset_to_first_pkt;
		if (a->pkts_left)
			break;
		a->pkt = NULL;
		__atomic_store_n(&d->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
		a->block = (a->block + 1) % a->block_nr;
		d = block_desc(a, a->block);
	}
	h = (struct tpacket3_hdr *)a->pkt;
	a->pkt += h->tp_next_offset;
	if (!--a->pkts_left) {
		/* The caller copies h out before the next call: only then may the kernel reuse the block. */
		a->pkt = NULL;
	}
	return h;
}

static void give_back_block(struct afp_io *a)
{
	__atomic_store_n(&block_desc(a, a->block)->hdr.bh1.block_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	a->block = (a->block + 1) % a->block_nr;
}

/* The stack strips an 802.1Q tag before AF_PACKET sees the frame; XDP sees it in place, so put it back. */
static uint32_t copy_packet(const struct tpacket3_hdr *h, uint8_t *to)
{
	const uint8_t *from = (const uint8_t *)h + h->tp_mac;
	uint32_t len = h->tp_snaplen;

	if (!(h->tp_status & TP_STATUS_VLAN_VALID) || len < 12) {
		memcpy(to, from, len);
		return len;
	}
	uint16_t tpid = htons(h->tp_status & TP_STATUS_VLAN_TPID_VALID ? h->hv1.tp_vlan_tpid : ETH_P_8021Q);
	uint16_t tci = htons((uint16_t)h->hv1.tp_vlan_tci);

	memcpy(to, from, 12);
	memcpy(to + 12, &tpid, 2);
	memcpy(to + 14, &tci, 2);
	memcpy(to + 16, from + 12, len - 12);
	return len + 4;
}

static int afp_rx(struct bj_io *io, struct bj_batch *b, struct bj_error *err)
{
	struct afp_io *a = to_afp(io);
	uint32_t room = BJ_IO_MAX_LINEAR(b->frame_sz);
	bool waited = false;

	if (!a->rx_ring)
		return bj_fail(err, EOPNOTSUPP, -1, -1, "af_packet: opened for sending only");
	while (b->n < b->cap) {
		struct tpacket3_hdr *h = next_packet(a);
		bool last = !a->pkt;

		if (!h) {
			int ret;

			if (b->n || waited)
				break;
			ret = bj_io_wait(a->fd, a->wait_ms);
			if (ret <= 0)
				return ret ? bj_fail(err, -ret, -1, -1, "af_packet: poll: %s", strerror(-ret)) : 0;
			waited = true;
			continue;
		}
		/* Bigger than one buffer (a GSO packet, a jumbo frame): not for a single-buffer XDP program. */
		if (h->tp_snaplen + 4 > room || h->tp_snaplen < h->tp_len) {
			a->drops++;
		} else {
			struct bj_frame *f;

			bj_batch_frame_reset(b, b->n);
			f = &b->frames[b->n++];
			f->data_end = f->data + copy_packet(h, f->buf + f->data);
			f->ts_ns = (uint64_t)h->tp_sec * 1000000000ull + h->tp_nsec;
			f->ingress_ifindex = a->ifindex;
			f->rx_queue_index = a->queue;
		}
		if (last)
			give_back_block(a);
	}
	return (int)b->n;
}

/* V2 and V3 TX headers keep status, length and data at different places. */
struct tx_slot {
	volatile uint32_t *status;
	uint32_t *len, *snaplen;
	uint8_t *data;
};

static struct tx_slot tx_slot(struct afp_io *a, uint32_t i)
{
	uint8_t *raw = a->tx_ring + (size_t)i * a->tx_frame_sz;

	if (a->tx_version == TPACKET_V3) {
		struct tpacket3_hdr *h = (struct tpacket3_hdr *)raw;

		return (struct tx_slot){ &h->tp_status, &h->tp_len, &h->tp_snaplen,
					 raw + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)) };
	}
	struct tpacket2_hdr *h = (struct tpacket2_hdr *)raw;

	return (struct tx_slot){ &h->tp_status, &h->tp_len, &h->tp_snaplen,
				 raw + TPACKET_ALIGN(sizeof(struct tpacket2_hdr)) };
}

static uint32_t tx_capacity(struct afp_io *a)
{
	return a->tx_frame_sz - (uint32_t)(tx_slot(a, 0).data - a->tx_ring);
}

static int afp_kick(struct afp_io *a)
{
	/* Without MSG_DONTWAIT the call would wait for every queued frame to leave. */
	if (sendto(a->tx_fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 && errno != EAGAIN && errno != ENOBUFS)
		return -errno;
	return 0;
}

static int afp_tx(struct bj_io *io, struct bj_frame *const *frames, uint32_t n, struct bj_error *err)
{
	struct afp_io *a = to_afp(io);
	uint32_t cap = tx_capacity(a), done = 0;
	int ret;

	for (; done < n; done++) {
		struct tx_slot s = tx_slot(a, a->tx_head);
		uint32_t status = __atomic_load_n(s.status, __ATOMIC_ACQUIRE);
		uint32_t len = bj_frame__len(frames[done]);

		if (status == TP_STATUS_WRONG_FORMAT)
			io->stats.tx_errors++;
		else if (status != TP_STATUS_AVAILABLE)
			break; /* the ring is full */
		if (len > cap) {
			io->stats.tx_errors++;
			__atomic_store_n(s.status, TP_STATUS_AVAILABLE, __ATOMIC_RELEASE);
			continue;
		}
		memcpy(s.data, bj_frame__data(frames[done]), len);
		*s.len = *s.snaplen = len;
		__atomic_store_n(s.status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
		a->tx_head = (a->tx_head + 1) % a->tx_frame_nr;
	}
	ret = done ? afp_kick(a) : 0;
	if (ret)
		return bj_fail(err, -ret, -1, -1, "af_packet: send: %s", strerror(-ret));
	return (int)done;
}

static int afp_flush(struct bj_io *io)
{
	return afp_kick(to_afp(io));
}

static void afp_stats(struct bj_io *io, struct bj_io_stats *st)
{
	struct afp_io *a = to_afp(io);
	struct tpacket_stats_v3 ks = { 0 };
	socklen_t len = sizeof(ks);

	/* The kernel resets its counters on every read: keep the sum. */
	if (a->rx_ring && !getsockopt(a->fd, SOL_PACKET, PACKET_STATISTICS, &ks, &len))
		a->drops += ks.tp_drops;
	st->rx_dropped += a->drops;
}

static int afp_fd(const struct bj_io *io)
{
	return ((const struct afp_io *)io)->fd;
}

const struct bj_io_ops bj_io_af_packet_ops = {
	.name = "af_packet",
	.open = afp_open,
	.rx_batch = afp_rx,
	.tx_batch = afp_tx,
	.flush = afp_flush,
	.close = afp_close,
	.stats = afp_stats,
	.fd = afp_fd,
};
