/* SPDX-License-Identifier: Apache-2.0 */
/* Loading objects: maps from their specs, programs with the map table, global data, slots, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <bpfjet/map.h>
#include <bpfjet/object.h>
#include <bpfjet/verifier.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *const examples[] = {
	"xdp_drop_port", "xdp_count_proto", "xdp_mac_swap", "xdp_redirect_devmap", "socket_filter",
	"ringbuf_events", "rodata_config", "tail_call", "loop_checksum", "xdp_firewall",
};

static const enum bj_engine engines[] = { BJ_ENGINE_INTERP, BJ_ENGINE_JIT };

static struct bj_object *open_obj(const char *dir, const char *name)
{
	const char *root = getenv("BJ_BUILD_ROOT");
	struct bj_error err = { 0 };
	struct bj_object *obj = NULL;
	char path[512];

	snprintf(path, sizeof(path), "%s/%s/%s.bpf.o", root ? root : "build", dir, name);
	if (bj_object__open_file(path, NULL, &obj, &err))
		fail_msg("%s: %s", path, err.msg);
	return obj;
}

static void load_ok(struct bj_object *obj, const struct bj_object_load_opts *opts)
{
	struct bj_error err = { 0 };

	if (bj_object__load(obj, opts, &err))
		fail_msg("load %s: %s (insn %ld)", bj_object__name(obj), err.msg, err.insn);
}

static struct bj_prog *prog_of(struct bj_object *obj, const char *name)
{
	const struct bj_program *p = bj_object__find_prog(obj, name);

	assert_non_null(p);
	assert_non_null(bj_program__prog(p));
	return bj_program__prog(p);
}

static struct bj_map *map_of(struct bj_object *obj, const char *name)
{
	struct bj_map_spec *s = bj_object__find_map(obj, name);

	assert_non_null(s);
	assert_non_null(bj_map_spec__map(s));
	return bj_map_spec__map(s);
}

/* ---- one packet through the XDP runner, as BPF_PROG_TEST_RUN runs it ---- */

struct pkt {
	uint8_t b[128];
	uint32_t len;
};

static struct pkt udp4(const char *saddr, uint16_t dport, uint32_t len)
{
	struct pkt k = { .len = len };
	uint16_t v;
	uint8_t *ip = k.b + 14;

	memcpy(k.b, "\x02\0\0\0\0\x01\x02\0\0\0\0\x02\x08\x00", 14);
	ip[0] = 0x45;
	v = htons((uint16_t)(len - 14));
	memcpy(ip + 2, &v, 2);
	ip[8] = 64;
	ip[9] = 17;
	inet_pton(AF_INET, saddr, ip + 12);
	inet_pton(AF_INET, "192.0.2.1", ip + 16);
	v = htons(40000);
	memcpy(ip + 20, &v, 2);
	v = htons(dport);
	memcpy(ip + 22, &v, 2);
	return k;
}

static uint32_t run_xdp(struct bj_prog *prog, const struct pkt *k, uint8_t *out)
{
	struct bj_error err = { 0 };
	struct bj_batch *b;
	struct bj_frame *f;
	struct bj_xdp *x;
	uint32_t action;

	BJ_OPTS(bj_xdp_opts, xo, .exec = BJ_XDP_EXEC_PER_PACKET);
	if (bj_xdp__create(prog, &xo, &x, &err))
		fail_msg("xdp: %s", err.msg);
	BJ_OPTS(bj_batch_opts, bo, .below_4g = true);
	assert_int_equal(bj_batch__create(1, &bo, &b), 0);
	f = &b->frames[0];
	memcpy(f->buf + f->data, k->b, k->len);
	f->data_end = f->data + k->len;
	f->ingress_ifindex = 1;
	b->n = 1;
	assert_int_equal(bj_xdp__run_batch(x, 0, b, &err), 0);
	action = f->action;
	if (out)
		memcpy(out, f->buf + f->data, bj_frame__len(f));
	b->n = 0;
	bj_batch__destroy(b);
	bj_xdp__destroy(x);
	return action;
}

/* ---- tests ---- */

