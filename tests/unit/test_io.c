/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bpfjet/io.h>

/* What a pcap file says, parsed here without libpcap: the oracle for the reader. */
struct rec {
	long offset;
	uint64_t ts_ns;
	uint32_t caplen, len;
	const uint8_t *data;
};

/* A frame as bj_io__rx returned it, copied out of the batch. */
struct got {
	uint64_t ts_ns;
	uint32_t len, cut_len, ifindex, queue;
	uint8_t *data;
};

static char tmpdir[64];

static char *path_in_tmp(const char *name)
{
	static char buf[4][128];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
	return p;
}

static void gen_pcap(const char *path, unsigned count, unsigned seed, bool pcapng)
{
	const char *root = getenv("BJ_SOURCE_ROOT");
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "python3 %s/scripts/gen-pcap.py --count %u --seed %u %s %s", root ? root : ".",
		 count, seed, pcapng ? "--pcapng" : "", path);
	if (system(cmd) != 0)
		fail_msg("gen-pcap.py failed: %s", cmd);
}

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void spill(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Little-endian microsecond pcap, as gen-pcap.py writes it. */
static size_t parse_pcap(const uint8_t *buf, size_t len, struct rec **out)
{
	size_t n = 0, cap = 1024, at = 24;
	struct rec *r = malloc(cap * sizeof(*r));

	assert_true(len >= 24 && le32(buf) == 0xa1b2c3d4);
	while (at + 16 <= len) {
		uint32_t caplen = le32(buf + at + 8);

		if (at + 16 + caplen > len)
			break;
		if (n == cap)
			r = realloc(r, (cap *= 2) * sizeof(*r));
		r[n++] = (struct rec){ (long)at, le32(buf + at) * 1000000000ull + le32(buf + at + 4) * 1000ull, caplen,
				       le32(buf + at + 12), buf + at + 16 };
		at += 16 + caplen;
	}
	*out = r;
	return n;
}

static struct bj_io *open_pcap(const char *in, const char *out)
{
	BJ_OPTS(bj_io_opts, opts, .pcap_in = in, .pcap_out = out);
	struct bj_error err = { 0 };
	struct bj_io *io = NULL;
	int ret = bj_io__open(BJ_IO_PCAP, &opts, &io, &err);

	if (ret)
		fail_msg("open %s: %d %s", in, ret, err.msg);
	return io;
}

static void keep(struct got **v, size_t *n, const struct bj_frame *f)
{
	struct got *g;

	*v = realloc(*v, (*n + 1) * sizeof(**v));
	g = &(*v)[(*n)++];
	*g = (struct got){ f->ts_ns, bj_frame__len(f), f->cut_len, f->ingress_ifindex, f->rx_queue_index,
			   malloc(bj_frame__len(f) + 1) };
	memcpy(g->data, bj_frame__data(f), bj_frame__len(f));
}

static void free_got(struct got *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i].data);
	free(v);
}

/* Reads until the end or an error; returns the last rx result. Writes every frame to `tx` if given. */
static int read_all(struct bj_io *io, struct bj_io *tx, struct got **v, size_t *n, struct bj_error *err)
{
	struct bj_batch *b;
	int ret;

	*v = NULL;
	*n = 0;
	assert_int_equal(bj_batch__create(0, NULL, &b), 0);
	while ((ret = bj_io__rx(io, b, err)) > 0) {
		struct bj_frame *ptrs[BJ_IO_BATCH_SIZE];

		assert_true((uint32_t)ret == b->n && b->n <= b->cap);
		for (uint32_t i = 0; i < b->n; i++) {
			keep(v, n, &b->frames[i]);
			ptrs[i] = &b->frames[i];
		}
		if (tx)
			assert_int_equal(bj_io__tx(tx, ptrs, b->n, err), (int)b->n);
	}
	bj_batch__destroy(b);
	return ret;
}

