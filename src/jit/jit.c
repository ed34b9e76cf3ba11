/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The JIT driver: checks what the lowering relies on, sizes the code by repeated passes (jumps start long
 * and shrink until no address moves), then writes the final pass into W^X memory.
 */
#include "jit/jit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "jit/codemem.h"
#include "jit/x86_64/x86.h"

#define JIT_MAX_PASSES 64
#define JIT_MAX_PROLOGUE_BYTES 128

/* The callback entry of lower_tail: (run, fn, args, r10 of the caller). */
typedef uint64_t (*jit_callback_entry)(struct bj_run *run, uint64_t fn, const uint64_t *args, uintptr_t fp);

struct bj_jit_code {
	struct bj_callback_hook hook; /* first: the hook is the code */
	struct bj_codemem mem;
	size_t len;
	uint32_t *offsets;
	size_t n;
	bj_helper_fn *callx_table;
	/* Subprograms the program takes the address of (what a helper may call back), as image offsets. */
	uint32_t *cb_offsets;
	size_t n_cb;
	jit_callback_entry cb_entry;
	bool checked;
};

static uint64_t jit_callback(struct bj_run *run, const struct bj_callback_hook *hook, uint64_t fn,
			     const uint64_t args[5]);

/* What the x86 lowering needs from one run of the compiler. */
struct jit_scratch {
	uint32_t *addrs;
	bool *is_entry;
	bool *is_target;
	uint32_t *loop_end;
	uint32_t *sole_jumper;
	uint32_t *func; /* subprogram index of each instruction */
};

static void scratch_free(struct jit_scratch *s)
{
	free(s->addrs);
	free(s->is_entry);
	free(s->is_target);
	free(s->loop_end);
	free(s->sole_jumper);
	free(s->func);
}

static int check_call(const struct bj_insn *in, size_t i, bj_helper_fn const *helpers, struct bj_error *err)
{
	if (in->src == BPF_PSEUDO_KFUNC_CALL)
		return bj_fail(err, EOPNOTSUPP, (long)i, -1, "kfunc call at insn %zu is not supported", i);
	if (in->imm < 0 || in->imm >= BJ_HELPER_ID_MAX || !helpers || !helpers[in->imm])
		return bj_fail(err, EINVAL, (long)i, -1, "call to unknown helper %d at insn %zu", in->imm, i);
	return 0;
}

/* Marks subprogram entries and jump targets; rejects what the JIT cannot run. */
static int mark_insns(const struct bj_insn *insns, size_t n, bj_helper_fn const *helpers, struct jit_scratch *s,
		      struct bj_error *err)
{
	for (size_t i = 0; i < n; i++) {
		const struct bj_insn *in = &insns[i];
		uint8_t cls = BJ_CLASS(in->code);
		long t;

		if (bj_insn_is_local_call(in) || (in->code == BJ_LDDW && in->src == BPF_PSEUDO_FUNC)) {
			t = bj_insn_is_local_call(in) ? bj_insn_target(insns, i) : (long)i + 1 + in->imm;
			if (t <= 0 || (size_t)t >= n)
				return bj_fail(err, EINVAL, (long)i, -1, "insn %zu calls insn %ld, not a subprogram", i, t);
			s->is_entry[t] = true;
		} else if (bj_insn_is_jump(in)) {
			t = bj_insn_target(insns, i);
			if (t < 0 || (size_t)t >= n)
				return bj_fail(err, EINVAL, (long)i, -1, "jump out of range from insn %zu to %ld", i, t);
			s->sole_jumper[t] = s->is_target[t] ? JIT_NO_SOLE_JUMPER : (uint32_t)i;
			s->is_target[t] = true;
			if (t <= (long)i)
				s->loop_end[t] = (uint32_t)i;
		} else if (in->code == (BPF_JMP | BPF_CALL)) {
			int ret = check_call(in, i, helpers, err);
			if (ret)
				return ret;
		} else if (cls == BPF_LD && in->code != BJ_LDDW) {
			return bj_fail(err, EOPNOTSUPP, (long)i, -1, "legacy packet load at insn %zu is not supported", i);
		} else if (in->code == BJ_LDDW && in->src != 0) {
			return bj_fail(err, EINVAL, (long)i, -1, "unresolved ld_imm64 reference (src %u) at insn %zu", in->src, i);
		}
		if (in->code == BJ_LDDW) {
			if (i + 1 >= n)
				return bj_fail(err, EINVAL, (long)i, -1, "incomplete ld_imm64 at insn %zu", i);
			i++;
		}
	}
	return 0;
}

