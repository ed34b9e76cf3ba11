/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Map operations on 1M-entry hash and array maps: per element vs batched in bpfjet, the same through the
 * kernel's bpf(2) (skipped when the kernel has no BPF), and reads through an mmapped array vs a plain C
 * array vs lookup calls. Figures are ns per element.
 */
#include "bench.h"

#include <bpf/bpf.h>
#include <bpfjet/asm.h>
#include <bpfjet/map.h>
#include <bpfjet/prog.h>
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#define N (1u << 20)
#define CHUNK 8192u
#define RUNS 5

struct target {
	struct bj_map *m; /* bpfjet, or NULL for the kernel map in fd */
	int fd;
	bool hash;
};

static uint32_t *keys;
static uint64_t *vals;
static uint32_t *okeys;
static uint64_t *ovals;

typedef void (*op_fn)(struct target *t);

static int lookup1(struct target *t, uint32_t k, uint64_t *v)
{
	return t->m ? bj_map__lookup_elem(t->m, &k, v) : bpf_map_lookup_elem(t->fd, &k, v);
}

static void fill_each(struct target *t)
{
	for (uint32_t i = 0; i < N; i++) {
		uint64_t v = i;
		int r = t->m ? bj_map__update_elem(t->m, &keys[i], &v, BJ_ANY) : bpf_map_update_elem(t->fd, &keys[i], &v, BPF_ANY);
		if (r)
			abort();
	}
}

static void fill_batch(struct target *t)
{
	for (uint32_t off = 0; off < N; off += CHUNK) {
		uint32_t count = CHUNK;
		int r = t->m ? bj_map__update_batch(t->m, keys + off, vals + off, &count, NULL)
			     : bpf_map_update_batch(t->fd, keys + off, vals + off, &count, NULL);
		if (r || count != CHUNK)
			abort();
	}
}

static void lookup_each(struct target *t)
{
	uint64_t v, sum = 0;

	for (uint32_t i = 0; i < N; i++) {
		if (lookup1(t, keys[i], &v))
			abort();
		sum += v;
	}
	if (sum != (uint64_t)N * (N - 1) / 2)
		abort();
}

static void lookup_batch(struct target *t)
{
	uint32_t cursor[2] = { 0, 0 }, out[2], total = 0;
	bool first = true;
	int r;

	do {
		uint32_t count = CHUNK;
		r = t->m ? bj_map__lookup_batch(t->m, first ? NULL : cursor, out, okeys, ovals, &count, NULL)
			 : bpf_map_lookup_batch(t->fd, first ? NULL : cursor, out, okeys, ovals, &count, NULL);
		if (r && r != -ENOENT)
			abort();
		total += count;
		cursor[0] = out[0];
		first = false;
	} while (!r);
	if (total != N)
		abort();
}

static void delete_each(struct target *t)
{
	for (uint32_t i = 0; i < N; i++)
		if (t->m ? bj_map__delete_elem(t->m, &keys[i]) : bpf_map_delete_elem(t->fd, &keys[i]))
			abort();
}

static void delete_batch(struct target *t)
{
	for (uint32_t off = 0; off < N; off += CHUNK) {
		uint32_t count = CHUNK;
		if (t->m ? bj_map__delete_batch(t->m, keys + off, &count, NULL) : bpf_map_delete_batch(t->fd, keys + off, &count, NULL))
			abort();
	}
}

/* Median ns per element over RUNS; `setup` runs untimed before each run. */
static double measure(struct target *t, op_fn setup, op_fn op, int runs)
{
	double v[RUNS];

	for (int r = 0; r < runs; r++) {
		if (setup)
			setup(t);
		uint64_t t0 = bench_now_ns();
		op(t);
		v[r] = (double)(bench_now_ns() - t0) / N;
	}
	return bench_median(v, runs);
}

static int kernel_map(bool hash)
{
	return bpf_map_create(hash ? BPF_MAP_TYPE_HASH : BPF_MAP_TYPE_ARRAY, "bjbench", 4, 8, N, NULL);
}