static void expect_same(const struct got *v, const struct rec *r, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].len != r[i].caplen || memcmp(v[i].data, r[i].data, r[i].caplen))
			fail_msg("frame %zu: bytes differ (%u vs %u bytes)", i, v[i].len, r[i].caplen);
		if (v[i].ts_ns != r[i].ts_ns)
			fail_msg("frame %zu: timestamp %llu, file says %llu", i, (unsigned long long)v[i].ts_ns,
				 (unsigned long long)r[i].ts_ns);
		if (v[i].len + v[i].cut_len != r[i].len)
			fail_msg("frame %zu: wire length %u, file says %u", i, v[i].len + v[i].cut_len, r[i].len);
	}
}

static int make_tmpdir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/bj-test-io-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void test_pcap_round_trip(void **state)
{
	const char *in = path_in_tmp("rt.pcap"), *out = path_in_tmp("rt-out.pcap");
	struct got *v, *w;
	struct rec *r;
	size_t n, m, in_len, out_len;
	struct bj_error err = { 0 };
	struct bj_io *io;
	uint8_t *a, *b;

	(void)state;
	gen_pcap(in, 5000, 7, false);
	io = open_pcap(in, out);
	assert_int_equal(read_all(io, io, &v, &n, &err), -ENODATA);
	bj_io__destroy(io);

	a = slurp(in, &in_len);
	assert_int_equal(parse_pcap(a, in_len, &r), 5000);
	assert_int_equal(n, 5000);
	expect_same(v, r, n);
	assert_int_equal(v[0].ifindex, 1);
	assert_int_equal(v[0].queue, 0);

	b = slurp(out, &out_len);
	assert_int_equal(out_len, in_len);
	assert_memory_equal(a, b, in_len);

	io = open_pcap(out, NULL);
	assert_int_equal(read_all(io, NULL, &w, &m, &err), -ENODATA);
	bj_io__destroy(io);
	assert_int_equal(m, n);
	expect_same(w, r, m);

	free_got(v, n);
	free_got(w, m);
	free(r);
	free(a);
	free(b);
}

static void test_pcapng_read(void **state)
{
	const char *ng = path_in_tmp("ng.pcapng"), *pc = path_in_tmp("ng.pcap");
	struct got *v;
	struct rec *r;
	size_t n, len;
	struct bj_error err = { 0 };
	struct bj_io *io;
	uint8_t *raw;

	(void)state;
	gen_pcap(ng, 3000, 11, true);
	gen_pcap(pc, 3000, 11, false);
	io = open_pcap(ng, NULL);
	assert_int_equal(read_all(io, NULL, &v, &n, &err), -ENODATA);
	bj_io__destroy(io);

	raw = slurp(pc, &len);
	assert_int_equal(parse_pcap(raw, len, &r), 3000);
	assert_int_equal(n, 3000);
	expect_same(v, r, n);
	free_got(v, n);
	free(r);
	free(raw);
}

/* Cuts a 100-frame file inside frame `frame`, `into` bytes after the start of its record. */
struct cut_case {
	const char *name;
	bool pcapng;
	unsigned frame;
	long into;           /* < 0: cut exactly at the record's start (a clean end) */
};

static const struct cut_case cuts[] = {
	{ "inside the packet bytes", false, 70, 16 + 5, },
	{ "inside the record header", false, 70, 9 },
	{ "inside the first record", false, 0, 3 },
	{ "at a record boundary", false, 70, -1 },
	{ "inside a pcapng block", true, 70, 30 },
};

/* Offsets of pcapng enhanced packet blocks, skipping the section and interface headers. */
static long pcapng_block(const uint8_t *buf, size_t len, unsigned frame)
{
	size_t at = 0;
	unsigned seen = 0;

	while (at + 12 <= len) {
		if (le32(buf + at) == 6 && seen++ == frame)
			return (long)at;
		at += le32(buf + at + 4);
	}
	fail_msg("no block for frame %u", frame);
	return -1;
}