static void check_maps_created(struct bj_object *obj)
{
	for (size_t i = 0; i < bj_object__map_count(obj); i++) {
		const struct bj_map_spec *s = bj_object__map(obj, i);
		const struct bj_map *m = bj_map_spec__map(s);

		assert_non_null(m);
		assert_int_equal(bj_map__type(m), bj_map_spec__type(s));
		assert_int_equal(bj_map__key_size(m), bj_map_spec__key_size(s));
		assert_int_equal(bj_map__value_size(m), bj_map_spec__value_size(s));
		assert_int_equal(bj_map__max_entries(m), bj_map_spec__max_entries(s));
		assert_int_equal(bj_map__flags(m), bj_map_spec__flags(s));
		assert_int_equal(bj_map__is_frozen(m), bj_map_spec__origin(s) == BJ_MAP_ORIGIN_RODATA);
	}
}

static void test_every_example_loads(void **state)
{
	(void)state;
	for (size_t e = 0; e < N(engines); e++)
		for (size_t i = 0; i < N(examples); i++) {
			struct bj_object *obj = open_obj("examples", examples[i]);

			BJ_OPTS(bj_object_load_opts, lo, .engine = engines[e]);
			assert_null(bj_program__prog(bj_object__prog(obj, 0)));
			if (!bj_object__loaded(obj))
				load_ok(obj, &lo);
			assert_true(bj_object__loaded(obj));
			for (size_t p = 0; p < bj_object__prog_count(obj); p++) {
				struct bj_prog *prog = bj_program__prog(bj_object__prog(obj, p));
				assert_non_null(prog);
				assert_int_equal(bj_prog__engine(prog), engines[e]);
			}
			check_maps_created(obj);
			assert_int_equal(bj_object__load(obj, &lo, NULL), -EBUSY);
			bj_object__close(obj);
		}
}

static void test_maps_from_specs(void **state)
{
	struct bj_object *obj = open_obj("examples", "xdp_firewall");
	uint32_t zero = 0;
	uint8_t rodata[64];
	size_t n;
	const void *init;

	(void)state;
	BJ_OPTS(bj_object_load_opts, lo, .n_workers = 3);
	load_ok(obj, &lo);
	assert_int_equal(bj_map__type(map_of(obj, "blocked_v4")), BJ_MAP_TYPE_HASH);
	assert_int_equal(bj_map__max_entries(map_of(obj, "blocked_v6")), 1024);
	assert_int_equal(bj_map__key_size(map_of(obj, "blocked_v6")), 16);
	assert_int_equal(bj_map__n_workers(map_of(obj, "action_count")), 3);
	assert_int_equal(bj_map__value_buf_size(map_of(obj, "action_count")), 24);
	struct bj_map *ro = map_of(obj, ".rodata");
	assert_true(bj_map__flags(ro) & BJ_F_RDONLY_PROG);
	assert_true(bj_map__is_frozen(ro));
	/* Frozen: user space can no longer write it, and it holds the object's initial bytes. */
	init = bj_map_spec__initial_value(bj_object__find_map(obj, ".rodata"), &n);
	assert_true(n <= sizeof(rodata));
	assert_int_equal(bj_map__lookup_elem(ro, &zero, rodata), 0);
	assert_memory_equal(rodata, init, n);
	assert_int_equal(bj_map__update_elem(ro, &zero, rodata, BJ_ANY), -EPERM);
	bj_object__close(obj);
}

static void set_blocked_port(struct bj_object *obj, uint16_t port)
{
	size_t n;
	uint8_t *v = bj_map_spec__initial_value_mut(bj_object__find_map(obj, ".rodata"), &n);

	assert_non_null(v);
	assert_true(n >= 2);
	memcpy(v, &port, 2); /* blocked_port is the only variable of .rodata */
}

static void test_rodata_edited_before_load(void **state)
{
	static const struct {
		uint16_t blocked, dport;
		uint32_t want;
	} cases[] = {
		{ 9, 9, BJ_XDP_DROP }, { 9, 53, BJ_XDP_PASS }, { 53, 53, BJ_XDP_DROP }, { 53, 9, BJ_XDP_PASS },
	};

	(void)state;
	for (size_t e = 0; e < N(engines); e++)
		for (size_t i = 0; i < N(cases); i++) {
			struct bj_object *obj = open_obj("examples", "xdp_drop_port");
			struct pkt k = udp4("10.0.0.1", cases[i].dport, 64);

			BJ_OPTS(bj_object_load_opts, lo, .engine = engines[e]);
			set_blocked_port(obj, cases[i].blocked);
			load_ok(obj, &lo);
			assert_int_equal(run_xdp(prog_of(obj, "xdp_drop_port"), &k, NULL), cases[i].want);
			bj_object__close(obj);
		}
}

