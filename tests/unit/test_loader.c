/* SPDX-License-Identifier: Apache-2.0 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <bpfjet/object.h>
#include <elf.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/kernel_oracle.h"

static const char *const examples[] = {
	"xdp_drop_port", "xdp_count_proto", "xdp_mac_swap", "xdp_redirect_devmap", "socket_filter",
	"ringbuf_events", "rodata_config", "tail_call", "loop_checksum", "xdp_firewall",
};

static void obj_path(char *buf, size_t len, const char *dir, const char *name)
{
	const char *root = getenv("BJ_BUILD_ROOT");
	snprintf(buf, len, "%s/%s/%s.bpf.o", root ? root : "build", dir, name);
}

static struct bj_object *open_ok(const char *dir, const char *name)
{
	char path[512];
	struct bj_object *obj = NULL;
	struct bj_error err = { 0 };

	obj_path(path, sizeof(path), dir, name);
	int ret = bj_object__open_file(path, NULL, &obj, &err);
	if (ret)
		fail_msg("%s: %d %s", path, ret, err.msg);
	return obj;
}

static uint8_t *read_file(const char *dir, const char *name, size_t *len)
{
	char path[512];
	FILE *f;

	obj_path(path, sizeof(path), dir, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *buf = malloc(*len);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static enum bpf_prog_type kernel_type(enum bj_prog_type t)
{
	switch (t) {
	case BJ_PROG_TYPE_XDP: return BPF_PROG_TYPE_XDP;
	case BJ_PROG_TYPE_SOCKET_FILTER: return BPF_PROG_TYPE_SOCKET_FILTER;
	case BJ_PROG_TYPE_SCHED_CLS: return BPF_PROG_TYPE_SCHED_CLS;
	case BJ_PROG_TYPE_MEM: break;
	}
	return BPF_PROG_TYPE_UNSPEC;
}

/* libbpf (≤1.2) marks every global data map mmapable; newer ones and bpfjet only when a variable is global. */
#define FLAGS_COMPARED (~(uint32_t)BPF_F_MMAPABLE)

static void compare_maps_with_libbpf(const char *name, struct bj_object *obj, struct bpf_object *lb)
{
	struct bpf_map *m;
	size_t n = 0;

	bpf_object__for_each_map(m, lb) {
		const struct bj_map_spec *s = bj_object__find_map(obj, bpf_map__name(m));
		if (!s)
			fail_msg("%s: map '%s' (libbpf) missing", name, bpf_map__name(m));
		if (bj_map_spec__type(s) != bpf_map__type(m) || bj_map_spec__key_size(s) != bpf_map__key_size(m) ||
		    bj_map_spec__value_size(s) != bpf_map__value_size(m) ||
		    bj_map_spec__max_entries(s) != bpf_map__max_entries(m) ||
		    (bj_map_spec__flags(s) & FLAGS_COMPARED) != (bpf_map__map_flags(m) & FLAGS_COMPARED) ||
		    bj_map_spec__map_extra(s) != bpf_map__map_extra(m) || bj_map_spec__numa_node(s) != bpf_map__numa_node(m))
			fail_msg("%s: map '%s' differs: type %u/%u key %u/%u value %u/%u max %u/%u flags %#x/%#x", name,
				 bpf_map__name(m), bj_map_spec__type(s), bpf_map__type(m), bj_map_spec__key_size(s),
				 bpf_map__key_size(m), bj_map_spec__value_size(s), bpf_map__value_size(m),
				 bj_map_spec__max_entries(s), bpf_map__max_entries(m), bj_map_spec__flags(s),
				 bpf_map__map_flags(m));
		size_t lsz, bsz;
		const void *lv = bpf_map__initial_value(m, &lsz);
		const void *bv = bj_map_spec__initial_value(s, &bsz);
		if (lv && (!bv || lsz != bsz || memcmp(lv, bv, lsz)))
			fail_msg("%s: map '%s': initial value differs from libbpf's", name, bpf_map__name(m));
		if (!lv && bv && bj_map_spec__origin(s) != BJ_MAP_ORIGIN_BSS)
			fail_msg("%s: map '%s': bpfjet has initial data, libbpf not", name, bpf_map__name(m));
		n++;
	}
	assert_int_equal(n, bj_object__map_count(obj));
}

