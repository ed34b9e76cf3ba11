/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claim: opening an object (ELF, BTF, maps, programs, and in bpfjet's case also relocation) costs no more than
 * libbpf's bpf_object__open_mem on the same bytes. Baseline: libbpf, same object, same run.
 */
#include "bench.h"

#include <bpf/libbpf.h>
#include <bpfjet/object.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RUNS 7
#define OPENS 2000

static uint8_t *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(*len);
	if (buf && fread(buf, 1, *len, f) != *len) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static int silent(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

static double time_bpfjet(const uint8_t *buf, size_t len)
{
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < OPENS; i++) {
		struct bj_object *obj;
		if (bj_object__open_mem(buf, len, NULL, &obj, NULL)) {
			fprintf(stderr, "bj_object__open_mem failed\n");
			exit(1);
		}
		bj_object__close(obj);
	}
	return (double)(bench_now_ns() - t0) / OPENS / 1000.0;
}

static double time_libbpf(const uint8_t *buf, size_t len)
{
	uint64_t t0 = bench_now_ns();
	for (int i = 0; i < OPENS; i++) {
		struct bpf_object *obj = bpf_object__open_mem(buf, len, NULL);
		if (!obj) {
			fprintf(stderr, "bpf_object__open_mem failed\n");
			exit(1);
		}
		bpf_object__close(obj);
	}
	return (double)(bench_now_ns() - t0) / OPENS / 1000.0;
}

int main(int argc, char **argv)
{
	char path[4096], self[4096];
	size_t len;

	(void)argc;
	snprintf(self, sizeof(self), "%s", argv[0]);
	snprintf(path, sizeof(path), "%s/../examples/xdp_firewall.bpf.o", dirname(self));
	uint8_t *buf = slurp(path, &len);
	if (!buf) {
		fprintf(stderr, "%s: cannot read\n", path);
		return 1;
	}
	libbpf_set_print(silent);
	bench_pin();
	double ours[RUNS], base[RUNS];
	for (int r = 0; r < RUNS; r++) {
		ours[r] = time_bpfjet(buf, len);
		base[r] = time_libbpf(buf, len);
	}
	bench_result("loader: open xdp_firewall.bpf.o", bench_median(ours, RUNS), "us", "libbpf open_mem",
		     bench_median(base, RUNS), true);
	bench_reproduce(argv[0]);
	free(buf);
	return 0;
}
