/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet-vfuzz: soundness fuzzing of the verifier (tests/verifier/vfuzz.h).
 *   bpfjet-vfuzz [--seconds S] [--count N] [--seed X] [--keep-going]
 * Program k of a run has seed X + k; the base seed comes from --seed, else $BJ_VFUZZ_SEED, else at random,
 * and is printed so that a failing run repeats. Corpus mutations need $BJ_SOURCE_ROOT and $BJ_BUILD_ROOT
 * (default: . and build); without the corpus only the generators run. Faults listed in
 * tests/verifier/KNOWN_BUGS.md (`fault:` lines) are counted, not failed.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "vfuzz.h"

#define USAGE "usage: bpfjet-vfuzz [--seconds S] [--count N] [--seed X] [--keep-going]"

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

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

static void read_known(const char *src_root, struct vf_known *known)
{
	char path[4096], text[16384] = "";
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/verifier/KNOWN_BUGS.md", src_root);
	if ((f = fopen(path, "r"))) {
		text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
		fclose(f);
	}
	vf_known_parse(text, known);
	for (size_t i = 0; i < known->n; i++)
		printf("bpfjet-vfuzz: known verifier bug, counted not failed: %s\n", known->faults[i]);
}

int main(int argc, char **argv)
{
	uint64_t count = 0, seed = 0, seconds = 0;
	bool have_seed = false, keep_going = false;
	struct vf_stats stats = { 0 };
	struct vc_corpus corpus;
	struct vf_known known;
	bool have_corpus;
	char why[512];
	double t0;
	int status = 0;

	for (int i = 1; i < argc; i++) {
		uint64_t *dst = !strcmp(argv[i], "--seconds") ? &seconds : !strcmp(argv[i], "--count") ? &count
								       : !strcmp(argv[i], "--seed") ? &seed : NULL;
		if (dst && i + 1 < argc) {
			if (parse_u64(argv[++i], dst))
				return fprintf(stderr, "bpfjet-vfuzz: bad number '%s'\n%s\n", argv[i], USAGE), 2;
			have_seed |= dst == &seed;
		} else if (!strcmp(argv[i], "--keep-going")) {
			keep_going = true;
		} else {
			return fprintf(stderr, "bpfjet-vfuzz: unknown argument '%s'\n%s\n", argv[i], USAGE), 2;
		}
	}
	if (!count && !seconds)
		seconds = 10;
	if (!have_seed && getenv("BJ_VFUZZ_SEED") && parse_u64(getenv("BJ_VFUZZ_SEED"), &seed) == 0)
		have_seed = true;
	if (!have_seed && getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL);
	have_corpus = vc_corpus_load(env_or("BJ_SOURCE_ROOT", "."), env_or("BJ_BUILD_ROOT", "build"), &corpus, why,
				     sizeof(why)) == 0;
	read_known(env_or("BJ_SOURCE_ROOT", "."), &known);
	printf("bpfjet-vfuzz: seed %#" PRIx64 " (repeat: BJ_VFUZZ_SEED=%#" PRIx64 "), %s\n", seed, seed,
	       have_corpus ? "with corpus mutations" : "no corpus (generators only)");
	if (!have_corpus)
		printf("bpfjet-vfuzz: corpus not loaded: %s\n", why);
	fflush(stdout);
	t0 = now_s();
	for (uint64_t k = 0; (!count || k < count) && (!seconds || now_s() - t0 < (double)seconds); k++) {
		int ret = vf_check(seed + k, have_corpus ? &corpus : NULL, &known, &stats, stdout);
		if (ret < 0) {
			fprintf(stderr, "bpfjet-vfuzz: program %#" PRIx64 ": %s\n", seed + k, strerror(-ret));
			status = 2;
			break;
		}
		if (ret) {
			status = 1;
			if (!keep_going)
				break;
		}
	}
	printf("bpfjet-vfuzz: %" PRIu64 " programs in %.1f s: %" PRIu64 " accepted (%" PRIu64 " by the strict policy), "
	       "%" PRIu64 " checked runs (%" PRIu64 " not runnable); difftest programs accepted %" PRIu64 "/%" PRIu64
	       "; %" PRIu64 " verifier bugs, %" PRIu64 " runs stopped by known ones (KNOWN_BUGS.md)\n",
	       stats.programs, now_s() - t0, stats.accepted, stats.accepted_strict, stats.runs, stats.unrunnable,
	       stats.difftest_accepted, stats.difftest_programs, stats.bugs, stats.known);
	if (have_corpus)
		vc_corpus_free(&corpus);
	return status;
}
