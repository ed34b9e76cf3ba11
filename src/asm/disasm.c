/* SPDX-License-Identifier: Apache-2.0 */
/* The disassembler: instructions to the assembler's dialect, or to the kernel's notation. */
#include "asm/asm.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

/*
 * Which fields of an instruction its text spells out; everything else must be the table's value. Register
 * fields are 4 bits and the text reaches %r15, so every register value is expressible.
 */
enum { F_DST = 1, F_SRC = 2, F_OFF = 4, F_IMM = 8 };

static unsigned carried_fields(const struct asm_op *op, const struct bj_insn *in)
{
	bool x = BJ_SRCBIT(in->code);

	switch (op->form) {
	case FORM_ALU:
	case FORM_JMP:
		return F_DST | (x ? F_SRC : F_IMM) | (op->form == FORM_JMP ? F_OFF : 0);
	case FORM_NEG:
	case FORM_END:
		return F_DST;
	case FORM_MOVSX:
		return F_DST | F_SRC;
	case FORM_JA:
		return F_OFF;
	case FORM_JA32:
	case FORM_CALL_KFUNC:
		return F_IMM | (op->form == FORM_CALL_KFUNC ? F_SRC : 0);
	case FORM_CALL:
		return x ? F_DST : F_IMM;
	case FORM_CALL_REL:
		return F_SRC | F_IMM;
	case FORM_LDX:
	case FORM_STX:
	case FORM_ATOMIC:
		return F_DST | F_SRC | F_OFF;
	case FORM_ST:
		return F_DST | F_OFF | F_IMM;
	case FORM_LDDW:
		return F_DST | F_SRC | F_IMM;
	case FORM_LDABS:
		return F_IMM;
	case FORM_LDIND:
		return F_SRC | F_IMM;
	default:
		return 0;
	}
}

/* True when the text of `op` gives back exactly `in`: no stray value in a field the text does not carry. */
static bool expressible(const struct asm_op *op, const struct bj_insn *in)
{
	unsigned f = carried_fields(op, in);
	struct bj_insn canon = { .code = in->code, .off = op->off, .imm = op->imm };

	if (f & F_DST)
		canon.dst = in->dst;
	if (f & F_SRC)
		canon.src = in->src;
	if (f & F_OFF)
		canon.off = in->off;
	if (f & F_IMM)
		canon.imm = in->imm;
	return canon.dst == in->dst && canon.src == in->src && canon.off == in->off && canon.imm == in->imm;
}

/* lddw: the pseudo kinds whose second half carries no value of its own. */
static bool lddw_hi_unused(uint8_t src)
{
	return src == BPF_PSEUDO_MAP_FD || src == BPF_PSEUDO_BTF_ID || src == BPF_PSEUDO_FUNC ||
	       src == BPF_PSEUDO_MAP_IDX;
}

static bool lddw_pair_ok(const struct bj_insn *insns, size_t n, size_t i)
{
	const struct bj_insn *hi = &insns[i + 1];

	if (i + 1 >= n || hi->code || hi->dst || hi->src || hi->off)
		return false;
	if (insns[i].src > BPF_PSEUDO_MAP_IDX_VALUE)
		return false;
	return !(lddw_hi_unused(insns[i].src) && hi->imm);
}

/* The table row for insns[i] if its text is exact, else NULL (the slot is written as `.raw`). */
static const struct asm_op *decode(const struct bj_insn *insns, size_t n, size_t i)
{
	const struct asm_op *op = bj_asm_op_by_insn(&insns[i]);

	if (!op || !expressible(op, &insns[i]))
		return NULL;
	if (op->form == FORM_LDDW && !lddw_pair_ok(insns, n, i))
		return NULL;
	return op;
}

/* Output into a fixed buffer, cut like snprintf. */
struct fmt {
	char *buf;
	size_t size, len;
};

static void put(struct fmt *f, const char *fmt, ...) BJ_PRINTF(2, 3);

static void put(struct fmt *f, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = vsnprintf(f->len < f->size ? f->buf + f->len : NULL, f->len < f->size ? f->size - f->len : 0, fmt, ap);
	va_end(ap);
	if (r > 0)
		f->len += (size_t)r;
}

/* Whole-program context: which slots start an instruction that has a label. */
struct fmt_ctx {
	const struct bj_insn *insns;
	size_t n;
	bool kernel;
	const bool *label; /* NULL: print relative offsets */
};

static void put_imm(struct fmt *f, int32_t imm)
{
	if (imm >= 0 && imm < 10)
		put(f, "%d", imm);
	else if (imm >= 0)
		put(f, "0x%x", (unsigned)imm);
	else
		put(f, "%d", imm);
}