static void test_truncated(void **state)
{
	const char *full_pcap = path_in_tmp("cut-full.pcap"), *full_pcapng = path_in_tmp("cut-full.pcapng");
	const char *cut = path_in_tmp("cut");

	(void)state;
	gen_pcap(full_pcap, 100, 3, false);
	gen_pcap(full_pcapng, 100, 3, true);
	for (size_t c = 0; c < sizeof(cuts) / sizeof(cuts[0]); c++) {
		const struct cut_case *k = &cuts[c];
		const char *full = k->pcapng ? full_pcapng : full_pcap;
		struct bj_error err = { 0 };
		struct rec *r;
		struct got *v;
		size_t len, n;
		uint8_t *raw;
		long start;
		int ret;

		raw = slurp(full, &len);
		if (k->pcapng) {
			start = pcapng_block(raw, len, k->frame);
			r = NULL;
		} else {
			assert_int_equal(parse_pcap(raw, len, &r), 100);
			start = r[k->frame].offset;
		}
		spill(cut, raw, (size_t)(start + (k->into < 0 ? 0 : k->into)));

		struct bj_io *io = open_pcap(cut, NULL);
		ret = read_all(io, NULL, &v, &n, &err);
		bj_io__destroy(io);
		if (n != k->frame)
			fail_msg("%s: %zu frames kept, want %u", k->name, n, k->frame);
		if (r)
			expect_same(v, r, n);
		if (k->into < 0) {
			assert_int_equal(ret, -ENODATA);
		} else {
			char want[64];

			snprintf(want, sizeof(want), "frame %u at byte offset %ld", k->frame, start);
			if (ret != -EBADMSG || err.insn != (long)k->frame || err.offset != start || !strstr(err.msg, want) ||
			    !strstr(err.msg, "truncated"))
				fail_msg("%s: got %d, frame %ld, offset %ld, '%s'; want frame %u at %ld", k->name, ret,
					 err.insn, err.offset, err.msg, k->frame, start);
		}
		free_got(v, n);
		free(r);
		free(raw);
	}
}

struct header_case {
	const char *name;
	uint8_t bytes[40];
	size_t len;
	int ret;
	const char *msg;
};

static const struct header_case headers[] = {
	{ "empty file", { 0 }, 0, -EBADMSG, "not a readable pcap or pcapng file" },
	{ "text", "hello, this is not a capture file!!!", 36, -EBADMSG, "unknown file format" },
	{ "cut global header", { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0 }, 8, -EBADMSG, "truncated" },
	{ "bad version", { 0xd4, 0xc3, 0xb2, 0xa1, 9, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0 },
	  24, -EBADMSG, "not a readable pcap" },
	{ "not Ethernet", { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 105, 0, 0, 0 },
	  24, -EPROTONOSUPPORT, "link type 105" },
	{ "pcapng without a section", { 0x0a, 0x0d, 0x0d, 0x0a, 12, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 12, 0, 0, 0 },
	  16, -EBADMSG, "not a readable pcap or pcapng file" },
};

static void test_corrupt_header(void **state)
{
	(void)state;
	for (size_t c = 0; c < sizeof(headers) / sizeof(headers[0]); c++) {
		const struct header_case *h = &headers[c];
		const char *path = path_in_tmp("bad-header");
		struct bj_error err = { 0 };
		BJ_OPTS(bj_io_opts, opts, .pcap_in = path);
		struct bj_io *io = (struct bj_io *)&err;
		int ret;

		spill(path, h->bytes, h->len);
		ret = bj_io__open(BJ_IO_PCAP, &opts, &io, &err);
		if (ret != h->ret || io || !strstr(err.msg, h->msg) || !strstr(err.msg, path))
			fail_msg("%s: got %d '%s', want %d '%s'", h->name, ret, err.msg, h->ret, h->msg);
	}
}

