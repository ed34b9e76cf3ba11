/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Claim: bj_verify proves each example program safe no slower than Linux's verifier does. Baseline: the
 * kernel's own "verification time N usec" (BPF_PROG_LOAD with log level BPF_LOG_STATS), same programs,
 * same run. Both are the median of RUNS verifications.
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "corpus.h"
#include "kverify.h"

#define RUNS 15
#define LOG_SIZE (1u << 16)
#define BPF_LOG_STATS 4

static double bpfjet_us(const struct vc_case *c, uint64_t *insns)
{
	double t[RUNS];
	struct bj_verifier_stats st;

	for (int i = 0; i < RUNS; i++) {
		uint64_t t0 = bench_now_ns();
		if (vc_verify(c, BJ_VERIFIER_PRIVILEGED, 0, NULL, 0, NULL, 0, &st)) {
			fprintf(stderr, "%s: bpfjet rejects it\n", c->name);
			return -1;
		}
		t[i] = (double)(bench_now_ns() - t0) / 1000.0;
	}
	*insns = st.insns_processed;
	return bench_median(t, RUNS);
}

static double kernel_us(const struct vc_case *c, char *log, uint64_t *insns)
{
	double t[RUNS];
	struct vk_result r;

	for (int i = 0; i < RUNS; i++) {
		if (vk_load(c, BPF_LOG_STATS, log, LOG_SIZE, &r) || r.ret) {
			fprintf(stderr, "%s: the kernel does not load it: %s\n", c->name, r.msg);
			return -1;
		}
		t[i] = (double)r.verify_us;
	}
	*insns = r.insns_processed;
	return bench_median(t, RUNS);
}

int main(int argc, char **argv)
{
	const char *src = getenv("BJ_SOURCE_ROOT"), *build = getenv("BJ_BUILD_ROOT");
	double total_bj = 0, total_k = 0;
	struct vc_corpus corpus;
	char why[512], *log;
	int status = 0;

	(void)argc;
	bench_pin();
	bench_reproduce(argv[0]);
	if (vc_corpus_load(src ? src : BENCH_SOURCE_ROOT, build ? build : BENCH_BUILD_ROOT, &corpus, why, sizeof(why))) {
		fprintf(stderr, "bench_verifier: %s\n", why);
		return 1;
	}
	if (vk_available(why, sizeof(why))) {
		printf("bench_verifier: skipped: %s\n", why);
		vc_corpus_free(&corpus);
		return 0;
	}
	log = malloc(LOG_SIZE);
	printf("%-56s %10s %10s %12s %12s\n", "example program", "bpfjet us", "linux us", "bpfjet insns",
	       "linux insns");
	for (size_t i = 0; log && i < corpus.n; i++) {
		const struct vc_case *c = &corpus.cases[i];
		uint64_t bj_insns = 0, k_insns = 0;
		char name[256];
		if (c->origin != VC_EXAMPLE)
			continue;
		double b = bpfjet_us(c, &bj_insns), k = kernel_us(c, log, &k_insns);
		if (b < 0 || k < 0) {
			status = 1;
			continue;
		}
		printf("%-56s %10.1f %10.1f %12llu %12llu\n", c->name, b, k, (unsigned long long)bj_insns,
		       (unsigned long long)k_insns);
		snprintf(name, sizeof(name), "verify %s", c->name + strlen("examples/"));
		/* The kernel reports whole microseconds: a 0 means under one. */
		bench_result(name, b, "us", "linux verifier", k > 0 ? k : 0.5, true);
		total_bj += b;
		total_k += k;
	}
	if (total_bj > 0)
		bench_result("verify all examples", total_bj, "us", "linux verifier", total_k, true);
	free(log);
	vc_corpus_free(&corpus);
	return status;
}
