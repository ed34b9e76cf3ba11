/* SPDX-License-Identifier: Apache-2.0 */
/* The assembler: text in the conformance-suite dialect (see include/bpfjet/asm.h) to instructions. */
#include "asm/asm.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPERANDS 4

/* A piece of the current line: [p, e). */
struct span {
	const char *p, *e;
};

struct label {
	struct span name;
	size_t index;
};

/* A target named by a label, resolved once every label is known. */
struct fixup {
	struct span name;
	size_t insn;
	long lineno, col;
	bool in_imm; /* the target goes into imm (ja32, call local, func()) rather than off */
};

struct asm_ctx {
	const char *line;     /* first byte of the current line */
	long lineno;
	struct bj_insn *insns;
	size_t n, cap;
	struct label *labels;
	size_t n_labels, cap_labels;
	struct fixup *fixups;
	size_t n_fixups, cap_fixups;
	size_t first_exit;    /* index of the first `exit`, or SIZE_MAX */
	struct bj_error *err;
};

static int fail_at(struct asm_ctx *c, long lineno, long col, size_t insn, int errnum, const char *fmt, ...)
	BJ_PRINTF(6, 7);

static int fail_at(struct asm_ctx *c, long lineno, long col, size_t insn, int errnum, const char *fmt, ...)
{
	char why[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return bj_fail(c->err, errnum, (long)insn, lineno, "column %ld: %s", col, why);
}

static long col_of(const struct asm_ctx *c, const char *p)
{
	return (long)(p - c->line) + 1;
}

/* Fails pointing at p on the current line. */
#define FAIL(c, p, ...) fail_at((c), (c)->lineno, col_of((c), (p)), (c)->n, EINVAL, __VA_ARGS__)

/* Quotes a token for messages, cut to a readable length. */
#define TOK(s) (int)((s).e - (s).p > 40 ? 40 : (s).e - (s).p), (s).p

static bool is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static bool is_ident_start(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' || ch == '.' || ch == '$';
}

static bool is_ident(char ch)
{
	return is_ident_start(ch) || (ch >= '0' && ch <= '9');
}

static const char *skip_space(const char *p, const char *e)
{
	while (p < e && is_space(*p))
		p++;
	return p;
}

static struct span trim(struct span s)
{
	s.p = skip_space(s.p, s.e);
	while (s.e > s.p && is_space(s.e[-1]))
		s.e--;
	return s;
}

static bool span_eq(struct span s, const char *str)
{
	size_t len = strlen(str);
	return (size_t)(s.e - s.p) == len && !memcmp(s.p, str, len);
}

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	void *na;
	size_t ncap;

	if (need <= *cap)
		return 0;
	ncap = *cap ? *cap * 2 : 64;
	while (ncap < need)
		ncap *= 2;
	na = realloc(*arr, ncap * elem);
	if (!na)
		return -ENOMEM;
	*arr = na;
	*cap = ncap;
	return 0;
}

/* Numbers. */

enum width { W16 = 16, W32 = 32, W64 = 64 };

/*
 * Parses a span as a signed decimal or (optionally signed) hex number and checks it fits a field of `w`
 * bits: decimal as a signed value, hex also as the unsigned bit pattern (0xffffffff = -1 in 32 bits).
 * `sign` is the sign character written before the span, or 0 when the span carries its own.
 */
static int parse_int_signed(struct asm_ctx *c, struct span s, char sign, enum width w, const char *what,
			    int64_t *out)
{
	const char *p = s.p;
	bool neg = sign == '-', hex = false;
	uint64_t mag = 0, limit;

	if (!sign && p < s.e && (*p == '+' || *p == '-'))
		neg = *p++ == '-';
	if (s.e - p > 2 && p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
		hex = true;
		p += 2;
	}
	if (p == s.e)
		return FAIL(c, s.p, "expected %s, found '%.*s'", what, TOK(s));
	for (; p < s.e; p++) {
		unsigned d;
		if (*p >= '0' && *p <= '9')
			d = (unsigned)(*p - '0');
		else if (hex && *p >= 'a' && *p <= 'f')
			d = (unsigned)(*p - 'a' + 10);
		else if (hex && *p >= 'A' && *p <= 'F')
			d = (unsigned)(*p - 'A' + 10);
		else
			return FAIL(c, s.p, "expected %s, found '%.*s'", what, TOK(s));
		if (mag > (UINT64_MAX - d) / (hex ? 16 : 10))
			return FAIL(c, s.p, "%s '%.*s' is out of range", what, TOK(s));
		mag = mag * (hex ? 16 : 10) + d;
	}
	if (neg)
		limit = 1ull << (w - 1);
	else if (hex || w == W64)
		limit = w == W64 ? UINT64_MAX : (1ull << w) - 1;
	else
		limit = (1ull << (w - 1)) - 1;
	if (mag > limit)
		return FAIL(c, s.p, "%s '%.*s' is out of range for a %d-bit field", what, TOK(s), (int)w);
	*out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
	if (w != W64 && !neg && (uint64_t)*out >= 1ull << (w - 1))
		*out -= (int64_t)1 << w; /* hex bit pattern above the signed maximum */
	return 0;
}

