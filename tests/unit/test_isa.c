/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "isa/isa.h"

#define I(c, d, s, o, i) ((struct bj_insn){ .code = (c), .dst = (d), .src = (s), .off = (o), .imm = (i) })
#define EXIT I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)
#define MOV64K(d, k) I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)

struct reject_case {
	const char *name;
	struct bj_insn prog[4];
	size_t n;
	long insn;
	const char *msg;
};

static const struct reject_case rejects[] = {
	{ "unknown opcode", { I(0xff, 0, 0, 0, 0), EXIT }, 2, 0, "unknown opcode 0xff" },
	{ "bad dst register", { MOV64K(11, 1), EXIT }, 2, 0, "invalid destination register r11" },
	{ "bad src register", { I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 12, 0, 0), EXIT }, 2, 0, "invalid source register r12" },
	{ "write r10", { MOV64K(10, 1), EXIT }, 2, 0, "frame pointer r10 is read only" },
	{ "jump out of range", { I(BPF_JMP | BPF_JA, 0, 0, 5, 0), EXIT }, 2, 0, "jump out of range from insn 0 to 6" },
	{ "jump backwards out", { I(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, -3, 0), EXIT }, 2, 0, "jump out of range" },
	{ "jump into lddw", { I(BPF_JMP | BPF_JA, 0, 0, 1, 0), I(BJ_LDDW, 0, 0, 0, 1), I(0, 0, 0, 0, 2), EXIT }, 4, 0,
	  "jump into the middle of ld_imm64 at insn 1" },
	{ "incomplete lddw", { EXIT, I(BJ_LDDW, 0, 0, 0, 1) }, 2, 1, "incomplete ld_imm64" },
	{ "lddw bad second half", { I(BJ_LDDW, 0, 0, 0, 1), I(0, 1, 0, 0, 2), EXIT }, 3, 0, "invalid ld_imm64: the second half" },
	{ "no exit", { MOV64K(0, 1) }, 1, 0, "program has no exit instruction" },
	{ "falls off the end", { EXIT, MOV64K(0, 1) }, 2, 1, "last insn is not an exit or jmp" },
	{ "endian width", { I(BPF_ALU | BPF_END | BPF_TO_BE, 0, 0, 0, 8), EXIT }, 2, 0, "invalid byte swap width 8" },
	{ "ALU64 bswap BE form", { I(BPF_ALU64 | BPF_END | BPF_X, 0, 0, 0, 16), EXIT }, 2, 0, "ALU64 byte swap has no BE form" },
	{ "movsx32 from 32", { I(BPF_ALU | BPF_MOV | BPF_X, 0, 1, 32, 0), EXIT }, 2, 0, "invalid movsx offset 32" },
	{ "bad atomic op", { I(BPF_STX | BPF_ATOMIC | BPF_DW, 1, 2, 0, 0x10), EXIT }, 2, 0, "invalid atomic operation 0x10" },
	{ "atomic byte", { I(BPF_STX | BPF_ATOMIC | BPF_B, 1, 2, 0, 0), EXIT }, 2, 0, "unknown opcode 0xd3" },
	{ "ldsx dw", { I(BPF_LDX | BPF_MEMSX | BPF_DW, 0, 1, 0, 0), EXIT }, 2, 0, "unknown opcode 0x99" },
	{ "neg reg form", { I(BPF_ALU64 | BPF_NEG | BPF_X, 0, 1, 0, 0), EXIT }, 2, 0, "invalid BPF_NEG" },
	{ "call local out of range", { I(BPF_JMP | BPF_CALL, 0, 1, 0, 7), EXIT }, 2, 0, "jump out of range" },
	{ "exit in JMP32", { I(BPF_JMP32 | BPF_EXIT, 0, 0, 0, 0), EXIT }, 2, 0, "unknown opcode 0x96" },
	{ "store with src", { I(BPF_ST | BPF_MEM | BPF_W, 10, 1, -4, 0), EXIT }, 2, 0, "src must be zero" },
	{ "main falls into a subprogram", { MOV64K(0, 1), I(BPF_JMP | BPF_CALL, 0, 1, 0, 0), EXIT }, 3, 1,
	  "last insn is not an exit or jmp" },
	{ "jump across subprograms", { I(BPF_JMP | BPF_CALL, 0, 1, 0, 2), I(BPF_JMP | BPF_JA, 0, 0, 1, 0), EXIT, EXIT },
	  4, 1, "jump out of range from insn 1 to 3" },
	{ "imm in reg form", { I(BPF_ALU64 | BPF_ADD | BPF_X, 0, 1, 0, 3), EXIT }, 2, 0, "imm must be zero" },
};

static void test_rejects(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rejects) / sizeof(rejects[0]); i++) {
		const struct reject_case *c = &rejects[i];
		struct bj_error err;

		memset(&err, 0, sizeof(err));
		int ret = bj_insns_validate(c->prog, c->n, &err);
		if (ret != -EINVAL || err.insn != c->insn || !strstr(err.msg, c->msg))
			fail_msg("%s: got %d at insn %ld '%s', want insn %ld '%s'", c->name, ret, err.insn, err.msg,
				 c->insn, c->msg);
	}
}

static void test_accepts_every_v4_form(void **state)
{
	const struct bj_insn prog[] = {
		I(BJ_LDDW, 1, 0, 0, 0x55667788), I(0, 0, 0, 0, 0x11223344),
		I(BPF_ALU64 | BPF_DIV | BPF_K, 1, 0, 1, -3),         /* sdiv */
		I(BPF_ALU | BPF_MOD | BPF_X, 1, 2, 1, 0),            /* smod32 */
		I(BPF_ALU64 | BPF_MOV | BPF_X, 1, 2, 32, 0),         /* movsx 32 -> 64 */
		I(BPF_ALU64 | BPF_END, 1, 0, 0, 64),                 /* bswap64 */
		I(BPF_LDX | BPF_MEMSX | BPF_H, 3, 10, -8, 0),        /* ldsx */
		I(BPF_STX | BPF_ATOMIC | BPF_W, 10, 0, -8, BPF_CMPXCHG),
		I(BPF_JMP32 | BPF_JA, 0, 0, 0, 1),                   /* gotol +1 */
		I(BPF_JMP | BPF_CALL, 0, 1, 0, 1),                   /* call local +1 */
		EXIT,
		I(BPF_JMP | BPF_CALL | BPF_X, 2, 0, 0, 0),           /* callx r2 */
		EXIT,
	};
	struct bj_error err = { 0 };

	(void)state;
	assert_int_equal(bj_insns_validate(prog, sizeof(prog) / sizeof(prog[0]), &err), 0);
}

static void test_empty_and_huge(void **state)
{
	struct bj_insn one = EXIT;
	struct bj_error err;

	(void)state;
	assert_int_equal(bj_insns_validate(&one, 0, &err), -EINVAL);
	assert_string_equal(err.msg, "empty program");
	assert_int_equal(bj_insns_validate(&one, BJ_MAX_INSNS + 1, &err), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_accepts_every_v4_form),
		cmocka_unit_test(test_empty_and_huge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
