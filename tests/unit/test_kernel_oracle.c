/* SPDX-License-Identifier: Apache-2.0 */
/* The example programs in the kernel: they load, and BPF_PROG_TEST_RUN gives the actions they are meant to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpfjet/map.h>
#include <bpfjet/object.h>
#include <bpfjet/xdp.h>
#include <unistd.h>

#include "../lib/kernel_oracle.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static char why[65536];

static void example_path(char *buf, size_t len, const char *name)
{
	const char *root = getenv("BJ_BUILD_ROOT");
	snprintf(buf, len, "%s/examples/%s.bpf.o", root ? root : "build", name);
}

/* Opens an example in the kernel, or skips the test when the kernel cannot run BPF. */
static struct ko_object *load(const char *name, ko_setup_fn setup, void *ctx)
{
	char path[512];
	struct ko_object *ko = NULL;

	if (ko_available(why, sizeof(why))) {
		print_message("skipped: %s\n", why);
		skip();
	}
	example_path(path, sizeof(path), name);
	if (ko_object__open(path, setup, ctx, &ko, why, sizeof(why)))
		fail_msg("%s", why);
	return ko;
}

/* ---- packets ---- */

static const uint8_t mac_dst[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t mac_src[6] = { 0x02, 0, 0, 0, 0, 0x02 };

struct pkt {
	uint8_t b[256];
	uint32_t len;
};

static size_t put_eth(uint8_t *p, uint16_t proto, int vlans)
{
	size_t off = 12;

	memcpy(p, mac_dst, 6);
	memcpy(p + 6, mac_src, 6);
	for (int i = 0; i < vlans; i++) {
		uint16_t tpid = htons(0x8100), tci = htons(100 + i);
		memcpy(p + off, &tpid, 2);
		memcpy(p + off + 2, &tci, 2);
		off += 4;
	}
	uint16_t t = htons(proto);
	memcpy(p + off, &t, 2);
	return off + 2;
}

static void put_ports(uint8_t *p, uint16_t dport)
{
	uint16_t s = htons(40000), d = htons(dport);
	memcpy(p, &s, 2);
	memcpy(p + 2, &d, 2);
}

static struct pkt ipv4(uint8_t proto, const char *saddr, uint16_t dport, uint32_t len, int vlans)
{
	struct pkt k = { .len = len };
	size_t off = put_eth(k.b, 0x0800, vlans);
	uint8_t *ip = k.b + off;
	uint32_t s, d;

	inet_pton(AF_INET, saddr, &s);
	inet_pton(AF_INET, "192.0.2.1", &d);
	ip[0] = 0x45;
	uint16_t tot = htons((uint16_t)(len - off));
	memcpy(ip + 2, &tot, 2);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &s, 4);
	memcpy(ip + 16, &d, 4);
	put_ports(ip + 20, dport);
	if (proto == IPPROTO_TCP)
		ip[20 + 12] = 5 << 4;
	return k;
}

static struct pkt ipv6(uint8_t proto, uint16_t dport, uint32_t len)
{
	struct pkt k = { .len = len };
	size_t off = put_eth(k.b, 0x86dd, 0);
	uint8_t *ip = k.b + off;

	ip[0] = 0x60;
	uint16_t pl = htons((uint16_t)(len - off - 40));
	memcpy(ip + 4, &pl, 2);
	ip[6] = proto;
	ip[7] = 64;
	inet_pton(AF_INET6, "2001:db8::1", ip + 8);
	inet_pton(AF_INET6, "2001:db8::2", ip + 24);
	put_ports(ip + 40, dport);
	return k;
}

static struct pkt arp(void)
{
	struct pkt k = { .len = 60 };
	put_eth(k.b, 0x0806, 0);
	return k;
}

static uint32_t run(struct ko_object *ko, const char *prog, const struct pkt *k, struct ko_run *r)
{
	struct ko_run local;

	if (!r)
		r = &local;
	memset(r, 0, sizeof(*r));
	r->data_in = k->b;
	r->data_size_in = k->len;
	int ret = ko_object__run(ko, prog, r);
	if (ret)
		fail_msg("%s: test run: %s", prog, strerror(-ret));
	return r->retval;
}