/* mem_calls: `second` returns square(mem[2]) + calls, where calls is a static in .bss that square() bumps. */
static void test_global_data(void **state)
{
	(void)state;
	for (size_t e = 0; e < N(engines); e++)
		for (int verified = 0; verified < 2; verified++) {
			struct bj_object *obj = open_obj("tests/elf", "mem_calls");
			uint8_t mem[4] = { 0, 0, 5, 0 }, bss[8];
			uint32_t zero = 0;
			uint64_t r0, calls;

			/*
			 * Without a buffer size, memory programs run checked and reach .bss as a region. With one,
			 * only `second` is loaded: `first` dereferences a pointer kept in .data, which a verifier
			 * sees as a number, as Linux's does.
			 */
			BJ_OPTS(bj_object_load_opts, lo, .engine = engines[e], .mem_size = verified ? sizeof(mem) : 0,
				.prog_name = verified ? "second" : NULL);
			load_ok(obj, &lo);
			struct bj_prog *second = prog_of(obj, "second");
			for (uint64_t i = 1; i <= 3; i++) {
				assert_int_equal(bj_prog__exec(second, mem, sizeof(mem), &r0, NULL), 0);
				assert_int_equal(r0, 25 + i);
			}
			assert_int_equal(bj_map__lookup_elem(map_of(obj, ".bss"), &zero, bss), 0);
			memcpy(&calls, bss, 8);
			assert_int_equal(calls, 3);
			if (verified)
				assert_int_equal(bj_prog__exec(second, mem, 2, &r0, NULL), -EINVAL);
			bj_object__close(obj);
		}
}

static void test_map_in_map_slots(void **state)
{
	struct bj_object *obj = open_obj("tests/elf", "mem_calls");
	uint32_t zero = 0, one = 1;

	(void)state;
	load_ok(obj, NULL);
	struct bj_map *outer = map_of(obj, "outer");
	assert_ptr_equal(bj_map__inner(outer, &one), map_of(obj, "inner_a"));
	assert_null(bj_map__inner(outer, &zero));
	bj_object__close(obj);
}

static void test_prog_array_slots_and_tail_calls(void **state)
{
	(void)state;
	for (size_t e = 0; e < N(engines); e++) {
		struct bj_object *obj = open_obj("examples", "tail_call");
		struct pkt v4 = udp4("10.0.0.1", 53, 64);
		uint32_t zero = 0;
		uint64_t hits[3];

		BJ_OPTS(bj_object_load_opts, lo, .engine = engines[e]);
		load_ok(obj, &lo);
		/* entry -> stage_ipv4 -> stage_count: XDP_TX, one hit in each of the two stages. */
		assert_int_equal(run_xdp(prog_of(obj, "xdp_entry"), &v4, NULL), BJ_XDP_TX);
		assert_int_equal(bj_map__lookup_elem(map_of(obj, ".bss"), &zero, hits), 0);
		assert_int_equal(hits[0], 1);
		assert_int_equal(hits[1], 0);
		assert_int_equal(hits[2], 1);
		bj_object__close(obj);
	}
}

/* A program that cannot be created: the load names it and leaves nothing behind. */
static void test_rejected_program(void **state)
{
	struct bj_object *obj = open_obj("examples", "xdp_count_proto");
	struct bj_helper none = { 1, "bpf_map_lookup_elem", NULL };
	struct bj_error err = { 0 };
	int ret;

	(void)state;
	/* bpf_map_lookup_elem replaced by a NULL function: refused at creation. */
	BJ_OPTS(bj_object_load_opts, lo, .helpers = &none, .n_helpers = 1);
	ret = bj_object__load(obj, &lo, &err);
	assert_int_equal(ret, -EINVAL);
	assert_non_null(strstr(err.msg, "program 'xdp_count_proto' (section 'xdp')"));
	assert_false(bj_object__loaded(obj));
	assert_null(bj_program__prog(bj_object__prog(obj, 0)));
	assert_null(bj_map_spec__map(bj_object__map(obj, 0)));
	/* The object can be loaded again once the cause is gone. */
	load_ok(obj, NULL);
	bj_object__close(obj);
}

struct log_lines {
	char text[8192];
	int n;
};

static void keep_line(void *ctx, const char *msg)
{
	struct log_lines *l = ctx;
	size_t len = strlen(l->text);

	snprintf(l->text + len, sizeof(l->text) - len, "%s\n", msg);
	l->n++;
}

