/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Packet I/O for the XDP runtime: frames laid out like the kernel's xdp_buff, batches of frames, and
 * backends that fill and drain batches (pcap/pcapng files, AF_PACKET rings, AF_XDP sockets).
 *
 * An io handle is confined to one thread: a live backend serves one queue of one interface, and a runtime
 * with several queues opens one io (and one batch) per worker thread.
 */
#ifndef BPFJET_IO_H
#define BPFJET_IO_H

#include <bpfjet/bpfjet.h>
#include <stdbool.h>
#include <stdio.h>

/* Space guaranteed in front of `data` on receive (XDP_PACKET_HEADROOM). */
#define BJ_IO_HEADROOM 256u
/*
 * Bytes at the end of a frame that the kernel keeps for skb_shared_info (x86-64): a packet may not grow
 * into them, and a received packet must fit in front of them, or it would need a second buffer.
 */
#define BJ_IO_TAILROOM 320u
/* One page, like an AF_XDP umem chunk; the default frame size. */
#define BJ_IO_FRAME_SIZE 4096u
#define BJ_IO_BATCH_SIZE 64u
/*
 * Frames of a batch's arena lie frame_sz + BJ_IO_FRAME_GAP bytes apart. At a page-multiple stride every packet
 * would start at the same page offset: consecutive packets would share an L1 cache set, and a loop over the
 * batch would have each frame's loads wait on the previous frame's stores to the same offset (4K aliasing),
 * which cost the batched mac-swap program a third of its speed in bench_xdp.
 */
#define BJ_IO_FRAME_GAP 64u
/* Largest packet a frame of `frame_sz` bytes holds in one buffer (3520 for a 4096-byte frame). */
#define BJ_IO_MAX_LINEAR(frame_sz) ((frame_sz) - BJ_IO_HEADROOM - BJ_IO_TAILROOM)

struct bj_io;

/*
 * One packet in one buffer. `buf` is data_hard_start; data, data_end and data_meta are offsets into it,
 * so that a program may move them (adjust_head/tail/meta) within [0, buf_sz) and the runtime can turn
 * them into the pointers of an xdp_md. Fields marked (io) belong to the backend that filled the frame.
 */
struct bj_frame {
	uint8_t *buf;
	uint32_t buf_sz;            /* frame_sz: bounds tail growth */
	uint32_t data;
	uint32_t data_end;
	uint32_t data_meta;         /* == data: no metadata */
	uint32_t ingress_ifindex;
	uint32_t rx_queue_index;
	uint32_t action;            /* the verdict for this frame (enum xdp_action), set by the runtime */
	uint32_t cut_len;           /* bytes the capture cut off (pcap snaplen); 0 for live frames */
	uint64_t ts_ns;             /* receive time, ns since the epoch (pcap) or CLOCK_REALTIME (live) */
	uint64_t user;              /* free for the runtime, e.g. the redirect target of this frame */
	struct bj_io *owner;        /* (io) the backend whose memory holds buf, or NULL: the batch's own */
	uint64_t cookie;            /* (io) the backend's reference to the buffer */
	uint32_t flags;             /* (io) BJ_FRAME_F_* */
};

/* The buffer now belongs to a backend's TX path: clearing the batch must not recycle it. */
#define BJ_FRAME_F_TAKEN 1u

static inline uint8_t *bj_frame__data(const struct bj_frame *f)
{
	return f->buf + f->data;
}

static inline uint32_t bj_frame__len(const struct bj_frame *f)
{
	return f->data_end - f->data;
}

/*
 * A batch: up to `cap` frames, filled by bj_io__rx and walked by the runtime (one NAPI-like poll).
 * The struct is public so the runtime can index frames without calls; only `frames[i]` contents and the
 * per-frame action and user slots are for the caller to change.
 */
struct bj_batch {
	struct bj_frame *frames;
	uint32_t n;                 /* frames filled */
	uint32_t cap;
	uint32_t frame_sz;
	uint8_t *arena;             /* cap frames of frame_sz bytes, BJ_IO_FRAME_GAP apart, for backends that copy */
	bool arena_low;             /* the arena came from below 4 GiB */
};

struct bj_batch_opts {
	size_t sz;
	uint32_t frame_sz;          /* 0 = BJ_IO_FRAME_SIZE; a multiple of 64 between 2048 and 65536 */
	/* Put the arena below 4 GiB, so that 32-bit context fields (struct xdp_md) can hold frame pointers. */
	bool below_4g;
};

/* cap = 0 gives BJ_IO_BATCH_SIZE. */
BJ_API int bj_batch__create(uint32_t cap, const struct bj_batch_opts *opts, struct bj_batch **out);
/* Hands frames that live in a backend's memory back to it (unless taken for TX) and empties the batch. */
BJ_API void bj_batch__clear(struct bj_batch *b);
/* Clears, then frees. Clear (or destroy) a batch before destroying the io its frames came from. */
BJ_API void bj_batch__destroy(struct bj_batch *b);