static void put_target(struct fmt *f, const struct fmt_ctx *x, size_t i, int32_t rel)
{
	long t = (long)i + 1 + rel;

	if (x->label && t >= 0 && (size_t)t <= x->n && x->label[t])
		put(f, "L%ld", t);
	else if (x->kernel)
		put(f, "pc%+d", rel);
	else
		put(f, "%+d", rel);
}

static void put_mem(struct fmt *f, unsigned reg, int16_t off)
{
	if (off)
		put(f, "[%%r%u%+d]", reg, off);
	else
		put(f, "[%%r%u]", reg);
}

static void put_raw(struct fmt *f, const struct bj_insn *in)
{
	uint64_t w = in->code | (uint64_t)in->dst << 8 | (uint64_t)in->src << 12 | (uint64_t)(uint16_t)in->off << 16 |
		     (uint64_t)(uint32_t)in->imm << 32;
	put(f, ".raw 0x%016" PRIx64, w);
}

static const char *const pseudo_names[] = {
	[BPF_PSEUDO_MAP_FD] = "map_fd",   [BPF_PSEUDO_MAP_VALUE] = "map_fd_value",
	[BPF_PSEUDO_BTF_ID] = "btf_id",   [BPF_PSEUDO_FUNC] = "func",
	[BPF_PSEUDO_MAP_IDX] = "map_idx", [BPF_PSEUDO_MAP_IDX_VALUE] = "map_idx_value",
};

static void asm_lddw(struct fmt *f, const struct fmt_ctx *x, size_t i)
{
	const struct bj_insn *in = &x->insns[i];

	put(f, "lddw %%r%u, ", in->dst);
	if (in->src == 0)
		put(f, "0x%" PRIx64, bj_lddw_imm(in));
	else if (in->src == BPF_PSEUDO_FUNC) {
		put(f, "func(");
		put_target(f, x, i, in->imm);
		put(f, ")");
	} else if (lddw_hi_unused(in->src))
		put(f, "%s(%d)", pseudo_names[in->src], in->imm);
	else
		put(f, "%s(%d, %d)", pseudo_names[in->src], in->imm, in[1].imm);
}

static void asm_insn(struct fmt *f, const struct fmt_ctx *x, size_t i, const struct asm_op *op)
{
	const struct bj_insn *in = &x->insns[i];

	if (op->form == FORM_LDDW) {
		asm_lddw(f, x, i);
		return;
	}
	put(f, "%s", op->name);
	switch (op->form) {
	case FORM_ALU:
	case FORM_JMP:
		put(f, " %%r%u, ", in->dst);
		if (BJ_SRCBIT(in->code))
			put(f, "%%r%u", in->src);
		else
			put_imm(f, in->imm);
		if (op->form == FORM_JMP) {
			put(f, ", ");
			put_target(f, x, i, in->off);
		}
		break;
	case FORM_NEG:
	case FORM_END:
		put(f, " %%r%u", in->dst);
		break;
	case FORM_MOVSX:
		put(f, " %%r%u, %%r%u", in->dst, in->src);
		break;
	case FORM_JA:
	case FORM_JA32:
	case FORM_CALL_REL:
		put(f, " ");
		put_target(f, x, i, op->form == FORM_JA ? in->off : in->imm);
		break;
	case FORM_CALL:
		if (BJ_SRCBIT(in->code))
			put(f, " %%r%u", in->dst);
		else
			put(f, " %d", in->imm);
		break;
	case FORM_CALL_KFUNC:
		put(f, " %d", in->imm);
		break;
	case FORM_EXIT:
		break;
	case FORM_LDX:
		put(f, " %%r%u, ", in->dst);
		put_mem(f, in->src, in->off);
		break;
	case FORM_ST:
	case FORM_STX:
	case FORM_ATOMIC:
		put(f, " ");
		put_mem(f, in->dst, in->off);
		if (op->form == FORM_ST) {
			put(f, ", ");
			put_imm(f, in->imm);
		} else {
			put(f, ", %%r%u", in->src);
		}
		break;
	case FORM_LDABS:
		put(f, " ");
		put_imm(f, in->imm);
		break;
	case FORM_LDIND:
		put(f, " %%r%u, ", in->src);
		put_imm(f, in->imm);
		break;
	}
}

/* Kernel (bpftool "xlated") notation. */

static char reg_prefix(const struct bj_insn *in)
{
	uint8_t cls = BJ_CLASS(in->code);
	bool is32 = cls == BPF_ALU || cls == BPF_JMP32 || (cls == BPF_STX && BJ_SIZE(in->code) == BPF_W);

	return is32 ? 'w' : 'r';
}

