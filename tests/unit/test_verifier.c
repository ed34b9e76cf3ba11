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
#define MEM64 2  /* BJ_PROG_TYPE_MEM with a 64-byte buffer */
#define DEVMAP 4 /* XDP attached to a devmap */

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
		.mem_size = (flags & MEM64) ? 64 : 0, .attach = (flags & DEVMAP) ? BJ_ATTACH_XDP_DEVMAP : BJ_ATTACH_NONE,
		.log_level = log_level, .log_buf = log, .log_size = log_size);
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


/* ---- context access per program type ---- */

static const struct vcase ctx_cases[] = {
	{ "xdp data and data_end", XDP, 0, "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nldxw %r4, [%r1+8]\nldxw %r5, [%r1+12]\n"
	  "ldxw %r5, [%r1+16]\nmov %r0, 2\nexit", 0, 0, NULL },
	{ "xdp ctx store", XDP, 0, "stw [%r1+12], 1\nmov %r0, 2\nexit", -EACCES, 0, "invalid bpf_context access off=12 size=4" },
	{ "xdp ctx stx", XDP, 0, "mov %r2, 1\nstxw [%r1+16], %r2\nmov %r0, 2\nexit", -EACCES, 1,
	  "invalid bpf_context access off=16 size=4" },
	{ "xdp narrow ctx read", XDP, 0, "ldxh %r2, [%r1+12]\nmov %r0, 2\nexit", -EACCES, 0,
	  "invalid bpf_context access off=12 size=2" },
	{ "xdp ctx past the end", XDP, 0, "ldxw %r2, [%r1+24]\nmov %r0, 2\nexit", -EACCES, 0,
	  "invalid bpf_context access off=24 size=4" },
	{ "xdp egress_ifindex outside a devmap", XDP, 0, "ldxw %r2, [%r1+20]\nmov %r0, 2\nexit", -EACCES, 0,
	  "invalid bpf_context access off=20 size=4" },
	{ "xdp egress_ifindex in a devmap program", XDP, DEVMAP, "ldxw %r2, [%r1+20]\nmov %r0, 2\nexit", 0, 0, NULL },
	{ "xdp sign-extending load of data", XDP, 0, "ldxsw %r2, [%r1+0]\nmov %r0, 2\nexit", -EACCES, 0,
	  "invalid bpf_context access off=0 size=4" },
	{ "modified ctx pointer", XDP, 0, "add %r1, 4\nldxw %r2, [%r1+0]\nmov %r0, 2\nexit", -EACCES, 1,
	  "dereference of modified ctx ptr R1 off=4 disallowed" },
	{ "socket filter reads len and cb, writes cb", SOCK, 0, "ldxw %r2, [%r1+0]\nldxb %r3, [%r1+48]\nstw [%r1+52], 1\n"
	  "mov %r0, 0\nexit", 0, 0, NULL },
	{ "socket filter stx to cb", SOCK, 0, "mov %r2, 1\nstxw [%r1+52], %r2\nldxw %r0, [%r1+0]\nexit", 0, 0, NULL },
	{ "socket filter cannot see packet data", SOCK, 0, "ldxw %r2, [%r1+76]\nmov %r0, 0\nexit", -EACCES, 0,
	  "invalid bpf_context access off=76 size=4" },
	{ "socket filter cannot write mark", SOCK, 0, "mov %r2, 1\nstxw [%r1+8], %r2\nmov %r0, 0\nexit", -EACCES, 1,
	  "invalid bpf_context access off=8 size=4" },
	{ "tc packet pointers and mark", TC, 0, "ldxw %r2, [%r1+76]\nldxw %r3, [%r1+80]\nmov %r4, 1\n"
	  "stxw [%r1+8], %r4\nmov %r4, %r2\nadd %r4, 1\njgt %r4, %r3, out\nldxb %r0, [%r2+0]\nout:\nmov %r0, 0\nexit",
	  0, 0, NULL },
	{ "mem program buffer", MEM, MEM64, "ldxdw %r0, [%r1+56]\njne %r2, 64, +1\nstxdw [%r1+0], %r0\nexit", 0, 0, NULL },
	{ "mem program out of bounds", MEM, MEM64, "ldxdw %r0, [%r1+60]\nexit", -EACCES, 0,
	  "invalid access to memory, mem_size=64 off=60 size=8" },
};

static void test_ctx(void **state)
{
	(void)state;
	run_cases(ctx_cases, BJ_ARRAY_SIZE_T(ctx_cases));
}

/* ---- packet access: ranges learned from comparisons with data_end ---- */

#define PKT_PROLOGUE "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 14\n"