/* Sum over CPUs of a per-CPU u64 (or the u64 at `off` of an ordinary value). */
static uint64_t map_u64(struct ko_object *ko, const char *map, uint32_t key, size_t off)
{
	uint32_t ks, vs;
	unsigned cpus;

	assert_int_equal(ko_object__map_info(ko, map, &ks, &vs, &cpus), 0);
	uint8_t *v = calloc(cpus, vs);
	assert_non_null(v);
	assert_int_equal(ko_object__map_lookup(ko, map, &key, v, (size_t)vs * cpus), 0);
	uint64_t sum = 0, x;
	for (unsigned c = 0; c < cpus; c++) {
		memcpy(&x, v + (size_t)c * vs + off, 8);
		sum += x;
	}
	free(v);
	return sum;
}

/* ---- tests ---- */

static const char *const examples[] = {
	"xdp_drop_port", "xdp_count_proto", "xdp_mac_swap", "xdp_redirect_devmap", "socket_filter",
	"ringbuf_events", "rodata_config", "tail_call", "loop_checksum", "xdp_firewall",
};

static void test_every_example_loads(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		ko_object__close(load(examples[i], NULL, NULL));
}

static int set_port(struct bpf_object *obj, void *ctx)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		size_t sz;
		if (!strstr(bpf_map__name(m), ".rodata"))
			continue;
		const uint8_t *init = bpf_map__initial_value(m, &sz);
		if (!init || sz < 2 || sz > 64)
			return -EINVAL;
		uint8_t copy[64];
		memcpy(copy, init, sz);
		memcpy(copy, ctx, 2); /* blocked_port is the only variable of .rodata */
		return bpf_map__set_initial_value(m, copy, sz);
	}
	return -ENOENT;
}

static void test_drop_port(void **state)
{
	struct {
		uint16_t blocked;
		uint8_t proto;
		uint16_t dport;
		uint32_t want;
	} cases[] = {
		{ 9, IPPROTO_UDP, 9, XDP_DROP },   { 9, IPPROTO_TCP, 9, XDP_DROP }, { 9, IPPROTO_UDP, 53, XDP_PASS },
		{ 53, IPPROTO_UDP, 53, XDP_DROP }, { 53, IPPROTO_UDP, 9, XDP_PASS }, { 53, IPPROTO_ICMP, 53, XDP_PASS },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ko_object *ko = load("xdp_drop_port", set_port, &cases[i].blocked);
		struct pkt k = ipv4(cases[i].proto, "10.0.0.1", cases[i].dport, 64, 0);
		assert_int_equal(run(ko, "xdp_drop_port", &k, NULL), cases[i].want);
		ko_object__close(ko);
	}
}

static void test_mac_swap(void **state)
{
	struct ko_object *ko = load("xdp_mac_swap", NULL, NULL);
	struct pkt k = ipv4(IPPROTO_UDP, "10.0.0.1", 9, 64, 0);
	struct ko_run r;

	(void)state;
	assert_int_equal(run(ko, "xdp_mac_swap", &k, &r), XDP_TX);
	assert_int_equal(r.data_size_out, 64);
	assert_memory_equal(r.data_out, mac_src, 6);
	assert_memory_equal(r.data_out + 6, mac_dst, 6);
	assert_memory_equal(r.data_out + 12, k.b + 12, 52);
	ko_object__close(ko);
}

static void test_count_proto(void **state)
{
	struct ko_object *ko = load("xdp_count_proto", NULL, NULL);
	struct pkt tcp = ipv4(IPPROTO_TCP, "10.0.0.1", 80, 100, 0), udp = ipv4(IPPROTO_UDP, "10.0.0.1", 53, 80, 0);
	struct pkt udp6 = ipv6(IPPROTO_UDP, 53, 90);

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(run(ko, "xdp_count_proto", &tcp, NULL), XDP_PASS);
	run(ko, "xdp_count_proto", &udp, NULL);
	run(ko, "xdp_count_proto", &udp6, NULL);
	assert_int_equal(map_u64(ko, "proto_stats", IPPROTO_TCP, 0), 3);
	assert_int_equal(map_u64(ko, "proto_stats", IPPROTO_TCP, 8), 300);
	assert_int_equal(map_u64(ko, "proto_stats", IPPROTO_UDP, 0), 2);
	assert_int_equal(map_u64(ko, "proto_stats", IPPROTO_UDP, 8), 170);
	assert_int_equal(map_u64(ko, "proto_stats", IPPROTO_ICMP, 0), 0);
	ko_object__close(ko);
}

