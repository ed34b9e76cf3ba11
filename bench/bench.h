/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the benchmarks: timing, pinning, medians, and the results format of ../shared/spec/cli.md. */
#ifndef BJ_BENCH_H
#define BJ_BENCH_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One CPU, so that runs compare; BJ_BENCH_CPU picks which (default 1, the last on a 2-core machine). */
static inline void bench_pin(void)
{
	const char *env = getenv("BJ_BENCH_CPU");
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(env ? atoi(env) : 1, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		CPU_ZERO(&set); /* one CPU may not exist: run unpinned */
}

static int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static inline double bench_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), bench_cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Prints one result and appends it to $BJ_BENCH_RESULTS as a JSON line. `ratio` is how many times better
 * bpfjet is than the baseline: baseline/value when lower is better (times), value/baseline otherwise.
 */
static inline void bench_result(const char *name, double value, const char *unit, const char *baseline,
				double baseline_value, bool lower_is_better)
{
	double ratio = lower_is_better ? baseline_value / value : value / baseline_value;
	const char *path = getenv("BJ_BENCH_RESULTS");

	printf("%-40s %12.3f %-6s vs %-24s %12.3f  ratio %.2fx\n", name, value, unit, baseline, baseline_value, ratio);
	if (path) {
		FILE *f = fopen(path, "a");
		if (f) {
			fprintf(f,
				"{\"name\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"baseline\":\"%s\","
				"\"baseline_value\":%.6g,\"ratio\":%.6g}\n",
				name, value, unit, baseline, baseline_value, ratio);
			fclose(f);
		}
	}
}

/* Printed once per benchmark so that anyone can reproduce a figure. */
static inline void bench_reproduce(const char *argv0)
{
	printf("reproduce: BJ_BENCH_CPU=1 %s   (or: make bench)\n", argv0);
}

#endif
