/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpfjet/asm.h>
#include <bpfjet/map.h>
#include <bpfjet/object.h>
#include <bpfjet/verifier.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BJ_ARRAY_SIZE_T(a) (sizeof(a) / sizeof((a)[0]))

/* The maps every table case may refer to by index (lddw %rX, map_idx(N)). */
enum {
	M_HASH = 0,    /* key 4, value 8 */
	M_ARRAY1,      /* array, one 16-byte value: global data */
	M_RINGBUF,
	M_PROG_ARRAY,
	M_DEVMAP,
	M_QUEUE,       /* value 8 */
	M_LOCKED,      /* array, value 16 with a bpf_spin_lock at 0 */
	M_RODATA,      /* frozen .rodata, value 8 = {7, 0, ...} */
	M_ARRAY_OF_MAPS,
	M_WRONLY,      /* array, BPF_F_WRONLY_PROG */
};

static const uint8_t rodata_bytes[8] = { 7, 0, 0, 0, 0x11, 0x22, 0, 0 };
static const struct bj_verifier_map inner_map = { .type = BJ_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 4,
						  .max_entries = 4, .spin_lock_off = -1, .name = "inner" };
static const struct bj_verifier_map test_maps[] = {
	[M_HASH] = { .type = BJ_MAP_TYPE_HASH, .key_size = 4, .value_size = 8, .max_entries = 16, .spin_lock_off = -1,
		     .name = "counts" },
	[M_ARRAY1] = { .type = BJ_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 16, .max_entries = 1,
		       .spin_lock_off = -1, .name = ".data" },
	[M_RINGBUF] = { .type = BJ_MAP_TYPE_RINGBUF, .max_entries = 4096, .spin_lock_off = -1, .name = "events" },
	[M_PROG_ARRAY] = { .type = BJ_MAP_TYPE_PROG_ARRAY, .key_size = 4, .value_size = 4, .max_entries = 4,
			   .spin_lock_off = -1 },
	[M_DEVMAP] = { .type = BJ_MAP_TYPE_DEVMAP, .key_size = 4, .value_size = 4, .max_entries = 4, .spin_lock_off = -1 },
	[M_QUEUE] = { .type = BJ_MAP_TYPE_QUEUE, .value_size = 8, .max_entries = 4, .spin_lock_off = -1 },
	[M_LOCKED] = { .type = BJ_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 16, .max_entries = 2, .spin_lock_off = 0 },
	[M_RODATA] = { .type = BJ_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1,
		       .flags = BJ_F_RDONLY_PROG, .spin_lock_off = -1, .frozen = true, .frozen_value = rodata_bytes,
		       .name = ".rodata" },
	[M_ARRAY_OF_MAPS] = { .type = BJ_MAP_TYPE_ARRAY_OF_MAPS, .key_size = 4, .value_size = 4, .max_entries = 2,
			      .spin_lock_off = -1, .inner = &inner_map },
	[M_WRONLY] = { .type = BJ_MAP_TYPE_ARRAY, .key_size = 4, .value_size = 8, .max_entries = 1,
		       .flags = BJ_F_WRONLY_PROG, .spin_lock_off = -1 },
};

#define STRICT 1
#define MEM64 2 /* BJ_PROG_TYPE_MEM with a 64-byte buffer */

struct vcase {
	const char *name;
	enum bj_prog_type type;
	unsigned flags;
	const char *text;
	int ret;          /* 0: accepted */
	long insn;        /* rejected: the instruction named */
	const char *msg;  /* rejected: a substring of the reason */
};

static int verify_text(const char *text, enum bj_prog_type type, unsigned flags, uint32_t log_level, char *log,
		       size_t log_size, struct bj_verifier_stats *stats, struct bj_error *err)
{
	struct bj_insn *insns = NULL;
	size_t n = 0;
	struct bj_error aerr = { 0 };
	int ret = bj_asm(text, &insns, &n, &aerr);

	if (ret)
		fail_msg("assembler: %s (line %ld)", aerr.msg, aerr.offset);
	BJ_OPTS(bj_verifier_opts, opts, .type = type, .maps = test_maps, .n_maps = BJ_ARRAY_SIZE_T(test_maps),
		.policy = (flags & STRICT) ? BJ_VERIFIER_STRICT : BJ_VERIFIER_PRIVILEGED,
		.mem_size = (flags & MEM64) ? 64 : 0, .log_level = log_level, .log_buf = log, .log_size = log_size);
	ret = bj_verify(insns, n, &opts, stats, err);
	free(insns);
	return ret;
}