static void test_firewall(void **state)
{
	struct ko_object *ko = load("xdp_firewall", NULL, NULL);
	uint32_t blocked;
	uint64_t zero = 0;
	struct {
		struct pkt k;
		uint32_t want;
	} cases[] = {
		{ ipv4(IPPROTO_UDP, "10.0.0.66", 8080, 64, 0), XDP_DROP },   /* blocked source */
		{ ipv4(IPPROTO_UDP, "10.0.0.1", 8080, 64, 0), XDP_TX },      /* service port */
		{ ipv4(IPPROTO_TCP, "10.0.0.1", 8080, 80, 2), XDP_TX },      /* behind two VLAN tags */
		{ ipv6(IPPROTO_TCP, 8080, 100), XDP_TX },
		{ ipv4(IPPROTO_TCP, "10.0.0.1", 22, 80, 1), XDP_PASS },
		{ arp(), XDP_PASS },
	};
	uint64_t want_count[XDP_REDIRECT + 1] = { 0 };

	(void)state;
	inet_pton(AF_INET, "10.0.0.66", &blocked);
	assert_int_equal(ko_object__map_update(ko, "blocked_v4", &blocked, &zero), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct ko_run r;
		if (run(ko, "xdp_firewall", &cases[i].k, &r) != cases[i].want)
			fail_msg("case %zu: action %u, want %u", i, r.retval, cases[i].want);
		if (r.retval == XDP_TX)
			assert_memory_equal(r.data_out, mac_src, 6);
		want_count[cases[i].want]++;
	}
	for (uint32_t a = 0; a <= XDP_REDIRECT; a++)
		assert_int_equal(map_u64(ko, "action_count", a, 0), want_count[a]);
	uint64_t hits;
	assert_int_equal(ko_object__map_lookup(ko, "blocked_v4", &blocked, &hits, sizeof(hits)), 0);
	assert_int_equal(hits, 1);
	ko_object__close(ko);
}

static void test_socket_filter(void **state)
{
	struct ko_object *ko = load("socket_filter", NULL, NULL);
	struct pkt small = ipv4(IPPROTO_TCP, "10.0.0.1", 80, 100, 0), big = ipv4(IPPROTO_TCP, "10.0.0.1", 80, 200, 0);
	struct pkt udp = ipv4(IPPROTO_UDP, "10.0.0.1", 80, 100, 0);

	(void)state;
	/* A socket filter's test run starts the skb at the network header: skb->len excludes Ethernet. */
	assert_int_equal(run(ko, "socket_tcp_only", &small, NULL), 100 - 14);
	assert_int_equal(run(ko, "socket_tcp_only", &big, NULL), 128);
	assert_int_equal(run(ko, "socket_tcp_only", &udp, NULL), 0);
	ko_object__close(ko);
}

struct events {
	int n;
	uint32_t saddr[4], len[4];
	uint8_t proto[4];
};

static int on_event(const void *data, size_t size, void *ctx)
{
	struct events *e = ctx;
	const uint8_t *p = data;

	if (size < 13 || e->n >= 4)
		return -EINVAL;
	memcpy(&e->saddr[e->n], p, 4);
	memcpy(&e->len[e->n], p + 8, 4);
	e->proto[e->n] = p[12];
	e->n++;
	return 0;
}

static void test_ringbuf(void **state)
{
	struct ko_object *ko = load("ringbuf_events", NULL, NULL);
	struct pkt a = ipv4(IPPROTO_TCP, "10.0.0.1", 80, 100, 0), b = ipv4(IPPROTO_UDP, "10.0.0.2", 53, 70, 0);
	struct pkt c = arp();
	struct events e = { 0 };
	uint32_t s;

	(void)state;
	run(ko, "xdp_ringbuf_events", &a, NULL);
	run(ko, "xdp_ringbuf_events", &c, NULL);
	run(ko, "xdp_ringbuf_events", &b, NULL);
	assert_int_equal(ko_object__ringbuf_drain(ko, "events", on_event, &e), 2);
	assert_int_equal(e.n, 2);
	inet_pton(AF_INET, "10.0.0.2", &s);
	assert_int_equal(e.saddr[1], s);
	assert_int_equal(e.len[0], 100);
	assert_int_equal(e.proto[0], IPPROTO_TCP);
	assert_int_equal(e.proto[1], IPPROTO_UDP);
	ko_object__close(ko);
}

