/* SPDX-License-Identifier: Apache-2.0 */
/*
 * pcap and pcapng files through libpcap: frames in (pcap_next_ex), frames out (pcap_dump). Output keeps
 * the input's link type, snap length and timestamp precision, so that a file read and written back is
 * byte for byte the same.
 */
#include "io/io.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdlib.h>

struct pcap_io {
	struct bj_io io;
	pcap_t *in;
	FILE *in_fp;                /* owned by `in` */
	const char *in_name;
	bool in_nsec;               /* the input file counts nanoseconds */
	bool eof;
	uint64_t index;             /* frames read so far: the index of the next one */
	uint32_t ifindex, queue;
	pcap_t *dead;               /* the writer's template */
	pcap_dumper_t *out;
	bool out_nsec;
};

#define PCAP_MAGIC_NSEC 0xa1b23c4du
#define PCAPNG_MAGIC 0x0a0d0d0au

static struct pcap_io *to_pcap(struct bj_io *io)
{
	return (struct pcap_io *)io;
}

/* libpcap hides the file's own resolution; the magic (either byte order) tells it. */
static void sniff_precision(struct pcap_io *p)
{
	unsigned char m[4];
	long at = ftell(p->in_fp);
	uint32_t le, be;

	if (at < 0 || fread(m, 1, 4, p->in_fp) != 4) {
		clearerr(p->in_fp);
		if (at >= 0)
			fseek(p->in_fp, at, SEEK_SET);
		return;
	}
	fseek(p->in_fp, at, SEEK_SET);
	le = (uint32_t)m[0] | (uint32_t)m[1] << 8 | (uint32_t)m[2] << 16 | (uint32_t)m[3] << 24;
	be = (uint32_t)m[3] | (uint32_t)m[2] << 8 | (uint32_t)m[1] << 16 | (uint32_t)m[0] << 24;
	/* pcapng may carry nanoseconds (if_tsresol): keep them all rather than guess. */
	p->in_nsec = le == PCAP_MAGIC_NSEC || be == PCAP_MAGIC_NSEC || le == PCAPNG_MAGIC;
}

static int open_input(struct pcap_io *p, const struct bj_io_opts *opts, struct bj_error *err)
{
	const char *path = BJ_OPTS_GET(opts, pcap_in, NULL);
	FILE *stream = BJ_OPTS_GET(opts, pcap_in_stream, NULL);
	char errbuf[PCAP_ERRBUF_SIZE] = "";

	if (path && stream) {
		fclose(stream);
		return bj_fail(err, EINVAL, -1, -1, "pcap: both an input file and an input stream");
	}
	p->in_name = path ? path : "<stream>";
	p->in_fp = stream ? stream : fopen(path, "rb");
	if (!p->in_fp)
		return bj_fail(err, errno, -1, -1, "pcap: %s: %s", path, strerror(errno));
	sniff_precision(p);
	p->in = pcap_fopen_offline_with_tstamp_precision(p->in_fp, PCAP_TSTAMP_PRECISION_NANO, errbuf);
	if (!p->in) {
		fclose(p->in_fp);
		p->in_fp = NULL;
		return bj_fail(err, EBADMSG, 0, 0, "pcap: %s: not a readable pcap or pcapng file: %s", p->in_name,
			       errbuf);
	}
	if (pcap_datalink(p->in) != DLT_EN10MB)
		return bj_fail(err, EPROTONOSUPPORT, -1, 0, "pcap: %s: link type %d (%s) is not Ethernet", p->in_name,
			       pcap_datalink(p->in), pcap_datalink_val_to_name(pcap_datalink(p->in)) ?: "unknown");
	return 0;
}

static int open_output(struct pcap_io *p, const struct bj_io_opts *opts, struct bj_error *err)
{
	const char *path = BJ_OPTS_GET(opts, pcap_out, NULL);
	int linktype = BJ_OPTS_GET(opts, pcap_out_linktype, 0);
	uint32_t snaplen = BJ_OPTS_GET(opts, pcap_out_snaplen, 0);

	p->out_nsec = BJ_OPTS_GET(opts, pcap_out_nsec, false);
	if (p->in) {
		linktype = linktype ? linktype : pcap_datalink(p->in);
		snaplen = snaplen ? snaplen : (uint32_t)pcap_snapshot(p->in);
		p->out_nsec = p->out_nsec || p->in_nsec;
	}
	p->dead = pcap_open_dead_with_tstamp_precision(linktype ? linktype : DLT_EN10MB, snaplen ? (int)snaplen : 262144,
						       p->out_nsec ? PCAP_TSTAMP_PRECISION_NANO
								   : PCAP_TSTAMP_PRECISION_MICRO);
	if (!p->dead)
		return bj_fail(err, ENOMEM, -1, -1, "pcap: %s: cannot set up a writer", path);
	p->out = pcap_dump_open(p->dead, path);
	if (!p->out)
		return bj_fail(err, EIO, -1, -1, "pcap: %s: %s", path, pcap_geterr(p->dead));
	return 0;
}

static void pcap_close_io(struct bj_io *io)
{
	struct pcap_io *p = to_pcap(io);

	if (p->out)
		pcap_dump_close(p->out);
	if (p->dead)
		pcap_close(p->dead);
	if (p->in)
		pcap_close(p->in);
	free(p);
}