static void run_cases(const struct vcase *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct vcase *c = &cases[i];
		struct bj_error err = { .insn = -1 };
		static char log[1 << 16];
		int ret = verify_text(c->text, c->type, c->flags, 2, log, sizeof(log), NULL, &err);

		if (ret != c->ret)
			fail_msg("%s: returned %d (%s at insn %ld), expected %d\n%s", c->name, ret, err.msg, err.insn,
				 c->ret, log);
		if (c->ret == 0)
			continue;
		if (err.insn != c->insn)
			fail_msg("%s: rejected at insn %ld (%s), expected insn %ld", c->name, err.insn, err.msg, c->insn);
		if (!strstr(err.msg, c->msg))
			fail_msg("%s: reason '%s' lacks '%s'", c->name, err.msg, c->msg);
		if (!strstr(log, c->msg))
			fail_msg("%s: log lacks '%s':\n%s", c->name, c->msg, log);
	}
}

#define XDP BJ_PROG_TYPE_XDP
#define SOCK BJ_PROG_TYPE_SOCKET_FILTER
#define TC BJ_PROG_TYPE_SCHED_CLS
#define MEM BJ_PROG_TYPE_MEM

/* ---- straight-line code, scalars, registers ---- */

static const struct vcase basic_cases[] = {
	{ "return constant", XDP, 0, "mov %r0, 2\nexit", 0, 0, NULL },
	{ "r0 not initialised", XDP, 0, "exit", -EACCES, 0, "R0 !read_ok" },
	{ "read of uninitialised register", XDP, 0, "mov %r0, %r3\nexit", -EACCES, 0, "R3 !read_ok" },
	{ "alu on uninitialised", XDP, 0, "mov %r0, 0\nadd %r0, %r7\nexit", -EACCES, 1, "R7 !read_ok" },
	{ "div by zero constant", XDP, 0, "mov %r0, 1\ndiv %r0, 0\nexit", -EINVAL, 1, "div by zero" },
	{ "invalid shift", XDP, 0, "mov %r0, 1\nlsh32 %r0, 32\nexit", -EINVAL, 1, "invalid shift 32" },
	{ "div by register is defined", XDP, 0, "mov %r0, 1\nmov %r1, 0\ndiv %r0, %r1\nexit", 0, 0, NULL },
	{ "scalar dereference", XDP, 0, "mov %r2, 0\nldxw %r0, [%r2+0]\nexit", -EACCES, 1, "R2 invalid mem access 'scalar'" },
	{ "unreachable instruction", XDP, 0, "mov %r0, 0\nexit\nmov %r0, 1\nexit", -EINVAL, 2, "unreachable insn 2" },
	{ "caller-saved registers cleared by a call", XDP, 0,
	  "mov %r6, 1\ncall 7\nmov %r0, %r1\nexit", -EACCES, 2, "R1 !read_ok" },
	{ "callee-saved registers survive a call", XDP, 0, "mov %r6, 1\ncall 7\nmov %r0, %r6\nexit", 0, 0, NULL },
	{ "infinite loop", XDP, 0, "mov %r0, 0\njeq %r0, 1, out\nloop:\nja loop\nout:\nexit", -EINVAL, 2,
	  "infinite loop detected at insn 2" },
	{ "back-edge under strict policy", SOCK, STRICT, "mov %r0, 3\nloop:\nsub %r0, 1\njne %r0, 0, loop\nexit",
	  -EINVAL, 2, "back-edge from insn 2 to 1" },
	{ "bounded loop", XDP, 0, "mov %r0, 100\nloop:\nsub %r0, 1\njne %r0, 0, loop\nexit", 0, 0, NULL },
	{ "dead branch by bounds", XDP, 0,
	  "mov %r2, 5\njgt %r2, 10, bad\nmov %r0, 0\nexit\nbad:\nldxw %r0, [%r2+0]\nexit", 0, 0, NULL },
	{ "ldimm64 constant", XDP, 0, "lddw %r0, 0x1122334455667788\nexit", 0, 0, NULL },
};