static void test_tail_calls(void **state)
{
	struct ko_object *ko = load("tail_call", NULL, NULL);
	struct pkt v4 = ipv4(IPPROTO_UDP, "10.0.0.1", 53, 64, 0), v6 = ipv6(IPPROTO_UDP, 53, 80), other = arp();

	(void)state;
	assert_int_equal(run(ko, "xdp_entry", &v4, NULL), XDP_TX); /* entry -> ipv4 -> count */
	assert_int_equal(run(ko, "xdp_entry", &v6, NULL), XDP_DROP);
	assert_int_equal(run(ko, "xdp_entry", &other, NULL), XDP_PASS);
	for (size_t stage = 0; stage < 3; stage++)
		assert_int_equal(map_u64(ko, ".bss", 0, stage * 8), 1);
	ko_object__close(ko);
}

static void test_loop_checksum(void **state)
{
	struct ko_object *ko = load("loop_checksum", NULL, NULL);
	struct pkt k = ipv4(IPPROTO_UDP, "10.0.0.1", 53, 100, 0);
	uint32_t sum = 0, key = 0, got;

	(void)state;
	for (int i = 0; i < 32; i++) {
		uint16_t w;
		memcpy(&w, k.b + 2 * i, 2);
		sum += w;
	}
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	assert_int_equal(run(ko, "xdp_loop_checksum", &k, NULL), XDP_PASS);
	assert_int_equal(ko_object__map_lookup(ko, "last_sum", &key, &got, sizeof(got)), 0);
	assert_int_equal(got, sum);
	ko_object__close(ko);
}

static void test_rodata_config(void **state)
{
	struct ko_object *ko = load("rodata_config", NULL, NULL);
	struct pkt short_pkt = ipv4(IPPROTO_UDP, "10.0.0.1", 53, 42, 0), ok = ipv4(IPPROTO_UDP, "10.0.0.1", 53, 100, 0);
	struct pkt wrong = ipv6(IPPROTO_UDP, 53, 100);

	(void)state;
	assert_int_equal(run(ko, "xdp_config", &short_pkt, NULL), XDP_DROP);
	assert_int_equal(run(ko, "xdp_config", &ok, NULL), XDP_PASS);
	assert_int_equal(run(ko, "xdp_config", &wrong, NULL), XDP_DROP);
	/* .bss holds seen_packets (3), short_packets (1), long_packets (0) and wrong_proto (1), in the
	 * compiler's order. */
	uint64_t bss_total = 0;
	for (size_t off = 0; off < 32; off += 8)
		bss_total += map_u64(ko, ".bss", 0, off);
	assert_int_equal(bss_total, 5);
	assert_int_equal(map_u64(ko, ".data.stats", 0, 0), 1); /* accepted */
	uint32_t key = 0, last_len;
	assert_int_equal(ko_object__map_lookup(ko, ".data", &key, &last_len, sizeof(last_len)), 0);
	assert_int_equal(last_len, 100);
	ko_object__close(ko);
}

static void test_redirect_fallback(void **state)
{
	struct ko_object *ko = load("xdp_redirect_devmap", NULL, NULL);
	struct pkt k = ipv4(IPPROTO_UDP, "10.0.0.1", 53, 64, 0);

	(void)state;
	/* The devmap is empty: bpf_redirect_map returns the fallback action from its flags. */
	assert_int_equal(run(ko, "xdp_redirect_devmap", &k, NULL), XDP_PASS);
	ko_object__close(ko);
}

/* ---- every XDP example over a generated capture: bpfjet in every mode against the kernel ---- */

#define PCAP_FRAMES 1500
#define MAX_FRAME 1600

