/* SPDX-License-Identifier: Apache-2.0 */
/*
 * A few seconds of differential testing (JIT against interpreter) on every test run. The base seed is random
 * unless BJ_DIFFTEST_SEED sets it; a failure prints the seed of the program and the command that replays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>

#include "difftest.h"

#define RUN_SECONDS 3.0
#define MIN_PROGRAMS 200

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t base_seed(void)
{
	const char *env = getenv("BJ_DIFFTEST_SEED");
	uint64_t seed;

	if (env && *env)
		return strtoull(env, NULL, 0);
	if (getrandom(&seed, sizeof(seed), 0) != sizeof(seed))
		seed = (uint64_t)time(NULL);
	return seed;
}

static void test_random_programs(void **state)
{
	struct dt_stats stats = { 0 };
	uint64_t seed = base_seed();
	double start = now_s();
	char why[512];

	(void)state;
	printf("difftest: base seed %" PRIu64 " (BJ_DIFFTEST_SEED=%" PRIu64 " repeats this run)\n", seed, seed);
	for (uint64_t k = 0; stats.programs < MIN_PROGRAMS || now_s() - start < RUN_SECONDS; k++) {
		if (dt_check(seed + k, &stats, why, sizeof(why))) {
			dt_print(seed + k, stdout);
			fail_msg("program of seed %" PRIu64 ": %s (replay: build/bpfjet-difftest --seed %" PRIu64
				 " --count 1 --print)",
				 seed + k, why, seed + k);
		}
	}
	printf("difftest: %" PRIu64 " programs, %" PRIu64 " engine runs agree\n", stats.programs, stats.runs);
	assert_true(stats.runs > stats.programs);
}

/* The generator is a function of the seed alone: a printed seed replays the same program. */
static void test_generator_is_deterministic(void **state)
{
	struct dt_prog a, b;

	(void)state;
	for (uint64_t s = 1; s < 50; s++) {
		assert_int_equal(dt_generate(s, &a), 0);
		assert_int_equal(dt_generate(s, &b), 0);
		assert_int_equal(a.n, b.n);
		assert_memory_equal(a.insns, b.insns, a.n * sizeof(*a.insns));
		assert_int_equal(bj_insns_validate(a.insns, a.n, NULL), 0);
		dt_prog_free(&a);
		dt_prog_free(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generator_is_deterministic),
		cmocka_unit_test(test_random_programs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