/* Whether bj_verify refuses a load through a number (r2 is the buffer's length, not a pointer). */
/* The verifier's rejection fails the load naming the program and the instruction; the log explains it. */
static void test_verifier_rejection(void **state)
{
	struct bj_object *obj;
	struct log_lines log = { 0 };
	struct bj_error err = { 0 };

	(void)state;
	obj = open_obj("tests/elf", "rejected");
	BJ_OPTS(bj_object_load_opts, lo, .log = keep_line, .log_ctx = &log);
	assert_int_equal(bj_object__load(obj, &lo, &err), -EACCES);
	assert_non_null(strstr(err.msg, "program 'unchecked_read' (section 'xdp')"));
	assert_true(err.insn >= 0);
	assert_true(log.n > 0);
	assert_false(bj_object__loaded(obj));
	bj_object__close(obj);
}

/* Unverified, the same program loads and runs checked: the read beyond the frame stops its run. */
static void test_unverified_runs_checked(void **state)
{
	struct pkt k = { .len = 60 };

	(void)state;
	for (size_t e = 0; e < N(engines); e++) {
		struct bj_object *obj = open_obj("tests/elf", "rejected");

		BJ_OPTS(bj_object_load_opts, lo, .engine = engines[e], .unverified = true);
		load_ok(obj, &lo);
		assert_int_equal(run_xdp(prog_of(obj, "unchecked_read"), &k, NULL), BJ_XDP_ABORTED);
		bj_object__close(obj);
	}
}

/* ---- the map table of bj_prog__create, without an object ---- */

#define LDDW(D, S, IMM, IMM2) { .code = 0x18, .dst = D, .src = S, .imm = IMM }, { .imm = IMM2 }
#define LDXDW(D, S, OFF) { .code = 0x79, .dst = D, .src = S, .off = OFF }
#define EXIT { .code = 0x95 }

static void test_prog_map_table(void **state)
{
	const struct bj_insn value_load[] = { LDDW(1, 6, 0, 0), LDXDW(0, 1, 0), EXIT };
	const struct bj_insn map_addr[] = { LDDW(0, 5, 1, 0), EXIT };
	struct bj_map *array, *hash, *table[2];
	struct bj_prog *prog;
	uint32_t zero = 0;
	uint64_t v = 42, r0 = 0;
	uint8_t mem[8] = { 0 };

	(void)state;
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_ARRAY, 4, 8, 1, NULL, &array, NULL), 0);
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_HASH, 4, 8, 4, NULL, &hash, NULL), 0);
	table[0] = array;
	table[1] = hash;
	assert_int_equal(bj_map__update_elem(array, &zero, &v, BJ_ANY), 0);
	/* Verified (mem_size) and checked (none): the value is read through its address either way. */
	for (uint32_t mem_size = 0; mem_size <= 8; mem_size += 8)
		for (size_t e = 0; e < N(engines); e++) {
			BJ_OPTS(bj_prog_opts, po, .engine = engines[e], .maps = table, .n_maps = 2, .mem_size = mem_size);
			assert_int_equal(bj_prog__create(value_load, N(value_load), &po, &prog, NULL), 0);
			assert_int_equal(bj_prog__exec(prog, mem, sizeof(mem), &r0, NULL), 0);
			assert_int_equal(r0, 42);
			bj_prog__destroy(prog);
		}
	/* src 5 loads the map itself: what helpers get in r1. */
	BJ_OPTS(bj_prog_opts, po, .maps = table, .n_maps = 2, .unchecked = true);
	assert_int_equal(bj_prog__create(map_addr, N(map_addr), &po, &prog, NULL), 0);
	assert_int_equal(bj_prog__exec(prog, NULL, 0, &r0, NULL), 0);
	assert_int_equal(r0, (uint64_t)(uintptr_t)hash);
	bj_prog__destroy(prog);
	/* The program holds references: it still reads the array after the caller dropped its own. */
	assert_int_equal(bj_prog__create(value_load, N(value_load), &po, &prog, NULL), 0);
	bj_map__destroy(array);
	assert_int_equal(bj_prog__exec(prog, NULL, 0, &r0, NULL), 0);
	assert_int_equal(r0, 42);
	bj_prog__destroy(prog);
	bj_map__destroy(hash);
}