struct capture {
	uint32_t n;
	uint32_t len[PCAP_FRAMES];
	uint8_t (*bytes)[MAX_FRAME];
};

/* What one run over the capture leaves: per frame the action and the output bytes. */
struct outcome {
	uint32_t action[PCAP_FRAMES];
	uint32_t len[PCAP_FRAMES];
	uint8_t (*bytes)[MAX_FRAME];
};

static struct capture cap;
static char pcap_path[] = "/tmp/bj_oracle_pcapXXXXXX";

/* The kernel's test run refuses frames shorter than an Ethernet header: only longer ones are compared. */
static int read_capture(void)
{
	struct bj_error err = { 0 };
	struct bj_batch *b;
	struct bj_io *io;
	int ret;

	BJ_OPTS(bj_io_opts, io_opts, .pcap_in = pcap_path, .ifindex = 1);
	if (bj_io__open(BJ_IO_PCAP, &io_opts, &io, &err) || bj_batch__create(0, NULL, &b))
		return -1;
	while ((ret = bj_io__rx(io, b, &err)) > 0) {
		for (uint32_t i = 0; i < b->n && cap.n < PCAP_FRAMES; i++) {
			uint32_t len = bj_frame__len(&b->frames[i]);
			if (len < 14 || len > MAX_FRAME)
				continue;
			memcpy(cap.bytes[cap.n], bj_frame__data(&b->frames[i]), len);
			cap.len[cap.n++] = len;
		}
		bj_batch__clear(b);
	}
	bj_batch__destroy(b);
	bj_io__destroy(io);
	return ret == -ENODATA ? 0 : -1;
}

static int setup_capture(void **state)
{
	char cmd[512];
	int fd = mkstemp(pcap_path);

	(void)state;
	if (fd < 0)
		return -1;
	close(fd);
	snprintf(cmd, sizeof(cmd), "python3 %s/scripts/gen-pcap.py --count %d --seed 11 %s",
		 getenv("BJ_SOURCE_ROOT") ? getenv("BJ_SOURCE_ROOT") : ".", PCAP_FRAMES, pcap_path);
	if (system(cmd))
		return -1;
	cap.bytes = calloc(PCAP_FRAMES, MAX_FRAME);
	return cap.bytes ? read_capture() : -1;
}

static int teardown_capture(void **state)
{
	(void)state;
	unlink(pcap_path);
	free(cap.bytes);
	return 0;
}

static struct outcome *outcome_new(void)
{
	struct outcome *o = calloc(1, sizeof(*o));

	assert_non_null(o);
	o->bytes = calloc(PCAP_FRAMES, MAX_FRAME);
	assert_non_null(o->bytes);
	return o;
}

static void outcome_free(struct outcome *o)
{
	if (o)
		free(o->bytes);
	free(o);
}

static struct outcome *kernel_outcome(struct ko_object *ko, const char *prog)
{
	struct outcome *o = outcome_new();
	struct ko_run r;

	for (uint32_t i = 0; i < cap.n; i++) {
		memset(&r, 0, sizeof(r));
		r.data_in = cap.bytes[i];
		r.data_size_in = cap.len[i];
		int ret = ko_object__run(ko, prog, &r);
		if (ret)
			fail_msg("%s: kernel test run of frame %u: %s", prog, i, strerror(-ret));
		o->action[i] = r.retval;
		o->len[i] = r.data_size_out;
		memcpy(o->bytes[i], r.data_out, r.data_size_out < MAX_FRAME ? r.data_size_out : MAX_FRAME);
	}
	return o;
}

struct xdp_mode {
	const char *name;
	enum bj_engine engine;
	enum bj_xdp_exec exec;
	bool checked; /* loaded unverified: every access checked at run time */
};

static const struct xdp_mode xdp_modes[] = {
	{ "interp per-packet", BJ_ENGINE_INTERP, BJ_XDP_EXEC_PER_PACKET, false },
	{ "interp batched", BJ_ENGINE_INTERP, BJ_XDP_EXEC_REWRITE, false },
	{ "jit per-packet", BJ_ENGINE_JIT, BJ_XDP_EXEC_PER_PACKET, false },
	{ "jit batched", BJ_ENGINE_JIT, BJ_XDP_EXEC_REWRITE, false },
	{ "jit native loop", BJ_ENGINE_JIT, BJ_XDP_EXEC_NATIVE_LOOP, false },
	{ "interp checked per-packet", BJ_ENGINE_INTERP, BJ_XDP_EXEC_PER_PACKET, true },
	{ "jit checked batched", BJ_ENGINE_JIT, BJ_XDP_EXEC_REWRITE, true },
};

