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

#include "../lib/kernel_oracle.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_example_loads), cmocka_unit_test(test_drop_port),
		cmocka_unit_test(test_mac_swap),            cmocka_unit_test(test_count_proto),
		cmocka_unit_test(test_firewall),            cmocka_unit_test(test_socket_filter),
		cmocka_unit_test(test_ringbuf),             cmocka_unit_test(test_tail_calls),
		cmocka_unit_test(test_loop_checksum),       cmocka_unit_test(test_rodata_config),
		cmocka_unit_test(test_redirect_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