static void compare_progs_with_libbpf(const char *name, struct bj_object *obj, struct bpf_object *lb)
{
	struct bpf_program *p;
	size_t n = 0;

	bpf_object__for_each_program(p, lb) {
		const struct bj_program *q = bj_object__find_prog(obj, bpf_program__name(p));
		if (!q)
			fail_msg("%s: program '%s' (libbpf) missing", name, bpf_program__name(p));
		assert_string_equal(bj_program__section(q), bpf_program__section_name(p));
		if (bj_program__type(q) != BJ_PROG_TYPE_MEM)
			assert_int_equal(kernel_type(bj_program__type(q)), bpf_program__type(p));
		size_t ni;
		bj_program__insns(q, &ni);
		/* Before load libbpf holds the entry function alone; bpfjet appends the subprograms. */
		assert_true(ni >= bpf_program__insn_cnt(p));
		/* Relocation touches ld_imm64 and local calls only: everything else is as libbpf read it. */
		const struct bj_insn *ours = bj_program__insns(q, NULL);
		const struct bpf_insn *raw = bpf_program__insns(p);
		for (size_t i = 0; i < bpf_program__insn_cnt(p); i++) {
			if (raw[i].code == (BPF_LD | BPF_DW | BPF_IMM) && ours[i].src != raw[i].src_reg) {
				i++;
				continue;
			}
			if (raw[i].code == (BPF_JMP | BPF_CALL) && raw[i].src_reg == BPF_PSEUDO_CALL)
				continue;
			if (memcmp(&ours[i], &raw[i], sizeof(raw[i])))
				fail_msg("%s/%s: insn %zu changed by relocation", name, bpf_program__name(p), i);
		}
		n++;
	}
	assert_int_equal(n, bj_object__prog_count(obj));
}

static void test_examples_match_libbpf(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char path[512];
		struct bj_object *obj = open_ok("examples", examples[i]);
		obj_path(path, sizeof(path), "examples", examples[i]);
		struct bpf_object *lb = bpf_object__open_file(path, NULL);
		assert_non_null(lb);
		compare_maps_with_libbpf(examples[i], obj, lb);
		compare_progs_with_libbpf(examples[i], obj, lb);
		assert_string_equal(bj_object__license(obj), "GPL");
		assert_string_equal(bj_object__name(obj), examples[i]);
		bpf_object__close(lb);
		bj_object__close(obj);
	}
}

/* Which of the kernel object's maps has this fd. */
static const char *map_name_by_fd(struct bpf_object *lb, int fd)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, lb)
		if (bpf_map__fd(m) == fd)
			return bpf_map__name(m);
	return NULL;
}

/*
 * After load, libbpf holds exactly what went to the kernel: subprograms appended, calls fixed, maps as fds.
 * bpfjet must produce the same instructions, with map indices in place of fds.
 */
static void compare_relocated(const char *name, struct bj_object *obj, struct bpf_object *lb)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, lb) {
		const struct bj_program *q = bj_object__find_prog(obj, bpf_program__name(p));
		size_t n;
		const struct bj_insn *ours = bj_program__insns(q, &n);
		const struct bpf_insn *ref = bpf_program__insns(p);
		assert_int_equal(n, bpf_program__insn_cnt(p));
		for (size_t i = 0; i < n; i++) {
			const struct bpf_insn *r = &ref[i];
			const struct bj_insn *o = &ours[i];
			if (r->code == (BPF_LD | BPF_DW | BPF_IMM) &&
			    (r->src_reg == BPF_PSEUDO_MAP_FD || r->src_reg == BPF_PSEUDO_MAP_VALUE)) {
				const char *want = map_name_by_fd(lb, r->imm);
				const struct bj_map_spec *m = bj_object__map(obj, (size_t)o->imm);
				if (o->src != r->src_reg + 4 || !m || !want || strcmp(bj_map_spec__name(m), want) ||
				    o[1].imm != r[1].imm)
					fail_msg("%s/%s insn %zu: map reference differs (src %u imm %d+%d, want %s+%d)", name,
						 bpf_program__name(p), i, o->src, o->imm, o[1].imm, want, r[1].imm);
				i++;
				continue;
			}
			if (memcmp(r, o, sizeof(*r)))
				fail_msg("%s/%s insn %zu differs: code %02x/%02x src %u/%u imm %d/%d", name,
					 bpf_program__name(p), i, o->code, r->code, o->src, r->src_reg, o->imm, r->imm);
		}
	}
}