/* Frames go through in batches of 64, each rebuilt from the capture as the kernel's test run gets it. */
static void run_batches(struct bj_xdp *x, struct outcome *o)
{
	struct bj_error err = { 0 };
	struct bj_batch *b;

	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	assert_int_equal(bj_batch__create(64, &bo, &b), 0);
	for (uint32_t base = 0; base < cap.n; base += b->cap) {
		b->n = cap.n - base < b->cap ? cap.n - base : b->cap;
		for (uint32_t i = 0; i < b->n; i++) {
			struct bj_frame *f = &b->frames[i];
			f->data_meta = f->data = BJ_IO_HEADROOM;
			f->data_end = f->data + cap.len[base + i];
			f->ingress_ifindex = 1;
			f->rx_queue_index = 0;
			memcpy(f->buf + f->data, cap.bytes[base + i], cap.len[base + i]);
		}
		if (bj_xdp__run_batch(x, 0, b, &err))
			fail_msg("run: %s", err.msg);
		for (uint32_t i = 0; i < b->n; i++) {
			const struct bj_frame *f = &b->frames[i];
			o->action[base + i] = f->action;
			o->len[base + i] = f->data_end - f->data_meta;
			memcpy(o->bytes[base + i], f->buf + f->data_meta, o->len[base + i]);
		}
	}
	b->n = 0;
	bj_batch__destroy(b);
}

/* NULL when the mode does not apply to the program (batching refused, e.g. for tail calls). */
static struct outcome *bpfjet_outcome(struct bj_object *obj, const char *prog, const struct xdp_mode *m)
{
	struct bj_error err = { 0 };
	struct bj_xdp *x;
	struct outcome *o;

	BJ_OPTS(bj_xdp_opts, xo, .exec = m->exec);
	int ret = bj_xdp__create(bj_program__prog(bj_object__find_prog(obj, prog)), &xo, &x, &err);
	if (ret == -EOPNOTSUPP && m->exec != BJ_XDP_EXEC_PER_PACKET) {
		print_message("note: %s, %s: %s\n", prog, m->name, err.msg);
		return NULL;
	}
	if (ret)
		fail_msg("%s, %s: %s", prog, m->name, err.msg);
	o = outcome_new();
	run_batches(x, o);
	bj_xdp__destroy(x);
	return o;
}

static void compare_outcomes(const char *what, const struct outcome *k, const struct outcome *b)
{
	for (uint32_t i = 0; i < cap.n; i++) {
		if (k->action[i] != b->action[i])
			fail_msg("%s: frame %u (%u bytes): action %u, the kernel's %u", what, i, cap.len[i], b->action[i],
				 k->action[i]);
		if (k->len[i] != b->len[i] || memcmp(k->bytes[i], b->bytes[i], k->len[i]))
			fail_msg("%s: frame %u: output differs from the kernel's (%u/%u bytes)", what, i, b->len[i],
				 k->len[i]);
	}
}

static bool is_percpu(enum bj_map_type t)
{
	return t == BJ_MAP_TYPE_PERCPU_ARRAY || t == BJ_MAP_TYPE_PERCPU_HASH || t == BJ_MAP_TYPE_LRU_PERCPU_HASH;
}

struct map_cmp {
	const char *what;
	const char *name;
	struct bj_map *map;
	unsigned kernel_cpus;
	uint32_t value_size;
	size_t keys;
};