enum bj_io_kind {
	BJ_IO_PCAP = 0,
	BJ_IO_AF_PACKET,
	BJ_IO_AF_XDP,
};

enum bj_io_xdp_mode {
	BJ_IO_XDP_AUTO = 0,         /* native if the driver has it, else generic (skb) */
	BJ_IO_XDP_NATIVE,
	BJ_IO_XDP_SKB,
};

enum bj_io_copy_mode {
	BJ_IO_COPY_AUTO = 0,        /* zero-copy when the driver supports it, else copy */
	BJ_IO_COPY_FORCE,
	BJ_IO_ZEROCOPY_FORCE,
};

struct bj_io_opts {
	size_t sz;
	/* pcap: read frames from a pcap or pcapng file, or from a stream (which the io takes over, and closes
	 * even when opening fails). */
	const char *pcap_in;
	FILE *pcap_in_stream;
	/* pcap: write transmitted frames to this pcap file. */
	const char *pcap_out;
	/* pcap_out header when there is no input to copy it from: 0 = Ethernet, 262144, microseconds. */
	int pcap_out_linktype;
	uint32_t pcap_out_snaplen;
	bool pcap_out_nsec;
	/* pcap: what frames report as their receiving device (defaults 1 and 0). */
	uint32_t ifindex;
	uint32_t queue;
	/* live: the interface, and the queue (AF_XDP binds to it; AF_PACKET reports it). */
	const char *ifname;
	/* AF_PACKET: join this fanout group (0 = none) so several sockets share the interface's traffic. */
	uint16_t fanout_group;
	uint16_t fanout_mode;       /* PACKET_FANOUT_*; 0 = PACKET_FANOUT_HASH */
	/* live: descriptors per ring (power of two, 0 = 2048), frame size (0 = BJ_IO_FRAME_SIZE). */
	uint32_t ring_size;
	uint32_t frame_sz;
	/* live: how long bj_io__rx waits for a first frame; 0 = not at all, -1 = forever. */
	int rx_wait_ms;
	/* live: no receive ring (a transmit-only socket). */
	bool tx_only;
	enum bj_io_xdp_mode xdp_mode;
	enum bj_io_copy_mode copy_mode;
	/* AF_XDP: put the umem below 4 GiB (see bj_batch_opts.below_4g). */
	bool below_4g;
};

/*
 * Opens a backend. Failures fill err with what went wrong and where (file, interface). For I/O errors
 * err->insn holds the frame index (0-based) and err->offset the byte offset in the file, or -1.
 */
BJ_API int bj_io__open(enum bj_io_kind kind, const struct bj_io_opts *opts, struct bj_io **out,
		       struct bj_error *err);
BJ_API void bj_io__destroy(struct bj_io *io);

/*
 * Clears the batch, then fills it with up to b->cap received frames. Returns how many (0: nothing
 * arrived in rx_wait_ms), -ENODATA at the end of a file, or -errno. Frames read before an error are
 * returned first; the error comes with the next call (and every call after it).
 */
BJ_API int bj_io__rx(struct bj_io *io, struct bj_batch *b, struct bj_error *err);
/*
 * Queues frames for transmission (or writes them to pcap_out); returns how many were accepted, in order,
 * or -errno. A frame that lives in this backend's memory goes out without a copy and is marked TAKEN.
 */
BJ_API int bj_io__tx(struct bj_io *io, struct bj_frame *const *frames, uint32_t n, struct bj_error *err);
/* Pushes queued frames out and reclaims completed ones (AF_XDP); a no-op where TX is synchronous. */
BJ_API int bj_io__flush(struct bj_io *io);

struct bj_io_stats {
	size_t sz;
	uint64_t rx_packets;
	uint64_t rx_bytes;
	uint64_t tx_packets;        /* accepted by bj_io__tx */
	uint64_t tx_bytes;
	uint64_t rx_dropped;        /* lost by the kernel before we saw them (ring full, fill ring empty) */
	uint64_t tx_errors;         /* refused by the kernel or too big for a TX slot */
};

BJ_API int bj_io__stats(struct bj_io *io, struct bj_io_stats *st);
BJ_API enum bj_io_kind bj_io__kind(const struct bj_io *io);
/* The descriptor to poll for input, or -1 (pcap). */
BJ_API int bj_io__fd(const struct bj_io *io);
/* AF_XDP: whether the socket runs in zero-copy mode. */
BJ_API bool bj_io__zerocopy(const struct bj_io *io);

#endif
