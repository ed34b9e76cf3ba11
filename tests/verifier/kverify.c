/* SPDX-License-Identifier: Apache-2.0 */
#include "kverify.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int silent_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

int vk_available(char *why, size_t why_len)
{
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 2 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "vk_probe", "GPL", prog, 2, NULL);

	if (fd < 0) {
		snprintf(why, why_len, "kernel BPF not available: BPF_PROG_LOAD: %s", strerror(-fd));
		return fd;
	}
	close(fd);
	return 0;
}

static int kernel_prog_type(const struct vc_case *c, enum bpf_attach_type *attach)
{
	*attach = 0;
	switch (c->type) {
	case BJ_PROG_TYPE_XDP:
		if (c->attach == BJ_ATTACH_XDP_DEVMAP)
			*attach = BPF_XDP_DEVMAP;
		else if (c->attach == BJ_ATTACH_XDP_CPUMAP)
			*attach = BPF_XDP_CPUMAP;
		return BPF_PROG_TYPE_XDP;
	case BJ_PROG_TYPE_SOCKET_FILTER:
		return BPF_PROG_TYPE_SOCKET_FILTER;
	case BJ_PROG_TYPE_SCHED_CLS:
		return BPF_PROG_TYPE_SCHED_CLS;
	default:
		return -EOPNOTSUPP;
	}
}

/* The line that says why: the last one that is neither a statistic nor empty. */
static void last_reason(const char *log, char *msg, size_t len)
{
	const char *best = NULL, *p = log;
	size_t best_len = 0;

	while (*p) {
		const char *end = strchr(p, '\n');
		size_t l = end ? (size_t)(end - p) : strlen(p);
		if (l && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11) && strncmp(p, "-- END PROG LOAD LOG --", 23) &&
		    strncmp(p, "old state:", 10) && strncmp(p, "cur state:", 10)) {
			best = p;
			best_len = l;
		}
		p += l + (end ? 1 : 0);
	}
	snprintf(msg, len, "%.*s", best ? (int)best_len : 0, best ? best : "");
}

static void read_stats(const char *log, struct vk_result *res)
{
	const char *p = strstr(log, "verification time ");
	const char *q = strstr(log, "processed ");
	unsigned long long v;

	if (p && sscanf(p, "verification time %llu usec", &v) == 1)
		res->verify_us = v;
	if (q && sscanf(q, "processed %llu insns", &v) == 1)
		res->insns_processed = v;
}

static int create_map(const struct bj_verifier_map *m)
{
	LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = m->flags);
	int inner = -1, fd;

	if (m->inner) {
		inner = create_map(m->inner);
		if (inner < 0)
			return inner;
		opts.inner_map_fd = (uint32_t)inner;
	}
	fd = bpf_map_create((enum bpf_map_type)m->type, NULL, m->key_size, m->value_size, m->max_entries, &opts);
	if (inner >= 0)
		close(inner);
	return fd;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return (x > y) - (x < y);
}

/*
 * Linux wants BTF func_info for programs that pass callbacks (and libbpf always gives it for subprograms):
 * one static `int f(void)` per subprogram, starting at 0 and at every local call or ld_imm64 func target.
 * Returns the number of entries in info (0: no subprograms, nothing to load), or -errno.
 */
static int subprog_func_info(const struct bpf_insn *insns, size_t n, struct btf **btf_out,
			     struct bpf_func_info **info_out)
{
	uint32_t *starts = malloc((n + 1) * sizeof(*starts));
	size_t n_starts = 0;
	struct bpf_func_info *info = NULL;
	struct btf *btf = NULL;
	int ret = -ENOMEM;

	if (!starts)
		return -ENOMEM;
	starts[n_starts++] = 0;
	for (size_t i = 0; i < n; i++) {
		bool local_call = insns[i].code == (BPF_JMP | BPF_CALL) && insns[i].src_reg == BPF_PSEUDO_CALL;
		bool func_addr = insns[i].code == (BPF_LD | BPF_IMM | BPF_DW) && insns[i].src_reg == BPF_PSEUDO_FUNC;
		long t = (long)i + insns[i].imm + 1;
		if ((local_call || func_addr) && t > 0 && (size_t)t < n)
			starts[n_starts++] = (uint32_t)t;
	}
	qsort(starts, n_starts, sizeof(*starts), cmp_u32);
	size_t u = 0;
	for (size_t i = 0; i < n_starts; i++)
		if (!u || starts[u - 1] != starts[i])
			starts[u++] = starts[i];
	if (u == 1) {
		ret = 0;
		goto out;
	}
	btf = btf__new_empty();
	info = calloc(u, sizeof(*info));
	if (!btf || !info)
		goto out;
	int int_id = btf__add_int(btf, "int", 4, BTF_INT_SIGNED);
	int proto = int_id > 0 ? btf__add_func_proto(btf, int_id) : int_id;
	for (size_t i = 0; proto > 0 && i < u; i++) {
		char name[32];
		snprintf(name, sizeof(name), "f%u", starts[i]);
		int id = btf__add_func(btf, name, BTF_FUNC_STATIC, proto);
		if (id < 0) {
			proto = id;
			break;
		}
		info[i] = (struct bpf_func_info){ .insn_off = starts[i], .type_id = (uint32_t)id };
	}
	ret = proto < 0 ? proto : btf__load_into_kernel(btf);
	if (!ret) {
		*btf_out = btf;
		*info_out = info;
		btf = NULL;
		info = NULL;
		ret = (int)u;
	}
out:
	btf__free(btf);
	free(info);
	free(starts);
	return ret;
}