static struct target bj_target(bool hash, uint32_t flags)
{
	BJ_OPTS(bj_map_opts, o, .map_flags = flags);
	struct target t = { NULL, -1, hash };

	if (bj_map__create(hash ? BJ_MAP_TYPE_HASH : BJ_MAP_TYPE_ARRAY, 4, 8, N, &o, &t.m, NULL))
		abort();
	return t;
}

/* The program side: a loop over every key calling bpf_map_lookup_elem and summing the values. */
static const char lookup_loop[] =
	"mov %r6, 0\n mov %r7, 0\n"
	"loop:\n stxw [%r10-4], %r6\n lddw %r1, map_idx(0)\n mov %r2, %r10\n add %r2, -4\n call 1\n"
	"jeq %r0, 0, next\n ldxdw %r1, [%r0+0]\n add %r7, %r1\n"
	"next:\n add %r6, 1\n jlt %r6, 0x100000, loop\n mov %r0, %r7\n exit\n";

/* ns per lookup from inside a program on `engine` (trusted: a 1M-iteration loop is beyond the verifier's
 * limit, as in Linux). */
static double prog_lookup_ns(struct bj_map *m, enum bj_engine engine)
{
	struct bj_map *maps[] = { m };
	struct bj_prog *prog;
	struct bj_insn *insns;
	double v[RUNS];
	uint64_t r0;
	size_t n;

	if (bj_asm(lookup_loop, &insns, &n, NULL))
		abort();
	BJ_OPTS(bj_prog_opts, po, .engine = engine, .unchecked = true, .maps = maps, .n_maps = 1);
	if (bj_prog__create(insns, n, &po, &prog, NULL))
		abort();
	free(insns);
	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = bench_now_ns();
		if (bj_prog__exec(prog, NULL, 0, &r0, NULL) || r0 != (uint64_t)N * (N - 1) / 2)
			abort();
		v[r] = (double)(bench_now_ns() - t0) / N;
	}
	bj_prog__destroy(prog);
	return bench_median(v, RUNS);
}

static void bench_kind(bool hash)
{
	const char *kind = hash ? "hash" : "array";
	struct target b = bj_target(hash, 0), k = { NULL, kernel_map(hash), hash };
	char name[64];
	double b_each, b_batch, k_each = 0, k_batch = 0;

	/* Lookups. */
	fill_batch(&b);
	b_each = measure(&b, NULL, lookup_each, RUNS);
	b_batch = measure(&b, NULL, lookup_batch, RUNS);
	snprintf(name, sizeof(name), "maps %s lookup_batch", kind);
	bench_result(name, b_batch, "ns/elem", "bpfjet lookup per element", b_each, true);
	{
		double jit = prog_lookup_ns(b.m, BJ_ENGINE_JIT), interp = prog_lookup_ns(b.m, BJ_ENGINE_INTERP);
		char pname[64];

		snprintf(pname, sizeof(pname), "maps %s lookup from a JIT program", kind);
		bench_result(pname, jit, "ns/elem", "bpfjet lookup_elem call from C", b_each, true);
		bench_result(pname, jit, "ns/elem", "the same program interpreted", interp, true);
	}
	if (k.fd >= 0) {
		fill_batch(&k);
		k_each = measure(&k, NULL, lookup_each, 3);
		k_batch = measure(&k, NULL, lookup_batch, 3);
		bench_result(name, b_batch, "ns/elem", "kernel lookup_batch", k_batch, true);
		snprintf(name, sizeof(name), "maps %s lookup_elem", kind);
		bench_result(name, b_each, "ns/elem", "kernel lookup_elem", k_each, true);
		bench_result("kernel lookup_batch (reference)", k_batch, "ns/elem", "kernel lookup_elem", k_each, true);
	}
	/* Updates: per element vs batched, both sides. */
	b_each = measure(&b, NULL, fill_each, RUNS);
	b_batch = measure(&b, NULL, fill_batch, RUNS);
	snprintf(name, sizeof(name), "maps %s update_batch", kind);
	bench_result(name, b_batch, "ns/elem", "bpfjet update per element", b_each, true);
	if (k.fd >= 0) {
		k_each = measure(&k, NULL, fill_each, 3);
		k_batch = measure(&k, NULL, fill_batch, 3);
		bench_result(name, b_batch, "ns/elem", "kernel update_batch", k_batch, true);
		snprintf(name, sizeof(name), "maps %s update_elem", kind);
		bench_result(name, b_each, "ns/elem", "kernel update_elem", k_each, true);
	}
	/* Deletes: arrays have none. */
	if (hash) {
		b_each = measure(&b, fill_batch, delete_each, RUNS);
		b_batch = measure(&b, fill_batch, delete_batch, RUNS);
		bench_result("maps hash delete_batch", b_batch, "ns/elem", "bpfjet delete per element", b_each, true);
		if (k.fd >= 0) {
			k_each = measure(&k, fill_batch, delete_each, 3);
			k_batch = measure(&k, fill_batch, delete_batch, 3);
			bench_result("maps hash delete_batch", b_batch, "ns/elem", "kernel delete_batch", k_batch, true);
			bench_result("maps hash delete_elem", b_each, "ns/elem", "kernel delete_elem", k_each, true);
		}
	}
	if (k.fd >= 0)
		close(k.fd);
	bj_map__destroy(b.m);
}