static void test_relocations_match_libbpf_load(void **state)
{
	char why[512];

	(void)state;
	if (ko_available(why, sizeof(why))) {
		print_message("skipped: %s\n", why);
		skip();
	}
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++) {
		char path[512];
		struct ko_object *ko;
		static char msg[65536];
		obj_path(path, sizeof(path), "examples", examples[i]);
		if (ko_object__open(path, NULL, NULL, &ko, msg, sizeof(msg)))
			fail_msg("%s", msg);
		struct bj_object *obj = open_ok("examples", examples[i]);
		compare_relocated(examples[i], obj, ko_object__bpf(ko));
		bj_object__close(obj);
		ko_object__close(ko);
	}
}

static long find_insn(const struct bj_insn *in, size_t n, uint8_t code, uint8_t src, size_t from)
{
	for (size_t i = from; i < n; i++)
		if (in[i].code == code && in[i].src == src)
			return (long)i;
	return -1;
}

static void test_subprograms_and_global_data(void **state)
{
	struct bj_object *obj = open_ok("tests/elf", "mem_calls");
	size_t n;

	(void)state;
	assert_string_equal(bj_object__license(obj), "Dual BSD/GPL");
	assert_int_equal(bj_object__prog_count(obj), 2);
	const struct bj_program *first = bj_object__find_prog(obj, "first");
	assert_non_null(first);
	assert_int_equal(bj_program__type(first), BJ_PROG_TYPE_MEM);
	assert_string_equal(bj_program__section(first), "bpfjet");
	const struct bj_insn *in = bj_program__insns(first, &n);
	struct bj_error err;
	assert_int_equal(bj_insns_validate(in, n, &err), 0);

	/* The callback's address (BPF_PSEUDO_FUNC) and every bpf-to-bpf call land on a function entry: the
	 * instruction after a previous function's exit. */
	long cb = find_insn(in, n, BPF_LD | BPF_DW | BPF_IMM, BPF_PSEUDO_FUNC, 0);
	assert_true(cb >= 0);
	long target = cb + in[cb].imm + 1;
	assert_true(target > cb && (size_t)target < n);
	assert_int_equal(in[target - 1].code, BPF_JMP | BPF_EXIT);
	int calls = 0;
	for (long i = find_insn(in, n, BPF_JMP | BPF_CALL, BPF_PSEUDO_CALL, 0); i >= 0;
	     i = find_insn(in, n, BPF_JMP | BPF_CALL, BPF_PSEUDO_CALL, (size_t)i + 1)) {
		long t = i + in[i].imm + 1;
		assert_true(t > 0 && (size_t)t < n);
		assert_int_equal(in[t - 1].code, BPF_JMP | BPF_EXIT);
		calls++;
	}
	assert_int_equal(calls, 3); /* first -> add_squares -> square twice */

	/* Global data: .data holds total = 7 and is mmapable; the static-only .bss is not. */
	struct bj_map_spec *data = bj_object__find_map(obj, ".data");
	struct bj_map_spec *bss = bj_object__find_map(obj, ".bss");
	struct bj_map_spec *str = bj_object__find_map(obj, ".rodata.str1.1");
	assert_non_null(data);
	assert_non_null(bss);
	assert_non_null(str);
	assert_string_equal(bj_map_spec__name(data), "mem_call.data");
	size_t sz;
	const uint8_t *init = bj_map_spec__initial_value(data, &sz);
	uint64_t total;
	memcpy(&total, init, 8);
	assert_int_equal(total, 7);
	assert_true(bj_map_spec__flags(data) & BPF_F_MMAPABLE);
	assert_false(bj_map_spec__flags(bss) & BPF_F_MMAPABLE);
	assert_int_equal(bj_map_spec__flags(str), BPF_F_RDONLY_PROG);
	assert_string_equal((const char *)bj_map_spec__initial_value(str, &sz), "hello");
	assert_int_equal(bj_map_spec__origin(bss), BJ_MAP_ORIGIN_BSS);

	/* The static variable `calls` is reached through .bss's section symbol: src 6, this map, offset 0. */
	long ld = find_insn(in, n, BPF_LD | BPF_DW | BPF_IMM, 6, 0);
	int bss_refs = 0;
	for (; ld >= 0; ld = find_insn(in, n, BPF_LD | BPF_DW | BPF_IMM, 6, (size_t)ld + 2))
		bss_refs += bj_object__map(obj, (size_t)in[ld].imm) == bss && in[ld + 1].imm == 0;
	assert_int_equal(bss_refs, 1);

	/* Map-in-map: inner spec from `values`, slot 1 initialised with inner_a. */
	struct bj_map_spec *outer = bj_object__find_map(obj, "outer");
	const struct bj_map_spec *inner = bj_map_spec__inner(outer);
	assert_non_null(inner);
	assert_string_equal(bj_map_spec__name(inner), "outer.inner");
	assert_int_equal(bj_map_spec__type(inner), BPF_MAP_TYPE_ARRAY);
	assert_int_equal(bj_map_spec__value_size(inner), 8);
	assert_int_equal(bj_map_spec__max_entries(inner), 4);
	const struct bj_map_slot *slots = bj_map_spec__init_slots(outer, &n);
	assert_int_equal(n, 1);
	assert_int_equal(slots[0].index, 1);
	assert_ptr_equal(slots[0].map, bj_object__find_map(obj, "inner_a"));

	/* Line info covers instruction 0 and resolves to this fixture's source. */
	const struct bj_line_info *li = bj_program__line_info(first, &n);
	assert_true(n > 0);
	assert_int_equal(li[0].insn, 0);
	assert_non_null(strstr(li[0].file, "mem_calls.bpf.c"));
	for (size_t i = 1; i < n; i++)
		assert_true(li[i].insn >= li[i - 1].insn);
	assert_ptr_equal(bj_program__line_of(first, li[n - 1].insn + 1), &li[n - 1]);
	bj_object__close(obj);
}