/* Each subprogram is a contiguous range; jumps stay inside it and it cannot fall into the next one. */
static int check_subprogs(const struct bj_insn *insns, size_t n, struct jit_scratch *s, struct bj_error *err)
{
	uint32_t f = 0;

	for (size_t i = 0; i < n; i++) {
		if (s->is_entry[i]) {
			const struct bj_insn *last = &insns[i - 1];
			if (last->code != (BPF_JMP | BPF_EXIT) && last->code != (BPF_JMP | BPF_JA) &&
			    last->code != (BPF_JMP32 | BPF_JA))
				return bj_fail(err, EINVAL, (long)i - 1, -1,
					       "insn %zu falls through into subprogram at insn %zu", i - 1, i);
			f++;
		}
		s->func[i] = f;
	}
	for (size_t i = 0; i < n; i++) {
		if (insns[i].code == BJ_LDDW) {
			if (s->is_target[i + 1] || s->is_entry[i + 1])
				return bj_fail(err, EINVAL, (long)i, -1, "jump into the middle of ld_imm64 at insn %zu", i);
			i++;
			continue;
		}
		if (bj_insn_is_jump(&insns[i]) && s->func[bj_insn_target(insns, i)] != s->func[i])
			return bj_fail(err, EINVAL, (long)i, -1, "jump from insn %zu leaves its subprogram", i);
	}
	return 0;
}

/*
 * Padding before loop head i so that a loop of at most one cache line does not straddle two: the smallest
 * move to a 16-, 32- or 64-byte boundary that keeps it inside one line. The loop's length is the previous
 * pass's. Longer loops are left where they are: padding would only spread them over more lines.
 */
static size_t loop_padding(const struct jit_ctx *c, size_t i)
{
	uint32_t len = c->addrs[c->loop_end[i] + 1] - c->addrs[i];

	if (len == 0 || len > JIT_CACHE_LINE || c->len / JIT_CACHE_LINE == (c->len + len - 1) / JIT_CACHE_LINE)
		return 0;
	for (size_t align = 16; align <= JIT_CACHE_LINE; align *= 2) {
		size_t at = c->len + (align - c->len % align) % align;
		if (at / JIT_CACHE_LINE == (at + len - 1) / JIT_CACHE_LINE)
			return at - c->len;
	}
	return 0;
}

static void jit_pass(struct jit_ctx *c)
{
	uint32_t old_labels[LBL_COUNT];
	size_t consumed;

	c->len = 0;
	c->changed = false;
	c->in_subprog = false;
	c->hoisted_load = 0;
	memcpy(old_labels, c->labels, sizeof(old_labels));
	lower_main_prologue(c);
	for (size_t i = 0; i < c->n && !c->err; i += consumed) {
		if (c->align_loops && c->loop_end[i] && !c->is_entry[i])
			emit_nops(c, loop_padding(c, i));
		if (c->addrs[i] != c->len) {
			c->addrs[i] = (uint32_t)c->len;
			c->changed = true;
		}
		if (c->is_entry[i]) {
			c->in_subprog = true;
			lower_subprog_prologue(c);
		}
		lower_insn(c, i, &consumed);
		/* The second half of an ld_imm64 (or of a fused pair) has no code of its own. */
		for (size_t k = 1; k < consumed; k++)
			c->addrs[i + k] = c->addrs[i];
	}
	c->addrs[c->n] = (uint32_t)c->len;
	lower_tail(c);
	if (memcmp(old_labels, c->labels, sizeof(old_labels)))
		c->changed = true;
}