static int load_asm(const struct vc_case *c, int type, enum bpf_attach_type attach, uint32_t log_level, char *log,
		    size_t log_size, struct vk_result *res)
{
	int fds[VC_MAX_MAPS], ret = 0;
	struct bpf_func_info *info = NULL;
	struct btf *btf = NULL;
	struct bpf_insn *insns = malloc(c->n * sizeof(*insns));
	size_t n_fds = 0;

	if (!insns)
		return -ENOMEM;
	memcpy(insns, c->insns, c->n * sizeof(*insns));
	for (; n_fds < c->n_maps; n_fds++) {
		fds[n_fds] = create_map(&c->maps[n_fds]);
		if (fds[n_fds] < 0) {
			ret = fds[n_fds];
			snprintf(log, log_size, "map %zu: BPF_MAP_CREATE: %s", n_fds, strerror(-ret));
			goto out;
		}
	}
	for (size_t i = 0; i < c->n; i++) {
		struct bpf_insn *in = &insns[i];
		if (in->code != (BPF_LD | BPF_IMM | BPF_DW) || (in->src_reg != 5 && in->src_reg != 6))
			continue;
		/* An index beyond the table stays invalid: the kernel must reject it as bpfjet does. */
		in->imm = in->imm >= 0 && (size_t)in->imm < n_fds ? fds[in->imm] : -1;
		in->src_reg = in->src_reg == 5 ? BPF_PSEUDO_MAP_FD : BPF_PSEUDO_MAP_VALUE;
	}
	int n_info = subprog_func_info(insns, c->n, &btf, &info);
	if (n_info < 0) {
		ret = n_info;
		snprintf(log, log_size, "BTF for the subprograms: %s", strerror(-ret));
		goto out;
	}
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .log_level = log_level,
		    .log_buf = log_level ? log : NULL, .log_size = log_level ? (uint32_t)log_size : 0,
		    .prog_btf_fd = btf ? btf__fd(btf) : 0, .func_info = info, .func_info_cnt = (uint32_t)n_info,
		    .func_info_rec_size = n_info ? sizeof(*info) : 0);
	log[0] = '\0';
	int fd = bpf_prog_load((enum bpf_prog_type)type, "vcorpus", "GPL", insns, c->n, &opts);
	res->ret = fd < 0 ? fd : 0;
	if (fd >= 0)
		close(fd);
	if (fd < 0 && !log_level) {
		/* Again, with a log, for the reason. */
		opts.log_level = 1;
		opts.log_buf = log;
		opts.log_size = (uint32_t)log_size;
		fd = bpf_prog_load((enum bpf_prog_type)type, "vcorpus", "GPL", insns, c->n, &opts);
		if (fd >= 0)
			close(fd);
	}
out:
	btf__free(btf);
	free(info);
	while (n_fds)
		close(fds[--n_fds]);
	free(insns);
	return ret;
}

/*
 * One pass through libbpf; returns bpf_object__load's result. Programs of the examples are loaded together
 * (a program array's initial slots need their programs), corpus programs alone (others are meant to fail).
 */
static int load_object_once(const struct vc_case *c, uint32_t log_level, char *log, size_t log_size)
{
	struct bpf_object *obj = bpf_object__open_file(c->object, NULL);
	struct bpf_program *p;
	int ret;

	if (!obj)
		return -errno;
	bpf_object__for_each_program(p, obj) {
		bool mine = !strcmp(bpf_program__name(p), c->prog);
		bpf_program__set_autoload(p, mine || c->origin == VC_EXAMPLE);
		if (mine && log_level) {
			bpf_program__set_log_buf(p, log, log_size);
			bpf_program__set_log_level(p, log_level);
		}
	}
	log[0] = '\0';
	ret = bpf_object__load(obj);
	bpf_object__close(obj);
	return ret;
}

int vk_load(const struct vc_case *c, uint32_t log_level, char *log, size_t log_size, struct vk_result *res)
{
	enum bpf_attach_type attach;
	int type = kernel_prog_type(c, &attach), ret = 0;

	memset(res, 0, sizeof(*res));
	if (type < 0)
		return type;
	libbpf_print_fn_t old = libbpf_set_print(silent_print);
	if (c->origin == VC_ASM) {
		ret = load_asm(c, type, attach, log_level, log, log_size, res);
	} else {
		res->ret = load_object_once(c, log_level, log, log_size);
		if (res->ret && !log_level)
			load_object_once(c, 1, log, log_size);
	}
	libbpf_set_print(old);
	if (!ret) {
		if (res->ret)
			last_reason(log, res->msg, sizeof(res->msg));
		read_stats(log, res);
	}
	return ret;
}