static void test_prog_array_slots(void **state)
{
	struct bj_object *obj = open_ok("examples", "tail_call");
	size_t n;

	(void)state;
	const struct bj_map_slot *s = bj_map_spec__init_slots(bj_object__find_map(obj, "stages"), &n);
	assert_int_equal(n, 3);
	const char *want[] = { "stage_ipv4", "stage_ipv6", "stage_count" };
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s[i].index, i);
		assert_string_equal(bj_program__name(s[i].prog), want[i]);
	}
	bj_object__close(obj);
}

static void test_legacy_maps(void **state)
{
	struct bj_object *obj = open_ok("tests/elf", "legacy_maps");
	struct { const char *name; uint32_t type, key, value, max, flags; } want[] = {
		{ "counters", BPF_MAP_TYPE_ARRAY, 4, 8, 16, 0 },
		{ "flows", BPF_MAP_TYPE_HASH, 8, 16, 128, BPF_F_NO_PREALLOC },
	};
	size_t n;

	(void)state;
	assert_int_equal(bj_object__map_count(obj), 2);
	for (size_t i = 0; i < 2; i++) {
		const struct bj_map_spec *m = bj_object__find_map(obj, want[i].name);
		assert_non_null(m);
		assert_int_equal(bj_map_spec__origin(m), BJ_MAP_ORIGIN_LEGACY);
		assert_int_equal(bj_map_spec__type(m), want[i].type);
		assert_int_equal(bj_map_spec__key_size(m), want[i].key);
		assert_int_equal(bj_map_spec__value_size(m), want[i].value);
		assert_int_equal(bj_map_spec__max_entries(m), want[i].max);
		assert_int_equal(bj_map_spec__flags(m), want[i].flags);
	}
	const struct bj_insn *in = bj_program__insns(bj_object__find_prog(obj, "legacy_count"), &n);
	int seen = 0;
	for (long i = find_insn(in, n, BPF_LD | BPF_DW | BPF_IMM, 5, 0); i >= 0;
	     i = find_insn(in, n, BPF_LD | BPF_DW | BPF_IMM, 5, (size_t)i + 2))
		seen |= 1 << in[i].imm;
	assert_int_equal(seen, 3);
	bj_object__close(obj);
}

struct refused {
	const char *name;
	int ret;
	const char *msg;
	long insn;
};

