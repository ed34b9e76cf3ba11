/* SPDX-License-Identifier: Apache-2.0 */
#include "kernel_oracle.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct ko_object {
	struct bpf_object *obj;
};

/* libbpf reports through one process-wide print hook, so its last messages are kept per thread. */
static _Thread_local char libbpf_log[65536];
static _Thread_local size_t libbpf_log_len;

static int capture_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG)
		return 0;
	if (libbpf_log_len >= sizeof(libbpf_log) - 1)
		libbpf_log_len = 0;
	int n = vsnprintf(libbpf_log + libbpf_log_len, sizeof(libbpf_log) - libbpf_log_len, fmt, ap);
	if (n > 0)
		libbpf_log_len += (size_t)n < sizeof(libbpf_log) - libbpf_log_len ? (size_t)n
										: sizeof(libbpf_log) - 1 - libbpf_log_len;
	return 0;
}

static void log_reset(void)
{
	libbpf_set_print(capture_print);
	libbpf_log_len = 0;
	libbpf_log[0] = '\0';
}

static void set_why(char *why, size_t why_len, const char *fmt, ...)
{
	va_list ap;

	if (!why || !why_len)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_len, fmt, ap);
	va_end(ap);
}

int ko_available(char *why, size_t why_len)
{
	/* r0 = 0; exit */
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0 },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	uint8_t pkt[64] = { 0 };

	log_reset();
	int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "ko_probe", "GPL", prog, 2, NULL);
	if (fd < 0) {
		set_why(why, why_len, "kernel BPF not available: BPF_PROG_LOAD: %s", strerror(-fd));
		return fd;
	}
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = pkt, .data_size_in = sizeof(pkt), .repeat = 1);
	int ret = bpf_prog_test_run_opts(fd, &topts);
	close(fd);
	if (ret < 0) {
		set_why(why, why_len, "kernel BPF not available: BPF_PROG_TEST_RUN: %s", strerror(-ret));
		return ret;
	}
	return 0;
}

int ko_object__open(const char *path, ko_setup_fn setup, void *setup_ctx, struct ko_object **out, char *why,
		    size_t why_len)
{
	struct ko_object *ko;
	int ret;

	*out = NULL;
	ret = ko_available(why, why_len);
	if (ret)
		return ret;
	ko = calloc(1, sizeof(*ko));
	if (!ko)
		return -ENOMEM;
	log_reset();
	ko->obj = bpf_object__open_file(path, NULL);
	if (!ko->obj) {
		ret = -errno;
		set_why(why, why_len, "%s: open: %s\n%s", path, strerror(-ret), libbpf_log);
		free(ko);
		return ret;
	}
	if (setup && (ret = setup(ko->obj, setup_ctx)) != 0) {
		set_why(why, why_len, "%s: setup failed: %s", path, strerror(ret < 0 ? -ret : ret));
		ko_object__close(ko);
		return ret < 0 ? ret : -EINVAL;
	}
	ret = bpf_object__load(ko->obj);
	if (ret) {
		set_why(why, why_len, "%s: load: %s\n%s", path, strerror(-ret), libbpf_log);
		ko_object__close(ko);
		return ret;
	}
	*out = ko;
	return 0;
}

void ko_object__close(struct ko_object *obj)
{
	if (!obj)
		return;
	bpf_object__close(obj->obj);
	free(obj);
}

struct bpf_object *ko_object__bpf(struct ko_object *obj)
{
	return obj->obj;
}

int ko_object__run(struct ko_object *obj, const char *prog_name, struct ko_run *run)
{
	struct bpf_program *prog = bpf_object__find_program_by_name(obj->obj, prog_name);

	if (!prog)
		return -ENOENT;
	LIBBPF_OPTS(bpf_test_run_opts, topts, .data_in = run->data_in, .data_size_in = run->data_size_in,
		    .data_out = run->data_out, .data_size_out = sizeof(run->data_out), .ctx_in = run->ctx_in,
		    .ctx_size_in = run->ctx_size_in, .repeat = (int)(run->repeat ? run->repeat : 1));
	int ret = bpf_prog_test_run_opts(bpf_program__fd(prog), &topts);
	if (ret < 0)
		return ret;
	run->retval = topts.retval;
	run->data_size_out = topts.data_size_out;
	return 0;
}