static void kernel_lddw(struct fmt *f, const struct fmt_ctx *x, size_t i)
{
	const struct bj_insn *in = &x->insns[i];
	const char *kind = in->src == BPF_PSEUDO_MAP_FD || in->src == BPF_PSEUDO_MAP_VALUE ? "fd" : "idx";

	put(f, "r%u = ", in->dst);
	switch (in->src) {
	case 0:
		put(f, "0x%" PRIx64 " ll", bj_lddw_imm(in));
		break;
	case BPF_PSEUDO_MAP_FD:
	case BPF_PSEUDO_MAP_IDX:
		put(f, "map[%s:%d]", kind, in->imm);
		break;
	case BPF_PSEUDO_MAP_VALUE:
	case BPF_PSEUDO_MAP_IDX_VALUE:
		put(f, "map[%s:%d][0]+%d", kind, in->imm, in[1].imm);
		break;
	case BPF_PSEUDO_BTF_ID:
		put(f, "btf_id[%d]", in->imm);
		break;
	default:
		put(f, "func ");
		put_target(f, x, i, in->imm);
	}
}

static void kernel_atomic(struct fmt *f, const struct asm_op *op, const struct bj_insn *in)
{
	const char *sz = BJ_SIZE(in->code) == BPF_DW ? "u64" : "u32", *fn = BJ_SIZE(in->code) == BPF_DW ? "atomic64" : "atomic";
	char r = reg_prefix(in);

	if (!(op->imm & BPF_FETCH))
		put(f, "lock *(%s *)(r%u %+d) %s %c%u", sz, in->dst, in->off, op->sym, r, in->src);
	else if (op->imm == BPF_CMPXCHG)
		put(f, "%c0 = %s_cmpxchg((%s *)(r%u %+d), %c0, %c%u)", r, fn, sz, in->dst, in->off, r, r, in->src);
	else
		put(f, "%c%u = %s_%s((%s *)(r%u %+d), %c%u)", r, in->src, fn, op->sym, sz, in->dst, in->off, r, in->src);
}

static void kernel_insn(struct fmt *f, const struct fmt_ctx *x, size_t i, const struct asm_op *op)
{
	const struct bj_insn *in = &x->insns[i];
	char r = reg_prefix(in);
	bool reg = BJ_SRCBIT(in->code);

	switch (op->form) {
	case FORM_ALU:
		if (reg)
			put(f, "%c%u %s %c%u", r, in->dst, op->sym, r, in->src);
		else
			put(f, "%c%u %s %d", r, in->dst, op->sym, in->imm);
		break;
	case FORM_NEG:
		put(f, "%c%u = -%c%u", r, in->dst, r, in->dst);
		break;
	case FORM_MOVSX:
		put(f, "%c%u = (%s)%c%u", r, in->dst, op->sym, r, in->src);
		break;
	case FORM_END:
		put(f, "r%u = %s%d r%u", in->dst, op->sym, in->imm, in->dst);
		break;
	case FORM_JA:
	case FORM_JA32:
		put(f, "%s ", op->sym);
		put_target(f, x, i, op->form == FORM_JA ? in->off : in->imm);
		break;
	case FORM_JMP:
		if (reg)
			put(f, "if %c%u %s %c%u goto ", r, in->dst, op->sym, r, in->src);
		else
			put(f, "if %c%u %s 0x%x goto ", r, in->dst, op->sym, (unsigned)in->imm);
		put_target(f, x, i, in->off);
		break;
	case FORM_CALL:
		if (reg)
			put(f, "callx r%u", in->dst);
		else
			put(f, "call #%d", in->imm);
		break;
	case FORM_CALL_REL:
		put(f, "call ");
		put_target(f, x, i, in->imm);
		break;
	case FORM_CALL_KFUNC:
		put(f, "call kfunc#%d", in->imm);
		break;
	case FORM_EXIT:
		put(f, "exit");
		break;
	case FORM_LDX:
		put(f, "r%u = *(%s *)(r%u %+d)", in->dst, op->sym, in->src, in->off);
		break;
	case FORM_ST:
		put(f, "*(%s *)(r%u %+d) = %d", op->sym, in->dst, in->off, in->imm);
		break;
	case FORM_STX:
		put(f, "*(%s *)(r%u %+d) = r%u", op->sym, in->dst, in->off, in->src);
		break;
	case FORM_ATOMIC:
		kernel_atomic(f, op, in);
		break;
	case FORM_LDDW:
		kernel_lddw(f, x, i);
		break;
	case FORM_LDABS:
		put(f, "r0 = *(%s *)skb[%d]", op->sym, in->imm);
		break;
	case FORM_LDIND:
		put(f, "r0 = *(%s *)skb[r%u + %d]", op->sym, in->src, in->imm);
		break;
	}
}