static void test_refused_features(void **state)
{
	static const struct refused cases[] = {
		{ "core_reloc", -ENOTSUP, "section 'socket': insn ", -2 },
		{ "kfunc", -ENOTSUP, "call to kernel function 'bpf_example_kfunc' (kfunc) is not supported", -2 },
		{ "frags", -ENOTSUP, "section 'xdp.frags': multi-buffer XDP", -1 },
		{ "kprobe", -ENOTSUP, "section 'kprobe/do_sys_open': unsupported program section", -1 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512];
		struct bj_object *obj = (void *)1;
		struct bj_error err = { 0 };
		obj_path(path, sizeof(path), "tests/elf", cases[i].name);
		int ret = bj_object__open_file(path, NULL, &obj, &err);
		if (ret != cases[i].ret || !strstr(err.msg, cases[i].msg) || obj)
			fail_msg("%s: got %d '%s'", cases[i].name, ret, err.msg);
		/* -2: the message names an instruction, and err.insn says which. */
		if (cases[i].insn == -2 && err.insn < 0)
			fail_msg("%s: no instruction index", cases[i].name);
	}
}

/* ---- malformed objects: a good object with one field damaged ---- */

struct img {
	uint8_t *p;
	size_t len;
};

static Elf64_Ehdr *ehdr(struct img *m)
{
	return (Elf64_Ehdr *)m->p;
}

static Elf64_Shdr *shdr_at(struct img *m, size_t i)
{
	return (Elf64_Shdr *)(m->p + ehdr(m)->e_shoff) + i;
}

static Elf64_Shdr *shdr(struct img *m, const char *name)
{
	const char *names = (const char *)m->p + shdr_at(m, ehdr(m)->e_shstrndx)->sh_offset;
	for (size_t i = 0; i < ehdr(m)->e_shnum; i++)
		if (!strcmp(names + shdr_at(m, i)->sh_name, name))
			return shdr_at(m, i);
	fail_msg("no section %s", name);
	return NULL;
}

static size_t shndx(struct img *m, const char *name)
{
	return (size_t)(shdr(m, name) - shdr_at(m, 0));
}

static Elf64_Sym *sym(struct img *m, const char *name)
{
	Elf64_Shdr *st = shdr(m, ".symtab");
	const char *names = (const char *)m->p + shdr_at(m, st->sh_link)->sh_offset;
	Elf64_Sym *s = (Elf64_Sym *)(m->p + st->sh_offset);
	for (size_t i = 0; i < st->sh_size / sizeof(*s); i++)
		if (!strcmp(names + s[i].st_name, name))
			return &s[i];
	fail_msg("no symbol %s", name);
	return NULL;
}

static Elf64_Rel *rel0(struct img *m, const char *sec)
{
	return (Elf64_Rel *)(m->p + shdr(m, sec)->sh_offset);
}

static uint8_t *find_bytes(struct img *m, const char *sec, const void *what, size_t len)
{
	Elf64_Shdr *s = shdr(m, sec);
	for (size_t i = 0; i + len <= s->sh_size; i++)
		if (!memcmp(m->p + s->sh_offset + i, what, len))
			return m->p + s->sh_offset + i;
	fail_msg("'%s' not in %s", (const char *)what, sec);
	return NULL;
}