static void test_prog_map_table_errors(void **state)
{
	static const struct {
		const char *name;
		struct bj_insn insns[3];
		size_t n_maps;
		const char *msg;
	} cases[] = {
		{ "index beyond the table", { LDDW(0, 5, 2, 0), EXIT }, 2,
		  "insn 0 refers to map 2, but the program's table has 2 maps" },
		{ "no table", { LDDW(0, 1, 0, 0), EXIT }, 0, "insn 0 refers to map 0, but the program's table has 0 maps" },
		{ "value of a hash", { LDDW(0, 6, 1, 0), EXIT }, 2,
		  "insn 0: direct value access to map 1 ('h', hash with 4 entries)" },
		{ "offset beyond the value", { LDDW(0, 2, 0, 8), EXIT }, 2,
		  "insn 0: offset 8 is beyond the 8-byte value of map 0 ('a')" },
		{ "map with an offset", { LDDW(0, 5, 0, 4), EXIT }, 2, "insn 0: map reference with non-zero second imm 4" },
	};
	struct bj_map *table[2];

	(void)state;
	BJ_OPTS(bj_map_opts, ao, .name = "a");
	BJ_OPTS(bj_map_opts, ho, .name = "h");
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_ARRAY, 4, 8, 1, &ao, &table[0], NULL), 0);
	assert_int_equal(bj_map__create(BJ_MAP_TYPE_HASH, 4, 8, 4, &ho, &table[1], NULL), 0);
	for (size_t i = 0; i < N(cases); i++) {
		struct bj_error err = { 0 };
		struct bj_prog *prog = NULL;

		BJ_OPTS(bj_prog_opts, po, .maps = table, .n_maps = cases[i].n_maps, .unchecked = true);
		if (bj_prog__create(cases[i].insns, 3, &po, &prog, &err) != -EINVAL || err.insn != 0 ||
		    !strstr(err.msg, cases[i].msg))
			fail_msg("%s: insn %ld '%s'", cases[i].name, err.insn, err.msg);
		assert_null(prog);
	}
	bj_map__destroy(table[0]);
	bj_map__destroy(table[1]);
}

static void test_bad_opts(void **state)
{
	struct bj_object *obj = open_obj("examples", "xdp_mac_swap");
	struct {
		struct bj_object_load_opts o;
		uint64_t extra;
	} newer = { .o = { .sz = sizeof(newer) }, .extra = 1 };

	(void)state;
	assert_int_equal(bj_object__load(obj, &newer.o, NULL), -EINVAL);
	assert_int_equal(bj_object__load(NULL, NULL, NULL), -EINVAL);
	bj_object__close(obj);
	bj_object__close(NULL);
}

static void test_pin_by_name(void **state)
{
	char root[] = "/tmp/bj_load_pinXXXXXX", path[64];
	struct bj_object *a, *b;
	struct stat st;
	uint32_t key = 0x01020304;
	uint64_t hits = 42, got = 0;

	(void)state;
	assert_non_null(mkdtemp(root));
	a = open_obj("tests/elf", "pinned");
	b = open_obj("tests/elf", "pinned");
	BJ_OPTS(bj_object_load_opts, lo, .pin_root = root);
	load_ok(a, &lo);
	snprintf(path, sizeof(path), "%s/shared_hits", root);
	assert_int_equal(stat(path, &st), 0);
	/* The second object shares the pinned map; the unpinned one is its own. */
	load_ok(b, &lo);
	assert_ptr_equal(map_of(a, "shared_hits"), map_of(b, "shared_hits"));
	assert_ptr_not_equal(map_of(a, "private_hits"), map_of(b, "private_hits"));
	assert_int_equal(bj_map__update_elem(map_of(a, "shared_hits"), &key, &hits, BJ_ANY), 0);
	assert_int_equal(bj_map__lookup_elem(map_of(b, "shared_hits"), &key, &got), 0);
	assert_int_equal(got, 42);
	bj_object__close(a);
	assert_int_equal(stat(path, &st), 0);
	bj_object__close(b);
	/* The last user gone, so is the pin. */
	assert_int_not_equal(stat(path, &st), 0);
	rmdir(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_example_loads),
		cmocka_unit_test(test_maps_from_specs),
		cmocka_unit_test(test_rodata_edited_before_load),
		cmocka_unit_test(test_global_data),
		cmocka_unit_test(test_map_in_map_slots),
		cmocka_unit_test(test_prog_array_slots_and_tail_calls),
		cmocka_unit_test(test_rejected_program),
		cmocka_unit_test(test_verifier_rejection),
		cmocka_unit_test(test_unverified_runs_checked),
		cmocka_unit_test(test_prog_map_table),
		cmocka_unit_test(test_prog_map_table_errors),
		cmocka_unit_test(test_bad_opts),
		cmocka_unit_test(test_pin_by_name),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