static const struct vcase pkt_cases[] = {
	{ "unchecked packet read", XDP, 0, "ldxw %r2, [%r1+0]\nldxb %r0, [%r2+0]\nexit", -EACCES, 1,
	  "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)" },
	{ "jgt check", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, out\nldxh %r0, [%r2+12]\nout:\nexit", 0, 0, NULL },
	{ "jgt check, one byte too far", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, out\nldxh %r0, [%r2+13]\nout:\nexit",
	  -EACCES, 6, "invalid access to packet, off=13 size=2, R2(id=0,off=13,r=14)" },
	{ "jle check", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njle %r4, %r3, ok\nexit\nok:\nldxh %r0, [%r2+12]\nexit", 0, 0, NULL },
	{ "jlt proves one byte more", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njlt %r4, %r3, ok\nexit\nok:\nldxb %r0, [%r2+14]\nexit", 0, 0, NULL },
	{ "jlt, one byte too far", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njlt %r4, %r3, ok\nexit\nok:\nldxh %r0, [%r2+14]\nexit",
	  -EACCES, 7, "invalid access to packet, off=14 size=2, R2(id=0,off=14,r=15)" },
	{ "strict comparison with the start of the packet proves nothing", XDP, 0,
	  "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r0, 1\njlt %r2, %r3, ok\nexit\nok:\nldxb %r0, [%r2+0]\nexit",
	  -EACCES, 5, "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)" },
	{ "jge fall-through", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njge %r4, %r3, out\nldxb %r0, [%r2+12]\nout:\nexit", 0, 0, NULL },
	{ "data_end on the left, jgt", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njgt %r3, %r4, ok\nexit\nok:\nldxb %r0, [%r2+12]\nexit",
	  0, 0, NULL },
	{ "data_end on the left, jge", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njge %r3, %r4, ok\nexit\nok:\nldxh %r0, [%r2+12]\nexit", 0, 0, NULL },
	{ "data_end on the left, jlt fall-through", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njlt %r3, %r4, out\nldxh %r0, [%r2+12]\nout:\nexit", 0, 0, NULL },
	{ "wrong branch used", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, bad\nexit\nbad:\nldxb %r0, [%r2+0]\nexit",
	  -EACCES, 7, "R2 offset is outside of the packet" },
	{ "32-bit comparison learns nothing", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njgt32 %r4, %r3, out\nldxb %r0, [%r2+0]\nout:\nexit", -EACCES, 6,
	  "invalid access to packet, off=0 size=1" },
	{ "arithmetic on pkt_end", XDP, 0, "ldxw %r3, [%r1+4]\nadd %r3, 1\nmov %r0, 2\nexit", -EACCES, 1,
	  "R3 pointer arithmetic on pkt_end prohibited" },
	{ "packet length by subtraction", XDP, 0, "ldxw %r2, [%r1+0]\nldxw %r0, [%r1+4]\nsub %r0, %r2\nexit", 0, 0, NULL },
	{ "pointer subtraction under strict policy", XDP, STRICT, "ldxw %r2, [%r1+0]\nldxw %r0, [%r1+4]\nsub %r0, %r2\nexit",
	  -EACCES, 2, "R0 pointer -= pointer prohibited" },
	{ "packet write", XDP, 0, PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, out\nstb [%r2+13], 1\nout:\nexit", 0, 0, NULL },
	{ "variable offset needs its own check", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, out\nldxb %r5, [%r2+0]\nadd %r2, %r5\nldxb %r0, [%r2+0]\nout:\nexit",
	  -EACCES, 8, "R2 offset is outside of the packet" },
	{ "variable offset checked", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, out\nldxb %r5, [%r2+0]\nadd %r2, %r5\nmov %r4, %r2\nadd %r4, 4\n"
	  "jgt %r4, %r3, out\nldxw %r0, [%r2+0]\nout:\nexit", 0, 0, NULL },
	{ "unbounded variable offset", XDP, 0, "ldxw %r6, [%r1+0]\ncall 7\nadd %r6, %r0\nmov %r0, 2\nexit", -EACCES, 2,
	  "math between pkt pointer and register with unbounded min value is not allowed" },
	{ "adjust_head invalidates packet pointers", XDP, 0,
	  PKT_PROLOGUE "mov %r6, %r2\njgt %r4, %r3, out\nmov %r2, 4\ncall 44\nldxb %r0, [%r6+0]\nexit\nout:\nmov %r0, 1\nexit",
	  -EACCES, 8, "R6 invalid mem access 'scalar'" },
	{ "metadata checked against data", XDP, 0,
	  "ldxw %r2, [%r1+8]\nldxw %r3, [%r1+0]\nmov %r4, %r2\nadd %r4, 4\nmov %r0, 1\njgt %r4, %r3, out\n"
	  "ldxw %r0, [%r2+0]\nout:\nexit", 0, 0, NULL },
};

static void test_packet(void **state)
{
	(void)state;
	run_cases(pkt_cases, BJ_ARRAY_SIZE_T(pkt_cases));
}

/* ---- maps ---- */

#define LOOKUP(m) "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nlddw %r1, map_idx(" #m ")\ncall 1\n"

static const struct vcase map_cases[] = {
	{ "lookup without null check", XDP, 0, LOOKUP(0) "ldxdw %r0, [%r0+0]\nexit", -EACCES, 6,
	  "R0 invalid mem access 'map_value_or_null'" },
	{ "lookup with null check", XDP, 0, LOOKUP(0) "jeq %r0, 0, out\nldxdw %r0, [%r0+0]\nout:\nexit", 0, 0, NULL },
	{ "null check through a copy", XDP, 0, LOOKUP(0) "mov %r6, %r0\njne %r0, 0, ok\nexit\nok:\nldxdw %r0, [%r6+0]\nexit",
	  0, 0, NULL },
	{ "map value out of bounds", XDP, 0, LOOKUP(0) "jeq %r0, 0, out\nldxdw %r0, [%r0+4]\nout:\nexit", -EACCES, 7,
	  "invalid access to map value, value_size=8 off=4 size=8" },
	{ "variable index unbounded", XDP, 0,
	  LOOKUP(0) "jeq %r0, 0, out\nmov %r6, %r0\nldxb %r1, [%r6+0]\nadd %r6, %r1\nldxb %r0, [%r6+0]\nout:\nexit",
	  -EACCES, 10, "R6 max value is outside of the allowed memory range" },
	{ "variable index masked", XDP, 0,
	  LOOKUP(0) "jeq %r0, 0, out\nmov %r6, %r0\nldxb %r1, [%r6+0]\nand %r1, 7\nadd %r6, %r1\nldxb %r0, [%r6+0]\nout:\n"
	  "exit", 0, 0, NULL },
	{ "variable index bounded by a branch", XDP, 0,
	  LOOKUP(0) "jeq %r0, 0, out\nmov %r6, %r0\nldxb %r1, [%r6+0]\njgt %r1, 7, out\nadd %r6, %r1\nldxb %r0, [%r6+0]\n"
	  "out:\nexit", 0, 0, NULL },
	{ "uninitialised key is fine for root", XDP, 0,
	  "mov %r2, %r10\nadd %r2, -4\nlddw %r1, map_idx(0)\ncall 1\nmov %r0, 2\nexit", 0, 0, NULL },
	{ "uninitialised key under strict policy", SOCK, STRICT,
	  "mov %r2, %r10\nadd %r2, -4\nlddw %r1, map_idx(0)\ncall 1\nmov %r0, 0\nexit", -EACCES, 4,
	  "invalid indirect read from stack R2 off -4+0 size 4" },
	{ "key is not a pointer", XDP, 0, "mov %r2, 0\nlddw %r1, map_idx(0)\ncall 1\nmov %r0, 2\nexit", -EACCES, 3,
	  "R2 type=scalar expected=fp" },
	{ "map argument is not a map", XDP, 0, "mov %r1, 0\nmov %r2, %r10\ncall 1\nmov %r0, 2\nexit", -EACCES, 2,
	  "R1 type=scalar expected=map_ptr" },
	{ "value on the stack too short", XDP, 0,
	  "stw [%r10-4], 0\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -4\nmov %r4, 0\nlddw %r1, map_idx(0)\n"
	  "call 2\nmov %r0, 2\nexit", -EINVAL, 8, "invalid read from stack R3 off=-4 size=8" },
	{ "global data", XDP, 0, "lddw %r1, map_idx_value(1, 8)\nldxdw %r0, [%r1+0]\nexit", 0, 0, NULL },
	{ "global data out of bounds", XDP, 0, "lddw %r1, map_idx_value(1, 8)\nldxdw %r0, [%r1+8]\nexit", -EACCES, 2,
	  "invalid access to map value, value_size=16 off=16 size=8" },
	{ "direct value of a hash", XDP, 0, "lddw %r1, map_idx_value(0, 0)\nmov %r0, 2\nexit", -EINVAL, 0,
	  "no direct value access support for this map type" },
	{ "map index out of range", XDP, 0, "lddw %r1, map_idx(99)\nmov %r0, 2\nexit", -EINVAL, 0,
	  "fd 99 is not pointing to valid bpf_map" },
	{ "read-only map write", XDP, 0, "lddw %r1, map_idx_value(7, 0)\nstw [%r1+0], 1\nmov %r0, 2\nexit", -EACCES, 2,
	  "write into map forbidden, value_size=8 off=0 size=4" },
	{ "write-only map read", XDP, 0, "lddw %r1, map_idx_value(9, 0)\nldxw %r0, [%r1+0]\nexit", -EACCES, 2,
	  "read from map forbidden, value_size=8 off=0 size=4" },
	{ "frozen read-only constants prune dead code", XDP, 0,
	  "lddw %r1, map_idx_value(7, 0)\nldxw %r0, [%r1+0]\nldxh %r2, [%r1+4]\njne %r2, 0x2211, bad\njeq %r0, 7, out\n"
	  "bad:\nldxb %r0, [%r2+0]\nout:\nexit", 0, 0, NULL },
	{ "spin lock read directly", XDP, 0, LOOKUP(6) "jeq %r0, 0, out\nldxw %r0, [%r0+0]\nout:\nexit", -EACCES, 7,
	  "bpf_spin_lock cannot be accessed directly by load/store" },
	{ "spin lock and unlock", XDP, 0,
	  LOOKUP(6) "jeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r6\ncall 93\nstdw [%r6+8], 1\nmov %r1, %r6\ncall 94\nout:\n"
	  "mov %r0, 2\nexit", 0, 0, NULL },
	{ "spin lock not released", XDP, 0,
	  LOOKUP(6) "jeq %r0, 0, out\nmov %r1, %r0\ncall 93\nout:\nmov %r0, 2\nexit", -EINVAL, 10,
	  "BPF_EXIT instruction in main prog cannot be used inside bpf_spin_lock-ed region" },
	{ "call under spin lock", XDP, 0,
	  LOOKUP(6) "jeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r6\ncall 93\ncall 7\nmov %r1, %r6\ncall 94\nout:\n"
	  "mov %r0, 2\nexit", -EINVAL, 10, "function calls are not allowed while holding a lock" },
	{ "subprogram called under spin lock", XDP, 0,
	  LOOKUP(6) "jeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r6\ncall 93\nmov %r1, %r6\ncall local bump\nmov %r1, %r6\n"
	  "call 94\nout:\nmov %r0, 2\nexit\nbump:\nldxdw %r2, [%r1+8]\nadd %r2, 1\nstxdw [%r1+8], %r2\nmov %r0, 0\nexit",
	  0, 0, NULL },
	{ "helper called from a subprogram under spin lock", XDP, 0,
	  LOOKUP(6) "jeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r6\ncall 93\ncall local f\nmov %r1, %r6\ncall 94\nout:\n"
	  "mov %r0, 2\nexit\nf:\ncall 7\nexit", -EINVAL, 15, "function calls are not allowed while holding a lock" },
	{ "spin lock at the wrong offset", XDP, 0,
	  LOOKUP(6) "jeq %r0, 0, out\nadd %r0, 4\nmov %r1, %r0\ncall 93\nout:\nmov %r0, 2\nexit", -EINVAL, 9,
	  "off 4 doesn't point to 'struct bpf_spin_lock' that is at 0" },
	{ "spin lock in a map without one", XDP, 0, LOOKUP(0) "jeq %r0, 0, out\nmov %r1, %r0\ncall 93\nout:\nmov %r0, 2\nexit",
	  -EINVAL, 8, "has no valid bpf_spin_lock" },
	{ "redirect_map needs a devmap", XDP, 0, "lddw %r1, map_idx(0)\nmov %r2, 0\nmov %r3, 0\ncall 51\nexit", -EINVAL, 4,
	  "cannot pass map_type 1 into func bpf_redirect_map#51" },
	{ "redirect_map with a devmap", XDP, 0, "lddw %r1, map_idx(4)\nmov %r2, 0\nmov %r3, 0\ncall 51\nexit", 0, 0, NULL },
	{ "lookup in a ring buffer", XDP, 0, LOOKUP(2) "mov %r0, 2\nexit", -EINVAL, 5,
	  "cannot pass map_type 27 into func bpf_map_lookup_elem#1" },
	{ "tail call needs a program array", XDP, 0, "lddw %r2, map_idx(0)\nmov %r3, 0\ncall 12\nmov %r0, 2\nexit", -EINVAL, 3,
	  "expected prog array map for tail call" },
	{ "array lookup with a constant key needs no null check", XDP, 0,
	  "mov %r3, 0\nstxw [%r10-8], %r3\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map_idx(6)\ncall 1\nldxdw %r0, [%r0+8]\nexit",
	  0, 0, NULL },
	{ "array lookup with a constant key past the end", XDP, 0,
	  "mov %r3, 2\nstxw [%r10-8], %r3\nmov %r2, %r10\nadd %r2, -8\nlddw %r1, map_idx(6)\ncall 1\nldxdw %r0, [%r0+8]\nexit",
	  -EACCES, 7, "R0 invalid mem access 'map_value_or_null'" },
	{ "tail call", XDP, 0, "lddw %r2, map_idx(3)\nmov %r3, 0\ncall 12\nmov %r0, 2\nexit", 0, 0, NULL },
	{ "queue push and pop", XDP, 0,
	  "stdw [%r10-8], 1\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 0\nlddw %r1, map_idx(5)\ncall 87\nmov %r2, %r10\n"
	  "add %r2, -16\nlddw %r1, map_idx(5)\ncall 88\nldxdw %r0, [%r10-16]\nexit", 0, 0, NULL },
	{ "push onto a hash", XDP, 0,
	  "stdw [%r10-8], 1\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 0\nlddw %r1, map_idx(0)\ncall 87\nexit", -EINVAL, 6,
	  "cannot pass map_type 1 into func bpf_map_push_elem#87" },
	{ "map in map", XDP, 0,
	  LOOKUP(8) "jeq %r0, 0, out\nmov %r1, %r0\nmov %r2, %r10\nadd %r2, -4\ncall 1\njeq %r0, 0, out\nldxw %r0, [%r0+0]\n"
	  "out:\nexit", 0, 0, NULL },
	{ "pointer stored into a map under strict policy", SOCK, STRICT,
	  LOOKUP(0) "jeq %r0, 0, out\nstxdw [%r0+0], %r0\nout:\nmov %r0, 0\nexit", -EACCES, 7, "R0 leaks addr into map" },
	{ "pointer stored into a map by root", XDP, 0, LOOKUP(0) "jeq %r0, 0, out\nstxdw [%r0+0], %r0\nout:\nmov %r0, 0\nexit",
	  0, 0, NULL },
};

static void test_map_access(void **state)
{
	(void)state;
	run_cases(map_cases, BJ_ARRAY_SIZE_T(map_cases));
}

/* ---- the stack ---- */

static const struct vcase stack_cases[] = {
	{ "write below the frame", XDP, 0, "stdw [%r10-520], 0\nmov %r0, 2\nexit", -EACCES, 0,
	  "invalid write to stack R10 off=-520 size=8" },
	{ "write above the frame", XDP, 0, "stw [%r10+0], 0\nmov %r0, 2\nexit", -EINVAL, 0,
	  "invalid write to stack R10 off=0 size=4" },
	{ "misaligned stack access", XDP, 0, "stw [%r10-6], 0\nmov %r0, 2\nexit", -EACCES, 0, "misaligned stack access" },
	{ "uninitialised read is fine for root", XDP, 0, "ldxdw %r0, [%r10-8]\nexit", 0, 0, NULL },
	{ "uninitialised read under strict policy", SOCK, STRICT, "ldxdw %r0, [%r10-8]\nexit", -EACCES, 0,
	  "invalid read from stack off -8+0 size 8" },
	{ "partly initialised read under strict policy", SOCK, STRICT, "stw [%r10-8], 0\nldxdw %r0, [%r10-8]\nexit",
	  -EACCES, 1, "invalid read from stack off -8+4 size 8" },
	{ "spill and fill of a pointer", XDP, 0,
	  "stxdw [%r10-8], %r1\nldxdw %r2, [%r10-8]\nldxw %r0, [%r2+12]\nexit", 0, 0, NULL },
	{ "partial fill of a pointer", XDP, 0, "stxdw [%r10-8], %r1\nldxw %r2, [%r10-8]\nmov %r0, 2\nexit", -EACCES, 1,
	  "invalid size of register fill" },
	{ "partial spill of a pointer", XDP, 0, "stxw [%r10-8], %r1\nmov %r0, 2\nexit", -EACCES, 0,
	  "invalid size of register spill" },
	{ "corrupting a spilled pointer under strict policy", SOCK, STRICT, "stxdw [%r10-8], %r1\nstb [%r10-8], 0\n"
	  "mov %r0, 0\nexit", -EACCES, 1, "attempt to corrupt spilled pointer on stack" },
	{ "overwritten spill is data", XDP, 0, "stxdw [%r10-8], %r1\nstb [%r10-8], 0\nldxdw %r2, [%r10-8]\n"
	  "ldxw %r0, [%r2+0]\nexit", -EACCES, 3, "R2 invalid mem access 'scalar'" },
	{ "spilled scalar keeps its bounds", MEM, MEM64,
	  "mov %r3, 40\nstxdw [%r10-8], %r3\nldxdw %r4, [%r10-8]\nadd %r1, %r4\nldxdw %r0, [%r1+0]\nexit", 0, 0, NULL },
	{ "spilled scalar bounds are checked", MEM, MEM64,
	  "mov %r3, 60\nstxdw [%r10-8], %r3\nldxdw %r4, [%r10-8]\nadd %r1, %r4\nldxdw %r0, [%r1+0]\nexit", -EACCES, 4,
	  "invalid access to memory, mem_size=64 off=60 size=8" },
	{ "32-bit spill and fill", MEM, MEM64,
	  "mov %r3, 40\nstxw [%r10-8], %r3\nldxw %r4, [%r10-8]\nadd %r1, %r4\nldxdw %r0, [%r1+0]\nexit", 0, 0, NULL },
	{ "zeroed slot reads as zero", MEM, MEM64,
	  "stdw [%r10-8], 0\nldxw %r4, [%r10-4]\nadd %r1, %r4\nldxdw %r0, [%r1+56]\nexit", 0, 0, NULL },
	{ "misc bytes read as unknown", MEM, MEM64,
	  "stxdw [%r10-8], %r2\nstb [%r10-8], 0\nldxdw %r4, [%r10-8]\nadd %r1, %r4\nldxdw %r0, [%r1+0]\nexit", -EACCES, 3,
	  "math between mem pointer and register with unbounded min value is not allowed" },
	{ "variable offset stack write", XDP, 0,
	  "mov %r6, %r1\nstdw [%r10-16], 0\nstdw [%r10-8], 0\ncall 7\nand %r0, 8\nmov %r2, %r10\nadd %r2, -16\n"
	  "add %r2, %r0\nstxdw [%r2+0], %r6\nldxdw %r0, [%r10-8]\nexit", 0, 0, NULL },
	{ "variable offset stack read of a pointer is a scalar", XDP, 0,
	  "stxdw [%r10-16], %r1\nstxdw [%r10-8], %r1\ncall 7\nand %r0, 8\nmov %r2, %r10\nadd %r2, -16\nadd %r2, %r0\n"
	  "ldxdw %r3, [%r2+0]\nldxw %r0, [%r3+0]\nexit", -EACCES, 8, "R3 invalid mem access 'scalar'" },
	{ "variable stack pointer under strict policy", SOCK, STRICT,
	  "call 7\nand %r0, 8\nmov %r2, %r10\nadd %r2, -16\nadd %r2, %r0\nmov %r0, 0\nexit", -EACCES, 4,
	  "R2 variable stack access prohibited for !root" },
	{ "subtraction from the frame pointer", XDP, 0, "mov %r2, %r10\nsub %r2, 8\nmov %r0, 2\nexit", -EACCES, 1,
	  "R2 subtraction from stack pointer prohibited" },
};

static void test_stack(void **state)
{
	(void)state;
	run_cases(stack_cases, BJ_ARRAY_SIZE_T(stack_cases));
}

/* ---- pointer arithmetic and the strict policy ---- */

static const struct vcase ptr_cases[] = {
	{ "32-bit pointer arithmetic", XDP, 0, "add32 %r1, 4\nmov %r0, 2\nexit", -EACCES, 0,
	  "R1 32-bit pointer arithmetic prohibited" },
	{ "multiplying a pointer", XDP, 0, "mul %r1, 2\nmov %r0, 2\nexit", -EACCES, 0,
	  "R1 pointer arithmetic with *= operator prohibited" },
	{ "masking a pointer", XDP, 0, "and %r1, 2\nmov %r0, 2\nexit", -EACCES, 0, "R1 bitwise operator &= on pointer prohibited" },
	{ "scalar minus pointer", XDP, 0, "mov %r0, 0\nsub %r0, %r1\nexit", -EACCES, 1, "R0 tried to subtract pointer from scalar" },
	{ "pointer plus pointer", XDP, 0, "add %r1, %r10\nmov %r0, 2\nexit", -EACCES, 0, "R1 pointer += pointer prohibited" },
	{ "arithmetic on a map pointer", XDP, 0, "lddw %r1, map_idx(0)\nadd %r1, 8\nmov %r0, 2\nexit", -EACCES, 2,
	  "R1 pointer arithmetic on map_ptr prohibited" },
	{ "arithmetic before the null check", XDP, 0, LOOKUP(0) "add %r0, 4\nmov %r0, 2\nexit", -EACCES, 6,
	  "R0 pointer arithmetic on map_value_or_null prohibited, null-check it first" },
	{ "scalar plus pointer", XDP, 0, "mov %r2, 12\nadd %r2, %r1\nldxw %r0, [%r2+0]\nexit", -EACCES, 2,
	  "dereference of modified ctx ptr R2 off=12 disallowed" },
	{ "pointer comparison under strict policy", SOCK, STRICT, "mov %r0, 0\njgt %r1, 5, +1\nexit\nexit", -EACCES, 1,
	  "R1 pointer comparison prohibited" },
	{ "pointer comparison by root", SOCK, 0, "mov %r0, 0\njgt %r1, 5, +1\nexit\nexit", 0, 0, NULL },
	{ "pointer returned under strict policy", SOCK, STRICT, "mov %r0, %r1\nexit", -EACCES, 1,
	  "R0 leaks addr as return value" },
	{ "pointer returned by root", XDP, 0, "mov %r0, %r1\nexit", 0, 0, NULL },
	{ "pointer to a helper under strict policy", SOCK, STRICT,
	  "stw [%r10-4], 0\nstdw [%r10-16], 0\nmov %r2, %r10\nadd %r2, -4\nmov %r3, %r10\nadd %r3, -16\nmov %r4, %r10\n"
	  "lddw %r1, map_idx(0)\ncall 2\nmov %r0, 0\nexit", -EACCES, 9, "R4 leaks addr into helper function" },
	{ "partial copy of a pointer under strict policy", SOCK, STRICT, "mov32 %r2, %r1\nmov %r0, 0\nexit", -EACCES, 0,
	  "R1 partial copy of pointer" },
	{ "negated pointer under strict policy", SOCK, STRICT, "neg %r1\nmov %r0, 0\nexit", -EACCES, 0,
	  "R1 pointer arithmetic prohibited" },
	{ "out-of-range map pointer under strict policy", SOCK, STRICT,
	  LOOKUP(0) "jeq %r0, 0, out\nadd %r0, 8\nout:\nmov %r0, 0\nexit", -EACCES, 7,
	  "R0 pointer arithmetic of map value goes out of range, prohibited for !root" },
	{ "sign-extending load of a stack byte", MEM, MEM64,
	  "stb [%r10-7], 1\nldxsb %r3, [%r10-7]\nadd %r1, %r3\nldxb %r0, [%r1+0]\nexit", -EACCES, 3,
	  "R1 min value is negative" },
};

static void test_pointers(void **state)
{
	(void)state;
	run_cases(ptr_cases, BJ_ARRAY_SIZE_T(ptr_cases));
}


/* ---- calls: helpers, bpf-to-bpf, callbacks, references ---- */

#define RB_RESERVE "lddw %r1, map_idx(2)\nmov %r2, 16\nmov %r3, 0\ncall 131\n"

static const struct vcase call_cases[] = {
	{ "helper id out of range", XDP, 0, "call 999\nexit", -EINVAL, 0, "invalid func unknown#999" },
	{ "helper bpfjet does not provide", XDP, 0, "call 14\nexit", -EINVAL, 0,
	  "program of this type cannot use helper bpf_get_current_pid_tgid#14" },
	{ "XDP helper in a socket filter", SOCK, 0, "mov %r1, 1\nmov %r2, 0\ncall 23\nexit", -EINVAL, 2,
	  "program of this type cannot use helper bpf_redirect#23" },
	{ "privileged helper under strict policy", SOCK, STRICT, "call 118\nexit", -EINVAL, 0,
	  "program of this type cannot use helper bpf_jiffies64#118" },
	{ "ctx argument", XDP, 0, "mov %r2, 4\ncall 44\nexit", 0, 0, NULL },
	{ "ctx argument is not ctx", XDP, 0, "mov %r1, %r10\nmov %r2, 4\ncall 44\nexit", -EACCES, 2, "R1 type=fp expected=ctx" },
	{ "load bytes into the stack", XDP, 0,
	  "mov %r2, 0\nmov %r3, %r10\nadd %r3, -16\nmov %r4, 16\ncall 189\nldxdw %r0, [%r10-16]\nexit", 0, 0, NULL },
	{ "load bytes past the stack", XDP, 0,
	  "mov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 16\ncall 189\nexit", -EINVAL, 4,
	  "invalid write to stack R3 off=-8 size=16" },
	{ "zero size where a size is needed", XDP, 0,
	  "mov %r2, 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 189\nexit", -EACCES, 4, "R4 invalid zero-sized read" },
	{ "size that may be negative", XDP, 0,
	  "mov %r6, %r1\ncall 7\nmov %r4, %r0\nmov %r1, %r6\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -8\ncall 189\nexit", -EACCES, 7,
	  "R4 min value is negative, either use unsigned or 'var &= const'" },
	{ "unbounded size", XDP, 0,
	  "mov %r6, %r1\ncall 7\nmov %r4, %r0\nrsh %r4, 32\nadd %r4, 1\nmov %r1, %r6\nmov %r2, 0\nmov %r3, %r10\nadd %r3, -8\n"
	  "call 189\nexit", -EACCES, 9, "R4 unbounded memory access, use 'var &= const' or 'if (var < const)'" },
	{ "bounded variable size", XDP, 0,
	  "mov %r6, %r1\ncall 7\nmov %r4, %r0\nand %r4, 7\nadd %r4, 1\nstdw [%r10-8], 0\nmov %r1, %r6\nmov %r2, 0\n"
	  "mov %r3, %r10\nadd %r3, -8\ncall 189\nexit", 0, 0, NULL },
	{ "csum_diff with a null buffer", XDP, 0,
	  "mov %r1, 0\nmov %r2, 0\nstdw [%r10-8], 0\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 8\nmov %r5, 0\ncall 28\nexit",
	  0, 0, NULL },
	{ "ring buffer reserve and submit", XDP, 0,
	  RB_RESERVE "jeq %r0, 0, out\nstdw [%r0+8], 1\nmov %r1, %r0\nmov %r2, 0\ncall 132\nout:\nmov %r0, 2\nexit", 0, 0, NULL },
	{ "ring buffer reservation leaked", XDP, 0, RB_RESERVE "mov %r0, 2\nexit", -EINVAL, 6,
	  "BPF_EXIT instruction in main prog would lead to reference leak" },
	{ "ring buffer memory before the null check", XDP, 0, RB_RESERVE "stdw [%r0+0], 1\nmov %r0, 2\nexit", -EACCES, 5,
	  "R0 invalid mem access 'ringbuf_mem_or_null'" },
	{ "ring buffer memory out of bounds", XDP, 0,
	  RB_RESERVE "jeq %r0, 0, out\nmov %r6, %r0\nstdw [%r0+16], 1\nmov %r1, %r6\nmov %r2, 0\ncall 133\nout:\nmov %r0, 2\n"
	  "exit", -EACCES, 7, "invalid access to memory, mem_size=16 off=16 size=8" },
	{ "ring buffer memory after submit", XDP, 0,
	  RB_RESERVE "jeq %r0, 0, out\nmov %r6, %r0\nmov %r1, %r0\nmov %r2, 0\ncall 132\nstdw [%r6+0], 1\nout:\nmov %r0, 2\n"
	  "exit", -EACCES, 10, "R6 invalid mem access 'scalar'" },
	{ "ring buffer reservation of unknown size", XDP, 0,
	  "call 7\nmov %r2, %r0\nlddw %r1, map_idx(2)\nmov %r3, 0\ncall 131\nmov %r0, 2\nexit", -EACCES, 5,
	  "R2 is not a known constant'" },
	{ "submit of stack memory", XDP, 0, "mov %r1, %r10\nmov %r2, 0\ncall 132\nmov %r0, 2\nexit", -EACCES, 2,
	  "R1 type=fp expected=ringbuf_mem" },
	{ "tail call holding a reservation", XDP, 0,
	  "mov %r7, %r1\n" RB_RESERVE "jeq %r0, 0, out\nmov %r6, %r0\nlddw %r2, map_idx(3)\nmov %r3, 0\nmov %r1, %r7\n"
	  "call 12\nmov %r1, %r6\nmov %r2, 0\ncall 133\nout:\nmov %r0, 2\nexit", -EINVAL, 12, "tail_call would lead to reference leak" },
	{ "ring buffer output", XDP, 0,
	  "stdw [%r10-8], 1\nlddw %r1, map_idx(2)\nmov %r2, %r10\nadd %r2, -8\nmov %r3, 8\nmov %r4, 0\ncall 130\nexit", 0, 0,
	  NULL },
	{ "local call", XDP, 0, "mov %r6, 5\nmov %r1, 3\ncall local f\nadd %r0, %r6\nexit\nf:\nmov %r0, %r1\nexit", 0, 0, NULL },
	{ "local call clobbers r1-r5", XDP, 0, "mov %r2, 3\ncall local f\nmov %r0, %r2\nexit\nf:\nmov %r0, 1\nexit", -EACCES,
	  2, "R2 !read_ok" },
	{ "callee reads an argument it was not given", XDP, 0, "call local f\nexit\nf:\nmov %r0, %r3\nexit", -EACCES, 2,
	  "R3 !read_ok" },
	{ "callee returns nothing", XDP, 0, "call local f\nexit\nf:\nexit", -EACCES, 2, "R0 !read_ok" },
	{ "callee writes the caller's stack", XDP, 0,
	  "stdw [%r10-8], 0\nmov %r1, %r10\nadd %r1, -8\ncall local f\nldxdw %r0, [%r10-8]\nexit\n"
	  "f:\nstdw [%r1+0], 7\nmov %r0, 0\nexit", 0, 0, NULL },
	{ "callee returns its stack", XDP, 0, "call local f\nexit\nf:\nmov %r0, %r10\nadd %r0, -8\nexit", -EINVAL, 4,
	  "cannot return stack pointer to the caller" },
	{ "callee stores its stack into the caller's", XDP, 0,
	  "mov %r1, %r10\nadd %r1, -8\ncall local f\nmov %r0, 2\nexit\nf:\nstxdw [%r1+0], %r10\nmov %r0, 0\nexit", -EINVAL, 5,
	  "cannot spill pointers to stack into stack frame of the caller" },
	{ "recursion", XDP, 0, "call local f\nexit\nf:\ncall local f\nexit", -E2BIG, 2, "the call stack of 9 frames is too deep" },
	{ "combined stack too large", XDP, 0,
	  "stdw [%r10-304], 0\ncall local f\nexit\nf:\nstdw [%r10-304], 0\nmov %r0, 0\nexit", -EACCES, 1,
	  "combined stack size of 2 calls is 640. Too large" },
	{ "local call under strict policy", SOCK, STRICT, "call local f\nexit\nf:\nmov %r0, 0\nexit", -EACCES, 0,
	  "loading/calling other bpf or kernel functions are allowed for CAP_BPF and CAP_SYS_ADMIN" },
	{ "kfunc call", XDP, 0, "call kfunc 7\nexit", -EINVAL, 0, "calling kernel functions is not supported" },
};

static void test_calls(void **state)
{
	(void)state;
	run_cases(call_cases, BJ_ARRAY_SIZE_T(call_cases));
}

/* bpf_loop(nr, cb, ctx, 0): the callback increments the counter at fp-8. */
#define LOOP_CALL "stdw [%r10-8], 0\nmov %r1, 10\nlddw %r2, func(cb)\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\ncall 181\n"
#define LOOP_CB "cb:\nldxdw %r1, [%r2+0]\nadd %r1, 1\nstxdw [%r2+0], %r1\nmov %r0, 0\nexit"

static const struct vcase callback_cases[] = {
	{ "bpf_loop", XDP, 0, LOOP_CALL "mov %r0, 2\nexit\n" LOOP_CB, 0, 0, NULL },
	{ "bpf_loop callback returns 2", XDP, 0, LOOP_CALL "mov %r0, 2\nexit\ncb:\nmov %r0, 2\nexit", -EINVAL, 11,
	  "At callback return the register R0 has smin=2 smax=2 should have been in [0, 1]" },
	{ "bpf_loop callback returns a pointer", XDP, 0, LOOP_CALL "mov %r0, 2\nexit\ncb:\nmov %r0, %r2\nexit", -EACCES, 11,
	  "R0 not a scalar value" },
	/* After any number of iterations the counter may hold any value: using it unchecked is refused. */
	{ "bpf_loop state after many iterations", MEM, MEM64,
	  "mov %r6, %r1\n" LOOP_CALL "ldxdw %r1, [%r10-8]\nadd %r6, %r1\nldxb %r0, [%r6+0]\nexit\n" LOOP_CB, -EACCES, 10,
	  "math between mem pointer and register with unbounded min value is not allowed" },
	{ "bpf_loop state checked after the loop", MEM, MEM64,
	  "mov %r6, %r1\n" LOOP_CALL "ldxdw %r1, [%r10-8]\njgt %r1, 63, out\nadd %r6, %r1\nldxb %r0, [%r6+0]\nout:\nmov %r0, 0\n"
	  "exit\n" LOOP_CB, 0, 0, NULL },
	{ "tail call inside a callback", XDP, 0,
	  "stxdw [%r10-8], %r1\nmov %r1, 4\nlddw %r2, func(cb)\nmov %r3, %r10\nadd %r3, -8\nmov %r4, 0\n"
	  "call 181\nmov %r0, 2\nexit\ncb:\nldxdw %r1, [%r2+0]\nlddw %r2, map_idx(3)\nmov %r3, 0\ncall 12\nmov %r0, 0\nexit",
	  -EINVAL, 14, "tail_call is not allowed in callbacks" },
	{ "bpf_loop callback is not a function", XDP, 0,
	  "mov %r1, 10\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\ncall 181\nexit", -EACCES, 4, "R2 type=scalar expected=func" },
	{ "bpf_loop callback context is not on the stack", XDP, 0,
	  "mov %r3, %r1\nmov %r1, 10\nlddw %r2, func(cb)\nmov %r4, 0\ncall 181\nexit\ncb:\nmov %r0, 0\nexit", -EACCES, 5,
	  "R3 type=ctx expected=fp" },
	{ "for_each_map_elem", XDP, 0,
	  "lddw %r1, map_idx(0)\nlddw %r2, func(cb)\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 2\nexit\n"
	  "cb:\nldxdw %r0, [%r3+0]\nldxw %r0, [%r2+0]\nmov %r0, 0\nexit", 0, 0, NULL },
	{ "for_each_map_elem callback reads past the value", XDP, 0,
	  "lddw %r1, map_idx(0)\nlddw %r2, func(cb)\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 2\nexit\n"
	  "cb:\nldxdw %r0, [%r3+4]\nmov %r0, 0\nexit", -EACCES, 9, "invalid access to map value, value_size=8 off=4 size=8" },
	{ "for_each_map_elem callback writes the key", XDP, 0,
	  "lddw %r1, map_idx(0)\nlddw %r2, func(cb)\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 2\nexit\n"
	  "cb:\nstw [%r2+0], 1\nmov %r0, 0\nexit", -EACCES, 9, "write to change key R2 not allowed" },
	{ "for_each_map_elem on a queue", XDP, 0,
	  "lddw %r1, map_idx(5)\nlddw %r2, func(cb)\nmov %r3, 0\nmov %r4, 0\ncall 164\nmov %r0, 2\nexit\n"
	  "cb:\nmov %r0, 0\nexit", -EINVAL, 6, "cannot pass map_type 22 into func bpf_for_each_map_elem#164" },
};

static void test_callbacks(void **state)
{
	(void)state;
	run_cases(callback_cases, BJ_ARRAY_SIZE_T(callback_cases));
}

/* ---- atomics, sign-extending loads, legacy packet loads ---- */

static const struct vcase misc_cases[] = {
	{ "atomic add on the stack", XDP, 0, "stdw [%r10-8], 0\nmov %r1, 1\nlock add [%r10-8], %r1\nldxdw %r0, [%r10-8]\nexit",
	  0, 0, NULL },
	{ "atomic fetch gives the old value", XDP, 0,
	  "stdw [%r10-8], 0\nmov %r1, 1\nlock fetch add [%r10-8], %r1\nmov %r0, %r1\nexit", 0, 0, NULL },
	{ "atomic on uninitialised stack under strict policy", SOCK, STRICT, "mov %r1, 1\nlock add [%r10-8], %r1\nmov %r0, 0\nexit",
	  -EACCES, 1, "invalid read from stack off -8+0 size 8" },
	{ "atomic on the context", XDP, 0, "mov %r2, 1\nlock add32 [%r1+0], %r2\nmov %r0, 2\nexit", -EACCES, 1,
	  "BPF_ATOMIC stores into R1 ctx is not allowed" },
	{ "atomic on a map value", XDP, 0,
	  LOOKUP(0) "jeq %r0, 0, out\nmov %r1, 1\nlock add [%r0+0], %r1\nout:\nmov %r0, 2\nexit", 0, 0, NULL },
	{ "atomic on the packet", XDP, 0,
	  PKT_PROLOGUE "mov %r0, 1\njgt %r4, %r3, out\nmov %r5, 1\nlock add32 [%r2+0], %r5\nout:\nexit", -EACCES, 7,
	  "BPF_ATOMIC stores into R2 pkt is not allowed" },
	{ "misaligned atomic", MEM, MEM64, "mov %r2, 1\nlock add32 [%r1+2], %r2\nmov %r0, 0\nexit", -EACCES, 1,
	  "misaligned access off 0x0+0+2 size 4" },
	{ "cmpxchg reads r0", XDP, 0, "stdw [%r10-8], 0\nmov %r1, 1\nlock cmpxchg [%r10-8], %r1\nexit", -EACCES, 2, "R0 !read_ok" },
	{ "atomic on read-only map", XDP, 0, "lddw %r1, map_idx_value(7, 0)\nmov %r2, 1\nlock add [%r1+0], %r2\nmov %r0, 2\nexit",
	  -EACCES, 3, "write into map forbidden" },
	{ "legacy packet loads clobber r1-r5", SOCK, 0, "mov %r6, %r1\nmov %r2, 1\nldabsb 12\nldindh %r2, 2\nexit", -EACCES,
	  3, "R2 !read_ok" },
	{ "legacy packet loads", SOCK, 0, "mov %r6, %r1\nmov %r7, 4\nldabsb 12\nldindh %r7, 2\nexit", 0, 0, NULL },
	{ "legacy packet load without the skb in r6", SOCK, 0, "mov %r6, 0\nldabsb 12\nexit", -EINVAL, 1,
	  "at the time of BPF_LD_ABS|IND R6 != pointer to skb" },
	{ "legacy packet load in XDP", XDP, 0, "mov %r6, %r1\nldabsb 12\nexit", -EINVAL, 1,
	  "BPF_LD_[ABS|IND] instructions not allowed for this program type" },
};

static void test_misc(void **state)
{
	(void)state;
	run_cases(misc_cases, BJ_ARRAY_SIZE_T(misc_cases));
}


/* ---- the log ---- */

static const char pkt_error_prog[] = "ldxw %r2, [%r1+0]\nldxw %r3, [%r1+4]\nmov %r4, %r2\nadd %r4, 1\n"
				     "jgt %r4, %r3, bad\nmov %r0, 1\nexit\nbad:\nldxb %r0, [%r2+0]\nexit";

static void test_log_level1(void **state)
{
	static char log[1 << 16];
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(verify_text(pkt_error_prog, XDP, 0, 1, log, sizeof(log), NULL, &err), -EACCES);
	assert_int_equal(err.insn, 7);
	assert_non_null(strstr(log, "0: R1=ctx() R10=fp0\n"));
	assert_non_null(strstr(log, "1: (61) r3 = *(u32 *)(r1 +4)"));
	assert_non_null(strstr(log, "; R1=ctx() R3_w=pkt_end()\n"));
	assert_non_null(strstr(log, "4: (2d) if r4 > r3 goto pc+2"));
	assert_non_null(strstr(log, "7: (71) r0 = *(u8 *)(r2 +0)\n"
				    "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)\n"
				    "R2 offset is outside of the packet\n"));
	assert_non_null(strstr(log, "processed 8 insns (limit 1000000) max_states_per_insn "));
	/* Level 1 shows the path to the error only: the branch that ended well is gone. */
	assert_null(strstr(log, "6: (95) exit"));
	assert_null(strstr(log, "from 4 to 7"));
	assert_non_null(strstr(log, "4: (2d) if r4 > r3 goto pc+2\n7: R3_w=pkt_end() R4_w=pkt(off=1,r=0)\n"));
}

static void test_log_level2(void **state)
{
	static char log[1 << 16];
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(verify_text(pkt_error_prog, XDP, 0, 2, log, sizeof(log), NULL, &err), -EACCES);
	assert_non_null(strstr(log, "6: (95) exit\n"));
	assert_non_null(strstr(log, "\nfrom 4 to 7: R1=ctx() R2_w=pkt(r=0) R3_w=pkt_end() R4_w=pkt(off=1,r=0) R10=fp0\n"));
	assert_non_null(strstr(log, "4: (2d) if r4 > r3 goto pc+2           ; R3_w=pkt_end() R4_w=pkt(off=1,r=1)\n"));
	assert_non_null(strstr(log, "verification time "));
}

static void test_log_level0_still_names_the_error(void **state)
{
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(verify_text(pkt_error_prog, XDP, 0, 0, NULL, 0, NULL, &err), -EACCES);
	assert_int_equal(err.insn, 7);
	assert_non_null(strstr(err.msg, "invalid access to packet, off=0 size=1"));
}

static void test_log_truncated(void **state)
{
	static char big[1 << 16];
	char small[129];
	struct bj_error err = { 0 };

	(void)state;
	memset(small, 'X', sizeof(small));
	assert_int_equal(verify_text(pkt_error_prog, XDP, 0, 2, small, 128, NULL, &err), -EACCES);
	assert_int_equal(strlen(small), 127);
	assert_int_equal(small[128], 'X');
	assert_int_equal(verify_text(pkt_error_prog, XDP, 0, 2, big, sizeof(big), NULL, &err), -EACCES);
	assert_memory_equal(small, big, 127);
}

static void test_log_malformed(void **state)
{
	char log[256];
	const struct bj_insn insns[] = { { .code = 0xb7, .dst = 0, .imm = 1 } };
	struct bj_error err = { 0 };

	(void)state;
	memset(log, 'X', sizeof(log));
	BJ_OPTS(bj_verifier_opts, opts, .type = XDP, .log_level = 1, .log_buf = log, .log_size = sizeof(log));
	assert_int_equal(bj_verify(insns, 1, &opts, NULL, &err), -EINVAL);
	assert_non_null(memchr(log, '\0', sizeof(log)));
	assert_non_null(strstr(log, err.msg));
}

static void test_log_line_info(void **state)
{
	static char log[1 << 14];
	const struct bj_line_info li[] = {
		{ .insn = 0, .line = 10, .file = "src/prog.c", .text = "\tint x = 0;" },
		{ .insn = 1, .line = 11, .file = "src/prog.c", .text = "return x;" },
	};
	struct bj_insn *insns;
	size_t n;
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(bj_asm("mov %r0, 0\nexit", &insns, &n, &err), 0);
	BJ_OPTS(bj_verifier_opts, opts, .type = XDP, .line_info = li, .n_line_info = 2, .log_level = 2, .log_buf = log,
		.log_size = sizeof(log));
	assert_int_equal(bj_verify(insns, n, &opts, NULL, &err), 0);
	assert_non_null(strstr(log, "; int x = 0; @ prog.c:10\n0: (b7) r0 = 0"));
	assert_non_null(strstr(log, "; return x; @ prog.c:11\n1: (95) exit"));
	free(insns);
}

/* ---- limits ---- */

static int verify_limit(const char *text, uint64_t limit, struct bj_verifier_stats *st, struct bj_error *err)
{
	struct bj_insn *insns;
	size_t n;
	int ret;

	assert_int_equal(bj_asm(text, &insns, &n, err), 0);
	BJ_OPTS(bj_verifier_opts, opts, .type = XDP, .insn_limit = limit);
	ret = bj_verify(insns, n, &opts, st, err);
	free(insns);
	return ret;
}

static void test_complexity_limit(void **state)
{
	const char *loop = "mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 100000, loop\nexit";
	struct bj_verifier_stats st;
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(verify_limit(loop, 1000, &st, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "BPF program is too large. Processed 1001 insn"));
	assert_int_equal(st.insns_processed, 1000);
	assert_int_equal(verify_limit(loop, 0, &st, &err), 0);
	assert_true(st.insns_processed > 200000);
	assert_int_equal(verify_limit("mov %r0, 0\nloop:\nadd %r0, 1\njlt %r0, 10000000, loop\nexit", 0, &st, &err),
			 -E2BIG);
	assert_non_null(strstr(err.msg, "BPF program is too large. Processed 1000001 insn"));
}

/* 24 independent branches on values nothing reads afterwards: liveness lets pruning keep the walk linear. */
static void test_pruning(void **state)
{
	char text[4096] = "call 7\nmov %r6, %r0\n";
	struct bj_verifier_stats st;
	struct bj_error err = { 0 };

	(void)state;
	for (int i = 0; i < 24; i++) {
		char line[128];

		snprintf(line, sizeof(line), "mov %%r9, %%r6\nand %%r9, %d\njeq %%r9, 0, +1\nmov %%r7, %d\n", 1 << i, i);
		strcat(text, line);
	}
	strcat(text, "mov %r0, 2\nexit");
	assert_int_equal(verify_limit(text, 0, &st, &err), 0);
	assert_true(st.insns_processed < 1000);
	assert_true(st.total_states > 0);
}

/* Branches that narrow a live value no later check depends on: without precision tracking this is 2^24 paths. */
static void test_pruning_imprecise(void **state)
{
	char text[4096] = "call 7\nmov %r6, %r0\n";
	struct bj_verifier_stats st;
	struct bj_error err = { 0 };

	(void)state;
	for (int i = 0; i < 24; i++) {
		char line[128];

		snprintf(line, sizeof(line), "jset %%r6, %d, +1\nmov %%r7, %d\nmov %%r8, %%r6\n", 1 << i, i);
		strcat(text, line);
	}
	strcat(text, "mov %r0, 2\nexit");
	assert_int_equal(verify_limit(text, 0, &st, &err), 0);
	assert_true(st.insns_processed < 1000);
}

/* r7 is 0 on one path and 8 on the other; the join may prune only while nothing depends on r7 exactly. */
#define JOIN_PROG(use)                                                                                      \
	"mov %r9, %r1\nmov %r2, 0\nmov %r3, 0\nmov %r4, 0\nmov %r5, 0\nmov %r8, 0\ncall 7\nmov %r6, %r0\n"         \
	"and %r6, 1\njeq %r6, 0, a\nmov %r7, 0\nja join\na:\nmov %r7, 8\njoin:\nmov %r1, %r9\n" use "\nexit"

static void test_precision(void **state)
{
	static char log[1 << 16];
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(verify_text(JOIN_PROG("add %r1, %r7\nldxdw %r0, [%r1+56]"), MEM, MEM64, 2, log, sizeof(log),
				     NULL, &err), -EACCES);
	assert_int_equal(err.insn, 15);
	assert_non_null(strstr(err.msg, "invalid access to memory, mem_size=64 off=64 size=8"));
	assert_null(strstr(log, "13: safe"));
	assert_int_equal(verify_text(JOIN_PROG("add %r0, %r7\nldxdw %r0, [%r1+0]"), MEM, MEM64, 2, log, sizeof(log),
				     NULL, &err), 0);
	assert_non_null(strstr(log, "13: safe"));
}

static void test_deep_calls(void **state)
{
	char text[2048] = "";
	struct bj_verifier_stats st;
	struct bj_error err = { 0 };

	(void)state;
	/* main and 7 nested subprograms: 8 frames, each with 48 bytes of stack (8 * 64 = 512). */
	strcat(text, "stdw [%r10-48], 0\ncall local f1\nexit\n");
	for (int i = 1; i <= 7; i++) {
		char line[128];

		if (i < 7)
			snprintf(line, sizeof(line), "f%d:\nstdw [%%r10-48], 0\ncall local f%d\nexit\n", i, i + 1);
		else
			snprintf(line, sizeof(line), "f%d:\nstdw [%%r10-48], 0\nmov %%r0, 1\nexit\n", i);
		strcat(text, line);
	}
	assert_int_equal(verify_limit(text, 0, &st, &err), 0);
	assert_int_equal(st.stack_depth, 48);
	/* One more frame is one too many. */
	char *p = strstr(text, "f7:");
	assert_non_null(p);
	strcpy(p, "f7:\nstdw [%r10-48], 0\ncall local f8\nexit\nf8:\nmov %r0, 1\nexit\n");
	assert_int_equal(verify_limit(text, 0, &st, &err), -E2BIG);
	assert_non_null(strstr(err.msg, "the call stack of 9 frames is too deep"));
}

/* ---- never crash: random programs are accepted or refused, nothing else ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

static void random_insn(struct bj_insn *in, size_t i, size_t n)
{
	static const uint8_t codes[] = { 0x07, 0x0f, 0x17, 0x1f, 0x27, 0x2f, 0x37, 0x3f, 0x47, 0x4f, 0x57, 0x5f, 0x67,
					 0x6f, 0x77, 0x7f, 0x87, 0x97, 0x9f, 0xa7, 0xaf, 0xb7, 0xbf, 0xc7, 0xcf, 0xd7,
					 0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3c, 0x44, 0x4c, 0x54, 0x5c, 0xb4,
					 0xbc, 0x61, 0x69, 0x71, 0x79, 0x62, 0x6a, 0x72, 0x7a, 0x63, 0x6b, 0x73, 0x7b,
					 0xc3, 0xdb, 0x05, 0x15, 0x1d, 0x25, 0x2d, 0x35, 0x3d, 0x45, 0x4d, 0x55, 0x5d,
					 0x65, 0x6d, 0x75, 0x7d, 0xa5, 0xad, 0xb5, 0xbd, 0xc5, 0xcd, 0xd5, 0xdd, 0x16,
					 0x1e, 0x85, 0x85, 0x95, 0x91, 0x89, 0x81 };
	static const int32_t helpers[] = { 1, 2, 3, 5, 7, 12, 23, 44, 51, 87, 88, 130, 131, 132, 164, 181, 189, 999 };
	static const int16_t offs[] = { 0, 4, 8, -8, -4, -16, -512, 12, 14, 1, -1, 2 };

	*in = (struct bj_insn){ .code = codes[rnd(BJ_ARRAY_SIZE_T(codes))], .dst = (uint8_t)rnd(10),
				.src = (uint8_t)rnd(11) };
	uint8_t cls = in->code & 7;
	if (cls == 5 || cls == 6) {
		in->off = (int16_t)((int)rnd(7) - 2);
		if ((long)i + 1 + in->off < 0 || (size_t)((long)i + 1 + in->off) >= n)
			in->off = 0;
	} else if (cls == 1 || cls == 2 || cls == 3) {
		in->off = offs[rnd(BJ_ARRAY_SIZE_T(offs))];
		if (rnd(3) == 0)
			in->dst = 10;
		if (in->code == 0xc3 || in->code == 0xdb)
			in->imm = rnd(2) ? 0 : 1;
	}
	if ((in->code & 0x08) == 0 && cls != 1 && cls != 3)
		in->imm = (int32_t)rnd(64) - 8;
	if (in->code == 0x85) {
		in->dst = in->src = 0;
		in->off = 0;
		in->imm = helpers[rnd(BJ_ARRAY_SIZE_T(helpers))];
	}
	if (in->code == 0x95 || in->code == 0x05)
		in->dst = in->src = 0;
}

static void test_random_programs(void **state)
{
	struct bj_insn insns[48];

	(void)state;
	for (int iter = 0; iter < 4000; iter++) {
		size_t n = 2 + rnd(40);
		struct bj_error err = { .insn = -1 };
		static char log[4096];

		insns[0] = (struct bj_insn){ .code = 0xb7, .dst = 0, .imm = (int32_t)rnd(3) };
		for (size_t i = 1; i + 1 < n; i++)
			random_insn(&insns[i], i, n);
		insns[n - 1] = (struct bj_insn){ .code = 0x95 };
		enum bj_prog_type type = (enum bj_prog_type)rnd(4);
		BJ_OPTS(bj_verifier_opts, opts, .type = type, .maps = test_maps, .n_maps = BJ_ARRAY_SIZE_T(test_maps),
			.policy = rnd(2) ? BJ_VERIFIER_STRICT : BJ_VERIFIER_PRIVILEGED, .mem_size = 64,
			.log_level = rnd(3), .log_buf = log, .log_size = sizeof(log), .insn_limit = 20000);
		int ret = bj_verify(insns, n, &opts, NULL, &err);

		if (ret == 0)
			continue;
		assert_true(ret == -EINVAL || ret == -EACCES || ret == -E2BIG);
		assert_true(err.msg[0] != '\0');
		assert_true(err.insn >= -1 && err.insn < (long)n);
	}
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
		cmocka_unit_test(test_ctx),
		cmocka_unit_test(test_packet),
		cmocka_unit_test(test_map_access),
		cmocka_unit_test(test_stack),
		cmocka_unit_test(test_pointers),
		cmocka_unit_test(test_calls),
		cmocka_unit_test(test_callbacks),
		cmocka_unit_test(test_misc),
		cmocka_unit_test(test_log_level1),
		cmocka_unit_test(test_log_level2),
		cmocka_unit_test(test_log_level0_still_names_the_error),
		cmocka_unit_test(test_log_truncated),
		cmocka_unit_test(test_log_line_info),
		cmocka_unit_test(test_log_malformed),
		cmocka_unit_test(test_complexity_limit),
		cmocka_unit_test(test_pruning),
		cmocka_unit_test(test_pruning_imprecise),
		cmocka_unit_test(test_precision),
		cmocka_unit_test(test_deep_calls),
		cmocka_unit_test(test_random_programs),
		cmocka_unit_test(test_examples),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