static void m_ehdr_short(struct img *m) { m->len = 40; }
static void m_class(struct img *m) { m->p[EI_CLASS] = ELFCLASS32; }
static void m_byte_order(struct img *m) { m->p[EI_DATA] = ELFDATA2MSB; }
static void m_machine(struct img *m) { ehdr(m)->e_machine = EM_X86_64; }
static void m_type(struct img *m) { ehdr(m)->e_type = ET_EXEC; }
static void m_version(struct img *m) { m->p[EI_VERSION] = 2; }
static void m_osabi(struct img *m) { m->p[EI_OSABI] = ELFOSABI_LINUX; }
static void m_shoff(struct img *m) { ehdr(m)->e_shoff = m->len + 4096; }
static void m_shentsize(struct img *m) { ehdr(m)->e_shentsize = 10; }
static void m_strtab_link(struct img *m) { shdr(m, ".symtab")->sh_link = 0x7fff; }
static void m_shnum(struct img *m) { ehdr(m)->e_shnum = 0xff00; }
static void m_sec_offset(struct img *m) { shdr(m, "xdp")->sh_offset = m->len + 64; }
static void m_sec_size(struct img *m) { shdr(m, "xdp")->sh_size = 1u << 30; }
static void m_sec_odd_size(struct img *m) { shdr(m, "xdp")->sh_size -= 4; }
static void m_sec_name(struct img *m) { shdr(m, "xdp")->sh_name = 0x7fffffff; }
static void m_unsupported_sec(struct img *m) { memcpy(find_bytes(m, ".strtab", "xdp", 4), "xdq", 3); }
static void m_rel_sym_index(struct img *m) { rel0(m, ".relxdp")->r_info = ELF64_R_INFO(9999, R_BPF_64_64); }
static void m_rel_type(struct img *m)
{
	Elf64_Rel *r = rel0(m, ".relxdp");
	r->r_info = ELF64_R_INFO(ELF64_R_SYM(r->r_info), 3);
}
static void m_rel_offset(struct img *m) { rel0(m, ".relxdp")->r_offset = shdr(m, "xdp")->sh_size + 8; }
static void m_rel_not_lddw(struct img *m) { rel0(m, ".relxdp")->r_offset = 0; }
static void m_rel_target(struct img *m) { shdr(m, ".relxdp")->sh_info = 0x7fff; }
static void m_rel_symtab(struct img *m) { shdr(m, ".relxdp")->sh_link = shndx(m, "xdp"); }
static void m_sym_undef(struct img *m) { sym(m, "record_action")->st_shndx = SHN_UNDEF; }
static void m_sym_abs(struct img *m) { sym(m, "record_action")->st_shndx = SHN_ABS; }
static void m_map_sym_size(struct img *m) { sym(m, "blocked_v4")->st_size = 1u << 20; }
static void m_sym_name(struct img *m) { sym(m, "blocked_v4")->st_name = 0x7fffffff; }
static void m_sym_to_license(struct img *m)
{
	Elf64_Shdr *rs = shdr(m, ".relxdp"), *code = shdr(m, "xdp");
	Elf64_Rel *r = (Elf64_Rel *)(m->p + rs->sh_offset);
	size_t lic = (size_t)(sym(m, "LICENSE") - (Elf64_Sym *)(m->p + shdr(m, ".symtab")->sh_offset));

	while (m->p[code->sh_offset + r->r_offset] != (BPF_LD | BPF_DW | BPF_IMM))
		r++;
	r->r_info = ELF64_R_INFO(lic, R_BPF_64_64);
}
static void m_prog_sym_static(struct img *m)
{
	Elf64_Sym *s = sym(m, "xdp_firewall");
	s->st_info = ELF64_ST_INFO(STB_LOCAL, STT_FUNC);
}
static void m_prog_sym_size(struct img *m) { sym(m, "xdp_firewall")->st_size = 1u << 20; }
static void m_symtab_entsize(struct img *m) { shdr(m, ".symtab")->sh_entsize = 7; }
static void m_license(struct img *m)
{
	Elf64_Shdr *s = shdr(m, "license");
	memset(m->p + s->sh_offset, 'G', s->sh_size);
}
static void m_btf_magic(struct img *m) { m->p[shdr(m, ".BTF")->sh_offset] ^= 0xff; }
static void m_btf_map_field(struct img *m) { memcpy(find_bytes(m, ".BTF", "max_entries", 12), "max_entriez", 11); }
static void m_btf_map_var(struct img *m) { memcpy(find_bytes(m, ".strtab", "blocked_v6", 11), "blocked_vX", 10); }
static void m_btf_ext_bounds(struct img *m)
{
	uint32_t big = 1u << 30;
	memcpy(m->p + shdr(m, ".BTF.ext")->sh_offset + 20, &big, 4); /* line_info_len */
}

struct mutation {
	const char *name;
	void (*apply)(struct img *m);
	int ret;
	const char *msg;
};

