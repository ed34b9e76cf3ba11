/* SPDX-License-Identifier: Apache-2.0 */
/* The verifier's log in Linux's format (kernel/bpf/log.c: print_verifier_state, print_insn_state). */
#include <bpfjet/asm.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "verifier/vstate.h"

static void vlog_vprintf(struct vlog *log, const char *fmt, va_list ap)
{
	char tmp[512];
	int len = vsnprintf(tmp, sizeof(tmp), fmt, ap);

	if (len <= 0)
		return;
	if ((size_t)len >= sizeof(tmp))
		len = sizeof(tmp) - 1;
	if (log->buf && log->size && log->pos < log->size - 1) {
		size_t room = log->size - 1 - log->pos;
		size_t n = (size_t)len < room ? (size_t)len : room;

		memcpy(log->buf + log->pos, tmp, n);
		log->buf[log->pos + n] = '\0';
	}
	log->pos += (size_t)len;
}

void vlog_printf(struct venv *env, const char *fmt, ...)
{
	va_list ap;

	if (!env->log.level)
		return;
	va_start(ap, fmt);
	vlog_vprintf(&env->log, fmt, ap);
	va_end(ap);
}

void vlog_reset(struct venv *env, size_t pos)
{
	struct vlog *log = &env->log;

	if (pos >= log->pos)
		return;
	log->pos = pos;
	if (log->buf && log->size)
		log->buf[pos < log->size - 1 ? pos : log->size - 1] = '\0';
}

void vlog_end_line(struct venv *env)
{
	struct vlog *log = &env->log;

	if (log->pos && log->buf && log->pos - 1 < log->size - 1)
		log->buf[log->pos - 1] = '\n';
}

int verr(struct venv *env, int errnum, const char *fmt, ...)
{
	va_list ap;

	char line[256];
	size_t len = strlen(env->errmsg);

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A failed check may explain itself over several lines, as Linux does: err->msg keeps them all. */
	snprintf(env->errmsg + len, sizeof(env->errmsg) - len, "%s%s", len ? "; " : "", line);
	if (env->cur)
		env->err_insn = (int)env->cur->insn;
	vlog_printf(env, "%s\n", line);
	return -errnum;
}

static const char *const type_names[] = {
	[VT_NOT_INIT] = "?",	   [VT_SCALAR] = "scalar", [VT_CTX] = "ctx",	     [VT_MAP_PTR] = "map_ptr",
	[VT_MAP_VALUE] = "map_value", [VT_MAP_KEY] = "map_key", [VT_STACK] = "fp",	     [VT_PKT_META] = "pkt_meta",
	[VT_PKT] = "pkt",	   [VT_PKT_END] = "pkt_end", [VT_MEM] = "mem",	     [VT_FUNC] = "func",
};

const char *vreg_type_str(const struct vreg *r, char *buf, size_t size)
{
	snprintf(buf, size, "%s%s%s%s", r->flags & VF_RDONLY ? "rdonly_" : "", r->flags & VF_RINGBUF ? "ringbuf_" : "",
		 type_names[r->type], r->flags & VF_NULL ? "_or_null" : "");
	return buf;
}

/* Linux's verbose_snum: small numbers in decimal, others in hex. */
static void log_snum(struct venv *env, uint64_t v)
{
	if (v <= 512 || (int64_t)v >= -512)
		vlog_printf(env, "%" PRId64, (int64_t)v);
	else
		vlog_printf(env, "%#" PRIx64, v);
}

static bool var_is_const(const struct vreg *r)
{
	return tnum_is_const(r->s.var_off);
}

void vlog_reg(struct venv *env, const struct vframe *f, const struct vreg *r)
{
	char buf[256], tb[32];
	const char *sep = "";

	if (r->type == VT_SCALAR && var_is_const(r) && !r->id) {
		log_snum(env, r->s.var_off.value);
		return;
	}
	vlog_printf(env, "%s", vreg_type_str(r, tb, sizeof(tb)));
	if (r->type == VT_STACK) {
		if (f && f->regs[BPF_REG_10].frameno != r->frameno)
			vlog_printf(env, "[%u]", r->frameno);
		if (var_is_const(r)) {
			log_snum(env, r->s.var_off.value + (uint64_t)(int64_t)r->off);
			return;
		}
	}
	vlog_printf(env, "(");
	if (r->id) {
		vlog_printf(env, "%sid=%u", sep, r->id);
		sep = ",";
	}
	if (r->ref_id) {
		vlog_printf(env, "%sref_obj_id=%u", sep, r->ref_id);
		sep = ",";
	}
	if (r->map && (r->type == VT_MAP_PTR || r->type == VT_MAP_VALUE || r->type == VT_MAP_KEY)) {
		if (r->map->name && r->map->name[0])
			vlog_printf(env, "%smap=%s", sep, r->map->name), sep = ",";
		vlog_printf(env, "%sks=%u,vs=%u", sep, r->map->key_size, r->map->value_size);
		sep = ",";
	}
	if (r->type != VT_SCALAR && r->off) {
		vlog_printf(env, "%soff=%d", sep, r->off);
		sep = ",";
	}
	if (vreg_is_pkt(r)) {
		vlog_printf(env, "%sr=%u", sep, r->aux);
		sep = ",";
	}
	if (r->type == VT_MEM) {
		vlog_printf(env, "%ssz=%u", sep, r->aux);
		sep = ",";
	}
	if (r->type == VT_SCALAR || !var_is_const(r)) {
		sc_format(buf, sizeof(buf), &r->s);
		if (buf[0] && !(r->type == VT_SCALAR && tnum_is_unknown(r->s.var_off) && r->s.smin == INT64_MIN &&
				r->s.smax == INT64_MAX && r->s.umin == 0 && r->s.umax == UINT64_MAX))
			vlog_printf(env, "%s%s", sep, buf);
	} else if (r->s.var_off.value) {
		vlog_printf(env, "%simm=%" PRIx64, sep, r->s.var_off.value);
	}
	vlog_printf(env, ")");
}