static int setup_scratch(struct jit_scratch *s, size_t n)
{
	s->addrs = calloc(n + 1, sizeof(*s->addrs));
	s->is_entry = calloc(n + 1, sizeof(*s->is_entry));
	s->is_target = calloc(n + 1, sizeof(*s->is_target));
	s->loop_end = calloc(n + 1, sizeof(*s->loop_end));
	s->sole_jumper = calloc(n + 1, sizeof(*s->sole_jumper));
	s->func = calloc(n + 1, sizeof(*s->func));
	return s->addrs && s->is_entry && s->is_target && s->loop_end && s->sole_jumper && s->func ? 0 : -ENOMEM;
}

/* BMI2 (shlx/shrx/sarx), from the CPU model libgcc reads once at start-up: CPUID traps in a VM. */
static bool cpu_has_bmi2(void)
{
	return __builtin_cpu_supports("bmi2");
}

/*
 * Which BPF registers the program names, so that the main prologue saves and clears only those; a call
 * makes them all live (helpers read r1..r5, subprograms run with the caller's registers).
 */
static void scan_usage(struct jit_ctx *c)
{
	bool calls = false;

	c->used_regs = 1; /* r0: exit returns it */
	for (size_t i = 0; i < c->n; i++) {
		const struct bj_insn *in = &c->insns[i];
		c->used_regs |= (uint16_t)(1u << in->dst | 1u << in->src);
		calls |= in->code == (BPF_JMP | BPF_CALL) || in->code == BJ_CALLX;
	}
	if (calls)
		c->used_regs = (1u << BJ_NREGS) - 1;
	c->needs_run = calls || c->checked;
}

static bool has_subprogs(const bool *is_entry, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (is_entry[i])
			return true;
	return false;
}

/*
 * Sizing passes until no address moves. Start pessimistic (every insn at its largest) so that jump sizes
 * shrink. Loop-head padding can make a shortened jump long again; if that keeps the sizes from settling,
 * the image is sized again without it.
 */
static int size_code(struct jit_ctx *c, struct bj_error *err)
{
	for (int attempt = 0; attempt < 2; attempt++) {
		for (size_t i = 0; i <= c->n; i++)
			c->addrs[i] = (uint32_t)(JIT_MAX_PROLOGUE_BYTES + i * JIT_MAX_INSN_BYTES);
		for (int l = 0; l < LBL_COUNT; l++)
			c->labels[l] = (uint32_t)(c->reserve - JIT_MAX_TAIL_BYTES);
		for (int pass = 0; pass < JIT_MAX_PASSES; pass++) {
			jit_pass(c);
			if (c->err)
				return bj_fail(err, c->err, -1, -1, "JIT: %s", c->err_msg);
			if (c->len > c->reserve)
				return bj_fail(err, EFAULT, -1, -1, "JIT: image of %zu bytes exceeds its bound", c->len);
			if (!c->changed)
				return 0;
		}
		c->align_loops = false;
	}
	return bj_fail(err, EFAULT, -1, -1, "JIT: code size did not converge in %d passes", JIT_MAX_PASSES);
}

static int write_code(struct jit_ctx *c, struct bj_jit_code *code, struct bj_error *err)
{
	size_t len = c->len;
	int ret = bj_codemem_open(&code->mem, len);

	if (ret)
		return bj_fail(err, -ret, -1, -1, "JIT: cannot make code memory writable");
	c->buf = code->mem.base;
	c->cap = len;
	jit_pass(c);
	if (c->err)
		return bj_fail(err, c->err, -1, -1, "JIT: %s", c->err_msg);
	if (c->len != len || c->changed)
		return bj_fail(err, EFAULT, -1, -1, "JIT: final pass is %zu bytes, sizing gave %zu", c->len, len);
	ret = bj_codemem_seal(&code->mem, len);
	if (ret)
		return bj_fail(err, -ret, -1, -1, "JIT: cannot make code memory executable");
	code->len = len;
	return 0;
}

