/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet-difftest: long differential runs of the JIT against the interpreter.
 *   bpfjet-difftest [--count N] [--seed S] [--print] [--keep-going]
 * Program k of a run has seed S + k; a mismatch names that seed, and `--seed X --count 1 --print` replays it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "difftest.h"

#define USAGE "usage: bpfjet-difftest [--count N] [--seed S] [--print] [--keep-going]"

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;
	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || !*s || *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	uint64_t count = 10000, seed = 0, mismatches = 0;
	bool have_seed = false, print = false, keep_going = false;
	struct dt_stats stats = { 0 };
	char why[512];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc) {
			if (parse_u64(argv[++i], &count))
				return fprintf(stderr, "bpfjet-difftest: bad count '%s'\n%s\n", argv[i], USAGE), 2;
		} else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
			if (parse_u64(argv[++i], &seed))
				return fprintf(stderr, "bpfjet-difftest: bad seed '%s'\n%s\n", argv[i], USAGE), 2;
			have_seed = true;
		} else if (!strcmp(argv[i], "--print")) {
			print = true;
		} else if (!strcmp(argv[i], "--keep-going")) {
			keep_going = true;
		} else {
			return fprintf(stderr, "bpfjet-difftest: unknown argument '%s'\n%s\n", argv[i], USAGE), 2;
		}
	}
	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL);
	printf("bpfjet-difftest: %" PRIu64 " programs from seed %" PRIu64 "\n", count, seed);
	fflush(stdout);

	double start = now_s(), last = start;
	for (uint64_t k = 0; k < count; k++) {
		uint64_t s = seed + k;
		if (print)
			dt_print(s, stdout);
		if (dt_check(s, &stats, why, sizeof(why))) {
			mismatches++;
			printf("MISMATCH seed %" PRIu64 ": %s\n  replay: %s --seed %" PRIu64 " --count 1 --print\n", s, why,
			       argv[0], s);
			fflush(stdout);
			if (!keep_going)
				break;
		}
		double t = now_s();
		if (t - last >= 5.0) {
			printf("  %" PRIu64 " programs, %" PRIu64 " runs, %.0f programs/s, %" PRIu64 " mismatches\n",
			       stats.programs, stats.runs, (double)stats.programs / (t - start), mismatches);
			fflush(stdout);
			last = t;
		}
	}
	double t = now_s() - start;
	printf("done: %" PRIu64 " programs (%" PRIu64 " with an out-of-bounds access, mean %.0f insns), %" PRIu64
	       " engine runs compared, %.1f s, %.0f programs/s, %" PRIu64 " mismatches\n",
	       stats.programs, stats.faulting, stats.programs ? (double)stats.insns / (double)stats.programs : 0.0,
	       stats.runs, t, t > 0 ? (double)stats.programs / t : 0.0, mismatches);
	return mismatches ? 1 : 0;
}