static void test_basic(void **state)
{
	(void)state;
	run_cases(basic_cases, BJ_ARRAY_SIZE_T(basic_cases));
}

/* ---- the examples: every program of every example object is accepted ---- */

static const char *const examples[] = {
	"xdp_drop_port", "xdp_count_proto", "xdp_mac_swap", "xdp_redirect_devmap", "socket_filter",
	"ringbuf_events", "rodata_config", "tail_call", "loop_checksum", "xdp_firewall",
};

static size_t map_descriptors(struct bj_object *obj, struct bj_verifier_map *out, struct bj_verifier_map *inner,
			      size_t max)
{
	size_t n = bj_object__map_count(obj);

	assert_true(n <= max);
	for (size_t i = 0; i < n; i++) {
		struct bj_map_spec *m = bj_object__map(obj, i);
		const struct bj_map_spec *in = bj_map_spec__inner(m);
		enum bj_map_origin o = bj_map_spec__origin(m);
		size_t sz;

		out[i] = (struct bj_verifier_map){
			.type = bj_map_spec__type(m),
			.key_size = bj_map_spec__key_size(m),
			.value_size = bj_map_spec__value_size(m),
			.max_entries = bj_map_spec__max_entries(m),
			.flags = bj_map_spec__flags(m),
			.spin_lock_off = -1,
			.name = bj_map_spec__name(m),
		};
		if (o == BJ_MAP_ORIGIN_RODATA) {
			out[i].frozen = true;
			out[i].frozen_value = bj_map_spec__initial_value(m, &sz);
		}
		if (in) {
			inner[i] = (struct bj_verifier_map){ .type = bj_map_spec__type(in),
							     .key_size = bj_map_spec__key_size(in),
							     .value_size = bj_map_spec__value_size(in),
							     .max_entries = bj_map_spec__max_entries(in),
							     .spin_lock_off = -1 };
			out[i].inner = &inner[i];
		}
	}
	return n;
}

static void verify_example(const char *name, uint32_t log_level)
{
	char path[512];
	const char *root = getenv("BJ_BUILD_ROOT");
	struct bj_object *obj = NULL;
	struct bj_error err = { 0 };
	struct bj_verifier_map maps[32], inner[32];
	static char log[1 << 20];

	snprintf(path, sizeof(path), "%s/examples/%s.bpf.o", root ? root : "build", name);
	if (bj_object__open_file(path, NULL, &obj, &err))
		fail_msg("%s: %s", path, err.msg);
	size_t n_maps = map_descriptors(obj, maps, inner, 32);
	for (size_t p = 0; p < bj_object__prog_count(obj); p++) {
		const struct bj_program *prog = bj_object__prog(obj, p);
		size_t n, n_li;
		const struct bj_insn *insns = bj_program__insns(prog, &n);
		const struct bj_line_info *li = bj_program__line_info(prog, &n_li);
		struct bj_verifier_stats st;
		BJ_OPTS(bj_verifier_opts, opts, .type = bj_program__type(prog), .attach = bj_program__attach(prog),
			.maps = maps, .n_maps = n_maps, .line_info = li, .n_line_info = n_li, .log_level = log_level,
			.log_buf = log, .log_size = sizeof(log));

		int ret = bj_verify(insns, n, &opts, &st, &err);
		if (ret)
			fail_msg("%s/%s: %d at insn %ld: %s\n%s", name, bj_program__name(prog), ret, err.insn, err.msg, log);
		assert_true(st.insns_processed >= 1);
		if (log_level)
			assert_non_null(strstr(log, "processed "));
	}
	bj_object__close(obj);
}

static void test_examples(void **state)
{
	(void)state;
	for (size_t i = 0; i < BJ_ARRAY_SIZE_T(examples); i++) {
		verify_example(examples[i], 0);
		verify_example(examples[i], 2);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic),
		cmocka_unit_test(test_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