static int make_code(struct bj_jit_code **out, size_t n, bj_helper_fn const *helpers)
{
	struct bj_jit_code *code = calloc(1, sizeof(*code));

	if (!code)
		return -ENOMEM;
	code->hook.call = jit_callback;
	code->n = n;
	code->offsets = calloc(n, sizeof(*code->offsets));
	code->callx_table = calloc(BJ_HELPER_ID_MAX, sizeof(*code->callx_table));
	if (!code->offsets || !code->callx_table) {
		bj_jit_code_free(code);
		return -ENOMEM;
	}
	if (helpers)
		memcpy(code->callx_table, helpers, BJ_HELPER_ID_MAX * sizeof(*helpers));
	*out = code;
	return 0;
}

/* Every target of ld_imm64 BPF_PSEUDO_FUNC, by its place in the image. */
static int collect_callbacks(const struct bj_insn *insns, size_t n, const uint32_t *addrs, struct bj_jit_code *code)
{
	for (size_t i = 0; i < n; i++) {
		if (insns[i].code != BJ_LDDW)
			continue;
		if (insns[i].src == BPF_PSEUDO_FUNC) {
			if (!code->cb_offsets && !(code->cb_offsets = calloc(n, sizeof(*code->cb_offsets))))
				return -ENOMEM;
			code->cb_offsets[code->n_cb++] = addrs[(long)i + 1 + insns[i].imm];
		}
		i++;
	}
	return 0;
}

static bool has_pseudo_func(const struct bj_insn *insns, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (insns[i].code == BJ_LDDW && insns[i].src == BPF_PSEUDO_FUNC)
			return true;
	return false;
}

int bj_jit_compile(const struct bj_insn *insns, size_t n, bj_helper_fn const helpers[BJ_HELPER_ID_MAX],
		   const struct bj_jit_opts *opts, struct bj_jit_code **out, struct bj_error *err)
{
	struct jit_scratch s = { 0 };
	struct bj_jit_code *code = NULL;
	struct jit_ctx c = { 0 };
	int ret;

	*out = NULL;
	if (!insns || n == 0 || n > BJ_MAX_INSNS)
		return bj_fail(err, EINVAL, -1, -1, "JIT: no instructions or too many (%zu)", n);
	if (setup_scratch(&s, n) || make_code(&code, n, helpers)) {
		ret = bj_fail(err, ENOMEM, -1, -1, "JIT: out of memory");
		goto out;
	}
	ret = mark_insns(insns, n, helpers, &s, err);
	if (!ret)
		ret = check_subprogs(insns, n, &s, err);
	if (ret)
		goto out;

	c.insns = insns;
	c.n = n;
	c.checked = opts && opts->checked;
	c.blind = opts && opts->blind;
	c.helpers = helpers;
	c.callx_table = code->callx_table;
	c.has_callbacks = has_pseudo_func(insns, n);
	c.callback_hook = (uintptr_t)&code->hook;
	c.addrs = s.addrs;
	c.is_entry = s.is_entry;
	c.is_target = s.is_target;
	c.loop_end = s.loop_end;
	c.sole_jumper = s.sole_jumper;
	c.align_loops = true;
	c.bmi2 = !(opts && opts->baseline_isa) && cpu_has_bmi2();
	scan_usage(&c);
	c.stack_size = BJ_STACK_SIZE * (has_subprogs(s.is_entry, n) ? BJ_MAX_CALL_DEPTH : 1);
	c.reserve = JIT_MAX_PROLOGUE_BYTES + n * JIT_MAX_INSN_BYTES + JIT_MAX_TAIL_BYTES;
	if (c.blind && getrandom(&c.blind_key, sizeof(c.blind_key), 0) != sizeof(c.blind_key)) {
		ret = bj_fail(err, EIO, -1, -1, "JIT: no random key for constant blinding");
		goto out;
	}
	ret = bj_codemem_reserve(&code->mem, c.reserve, (const void *)bj_jit_compile, opts ? opts->mem_limit : 0);
	if (ret) {
		ret = bj_fail(err, -ret, -1, -1, "JIT: cannot reserve %zu bytes of code memory", c.reserve);
		goto out;
	}
	c.base = (uintptr_t)code->mem.base;
	ret = size_code(&c, err);
	if (!ret)
		ret = write_code(&c, code, err);
	if (!ret && collect_callbacks(insns, n, s.addrs, code))
		ret = bj_fail(err, ENOMEM, -1, -1, "JIT: out of memory");
	if (!ret) {
		code->cb_entry = (jit_callback_entry)(c.base + c.labels[LBL_CALLBACK]);
		code->checked = c.checked;
		memcpy(code->offsets, s.addrs, n * sizeof(*code->offsets));
		*out = code;
		code = NULL;
	}
out:
	bj_jit_code_free(code);
	scratch_free(&s);
	return ret;
}