/* Per-CPU values are compared as the sums of their 8-byte words, the way counters add up. */
static int compare_entry(const void *key, const void *kvalue, void *ctx)
{
	struct map_cmp *c = ctx;
	size_t vs = c->value_size, stride = (vs + 7) & ~(size_t)7;
	uint8_t *bv = calloc(1, bj_map__value_buf_size(c->map));
	uint64_t ksum, bsum, w;

	assert_non_null(bv);
	if (bj_map__lookup_elem(c->map, key, bv))
		fail_msg("%s: map %s: a key the kernel has is missing", c->what, c->name);
	if (!is_percpu(bj_map__type(c->map))) {
		if (memcmp(kvalue, bv, vs))
			fail_msg("%s: map %s: a value differs from the kernel's", c->what, c->name);
	} else {
		for (size_t off = 0; off + 8 <= stride; off += 8) {
			ksum = bsum = 0;
			for (unsigned cpu = 0; cpu < c->kernel_cpus; cpu++) {
				memcpy(&w, (const uint8_t *)kvalue + cpu * stride + off, 8);
				ksum += w;
			}
			for (unsigned wk = 0; wk < bj_map__n_workers(c->map); wk++) {
				memcpy(&w, bv + wk * stride + off, 8);
				bsum += w;
			}
			if (ksum != bsum)
				fail_msg("%s: map %s: word at %zu sums to %llu, the kernel's to %llu", c->what, c->name, off,
					 (unsigned long long)bsum, (unsigned long long)ksum);
		}
	}
	free(bv);
	c->keys++;
	return 0;
}

static size_t count_keys(struct bj_map *m)
{
	uint8_t key[64], next[64];
	size_t n = 0;
	const void *prev = NULL;

	while (!bj_map__get_next_key(m, prev, next)) {
		memcpy(key, next, sizeof(key));
		prev = key;
		n++;
	}
	return n;
}

/* Arrays and hashes the program writes: same keys, same values (summed over CPUs for per-CPU maps). */
static void compare_maps(const char *what, struct ko_object *ko, struct bj_object *obj)
{
	for (size_t i = 0; i < bj_object__map_count(obj); i++) {
		struct bj_map_spec *s = bj_object__map(obj, i);
		enum bj_map_type t = bj_map_spec__type(s);
		const char *name = bj_map_spec__origin(s) >= BJ_MAP_ORIGIN_DATA ? strchr(bj_map_spec__name(s), '.')
										: bj_map_spec__name(s);
		struct map_cmp c = { .what = what, .name = name, .map = bj_map_spec__map(s) };
		uint32_t ks;

		if (t != BJ_MAP_TYPE_ARRAY && t != BJ_MAP_TYPE_HASH && !is_percpu(t))
			continue;
		assert_int_equal(ko_object__map_info(ko, name, &ks, &c.value_size, &c.kernel_cpus), 0);
		c.value_size = bj_map_spec__value_size(s);
		assert_int_equal(ko_object__map_foreach(ko, name, compare_entry, &c), 0);
		assert_int_equal(c.keys, count_keys(c.map));
	}
}

/* Ring buffer records in order, as one byte string with a length before each. */
struct records {
	uint8_t buf[PCAP_FRAMES * 40];
	size_t len;
	size_t n;
};

static int add_record(struct records *r, const void *data, size_t size)
{
	uint32_t sz = (uint32_t)size;

	if (r->len + 4 + size > sizeof(r->buf))
		return -E2BIG;
	memcpy(r->buf + r->len, &sz, 4);
	memcpy(r->buf + r->len + 4, data, size);
	r->len += 4 + size;
	r->n++;
	return 0;
}

static int kernel_record(const void *data, size_t size, void *ctx)
{
	return add_record(ctx, data, size);
}

static int bpfjet_record(void *ctx, void *data, size_t size)
{
	return add_record(ctx, data, size);
}

static struct records *kernel_records(struct ko_object *ko, struct bj_object *obj)
{
	struct records *r = NULL;

	for (size_t i = 0; i < bj_object__map_count(obj); i++) {
		const struct bj_map_spec *s = bj_object__map(obj, i);
		if (bj_map_spec__type(s) != BJ_MAP_TYPE_RINGBUF)
			continue;
		assert_null(r); /* one ring buffer per example */
		r = calloc(1, sizeof(*r));
		assert_non_null(r);
		assert_true(ko_object__ringbuf_drain(ko, bj_map_spec__name(s), kernel_record, r) >= 0);
		/* Else the comparison would prove nothing. */
		assert_true(r->n > 0);
	}
	return r;
}