/* A frame that needs a second buffer is refused, and the ones before it are kept. */
static void test_multi_buffer_refused(void **state)
{
	static const uint32_t sizes[] = { 60, 3520, 3521, 60 };
	const char *path = path_in_tmp("big.pcap");
	uint8_t hdr[24] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0 };
	static uint8_t file[24 + 4 * 16 + 8000];
	struct bj_error err = { 0 };
	struct got *v;
	size_t at = 24, n;
	long third = 0;
	struct bj_io *io;

	(void)state;
	memcpy(file, hdr, 24);
	for (unsigned i = 0; i < 4; i++) {
		uint32_t rec[4] = { 1700000000, i, sizes[i], sizes[i] };

		if (i == 2)
			third = (long)at;
		memcpy(file + at, rec, 16);
		memset(file + at + 16, (int)i, sizes[i]);
		at += 16 + sizes[i];
	}
	spill(path, file, at);
	io = open_pcap(path, NULL);
	assert_int_equal(read_all(io, NULL, &v, &n, &err), -EMSGSIZE);
	bj_io__destroy(io);
	assert_int_equal(n, 2);
	assert_int_equal(v[1].len, 3520);
	assert_int_equal(err.insn, 2);
	assert_int_equal(err.offset, third);
	if (!strstr(err.msg, "frame 2") || !strstr(err.msg, "3521 bytes") || !strstr(err.msg, "multi-buffer"))
		fail_msg("unclear message: %s", err.msg);
	free_got(v, n);
}

static void test_pcap_stream_and_nsec_output(void **state)
{
	const char *in = path_in_tmp("mem.pcap"), *out = path_in_tmp("mem-ns.pcap");
	size_t len, n, m;
	uint8_t *raw = NULL;
	struct got *v, *w;
	struct bj_error err = { 0 };
	struct bj_io *io, *wr;
	struct rec *r;

	(void)state;
	gen_pcap(in, 500, 5, false);
	raw = slurp(in, &len);
	BJ_OPTS(bj_io_opts, ropts, .pcap_in_stream = fmemopen(raw, len, "rb"), .ifindex = 7, .queue = 3);
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &ropts, &io, &err), 0);
	BJ_OPTS(bj_io_opts, wopts, .pcap_out = out, .pcap_out_nsec = true);
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &wopts, &wr, &err), 0);
	assert_int_equal(read_all(io, wr, &v, &n, &err), -ENODATA);
	bj_io__destroy(io);
	bj_io__destroy(wr);
	assert_int_equal(parse_pcap(raw, len, &r), 500);
	assert_int_equal(n, 500);
	expect_same(v, r, n);
	assert_int_equal(v[499].ifindex, 7);
	assert_int_equal(v[499].queue, 3);

	/* Written with nanoseconds, read back: same instants. */
	io = open_pcap(out, NULL);
	assert_int_equal(read_all(io, NULL, &w, &m, &err), -ENODATA);
	bj_io__destroy(io);
	assert_int_equal(m, n);
	expect_same(w, r, m);
	free_got(v, n);
	free_got(w, m);
	free(r);
	free(raw);
}

static void test_bad_opts(void **state)
{
	struct { struct bj_io_opts o; uint64_t extra; } big;
	struct bj_batch *b = NULL;
	struct bj_error err = { 0 };
	struct bj_io *io = NULL;

	(void)state;
	memset(&big, 0, sizeof(big));
	big.o.sz = sizeof(big);
	big.o.pcap_out = path_in_tmp("never.pcap");
	big.extra = 1;
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &big.o, &io, &err), -EINVAL);
	assert_null(io);
	big.extra = 0;
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &big.o, &io, &err), 0);
	bj_io__destroy(io);

	BJ_OPTS(bj_io_opts, none);
	assert_int_equal(bj_io__open(BJ_IO_PCAP, &none, &io, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "neither an input nor an output"));
	assert_int_equal(bj_io__open(BJ_IO_AF_PACKET, &none, &io, &err), -EINVAL);
	assert_int_equal(bj_io__open((enum bj_io_kind)9, NULL, &io, &err), -EINVAL);
	BJ_OPTS(bj_io_opts, noif, .ifname = "bj-no-such-if0");
	assert_int_equal(bj_io__open(BJ_IO_AF_PACKET, &noif, &io, &err), -ENODEV);
	assert_non_null(strstr(err.msg, "bj-no-such-if0"));

	BJ_OPTS(bj_batch_opts, odd, .frame_sz = 3000);
	assert_int_equal(bj_batch__create(8, &odd, &b), -EINVAL);
	assert_int_equal(bj_batch__create(0, NULL, &b), 0);
	assert_int_equal(b->cap, BJ_IO_BATCH_SIZE);
	assert_int_equal(b->frames[5].data, BJ_IO_HEADROOM);
	assert_int_equal(b->frames[5].buf_sz, BJ_IO_FRAME_SIZE);
	assert_ptr_equal(b->frames[5].buf, b->arena + 5 * (BJ_IO_FRAME_SIZE + BJ_IO_FRAME_GAP));
	bj_batch__destroy(b);
	bj_batch__destroy(NULL);
	bj_io__destroy(NULL);
}