bj_jit_entry bj_jit_code_entry(const struct bj_jit_code *code)
{
	return (bj_jit_entry)(uintptr_t)code->mem.base;
}

const uint8_t *bj_jit_code_image(const struct bj_jit_code *code, size_t *len)
{
	if (len)
		*len = code->len;
	return code->mem.base;
}

const uint32_t *bj_jit_code_offsets(const struct bj_jit_code *code, size_t *n_insns)
{
	if (n_insns)
		*n_insns = code->n;
	return code->offsets;
}

void bj_jit_code_free(struct bj_jit_code *code)
{
	if (!code)
		return;
	bj_codemem_release(&code->mem);
	free(code->offsets);
	free(code->callx_table);
	free(code->cb_offsets);
	free(code);
}

/* --- called from JIT code --- */

int bj_jit_check(struct bj_run *run, uintptr_t addr, uint32_t packed)
{
	unsigned size = packed & 15;
	bool write = packed & 16;
	long insn = (long)(packed >> 5);
	bool read_only = false;

	if (addr >= run->stack_lo && addr <= run->stack_hi - size)
		return 0;
	for (unsigned i = 0; i < run->n_regions && i < BJ_MAX_REGIONS; i++) {
		const struct bj_region *r = &run->regions[i];
		if (addr >= r->start && addr < r->end && r->end - addr >= size) {
			if (!write || r->writable)
				return 0;
			read_only = true;
		}
	}
	if (read_only)
		bj_run_fault(run, EFAULT, insn, "write of %u bytes to read-only memory at 0x%lx", size, (unsigned long)addr);
	else
		bj_run_fault(run, EFAULT, insn, "out-of-bounds %s of %u bytes at 0x%lx", write ? "write" : "read", size,
			     (unsigned long)addr);
	return 1;
}

void bj_jit_fault(struct bj_run *run, uint32_t kind, uint32_t insn, uint64_t detail)
{
	switch (kind) {
	case JIT_FAULT_BUDGET:
		bj_run_fault(run, ETIME, insn, "instruction budget exhausted at insn %ld", (long)insn);
		break;
	case JIT_FAULT_DEPTH:
		bj_run_fault(run, E2BIG, insn, "call depth exceeds the limit of %d frames at insn %ld", BJ_MAX_CALL_DEPTH,
			     (long)insn);
		break;
	default:
		bj_run_fault(run, EINVAL, insn, "callx to unknown helper %llu", (unsigned long long)detail);
		break;
	}
}

static uint64_t jit_callback(struct bj_run *run, const struct bj_callback_hook *hook, uint64_t fn,
			     const uint64_t args[5])
{
	const struct bj_jit_code *code = (const struct bj_jit_code *)hook;
	uintptr_t base = (uintptr_t)code->mem.base, fp = run->call_fp;
	bool known = false;
	uint64_t r0;

	for (size_t i = 0; i < code->n_cb && !known; i++)
		known = fn == base + code->cb_offsets[i];
	if (!known) {
		bj_run_fault(run, EINVAL, -1, "callback 0x%llx is not a subprogram that the program refers to",
			     (unsigned long long)fn);
		return 0;
	}
	if (fp - BJ_STACK_SIZE <= run->stack_lo) {
		bj_run_fault(run, E2BIG, -1, "callback: call depth exceeds the limit of %d frames", BJ_MAX_CALL_DEPTH);
		return 0;
	}
	/* Checked code counts only backward jumps and calls: a callback without either still costs one. */
	if (code->checked && run->budget-- == 0) {
		run->budget = 0;
		bj_run_fault(run, ETIME, -1, "instruction budget exhausted in a callback");
		return 0;
	}
	r0 = code->cb_entry(run, fn, args, fp);
	run->call_fp = fp;
	return r0;
}