/* The records a bpfjet run produced, in order, against the kernel's. */
static void compare_records(const char *what, struct bj_object *obj, const struct records *k)
{
	struct bj_ring_buffer *rb;
	struct records *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	for (size_t i = 0; i < bj_object__map_count(obj); i++) {
		struct bj_map_spec *s = bj_object__map(obj, i);
		if (bj_map_spec__type(s) != BJ_MAP_TYPE_RINGBUF)
			continue;
		assert_int_equal(bj_ring_buffer__new(bj_map_spec__map(s), bpfjet_record, r, NULL, &rb), 0);
		assert_true(bj_ring_buffer__consume(rb) >= 0);
		bj_ring_buffer__free(rb);
	}
	if (r->n != k->n || r->len != k->len || memcmp(r->buf, k->buf, k->len))
		fail_msg("%s: %zu ring buffer records (%zu bytes), the kernel's %zu (%zu bytes)", what, r->n, r->len, k->n,
			 k->len);
	free(r);
}

static const struct {
	const char *object, *prog;
} xdp_examples[] = {
	{ "xdp_drop_port", "xdp_drop_port" }, { "xdp_count_proto", "xdp_count_proto" },
	{ "xdp_mac_swap", "xdp_mac_swap" },   { "xdp_redirect_devmap", "xdp_redirect_devmap" },
	{ "ringbuf_events", "xdp_ringbuf_events" }, { "rodata_config", "xdp_config" },
	{ "tail_call", "xdp_entry" },         { "loop_checksum", "xdp_loop_checksum" },
	{ "xdp_firewall", "xdp_firewall" },
};

static struct bj_object *bpfjet_load(const char *name, const struct xdp_mode *m, struct bj_error *err)
{
	struct bj_object *obj;
	char path[512];

	example_path(path, sizeof(path), name);
	if (bj_object__open_file(path, NULL, &obj, err))
		fail_msg("%s: %s", path, err->msg);
	BJ_OPTS(bj_object_load_opts, lo, .engine = m->engine, .n_workers = 1, .unverified = m->checked);
	if (bj_object__load(obj, &lo, err)) {
		bj_object__close(obj);
		return NULL;
	}
	return obj;
}

static void test_examples_match_kernel_over_pcap(void **state)
{
	(void)state;
	for (size_t e = 0; e < N(xdp_examples); e++) {
		struct ko_object *ko = load(xdp_examples[e].object, NULL, NULL);
		struct outcome *k = kernel_outcome(ko, xdp_examples[e].prog);
		struct records *kr = NULL;

		for (size_t m = 0; m < N(xdp_modes); m++) {
			struct bj_error err = { 0 };
			struct bj_object *obj = bpfjet_load(xdp_examples[e].object, &xdp_modes[m], &err);
			char what[128];

			if (!obj)
				fail_msg("%s (%s): %s", xdp_examples[e].object, xdp_modes[m].name, err.msg);
			snprintf(what, sizeof(what), "%s, %s", xdp_examples[e].object, xdp_modes[m].name);
			if (!m)
				kr = kernel_records(ko, obj);
			struct outcome *b = bpfjet_outcome(obj, xdp_examples[e].prog, &xdp_modes[m]);
			if (b) {
				compare_outcomes(what, k, b);
				compare_maps(what, ko, obj);
				if (kr)
					compare_records(what, obj, kr);
			}
			outcome_free(b);
			bj_object__close(obj);
		}
		outcome_free(k);
		free(kr);
		/* The kernel's maps were compared after its own run; it is reloaded for the next example. */
		ko_object__close(ko);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_example_loads), cmocka_unit_test(test_drop_port),
		cmocka_unit_test(test_mac_swap),            cmocka_unit_test(test_count_proto),
		cmocka_unit_test(test_firewall),            cmocka_unit_test(test_socket_filter),
		cmocka_unit_test(test_ringbuf),             cmocka_unit_test(test_tail_calls),
		cmocka_unit_test(test_loop_checksum),       cmocka_unit_test(test_rodata_config),
		cmocka_unit_test(test_redirect_fallback),   cmocka_unit_test(test_examples_match_kernel_over_pcap),
	};
	return cmocka_run_group_tests(tests, setup_capture, teardown_capture);
}