static int parse_int(struct asm_ctx *c, struct span s, enum width w, const char *what, int64_t *out)
{
	return parse_int_signed(c, s, 0, w, what, out);
}

/* Registers and memory operands. */

static int parse_reg(struct asm_ctx *c, struct span s, unsigned *reg)
{
	unsigned v = 0;

	if (s.e - s.p < 3 || s.p[0] != '%' || s.p[1] != 'r' || s.e - s.p > 4)
		goto bad;
	for (const char *p = s.p + 2; p < s.e; p++) {
		if (*p < '0' || *p > '9')
			goto bad;
		v = v * 10 + (unsigned)(*p - '0');
	}
	/* r11..r15 fit the 4-bit field: tests of the loader need to write them; bj_insns_validate rejects them. */
	if ((s.e - s.p == 4 && s.p[2] == '0') || v > 15)
		goto bad;
	*reg = v;
	return 0;
bad:
	return FAIL(c, s.p, "invalid register '%.*s' (registers are %%r0 to %%r10)", TOK(s));
}

static bool looks_like_reg(struct span s)
{
	return s.p < s.e && s.p[0] == '%';
}

/* `[%rN]`, `[%rN+off]`, `[%rN-off]` (spaces allowed inside the brackets). */
static int parse_mem(struct asm_ctx *c, struct span s, unsigned *reg, int16_t *off)
{
	struct span r, o;
	int64_t v = 0;
	int ret;

	if (s.e - s.p < 2 || s.p[0] != '[' || s.e[-1] != ']')
		return FAIL(c, s.p, "expected a memory operand [%%rN+offset], found '%.*s'", TOK(s));
	r.p = skip_space(s.p + 1, s.e - 1);
	r.e = r.p;
	while (r.e < s.e - 1 && *r.e != '+' && *r.e != '-' && !is_space(*r.e))
		r.e++;
	if ((ret = parse_reg(c, r, reg)))
		return ret;
	o = trim((struct span){ r.e, s.e - 1 });
	if (o.p < o.e) {
		if (*o.p != '+' && *o.p != '-')
			return FAIL(c, o.p, "expected '+' or '-' before the offset, found '%.*s'", TOK(o));
		/* `[%r1 + 4]` is fine: blanks may separate the sign from the number. */
		struct span num = { skip_space(o.p + 1, o.e), o.e };
		if ((ret = parse_int_signed(c, num, *o.p, W16, "an offset", &v)))
			return ret;
	}
	*off = (int16_t)v;
	return 0;
}

/* Labels and targets. */

static const struct label *find_label(const struct asm_ctx *c, struct span name)
{
	for (size_t i = 0; i < c->n_labels; i++) {
		const struct span *l = &c->labels[i].name;
		if (l->e - l->p == name.e - name.p && !memcmp(l->p, name.p, (size_t)(name.e - name.p)))
			return &c->labels[i];
	}
	return NULL;
}

static int define_label(struct asm_ctx *c, struct span name)
{
	if (find_label(c, name))
		return FAIL(c, name.p, "label '%.*s' is defined twice", TOK(name));
	if (grow((void **)&c->labels, &c->cap_labels, c->n_labels + 1, sizeof(*c->labels)))
		return -ENOMEM;
	c->labels[c->n_labels++] = (struct label){ name, c->n };
	return 0;
}

static bool is_label_name(struct span s)
{
	if (s.p == s.e || !is_ident_start(*s.p))
		return false;
	for (const char *p = s.p; p < s.e; p++)
		if (!is_ident(*p))
			return false;
	return true;
}

/*
 * A jump or call target: `+N`/`-N` is stored now (16 bits for off, 32 for imm); a label is recorded and
 * resolved at the end, when every label is known.
 */
