/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Embedding bpfjet, as a libbpf skeleton user would: open the firewall example, move its service port by
 * editing .rodata before load, load it (maps created, program verified and compiled), block one source
 * address through its hash map, run it on three packets and read its per-worker action counters.
 *
 *   cc embed.c $(pkg-config --cflags --libs bpfjet) -o embed && ./embed xdp_firewall.bpf.o
 *
 * Exits 0 when every verdict and counter is the expected one.
 */
#include <arpa/inet.h>
#include <bpfjet/object.h>
#include <bpfjet/xdp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVICE_PORT 9000
#define WORKERS 2

struct packet {
	const char *what;
	const char *saddr;
	uint16_t dport;
	uint32_t want;
};

/* .rodata holds `service_port` (u16) first, as the compiler laid it out; the object's BTF says so. */
static int set_service_port(struct bj_object *obj, uint16_t port)
{
	struct bj_map_spec *rodata = bj_object__find_map(obj, ".rodata");
	size_t size;
	uint8_t *v = rodata ? bj_map_spec__initial_value_mut(rodata, &size) : NULL;

	if (!v || size < sizeof(port))
		return -1;
	memcpy(v, &port, sizeof(port));
	return 0;
}

/* A UDP/IPv4 frame from saddr to dport, 64 bytes. */
static uint32_t build_udp(uint8_t *p, const char *saddr, uint16_t dport)
{
	uint16_t v;

	memset(p, 0, 64);
	memcpy(p, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	p[14] = 0x45;
	v = htons(64 - 14);
	memcpy(p + 16, &v, 2);
	p[22] = 64;
	p[23] = 17;
	inet_pton(AF_INET, saddr, p + 26);
	inet_pton(AF_INET, "192.0.2.1", p + 30);
	v = htons(40000);
	memcpy(p + 34, &v, 2);
	v = htons(dport);
	memcpy(p + 36, &v, 2);
	return 64;
}

/* One frame through the XDP runner, as worker `worker`: the verdict. */
static int run_packet(struct bj_xdp *x, struct bj_batch *b, unsigned worker, const struct packet *pk, uint32_t *action)
{
	struct bj_error err = { 0 };
	struct bj_frame *f = &b->frames[0];

	f->data = BJ_IO_HEADROOM;
	f->data_meta = f->data;
	f->data_end = f->data + build_udp(f->buf + f->data, pk->saddr, pk->dport);
	f->ingress_ifindex = 1;
	b->n = 1;
	if (bj_xdp__run_batch(x, worker, b, &err)) {
		fprintf(stderr, "embed: run: %s\n", err.msg);
		return -1;
	}
	*action = f->action;
	b->n = 0;
	return 0;
}

static int run_packets(struct bj_prog *prog, const struct packet *pkts, size_t n)
{
	struct bj_error err = { 0 };
	struct bj_batch *b = NULL;
	struct bj_xdp *x = NULL;
	int failures = 0;

	BJ_OPTS(bj_xdp_opts, xo, .n_workers = WORKERS);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	if (bj_xdp__create(prog, &xo, &x, &err) || bj_batch__create(1, &bo, &b)) {
		fprintf(stderr, "embed: xdp runner: %s\n", err.msg);
		bj_xdp__destroy(x);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		uint32_t action;
		if (run_packet(x, b, (unsigned)(i % WORKERS), &pkts[i], &action)) {
			failures++;
			break;
		}
		printf("%-32s %s\n", pkts[i].what, bj_xdp_action__name(action));
		failures += action != pkts[i].want;
	}
	bj_batch__destroy(b);
	bj_xdp__destroy(x);
	return failures;
}

/* action_count is a per-CPU array: one u64 per worker, summed as user space sees it in the kernel. */
static uint64_t count_of(struct bj_map *counts, uint32_t action)
{
	uint64_t v[WORKERS] = { 0 }, sum = 0;

	if (bj_map__value_buf_size(counts) != sizeof(v) || bj_map__lookup_elem(counts, &action, v))
		return UINT64_MAX;
	for (int w = 0; w < WORKERS; w++)
		sum += v[w];
	return sum;
}

int main(int argc, char **argv)
{
	const struct packet pkts[] = {
		{ "UDP to the service port", "10.0.0.1", SERVICE_PORT, BJ_XDP_TX },
		{ "UDP to the old port 8080", "10.0.0.1", 8080, BJ_XDP_PASS },
		{ "UDP from a blocked source", "10.0.0.66", SERVICE_PORT, BJ_XDP_DROP },
	};
	struct bj_error err = { 0 };
	struct bj_object *obj = NULL;
	uint64_t hits = 0;
	uint32_t blocked;
	int failures;

	if (argc != 2) {
		fprintf(stderr, "usage: %s xdp_firewall.bpf.o\n", argv[0]);
		return 2;
	}
	if (bj_object__open_file(argv[1], NULL, &obj, &err)) {
		fprintf(stderr, "embed: %s: %s\n", argv[1], err.msg);
		return 1;
	}
	BJ_OPTS(bj_object_load_opts, lo, .engine = BJ_ENGINE_JIT, .n_workers = WORKERS);
	if (set_service_port(obj, SERVICE_PORT) || bj_object__load(obj, &lo, &err)) {
		fprintf(stderr, "embed: %s: %s\n", argv[1], err.msg[0] ? err.msg : "no .rodata to configure");
		bj_object__close(obj);
		return 1;
	}
	inet_pton(AF_INET, "10.0.0.66", &blocked);
	struct bj_map *blocked_v4 = bj_map_spec__map(bj_object__find_map(obj, "blocked_v4"));
	struct bj_map *counts = bj_map_spec__map(bj_object__find_map(obj, "action_count"));
	bj_map__update_elem(blocked_v4, &blocked, &hits, BJ_ANY);

	failures = run_packets(bj_program__prog(bj_object__find_prog(obj, "xdp_firewall")), pkts, 3);
	bj_map__lookup_elem(blocked_v4, &blocked, &hits);
	printf("counters: TX %llu, PASS %llu, DROP %llu; blocked source seen %llu time(s)\n",
	       (unsigned long long)count_of(counts, BJ_XDP_TX), (unsigned long long)count_of(counts, BJ_XDP_PASS),
	       (unsigned long long)count_of(counts, BJ_XDP_DROP), (unsigned long long)hits);
	failures += count_of(counts, BJ_XDP_TX) != 1 || count_of(counts, BJ_XDP_PASS) != 1 ||
		    count_of(counts, BJ_XDP_DROP) != 1 || hits != 1;
	bj_object__close(obj);
	return failures ? 1 : 0;
}