static int pcap_open_io(const struct bj_io_opts *opts, struct bj_io **out, struct bj_error *err)
{
	struct pcap_io *p;
	int ret = 0;

	if (!BJ_OPTS_GET(opts, pcap_in, NULL) && !BJ_OPTS_GET(opts, pcap_in_stream, NULL) &&
	    !BJ_OPTS_GET(opts, pcap_out, NULL))
		return bj_fail(err, EINVAL, -1, -1, "pcap: neither an input nor an output file");
	p = calloc(1, sizeof(*p));
	if (!p) {
		if (BJ_OPTS_GET(opts, pcap_in_stream, NULL))
			fclose(BJ_OPTS_GET(opts, pcap_in_stream, NULL));
		return bj_fail(err, ENOMEM, -1, -1, "pcap: out of memory");
	}
	p->io.ops = &bj_io_pcap_ops;
	p->ifindex = BJ_OPTS_GET(opts, ifindex, 0) ? BJ_OPTS_GET(opts, ifindex, 0) : 1;
	p->queue = BJ_OPTS_GET(opts, queue, 0);
	if (BJ_OPTS_GET(opts, pcap_in, NULL) || BJ_OPTS_GET(opts, pcap_in_stream, NULL))
		ret = open_input(p, opts, err);
	if (!ret && BJ_OPTS_GET(opts, pcap_out, NULL))
		ret = open_output(p, opts, err);
	if (ret) {
		pcap_close_io(&p->io);
		return ret;
	}
	*out = &p->io;
	return 0;
}

static int read_error(struct pcap_io *p, long offset, struct bj_error *err)
{
	return bj_fail(err, EBADMSG, (long)p->index, offset, "pcap: %s: frame %llu at byte offset %ld: %s",
		       p->in_name, (unsigned long long)p->index, offset, pcap_geterr(p->in));
}

static int take_frame(struct pcap_io *p, struct bj_batch *b, const struct pcap_pkthdr *h, const uint8_t *bytes,
		      long offset, struct bj_error *err)
{
	uint32_t room = BJ_IO_MAX_LINEAR(b->frame_sz);
	struct bj_frame *f;

	if (h->caplen > room)
		return bj_fail(err, EMSGSIZE, (long)p->index, offset,
			       "pcap: %s: frame %llu at byte offset %ld: %u bytes do not fit one %u-byte frame "
			       "(%u after the %u-byte headroom and %u-byte tailroom); multi-buffer frames are "
			       "not supported",
			       p->in_name, (unsigned long long)p->index, offset, h->caplen, b->frame_sz, room,
			       BJ_IO_HEADROOM, BJ_IO_TAILROOM);
	bj_batch_frame_reset(b, b->n);
	f = &b->frames[b->n++];
	memcpy(f->buf + f->data, bytes, h->caplen);
	f->data_end = f->data + h->caplen;
	f->cut_len = h->len > h->caplen ? h->len - h->caplen : 0;
	/* Opened for nanoseconds: tv_usec holds them. */
	f->ts_ns = (uint64_t)h->ts.tv_sec * 1000000000ull + (uint64_t)h->ts.tv_usec;
	f->ingress_ifindex = p->ifindex;
	f->rx_queue_index = p->queue;
	p->index++;
	return 0;
}

static int pcap_rx(struct bj_io *io, struct bj_batch *b, struct bj_error *err)
{
	struct pcap_io *p = to_pcap(io);

	if (!p->in)
		return bj_fail(err, EOPNOTSUPP, -1, -1, "pcap: no input file");
	while (!p->eof && b->n < b->cap) {
		struct pcap_pkthdr *h;
		const uint8_t *bytes;
		long offset = ftell(p->in_fp);
		int ret = pcap_next_ex(p->in, &h, &bytes);

		if (ret == PCAP_ERROR_BREAK) {
			p->eof = true;
		} else if (ret != 1) {
			return read_error(p, offset, err);
		} else {
			ret = take_frame(p, b, h, bytes, offset, err);
			if (ret)
				return ret;
		}
	}
	return b->n ? (int)b->n : -ENODATA;
}

static int pcap_tx(struct bj_io *io, struct bj_frame *const *frames, uint32_t n, struct bj_error *err)
{
	struct pcap_io *p = to_pcap(io);
	uint64_t unit = p->out_nsec ? 1 : 1000;

	if (!p->out)
		return bj_fail(err, EOPNOTSUPP, -1, -1, "pcap: no output file");
	for (uint32_t i = 0; i < n; i++) {
		const struct bj_frame *f = frames[i];
		struct pcap_pkthdr h = {
			.ts.tv_sec = (time_t)(f->ts_ns / 1000000000ull),
			.ts.tv_usec = (suseconds_t)(f->ts_ns % 1000000000ull / unit),
			.caplen = bj_frame__len(f),
			.len = bj_frame__len(f) + f->cut_len,
		};

		pcap_dump((u_char *)p->out, &h, bj_frame__data(f));
	}
	return (int)n;
}

static int pcap_flush(struct bj_io *io)
{
	struct pcap_io *p = to_pcap(io);

	return p->out && pcap_dump_flush(p->out) ? -EIO : 0;
}

const struct bj_io_ops bj_io_pcap_ops = {
	.name = "pcap",
	.open = pcap_open_io,
	.rx_batch = pcap_rx,
	.tx_batch = pcap_tx,
	.flush = pcap_flush,
	.close = pcap_close_io,
};