static int parse_target(struct asm_ctx *c, struct span s, bool in_imm, int32_t *val)
{
	int64_t v;
	int ret;

	if (s.p < s.e && (*s.p == '+' || *s.p == '-')) {
		if ((ret = parse_int(c, s, in_imm ? W32 : W16, "a jump offset", &v)))
			return ret;
		*val = (int32_t)v;
		return 0;
	}
	if (!is_label_name(s))
		return FAIL(c, s.p, "expected a label or +/-offset, found '%.*s'", TOK(s));
	if (grow((void **)&c->fixups, &c->cap_fixups, c->n_fixups + 1, sizeof(*c->fixups)))
		return -ENOMEM;
	c->fixups[c->n_fixups++] = (struct fixup){ s, c->n, c->lineno, col_of(c, s.p), in_imm };
	*val = 0;
	return 0;
}

static int resolve_fixups(struct asm_ctx *c)
{
	for (size_t i = 0; i < c->n_fixups; i++) {
		const struct fixup *f = &c->fixups[i];
		const struct label *l = find_label(c, f->name);
		size_t target;
		long delta;

		/* As in the conformance suite's assembler, `exit` names the first exit unless defined. */
		if (l)
			target = l->index;
		else if (span_eq(f->name, "exit") && c->first_exit != SIZE_MAX)
			target = c->first_exit;
		else
			return fail_at(c, f->lineno, f->col, f->insn, EINVAL, "undefined label '%.*s'", TOK(f->name));
		delta = (long)target - (long)f->insn - 1;
		if (f->in_imm) {
			c->insns[f->insn].imm = (int32_t)delta;
		} else if (delta < INT16_MIN || delta > INT16_MAX) {
			return fail_at(c, f->lineno, f->col, f->insn, EINVAL,
				       "label '%.*s' is too far for a 16-bit jump offset (%ld)", TOK(f->name), delta);
		} else {
			c->insns[f->insn].off = (int16_t)delta;
		}
	}
	return 0;
}

/* Instructions. */

static int emit(struct asm_ctx *c, struct bj_insn in)
{
	if (c->n >= BJ_MAX_INSNS)
		return fail_at(c, c->lineno, 1, c->n, E2BIG, "too many instructions (limit %u)", BJ_MAX_INSNS);
	if (grow((void **)&c->insns, &c->cap, c->n + 1, sizeof(*c->insns)))
		return -ENOMEM;
	c->insns[c->n++] = in;
	return 0;
}

static unsigned form_operands(uint8_t form)
{
	static const unsigned count[] = {
		[FORM_ALU] = 2, [FORM_NEG] = 1, [FORM_MOVSX] = 2, [FORM_END] = 1, [FORM_JA] = 1,
		[FORM_JA32] = 1, [FORM_JMP] = 3, [FORM_CALL] = 1, [FORM_CALL_REL] = 1, [FORM_CALL_KFUNC] = 1,
		[FORM_EXIT] = 0, [FORM_LDX] = 2, [FORM_ST] = 2, [FORM_STX] = 2, [FORM_ATOMIC] = 2,
		[FORM_LDDW] = 2, [FORM_LDABS] = 1, [FORM_LDIND] = 2,
	};
	return count[form];
}

/* Register or 32-bit immediate; sets BPF_X for a register. */
static int parse_src(struct asm_ctx *c, struct span s, struct bj_insn *in)
{
	unsigned reg;
	int64_t v;
	int ret;

	if (looks_like_reg(s)) {
		if ((ret = parse_reg(c, s, &reg)))
			return ret;
		in->code |= BPF_X;
		in->src = reg & 0xf;
		return 0;
	}
	if ((ret = parse_int(c, s, W32, "an immediate", &v)))
		return ret;
	in->imm = (int32_t)v;
	return 0;
}

/* Pseudo sources of lddw: name(args), see asm.h. */
struct pseudo {
	const char *name;
	uint8_t src;
	uint8_t nargs;
};

static const struct pseudo pseudos[] = {
	{ "map_fd", BPF_PSEUDO_MAP_FD, 1 },       { "map_fd_value", BPF_PSEUDO_MAP_VALUE, 2 },
	{ "btf_id", BPF_PSEUDO_BTF_ID, 1 },       { "func", BPF_PSEUDO_FUNC, 1 },
	{ "map_idx", BPF_PSEUDO_MAP_IDX, 1 },     { "map_idx_value", BPF_PSEUDO_MAP_IDX_VALUE, 2 },
};

