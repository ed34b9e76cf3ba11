/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux kernel as a test oracle: loads an object with libbpf, runs a program with BPF_PROG_TEST_RUN and
 * reads maps afterwards. Every call reports "kernel BPF not available" (-ENOSYS / -EPERM) in `why` when the
 * running kernel cannot load programs, so tests can skip with that message.
 */
#ifndef BJ_KERNEL_ORACLE_H
#define BJ_KERNEL_ORACLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_object;
struct ko_object;

/* 0 when the kernel can load and test-run BPF programs; else -errno with the reason in why. */
int ko_available(char *why, size_t why_len);

/* Called between open and load, e.g. to set .rodata values through bpf_map__initial_value(). */
typedef int (*ko_setup_fn)(struct bpf_object *obj, void *ctx);

/*
 * Opens and loads an object file into the kernel. On failure returns -errno and puts libbpf's last
 * messages (including the verifier log) in why.
 */
int ko_object__open(const char *path, ko_setup_fn setup, void *setup_ctx, struct ko_object **out, char *why,
		    size_t why_len);
void ko_object__close(struct ko_object *obj);
struct bpf_object *ko_object__bpf(struct ko_object *obj);

struct ko_run {
	const void *data_in;
	uint32_t data_size_in;
	const void *ctx_in;       /* optional, e.g. struct xdp_md */
	uint32_t ctx_size_in;
	uint32_t repeat;
	/* Results. */
	uint32_t retval;
	uint8_t data_out[4096];
	uint32_t data_size_out;
};

/* Runs program `prog` (by function name) once per repeat with BPF_PROG_TEST_RUN. */
int ko_object__run(struct ko_object *obj, const char *prog, struct ko_run *run);

/*
 * Map contents after a run, by map name. Per-CPU maps give value_size * possible CPUs bytes (each
 * CPU's value padded to 8 bytes, as the kernel returns them); `nr_cpus` says how many copies.
 */
int ko_object__map_info(struct ko_object *obj, const char *map, uint32_t *key_size, uint32_t *value_size,
			unsigned *nr_cpus);
int ko_object__map_lookup(struct ko_object *obj, const char *map, const void *key, void *value,
			  size_t value_len);
int ko_object__map_update(struct ko_object *obj, const char *map, const void *key, const void *value);
/* Calls fn for every key (stops early, returning fn's value, when fn returns non-zero). */
typedef int (*ko_map_fn)(const void *key, const void *value, void *ctx);
int ko_object__map_foreach(struct ko_object *obj, const char *map, ko_map_fn fn, void *ctx);
/* Consumes the records waiting in a BPF_MAP_TYPE_RINGBUF; returns how many, or -errno. */
typedef int (*ko_ringbuf_fn)(const void *data, size_t size, void *ctx);
int ko_object__ringbuf_drain(struct ko_object *obj, const char *map, ko_ringbuf_fn fn, void *ctx);

/* Sum of the per-CPU copies of a u64 value. */
uint64_t ko_percpu_sum_u64(const void *values, unsigned nr_cpus);

#endif