static struct bpf_map *find_map(struct ko_object *obj, const char *name)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj->obj, name);

	if (map)
		return map;
	/* Internal maps may be named by section (".rodata") as in skeletons. */
	bpf_object__for_each_map(map, obj->obj) {
		const char *n = bpf_map__name(map);
		const char *dot = strchr(n, '.');
		if (dot && !strcmp(dot, name))
			return map;
	}
	return NULL;
}

static bool is_percpu(enum bpf_map_type t)
{
	return t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_PERCPU_HASH ||
	       t == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

int ko_object__map_info(struct ko_object *obj, const char *name, uint32_t *key_size, uint32_t *value_size,
			unsigned *nr_cpus)
{
	struct bpf_map *map = find_map(obj, name);

	if (!map)
		return -ENOENT;
	*key_size = bpf_map__key_size(map);
	*value_size = bpf_map__value_size(map);
	*nr_cpus = 1;
	if (is_percpu(bpf_map__type(map))) {
		int n = libbpf_num_possible_cpus();
		if (n < 0)
			return n;
		*nr_cpus = (unsigned)n;
		*value_size = (*value_size + 7) & ~7u;
	}
	return 0;
}

int ko_object__map_lookup(struct ko_object *obj, const char *name, const void *key, void *value, size_t value_len)
{
	uint32_t ks, vs;
	unsigned cpus;
	int ret = ko_object__map_info(obj, name, &ks, &vs, &cpus);

	if (ret)
		return ret;
	if (value_len < (size_t)vs * cpus)
		return -ENOSPC;
	ret = bpf_map_lookup_elem(bpf_map__fd(find_map(obj, name)), key, value);
	return ret < 0 ? -errno : 0;
}

int ko_object__map_update(struct ko_object *obj, const char *name, const void *key, const void *value)
{
	struct bpf_map *map = find_map(obj, name);

	if (!map)
		return -ENOENT;
	return bpf_map_update_elem(bpf_map__fd(map), key, value, BPF_ANY) < 0 ? -errno : 0;
}

int ko_object__map_foreach(struct ko_object *obj, const char *name, ko_map_fn fn, void *ctx)
{
	uint32_t ks, vs;
	unsigned cpus;
	int ret = ko_object__map_info(obj, name, &ks, &vs, &cpus);

	if (ret)
		return ret;
	int fd = bpf_map__fd(find_map(obj, name));
	uint8_t *key = calloc(1, ks ? ks : 1), *next = calloc(1, ks ? ks : 1), *value = calloc(cpus, vs ? vs : 1);
	if (!key || !next || !value) {
		ret = -ENOMEM;
		goto out;
	}
	void *prev = NULL;
	while ((ret = bpf_map_get_next_key(fd, prev, next)) == 0) {
		memcpy(key, next, ks);
		prev = key;
		if (bpf_map_lookup_elem(fd, key, value) < 0)
			continue; /* deleted meanwhile */
		ret = fn(key, value, ctx);
		if (ret)
			goto out;
	}
	ret = errno == ENOENT ? 0 : -errno;
out:
	free(key);
	free(next);
	free(value);
	return ret;
}

struct ringbuf_ctx {
	ko_ringbuf_fn fn;
	void *ctx;
};

static int ringbuf_cb(void *ctx, void *data, size_t size)
{
	struct ringbuf_ctx *rc = ctx;
	return rc->fn(data, size, rc->ctx);
}

int ko_object__ringbuf_drain(struct ko_object *obj, const char *name, ko_ringbuf_fn fn, void *ctx)
{
	struct bpf_map *map = find_map(obj, name);
	struct ringbuf_ctx rc = { fn, ctx };

	if (!map)
		return -ENOENT;
	if (bpf_map__type(map) != BPF_MAP_TYPE_RINGBUF)
		return -EINVAL;
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), ringbuf_cb, &rc, NULL);
	if (!rb)
		return -errno;
	int ret = ring_buffer__consume(rb);
	ring_buffer__free(rb);
	return ret;
}

uint64_t ko_percpu_sum_u64(const void *values, unsigned nr_cpus)
{
	uint64_t sum = 0, v;

	for (unsigned i = 0; i < nr_cpus; i++) {
		memcpy(&v, (const uint8_t *)values + 8 * i, 8);
		sum += v;
	}
	return sum;
}