/* Formats insns[i]; returns the slots it took. */
static int format_insn(struct fmt *f, const struct fmt_ctx *x, size_t i)
{
	const struct asm_op *op = decode(x->insns, x->n, i);

	if (!op) {
		put_raw(f, &x->insns[i]);
		return 1;
	}
	if (x->kernel)
		kernel_insn(f, x, i, op);
	else
		asm_insn(f, x, i, op);
	return op->form == FORM_LDDW ? 2 : 1;
}

int bj_disasm_insn(const struct bj_insn *insns, size_t n, size_t i, const struct bj_disasm_opts *opts,
		   char *buf, size_t size)
{
	struct fmt_ctx x = { insns, n, BJ_OPTS_GET(opts, style, BJ_DISASM_ASM) == BJ_DISASM_KERNEL, NULL };
	struct fmt f = { buf, size, 0 };

	if (!BJ_OPTS_VALID(opts, struct bj_disasm_opts) || !insns || i >= n || (!buf && size))
		return -EINVAL;
	if (size)
		buf[0] = '\0';
	return format_insn(&f, &x, i);
}

/* A growing text buffer. */
struct text {
	char *p;
	size_t len, cap;
	bool oom;
};

static void text_add(struct text *t, const char *s, size_t len)
{
	if (t->oom)
		return;
	if (t->len + len + 1 > t->cap) {
		size_t ncap = t->cap ? t->cap : 256;
		while (ncap < t->len + len + 1)
			ncap *= 2;
		char *np = realloc(t->p, ncap);
		if (!np) {
			t->oom = true;
			return;
		}
		t->p = np;
		t->cap = ncap;
	}
	memcpy(t->p + t->len, s, len);
	t->len += len;
	t->p[t->len] = '\0';
}

/* label[t] for every slot t in 0..n that starts an instruction and is the target of a jump or call. */
static bool *find_labels(const struct bj_insn *insns, size_t n)
{
	bool *starts = calloc(n + 1, 1), *label = calloc(n + 1, 1);

	if (!starts || !label) {
		free(starts);
		free(label);
		return NULL;
	}
	for (size_t i = 0; i < n; i += decode(insns, n, i) && insns[i].code == BJ_LDDW ? 2 : 1)
		starts[i] = true;
	starts[n] = true;
	for (size_t i = 0; i < n; i++) {
		const struct asm_op *op = starts[i] ? decode(insns, n, i) : NULL;
		long t;

		if (!op)
			continue;
		if (op->form == FORM_JA || op->form == FORM_JMP)
			t = (long)i + 1 + insns[i].off;
		else if (op->form == FORM_JA32 || op->form == FORM_CALL_REL ||
			 (op->form == FORM_LDDW && insns[i].src == BPF_PSEUDO_FUNC))
			t = (long)i + 1 + insns[i].imm;
		else
			continue;
		if (t >= 0 && (size_t)t <= n && starts[t])
			label[t] = true;
	}
	free(starts);
	return label;
}

int bj_disasm(const struct bj_insn *insns, size_t n, const struct bj_disasm_opts *opts, char **out_text)
{
	bool kernel = BJ_OPTS_GET(opts, style, BJ_DISASM_ASM) == BJ_DISASM_KERNEL;
	bool indexes = BJ_OPTS_GET(opts, indexes, false), opcodes = BJ_OPTS_GET(opts, opcodes, false);
	struct fmt_ctx x = { insns, n, kernel, NULL };
	bool *label = NULL;
	struct text t = { 0 };
	char line[320];

	if (!BJ_OPTS_VALID(opts, struct bj_disasm_opts) || !out_text || (!insns && n))
		return -EINVAL;
	if (BJ_OPTS_GET(opts, labels, false) && n) {
		label = find_labels(insns, n);
		if (!label)
			return -ENOMEM;
		x.label = label;
	}
	text_add(&t, "", 0);
	for (size_t i = 0; i <= n && !t.oom;) {
		struct fmt f = { line, sizeof(line), 0 };
		int slots;

		if (label && label[i]) {
			int len = snprintf(line, sizeof(line), "L%zu:\n", i);
			text_add(&t, line, (size_t)len);
		}
		if (i == n)
			break;
		if (indexes)
			put(&f, "%4zu: ", i);
		if (kernel && opcodes)
			put(&f, "(%02x) ", insns[i].code);
		slots = format_insn(&f, &x, i);
		put(&f, "\n");
		text_add(&t, line, f.len < sizeof(line) ? f.len : sizeof(line) - 1);
		i += (size_t)slots;
	}
	free(label);
	if (t.oom) {
		free(t.p);
		return -ENOMEM;
	}
	*out_text = t.p;
	return 0;
}