/*
 * Live tests: a veth pair in a network namespace of its own. Frames go in at one end through one backend,
 * come out at the other, are sent back from there and must arrive at the first end unchanged.
 */
#define LIVE_FRAMES 1024u
#define ETH_P_BJTEST 0x88b5

struct live {
	char ns[32];
	int home;                   /* our own namespace, to return to */
	bool created, entered;
	const char *skip;
	struct bj_io *a, *b;
	struct bj_batch *out, *in;
};

static struct live live;

#define skip_msg(why)                                      \
	do {                                               \
		print_message("skipped: %s\n", (why));    \
		skip();                                    \
	} while (0)

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sh(const char *fmt, ...)
{
	char cmd[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd) - 32, fmt, ap);
	va_end(ap);
	strcat(cmd, " >/dev/null 2>&1");
	return system(cmd) == 0 ? 0 : -1;
}

static void write_sysctl(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);

	if (fd >= 0) {
		/* Best effort: it only keeps the wire quiet. */
		ssize_t ret = write(fd, value, strlen(value));

		(void)ret;
		close(fd);
	}
}

static int netns_up(void **state)
{
	char path[96];
	int fd;

	(void)state;
	memset(&live, 0, sizeof(live));
	live.home = -1;
	if (geteuid() != 0) {
		live.skip = "needs root for network namespaces";
		return 0;
	}
	snprintf(live.ns, sizeof(live.ns), "bjio-test-%d", (int)getpid());
	if (sh("ip netns add %s", live.ns)) {
		live.skip = "cannot create a network namespace (ip netns add)";
		return 0;
	}
	live.created = true;
	live.home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/var/run/netns/%s", live.ns);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (live.home < 0 || fd < 0 || setns(fd, CLONE_NEWNET)) {
		live.skip = "cannot enter the network namespace";
		if (fd >= 0)
			close(fd);
		return 0;
	}
	close(fd);
	live.entered = true;
	/* Otherwise the new links send router solicitations and MLD reports into the test. */
	write_sysctl("/proc/sys/net/ipv6/conf/all/disable_ipv6", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/default/disable_ipv6", "1");
	if (sh("ip link add bja type veth peer name bjb") || sh("ip link set bja up") || sh("ip link set bjb up"))
		live.skip = "cannot create a veth pair";
	return 0;
}

static int netns_down(void **state)
{
	(void)state;
	bj_batch__destroy(live.out);
	bj_batch__destroy(live.in);
	bj_io__destroy(live.a);
	bj_io__destroy(live.b);
	if (live.entered && setns(live.home, CLONE_NEWNET))
		return -1;
	if (live.home >= 0)
		close(live.home);
	if (live.created && sh("ip netns del %s", live.ns))
		return -1;
	return 0;
}