static const struct mutation mutations[] = {
	{ "ehdr short", m_ehdr_short, -EINVAL, "ELF" },
	{ "wrong class", m_class, -EINVAL, "is not ELFCLASS64" },
	{ "wrong byte order", m_byte_order, -EINVAL, "byte order 2 does not match" },
	{ "wrong machine", m_machine, -EINVAL, "machine 62 is not EM_BPF" },
	{ "wrong type", m_type, -EINVAL, "is not ET_REL" },
	{ "wrong version", m_version, -EINVAL, "ELF" },
	{ "wrong osabi", m_osabi, -EINVAL, "OS ABI" },
	{ "section headers outside", m_shoff, -EINVAL, "section" },
	{ "too many sections", m_shnum, -EINVAL, "section" },
	{ "section header size", m_shentsize, -EINVAL, "section header entry size 10 is not 64" },
	{ "symbol string table index", m_strtab_link, -EINVAL, "section '.symtab': bad string table index 32767" },
	{ "bad section offset", m_sec_offset, -EINVAL, "section 'xdp': offset" },
	{ "bad section size", m_sec_size, -EINVAL, "section 'xdp': offset" },
	{ "partial instruction", m_sec_odd_size, -EINVAL, "section 'xdp': size" },
	{ "bad section name", m_sec_name, -EINVAL, "bad name offset" },
	{ "unsupported section", m_unsupported_sec, -ENOTSUP, "section 'xdq': unsupported program section" },
	{ "relocation symbol index", m_rel_sym_index, -EINVAL, "refers to symbol #9999" },
	{ "relocation type", m_rel_type, -EINVAL, "section 'xdp': insn |: relocation #0 has unsupported type 3" },
	{ "relocation offset", m_rel_offset, -EINVAL, "is not on an instruction of the section" },
	{ "relocation on non-ld_imm64", m_rel_not_lddw, -EINVAL, "section 'xdp': insn 0: relocation #0 is on opcode 0xbf" },
	{ "relocation target section", m_rel_target, -EINVAL, "relocates section #32767" },
	{ "relocation symbol table", m_rel_symtab, -EINVAL, "refers to symbol table" },
	{ "relocation to unknown symbol", m_sym_undef, -ENOTSUP, "section 'xdp': insn |: call to kernel function 'record_action' (kfunc) is not supported" },
	{ "symbol in special section", m_sym_abs, -EINVAL, "section 'xdp': insn |: relocation against 'record_action' in section index 0xfff1" },
	{ "map symbol size", m_map_sym_size, -EINVAL, "section '.maps': map 'blocked_v4' lies outside the section" },
	{ "symbol name", m_sym_name, -EINVAL, "bad name offset" },
	{ "relocation to license", m_sym_to_license, -EINVAL, "holds no map, data or subprogram" },
	{ "static program", m_prog_sym_static, -EINVAL, "program 'xdp_firewall' is static" },
	{ "program size", m_prog_sym_size, -EINVAL, "function 'xdp_firewall'" },
	{ "symbol table entry size", m_symtab_entsize, -EINVAL, "bad symbol table" },
	{ "license without NUL", m_license, -EINVAL, "section 'license': license is not a NUL-terminated string" },
	{ "BTF magic", m_btf_magic, -EINVAL, "section '.BTF': malformed BTF" },
	{ "nonsense map definition", m_btf_map_field, -EINVAL, "map 'action_count': unknown field max_entriez" },
	{ "map without symbol", m_btf_map_var, -EINVAL, "map 'blocked_v6' has no symbol" },
	{ "BTF.ext bounds", m_btf_ext_bounds, -EINVAL, ".BTF.ext" },
};

/* True when every '|'-separated part of pattern occurs in msg, in order. */
static bool matches(const char *msg, const char *pattern)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%s", pattern);
	for (char *part = strtok(buf, "|"); part; part = strtok(NULL, "|")) {
		const char *at = strstr(msg, part);
		if (!at)
			return false;
		msg = at + strlen(part);
	}
	return true;
}

static void test_malformed(void **state)
{
	size_t len;
	uint8_t *good = read_file("examples", "xdp_firewall", &len);

	(void)state;
	for (size_t i = 0; i < sizeof(mutations) / sizeof(mutations[0]); i++) {
		struct img m = { malloc(len), len };
		struct bj_object *obj = NULL;
		struct bj_error err = { 0 };
		assert_non_null(m.p);
		memcpy(m.p, good, len);
		mutations[i].apply(&m);
		int ret = bj_object__open_mem(m.p, m.len, NULL, &obj, &err);
		if (ret != mutations[i].ret || !matches(err.msg, mutations[i].msg) || obj)
			fail_msg("%s: got %d '%s', want %d '%s'", mutations[i].name, ret, err.msg, mutations[i].ret,
				 mutations[i].msg);
		free(m.p);
	}
	free(good);
}

static void test_legacy_map_type(void **state)
{
	size_t len;
	uint8_t *p = read_file("tests/elf", "legacy_maps", &len);
	struct img m = { p, len };
	struct bj_object *obj = NULL;
	struct bj_error err = { 0 };
	uint32_t bad = 999;

	(void)state;
	memcpy(m.p + shdr(&m, "maps")->sh_offset + sym(&m, "flows")->st_value, &bad, 4);
	assert_int_equal(bj_object__open_mem(m.p, m.len, NULL, &obj, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "section 'maps': map 'flows': unknown map type 999"));
	free(p);
}