static int parse_lddw_pseudo(struct asm_ctx *c, struct span s, struct bj_insn in[2])
{
	const char *open = memchr(s.p, '(', (size_t)(s.e - s.p));
	struct span name = trim((struct span){ s.p, open }), args[2];
	const struct pseudo *ps = NULL;
	unsigned nargs = 0;
	int64_t v;
	int ret;

	for (size_t i = 0; i < BJ_ARRAY_SIZE(pseudos); i++)
		if (span_eq(name, pseudos[i].name))
			ps = &pseudos[i];
	if (!ps)
		return FAIL(c, s.p, "unknown lddw source '%.*s' (map_fd, map_fd_value, btf_id, func, map_idx, "
			    "map_idx_value)", TOK(name));
	if (s.e[-1] != ')')
		return FAIL(c, s.e - 1, "expected ')' at the end of '%.*s'", TOK(s));
	for (const char *p = open + 1, *start = p; p <= s.e - 1; p++) {
		if (p == s.e - 1 || *p == ',') {
			if (nargs == 2)
				return FAIL(c, p, "too many arguments for %s()", ps->name);
			args[nargs++] = trim((struct span){ start, p });
			start = p + 1;
		}
	}
	if (nargs != ps->nargs || args[nargs - 1].p == args[nargs - 1].e)
		return FAIL(c, s.p, "%s() takes %u argument%s", ps->name, ps->nargs, ps->nargs > 1 ? "s" : "");
	in[0].src = ps->src;
	if (ps->src == BPF_PSEUDO_FUNC)
		return parse_target(c, args[0], true, &in[0].imm);
	if ((ret = parse_int(c, args[0], W32, "an immediate", &v)))
		return ret;
	in[0].imm = (int32_t)v;
	if (nargs == 2) {
		if ((ret = parse_int(c, args[1], W32, "an offset", &v)))
			return ret;
		in[1].imm = (int32_t)v;
	}
	return 0;
}

static int encode_lddw(struct asm_ctx *c, const struct span *ops, struct bj_insn in[2])
{
	unsigned reg;
	int64_t v;
	int ret;

	if ((ret = parse_reg(c, ops[0], &reg)))
		return ret;
	in[0].dst = reg & 0xf;
	if (memchr(ops[1].p, '(', (size_t)(ops[1].e - ops[1].p)))
		return parse_lddw_pseudo(c, ops[1], in);
	if ((ret = parse_int(c, ops[1], W64, "a 64-bit immediate", &v)))
		return ret;
	in[0].imm = (int32_t)(uint32_t)(uint64_t)v;
	in[1].imm = (int32_t)(uint32_t)((uint64_t)v >> 32);
	return 0;
}

static int encode_call(struct asm_ctx *c, const struct asm_op *op, struct span s, struct bj_insn *in)
{
	unsigned reg;
	int64_t v;
	int ret;

	switch (op->form) {
	case FORM_CALL_REL:
		in->src = BPF_PSEUDO_CALL;
		return parse_target(c, s, true, &in->imm);
	case FORM_CALL_KFUNC:
		in->src = BPF_PSEUDO_KFUNC_CALL;
		break;
	default:
		if (looks_like_reg(s)) {
			/* callx keeps the register in dst, as LLVM and the kernel encode it. */
			if ((ret = parse_reg(c, s, &reg)))
				return ret;
			in->code |= BPF_X;
			in->dst = reg & 0xf;
			return 0;
		}
	}
	if ((ret = parse_int(c, s, W32, "a function number", &v)))
		return ret;
	in->imm = (int32_t)v;
	return 0;
}