/* Frame `seq`: some with one or two VLAN tags, sizes from 60 to 1514, bytes that depend on seq. */
static uint32_t live_frame(uint32_t seq, uint8_t *p)
{
	static const uint8_t macs[12] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1 };
	uint32_t len = 60 + (seq * 37) % 1455, at = 12;

	memcpy(p, macs, 12);
	if (seq % 16 == 7) {
		memcpy(p + at, (uint8_t[]){ 0x88, 0xa8, 0x00, 0x64 }, 4);
		at += 4;
	}
	if (seq % 8 == 3 || seq % 16 == 7) {
		memcpy(p + at, (uint8_t[]){ 0x81, 0x00, (uint8_t)(seq >> 8 & 0x0f), (uint8_t)seq }, 4);
		at += 4;
	}
	memcpy(p + at, (uint8_t[]){ ETH_P_BJTEST >> 8, ETH_P_BJTEST & 0xff, 'B', 'J', 'I', 'O',
				    (uint8_t)(seq >> 24), (uint8_t)(seq >> 16), (uint8_t)(seq >> 8), (uint8_t)seq }, 10);
	for (uint32_t i = at + 10; i < len; i++)
		p[i] = (uint8_t)(seq * 7 + i);
	return len;
}

/* The sequence number of one of our frames, or -1 for anything else on the wire. */
static long live_seq(const struct bj_frame *f)
{
	const uint8_t *p = bj_frame__data(f);
	uint32_t len = bj_frame__len(f), at = 12;

	while (at + 4 <= len && ((p[at] == 0x81 && p[at + 1] == 0x00) || (p[at] == 0x88 && p[at + 1] == 0xa8)))
		at += 4;
	if (at + 10 > len || p[at] != (ETH_P_BJTEST >> 8) || p[at + 1] != (ETH_P_BJTEST & 0xff) ||
	    memcmp(p + at + 2, "BJIO", 4))
		return -1;
	return (long)((uint32_t)p[at + 6] << 24 | (uint32_t)p[at + 7] << 16 | (uint32_t)p[at + 8] << 8 | p[at + 9]);
}

static void tx_all(struct bj_io *io, struct bj_frame **f, uint32_t n)
{
	struct bj_error err = { 0 };
	uint32_t done = 0;

	for (int tries = 0; done < n; tries++) {
		int ret = bj_io__tx(io, f + done, n - done, &err);

		if (ret < 0)
			fail_msg("tx: %d %s", ret, err.msg);
		done += (uint32_t)ret;
		if (!ret) {
			bj_io__flush(io);
			usleep(1000);
			if (tries > 2000)
				fail_msg("tx: ring stays full after %u of %u frames", done, n);
		}
	}
	bj_io__flush(io);
}

/*
 * Receives until `want` of our frames have come, checking each against what was sent; with `echo`, sends
 * each one back out of the same io. Returns how many came.
 */
static uint32_t rx_expect(struct bj_io *io, uint32_t want, uint8_t *seen, bool echo, const char *what)
{
	uint8_t ref[2048];
	struct bj_error err = { 0 };
	uint32_t got = 0;

	for (int idle = 0; got < want && idle < 40;) {
		struct bj_frame *mine[BJ_IO_BATCH_SIZE];
		uint32_t n = 0;
		int ret = bj_io__rx(io, live.in, &err);

		if (ret < 0)
			fail_msg("%s: rx: %d %s", what, ret, err.msg);
		idle = ret ? 0 : idle + 1;
		for (int i = 0; i < ret; i++) {
			struct bj_frame *f = &live.in->frames[i];
			long seq = live_seq(f);

			if (seq < 0)
				continue;
			if ((uint32_t)seq >= LIVE_FRAMES || seen[seq]++)
				fail_msg("%s: frame %ld twice or unknown", what, seq);
			if (bj_frame__len(f) != live_frame((uint32_t)seq, ref) || memcmp(bj_frame__data(f), ref, bj_frame__len(f)))
				fail_msg("%s: frame %ld changed on the way (%u bytes)", what, seq, bj_frame__len(f));
			if (f->data < BJ_IO_HEADROOM || f->data_meta != f->data || f->data_end > f->buf_sz)
				fail_msg("%s: frame %ld has a bad layout: data %u end %u size %u", what, seq, f->data,
					 f->data_end, f->buf_sz);
			mine[n++] = f;
		}
		got += n;
		if (echo && n)
			tx_all(io, mine, n);
	}
	return got;
}