static volatile uint64_t sink;

static double sum_reads(const uint64_t *a)
{
	double v[RUNS];

	for (int r = 0; r < RUNS; r++) {
		uint64_t t0 = bench_now_ns(), s = 0;
		for (int rep = 0; rep < 10; rep++)
			for (uint32_t i = 0; i < N; i++)
				s += ((const volatile uint64_t *)a)[i];
		v[r] = (double)(bench_now_ns() - t0) / (10.0 * N);
		sink = s;
	}
	return bench_median(v, RUNS);
}

static void bench_mmap(void)
{
	struct target b = bj_target(false, BJ_F_MMAPABLE);
	uint64_t *plain = calloc(N, sizeof(*plain)), *mapped;
	double t_map, t_plain, t_call;

	if (!plain || bj_map__mmap(b.m, 0, bj_map__mmap_size(b.m), PROT_READ, (void **)&mapped, NULL))
		abort();
	fill_batch(&b);
	memcpy(plain, vals, N * sizeof(*plain));
	t_plain = sum_reads(plain);
	t_map = sum_reads(mapped);
	t_call = measure(&b, NULL, lookup_each, RUNS);
	bench_result("maps mmap array read", t_map, "ns/elem", "plain C array read", t_plain, true);
	bench_result("maps mmap array read", t_map, "ns/elem", "bpfjet lookup_elem calls", t_call, true);
	bj_map__munmap(b.m, mapped, bj_map__mmap_size(b.m));
	bj_map__destroy(b.m);
	free(plain);
}

int main(int argc, char **argv)
{
	(void)argc;
	bench_pin();
	keys = malloc(N * sizeof(*keys));
	vals = malloc(N * sizeof(*vals));
	okeys = malloc(CHUNK * sizeof(*okeys));
	ovals = malloc(CHUNK * sizeof(*ovals));
	if (!keys || !vals || !okeys || !ovals)
		return 1;
	for (uint32_t i = 0; i < N; i++) {
		keys[i] = i;
		vals[i] = i;
	}
	{
		int probe = kernel_map(false);
		if (probe < 0)
			printf("kernel BPF maps unavailable (%s): kernel baselines skipped\n", strerror(errno));
		else
			close(probe);
	}
	bench_kind(true);
	bench_kind(false);
	bench_mmap();
	bench_reproduce(argv[0]);
	free(keys);
	free(vals);
	free(okeys);
	free(ovals);
	return 0;
}