/* Encodes one instruction (two for lddw) from its operands. */
static int encode(struct asm_ctx *c, const struct asm_op *op, const struct span *ops)
{
	struct bj_insn in[2] = { { .code = op->code, .off = op->off, .imm = op->imm }, { 0 } };
	unsigned reg;
	int64_t v;
	int ret = 0;

	switch (op->form) {
	case FORM_ALU:
		if (!(ret = parse_reg(c, ops[0], &reg)))
			ret = parse_src(c, ops[1], &in[0]);
		in[0].dst = reg & 0xf;
		break;
	case FORM_NEG:
	case FORM_END:
		ret = parse_reg(c, ops[0], &reg);
		in[0].dst = reg & 0xf;
		break;
	case FORM_MOVSX:
		if (!(ret = parse_reg(c, ops[0], &reg)))
			in[0].dst = reg & 0xf;
		if (!ret && !(ret = parse_reg(c, ops[1], &reg)))
			in[0].src = reg & 0xf;
		break;
	case FORM_JA: {
		int32_t t;
		ret = parse_target(c, ops[0], false, &t);
		in[0].off = (int16_t)t;
		break;
	}
	case FORM_JA32:
		ret = parse_target(c, ops[0], true, &in[0].imm);
		break;
	case FORM_JMP:
		if (!(ret = parse_reg(c, ops[0], &reg)))
			in[0].dst = reg & 0xf;
		if (!ret)
			ret = parse_src(c, ops[1], &in[0]);
		if (!ret) {
			int32_t t;
			ret = parse_target(c, ops[2], false, &t);
			in[0].off = (int16_t)t;
		}
		break;
	case FORM_CALL:
	case FORM_CALL_REL:
	case FORM_CALL_KFUNC:
		ret = encode_call(c, op, ops[0], &in[0]);
		break;
	case FORM_EXIT:
		if (c->first_exit == SIZE_MAX)
			c->first_exit = c->n;
		break;
	case FORM_LDX:
		if (!(ret = parse_reg(c, ops[0], &reg)))
			in[0].dst = reg & 0xf;
		if (!ret && !(ret = parse_mem(c, ops[1], &reg, &in[0].off)))
			in[0].src = reg & 0xf;
		break;
	case FORM_ST:
	case FORM_STX:
	case FORM_ATOMIC:
		if (!(ret = parse_mem(c, ops[0], &reg, &in[0].off)))
			in[0].dst = reg & 0xf;
		if (!ret && op->form == FORM_ST) {
			ret = parse_int(c, ops[1], W32, "an immediate", &v);
			in[0].imm = (int32_t)v;
		} else if (!ret) {
			ret = parse_reg(c, ops[1], &reg);
			in[0].src = reg & 0xf;
		}
		break;
	case FORM_LDDW:
		ret = encode_lddw(c, ops, in);
		break;
	case FORM_LDABS:
	case FORM_LDIND:
		if (op->form == FORM_LDIND && !(ret = parse_reg(c, ops[0], &reg)))
			in[0].src = reg & 0xf;
		if (!ret) {
			ret = parse_int(c, ops[op->form == FORM_LDIND], W32, "an immediate", &v);
			in[0].imm = (int32_t)v;
		}
		break;
	}
	if (!ret)
		ret = emit(c, in[0]);
	if (!ret && op->form == FORM_LDDW)
		ret = emit(c, in[1]);
	return ret;
}

/* `.raw WORD`: one slot given as a little-endian 64-bit word. */
static int encode_raw(struct asm_ctx *c, struct span s)
{
	struct bj_insn in;
	int64_t v;
	int ret;

	if ((ret = parse_int(c, s, W64, "a 64-bit instruction word", &v)))
		return ret;
	uint64_t w = (uint64_t)v;
	in.code = (uint8_t)w;
	in.dst = (w >> 8) & 0xf;
	in.src = (w >> 12) & 0xf;
	in.off = (int16_t)(uint16_t)(w >> 16);
	in.imm = (int32_t)(uint32_t)(w >> 32);
	return emit(c, in);
}

/* Splits the operand list at top-level commas. Returns the count, or -1 after reporting an empty operand. */
static int split_operands(struct asm_ctx *c, const char *p, const char *e, struct span *ops)
{
	int n = 0, depth = 0;
	const char *start = p;

	if (skip_space(p, e) == e)
		return 0;
	for (;; p++) {
		if (p == e || (*p == ',' && depth == 0)) {
			struct span s = trim((struct span){ start, p });
			if (s.p == s.e) {
				FAIL(c, p, "empty operand");
				return -1;
			}
			if (n < MAX_OPERANDS)
				ops[n] = s;
			n++;
			if (p == e)
				return n;
			start = p + 1;
		} else if (*p == '[' || *p == '(') {
			depth++;
		} else if ((*p == ']' || *p == ')') && depth > 0) {
			depth--;
		}
	}
}

static struct span next_word(const char *p, const char *e)
{
	struct span w;

	w.p = skip_space(p, e);
	w.e = w.p;
	while (w.e < e && is_ident(*w.e))
		w.e++;
	return w;
}

/*
 * Reads the mnemonic at p into name (words joined by one space: "lock fetch add32", "call local") and
 * returns where the operands start.
 */