static void live_exchange(const char *what)
{
	static uint8_t seen_b[LIVE_FRAMES], seen_a[LIVE_FRAMES];
	struct bj_io_stats sa = { .sz = sizeof(sa) }, sb = { .sz = sizeof(sb) };
	uint32_t got_b = 0, got_a = 0;

	memset(seen_a, 0, sizeof(seen_a));
	memset(seen_b, 0, sizeof(seen_b));
	assert_int_equal(bj_batch__create(0, NULL, &live.out), 0);
	assert_int_equal(bj_batch__create(0, NULL, &live.in), 0);
	for (uint32_t seq = 0; seq < LIVE_FRAMES; seq += BJ_IO_BATCH_SIZE) {
		struct bj_frame *ptrs[BJ_IO_BATCH_SIZE];

		for (uint32_t i = 0; i < BJ_IO_BATCH_SIZE; i++) {
			struct bj_frame *f = &live.out->frames[i];

			f->data_end = f->data + live_frame(seq + i, bj_frame__data(f));
			ptrs[i] = f;
		}
		tx_all(live.a, ptrs, BJ_IO_BATCH_SIZE);
		got_b += rx_expect(live.b, seq + BJ_IO_BATCH_SIZE - got_b, seen_b, true, what);
		got_a += rx_expect(live.a, seq + BJ_IO_BATCH_SIZE - got_a, seen_a, false, "af_packet back");
	}
	bj_batch__clear(live.in);
	if (got_b != LIVE_FRAMES || got_a != LIVE_FRAMES)
		fail_msg("%s: %u of %u frames arrived, %u came back", what, got_b, LIVE_FRAMES, got_a);
	assert_int_equal(bj_io__stats(live.a, &sa), 0);
	assert_int_equal(bj_io__stats(live.b, &sb), 0);
	assert_int_equal(sa.tx_packets, LIVE_FRAMES);
	assert_int_equal(sb.tx_packets, LIVE_FRAMES);
	assert_true(sb.rx_packets >= LIVE_FRAMES && sa.rx_packets >= LIVE_FRAMES);
	assert_int_equal(sa.rx_dropped + sb.rx_dropped + sa.tx_errors + sb.tx_errors, 0);
}

static void open_live(enum bj_io_kind kind, const char *ifname, struct bj_io **io)
{
	BJ_OPTS(bj_io_opts, opts, .ifname = ifname, .rx_wait_ms = 50, .copy_mode = BJ_IO_COPY_FORCE);
	struct bj_error err = { 0 };
	int ret = bj_io__open(kind, &opts, io, &err);

	if (ret == -EOPNOTSUPP || ret == -EAFNOSUPPORT || ret == -EPERM) {
		static char why[300];

		snprintf(why, sizeof(why), "%s", err.msg);
		live.skip = why;
	}
	else if (ret)
		fail_msg("open %s: %d %s", ifname, ret, err.msg);
}

static void test_live_af_packet(void **state)
{
	(void)state;
	if (live.skip)
		skip_msg(live.skip);
	open_live(BJ_IO_AF_PACKET, "bja", &live.a);
	open_live(BJ_IO_AF_PACKET, "bjb", &live.b);
	if (live.skip)
		skip_msg(live.skip);
	live_exchange("af_packet");
}

static void test_live_af_xdp(void **state)
{
	(void)state;
	if (live.skip)
		skip_msg(live.skip);
	open_live(BJ_IO_AF_PACKET, "bja", &live.a);
	open_live(BJ_IO_AF_XDP, "bjb", &live.b);
	if (live.skip)
		skip_msg(live.skip);
	assert_false(bj_io__zerocopy(live.b));
	live_exchange("af_xdp");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pcap_round_trip),
		cmocka_unit_test(test_pcapng_read),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_corrupt_header),
		cmocka_unit_test(test_multi_buffer_refused),
		cmocka_unit_test(test_pcap_stream_and_nsec_output),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test_setup_teardown(test_live_af_packet, netns_up, netns_down),
		cmocka_unit_test_setup_teardown(test_live_af_xdp, netns_up, netns_down),
	};

	return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