static const char slot_chars[] = { [SK_INVALID] = '?', [SK_SPILL] = 'r', [SK_MISC] = 'm', [SK_ZERO] = '0' };

static void log_slot(struct venv *env, const struct vframe *f, uint32_t s)
{
	const struct vslot *sl = &f->stack[s];
	char types[9];
	bool valid = false;
	int j;

	for (j = 0; j < 8; j++) {
		valid |= sl->kind[j] != SK_INVALID;
		types[j] = slot_chars[sl->kind[j]];
	}
	types[8] = '\0';
	if (!valid)
		return;
	if (sl->kind[7] == SK_SPILL) {
		for (j = 0; j < 8 && sl->kind[j] != SK_SPILL; j++)
			;
		types[j] = '\0';
		vlog_printf(env, " fp%d=%s", -8 * ((int)s + 1), types);
		vlog_reg(env, f, &sl->spill);
		return;
	}
	vlog_printf(env, " fp%d=%s", -8 * ((int)s + 1), types);
}

static void log_frame(struct venv *env, const struct vstate *st, struct vframe *f, uint32_t frameno, bool all)
{
	if (frameno)
		vlog_printf(env, " frame%u:", frameno);
	for (uint32_t i = 0; i < BJ_NREGS; i++) {
		const struct vreg *r = &f->regs[i];

		if (r->type == VT_NOT_INIT || (!all && !(f->scratched & (1u << i))))
			continue;
		vlog_printf(env, " R%u%s=", i, f->written & (1u << i) ? "_w" : "");
		vlog_reg(env, f, r);
	}
	for (uint32_t s = 0; s < f->nslots; s++)
		if (all || (f->slots_scratched & (1ull << s)))
			log_slot(env, f, s);
	if (st->nrefs) {
		vlog_printf(env, " refs=%u", st->refs[0].id);
		for (uint32_t i = 1; i < st->nrefs; i++)
			vlog_printf(env, ",%u", st->refs[i].id);
	}
	if (f->callback)
		vlog_printf(env, " cb");
	vlog_printf(env, "\n");
	f->scratched = 0;
	f->slots_scratched = 0;
}

void vlog_state(struct venv *env, const struct vstate *st, bool all)
{
	log_frame(env, st, st->frame[st->curframe], st->curframe, all);
}

/* Linux's vlog_alignment: states after instructions start in a column that is a multiple of 8, >= 40. */
static uint32_t vlog_alignment(uint32_t pos)
{
	uint32_t p = pos + 4 > 40 ? pos + 4 : 40;

	return ((p + 7) / 8) * 8 - pos - 1;
}

void vlog_insn_state(struct venv *env)
{
	struct vframe *f = vcur_frame(env);

	if (!env->log.level || (!f->scratched && !f->slots_scratched))
		return;
	if (env->prev_log_pos && env->prev_log_pos == env->log.pos) {
		vlog_reset(env, env->prev_log_pos - 1);
		vlog_printf(env, "%*c;", (int)vlog_alignment((uint32_t)env->prev_insn_print_len), ' ');
	} else {
		vlog_printf(env, "%u:", env->cur->insn);
	}
	log_frame(env, env->cur, f, env->cur->curframe, false);
}

void vlog_insn(struct venv *env, uint32_t idx)
{
	BJ_OPTS(bj_disasm_opts, o, .style = BJ_DISASM_KERNEL);
	char text[160];
	size_t start = env->log.pos;

	if (!env->log.level)
		return;
	const struct bj_insn *in = &env->insns[idx];

	if (in->code == (BPF_JMP | BPF_CALL) && in->src == 0)
		snprintf(text, sizeof(text), "call %s#%d", vhelper_name(in->imm), in->imm);
	else if (bj_disasm_insn(env->insns, env->n, idx, &o, text, sizeof(text)) < 0)
		snprintf(text, sizeof(text), "?");
	vlog_printf(env, "%u: (%02x) %s\n", idx, env->insns[idx].code, text);
	env->prev_insn_print_len = env->log.pos - start - 1;
	env->prev_log_pos = env->log.pos;
}

static const struct bj_line_info *find_linfo(const struct venv *env, uint32_t idx)
{
	size_t lo = 0, hi = env->n_line_info;

	/* The last entry at or before idx (entries are sorted by instruction). */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (env->line_info[mid].insn <= idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &env->line_info[lo - 1] : NULL;
}

void vlog_linfo(struct venv *env, uint32_t idx)
{
	const struct bj_line_info *li;
	const char *text, *file, *slash;

	if (!env->log.level || !env->n_line_info)
		return;
	li = find_linfo(env, idx);
	if (!li || li == env->prev_linfo)
		return;
	env->prev_linfo = li;
	text = li->text ? li->text : "";
	while (*text == ' ' || *text == '\t')
		text++;
	file = li->file ? li->file : "";
	slash = strrchr(file, '/');
	vlog_printf(env, "; %.*s @ %s:%u\n", (int)strcspn(text, "\n"), text, slash ? slash + 1 : file, li->line);
}

#define NAME_FN(x) "bpf_" #x
static const char *const helper_names[] = { __BPF_FUNC_MAPPER(NAME_FN) };
#undef NAME_FN

const char *vhelper_name(int32_t id)
{
	if (id >= 0 && (size_t)id < BJ_ARRAY_SIZE(helper_names))
		return helper_names[id];
	return "unknown";
}