static const char *read_mnemonic(struct span first, const char *e, char *name, size_t size)
{
	struct span extra = next_word(first.e, e);
	const char *rest = first.e;
	int len = snprintf(name, size, "%.*s", TOK(first));

	if (span_eq(first, "lock") && extra.p < extra.e) {
		struct span w = next_word(extra.e, e);
		len += snprintf(name + len, size - (size_t)len, " %.*s", TOK(extra));
		rest = extra.e;
		if (span_eq(extra, "fetch") && w.p < w.e) {
			snprintf(name + len, size - (size_t)len, " %.*s", TOK(w));
			rest = w.e;
		}
	} else if (span_eq(first, "call") && (span_eq(extra, "local") || span_eq(extra, "kfunc")) &&
		   skip_space(extra.e, e) < e) {
		snprintf(name + len, size - (size_t)len, " %.*s", TOK(extra));
		rest = extra.e;
	}
	return rest;
}

static int assemble_insn(struct asm_ctx *c, struct span word, const char *e)
{
	struct span ops[MAX_OPERANDS];
	char name[160];
	const char *rest = read_mnemonic(word, e, name, sizeof(name));
	const struct asm_op *op;
	int n_ops = split_operands(c, rest, e, ops);
	unsigned want;

	if (n_ops < 0)
		return -EINVAL;
	if (span_eq(word, ".raw")) {
		if (n_ops != 1)
			return FAIL(c, word.p, "invalid number of operands for '.raw': expected 1, got %d", n_ops);
		return encode_raw(c, ops[0]);
	}
	op = bj_asm_op_by_name(name, strlen(name));
	if (!op) {
		if (!strcmp(name, "lock") || !strcmp(name, "lock fetch"))
			return FAIL(c, word.p, "invalid number of operands for '%s': expected an operation "
				    "(add, and, or, xor, xchg, cmpxchg, fetch <op>)", name);
		return FAIL(c, word.p, "unknown mnemonic '%s'", name);
	}
	want = form_operands(op->form);
	if ((unsigned)n_ops != want)
		return FAIL(c, word.p, "invalid number of operands for '%s': expected %u, got %d", name, want, n_ops);
	return encode(c, op, ops);
}

static bool is_index(struct span s)
{
	for (const char *p = s.p; p < s.e; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static int assemble_line(struct asm_ctx *c, const char *p, const char *e)
{
	struct span w;
	const char *after;

	/* Leading `label:` definitions and `N:` instruction indexes. */
	for (;;) {
		w.p = skip_space(p, e);
		w.e = w.p;
		while (w.e < e && is_ident(*w.e))
			w.e++;
		after = skip_space(w.e, e);
		if (w.p == w.e || after == e || *after != ':')
			break;
		if (is_label_name(w)) {
			int ret = define_label(c, w);
			if (ret)
				return ret;
		} else if (!is_index(w)) {
			return FAIL(c, w.p, "invalid label '%.*s'", TOK(w));
		}
		p = after + 1;
	}
	if (w.p == e)
		return 0;
	if (w.p == w.e)
		return FAIL(c, w.p, "expected a mnemonic, found '%c'", *w.p);
	return assemble_insn(c, w, e);
}

static int assemble(struct asm_ctx *c, const char *text)
{
	const char *p = text;
	int ret;

	for (c->lineno = 1; *p; c->lineno++) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		const char *hash = memchr(p, '#', (size_t)(end - p));

		c->line = p;
		if ((ret = assemble_line(c, p, hash ? hash : end)))
			return ret;
		if (!eol)
			break;
		p = eol + 1;
	}
	return resolve_fixups(c);
}

int bj_asm(const char *text, struct bj_insn **out, size_t *n, struct bj_error *err)
{
	struct asm_ctx c = { .err = err, .first_exit = SIZE_MAX };
	int ret;

	if (!text || !out || !n)
		return bj_fail(err, EINVAL, -1, -1, "bj_asm: NULL argument");
	ret = assemble(&c, text);
	if (ret == -ENOMEM)
		bj_fail(err, ENOMEM, (long)c.n, c.lineno, "out of memory");
	else if (!ret && c.n == 0)
		ret = bj_fail(err, EINVAL, -1, c.lineno, "no instructions");
	free(c.labels);
	free(c.fixups);
	if (ret) {
		free(c.insns);
		return ret;
	}
	*out = c.insns;
	*n = c.n;
	return 0;
}