static void test_huge_bss(void **state)
{
	size_t len;
	uint8_t *p = read_file("examples", "rodata_config", &len);
	struct img m = { p, len };
	struct bj_object *obj = NULL;
	struct bj_error err = { 0 };

	(void)state;
	shdr(&m, ".bss")->sh_size = 3ull << 30;
	assert_int_equal(bj_object__open_mem(m.p, m.len, NULL, &obj, &err), -EINVAL);
	assert_non_null(strstr(err.msg, "section '.bss': section of 3221225472 bytes is too big for a map value"));
	free(p);
}

/* Every prefix of a good object fails cleanly (or, for the full length, succeeds). */
static void test_truncated(void **state)
{
	size_t len;
	uint8_t *good = read_file("examples", "rodata_config", &len);

	(void)state;
	for (size_t cut = 0; cut <= len; cut += cut < 128 ? 1 : 61) {
		uint8_t *p = malloc(cut ? cut : 1);
		struct bj_object *obj = NULL;
		struct bj_error err = { 0 };
		memcpy(p, good, cut);
		int ret = bj_object__open_mem(p, cut, NULL, &obj, &err);
		if (ret == 0)
			bj_object__close(obj);
		else if (!err.msg[0] || obj)
			fail_msg("cut at %zu: %d with no message", cut, ret);
		free(p);
	}
	free(good);
}

static void count_log(void *ctx, const char *msg)
{
	(void)msg;
	(*(int *)ctx)++;
}

static void test_open_mem_and_opts(void **state)
{
	size_t len;
	uint8_t *buf = read_file("examples", "xdp_drop_port", &len);
	struct bj_object *obj = NULL;
	struct bj_error err = { 0 };
	int logged = 0;

	(void)state;
	BJ_OPTS(bj_object_opts, opts, .object_name = "custom", .log = count_log, .log_ctx = &logged);
	assert_int_equal(bj_object__open_mem(buf, len, &opts, &obj, &err), 0);
	assert_string_equal(bj_object__name(obj), "custom");
	struct bj_map_spec *ro = bj_object__find_map(obj, ".rodata");
	assert_non_null(ro);
	assert_string_equal(bj_map_spec__name(ro), "custom.rodata");
	assert_int_equal(bj_map_spec__origin(ro), BJ_MAP_ORIGIN_RODATA);
	assert_int_equal(bj_map_spec__flags(ro), BPF_F_RDONLY_PROG | BPF_F_MMAPABLE);
	assert_int_equal(bj_object__map_index(obj, ro), 0);

	/* The embedder configures blocked_port (offset 0) before the maps are created. */
	size_t sz;
	uint16_t *port = bj_map_spec__initial_value_mut(ro, &sz);
	assert_int_equal(sz, 2);
	assert_int_equal(*port, 9);
	*port = 53;
	assert_int_equal(*(const uint16_t *)bj_map_spec__initial_value(ro, NULL), 53);
	bj_object__close(obj);

	/* A failure is reported to the log too. */
	buf[EI_CLASS] = ELFCLASS32;
	assert_int_equal(bj_object__open_mem(buf, len, &opts, &obj, &err), -EINVAL);
	assert_true(logged > 0);

	/* Unknown non-zero option bytes. */
	struct { struct bj_object_opts o; uint64_t extra; } big = { .o = { .sz = sizeof(big) }, .extra = 1 };
	assert_int_equal(bj_object__open_mem(buf, len, &big.o, &obj, &err), -EINVAL);
	assert_int_equal(bj_object__open_file("/nonexistent/x.o", NULL, &obj, &err), -ENOENT);
	bj_object__close(NULL);
	free(buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_examples_match_libbpf),
		cmocka_unit_test(test_relocations_match_libbpf_load),
		cmocka_unit_test(test_subprograms_and_global_data),
		cmocka_unit_test(test_prog_array_slots),
		cmocka_unit_test(test_legacy_maps),
		cmocka_unit_test(test_refused_features),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_legacy_map_type),
		cmocka_unit_test(test_huge_bss),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_open_mem_and_opts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
