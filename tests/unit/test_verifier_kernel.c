/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier against Linux's: every corpus program (tests/verifier/corpus.h) goes through bj_verify and,
 * as root, through BPF_PROG_LOAD. bpfjet accepting what Linux rejects fails; bpfjet rejecting what Linux
 * accepts fails unless tests/verifier/STRICTER.md lists the program with the reason; the recorded verdict
 * must be the kernel's, and bpfjet's message must contain the recorded substring. A program listed in
 * tests/verifier/KNOWN_BUGS.md is a verifier bug not fixed yet: its failure is reported as XFAIL, and it
 * passing fails the test until the line is removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../verifier/corpus.h"
#include "../verifier/kverify.h"

#define LOG_SIZE (1u << 20)

struct state {
	struct vc_corpus corpus;
	char *stricter;   /* text of STRICTER.md */
	char *known;      /* text of KNOWN_BUGS.md */
	char *log;
	bool kernel;
	char kernel_why[256];
};

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v ? v : def;
}

static char *read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *text = calloc(1, 1 << 16);
	size_t n = 0;

	if (f && text)
		n = fread(text, 1, (1 << 16) - 1, f);
	if (f)
		fclose(f);
	if (text)
		text[n] = '\0';
	return text;
}

static int setup(void **st)
{
	char why[512], path[1024];
	struct state *s = calloc(1, sizeof(*s));

	if (!s)
		return -1;
	if (vc_corpus_load(env_or("BJ_SOURCE_ROOT", "."), env_or("BJ_BUILD_ROOT", "build"), &s->corpus, why,
			   sizeof(why))) {
		fprintf(stderr, "corpus: %s\n", why);
		free(s);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/tests/verifier/STRICTER.md", env_or("BJ_SOURCE_ROOT", "."));
	s->stricter = read_file(path);
	snprintf(path, sizeof(path), "%s/tests/verifier/KNOWN_BUGS.md", env_or("BJ_SOURCE_ROOT", "."));
	s->known = read_file(path);
	s->log = malloc(LOG_SIZE);
	s->kernel = vk_available(s->kernel_why, sizeof(s->kernel_why)) == 0;
	*st = s;
	return s->stricter && s->known && s->log ? 0 : -1;
}

static int teardown(void **st)
{
	struct state *s = *st;

	if (!s)
		return 0;
	vc_corpus_free(&s->corpus);
	free(s->stricter);
	free(s->known);
	free(s->log);
	free(s);
	return 0;
}

/* STRICTER.md and KNOWN_BUGS.md list programs as "- `NAME`: reason". */
static bool listed(const char *list, const char *name)
{
	char key[256];

	snprintf(key, sizeof(key), "- `%s`:", name);
	return strstr(list, key) != NULL;
}

static const char *verdict_word(bool accept)
{
	return accept ? "accept" : "reject";
}

/* bpfjet's verdict under one policy against the recorded one; returns true when they agree. */
static bool check_recorded(const struct vc_case *c, const struct vc_verdict *v, int ret, const char *msg,
			   bool stricter_ok, const char *policy)
{
	if (!v->known)
		return true;
	if (v->accept && ret) {
		if (stricter_ok)
			return true;
		print_message("  why %s (%s): recorded accept, bpfjet rejects: %s\n", c->name, policy, msg);
		return false;
	}
	if (!v->accept && !ret) {
		print_message("  why %s (%s): recorded reject (%s), bpfjet accepts\n", c->name, policy, v->msg);
		return false;
	}
	if (!v->accept && !strstr(msg, v->msg)) {
		print_message("  why %s (%s): bpfjet's message \"%s\" lacks \"%s\"\n", c->name, policy, msg, v->msg);
		return false;
	}
	return true;
}

struct tally {
	size_t cases, kernel_cases, agree, failures, stricter, known;
};

static void check_case(struct state *s, const struct vc_case *c, struct tally *t)
{
	char msg[256], strict_msg[256], kcol[16] = "n/a", kmsg[VC_MSG_LEN] = "";
	bool stricter = listed(s->stricter, c->name), known = listed(s->known, c->name), ok = true;
	int ret = vc_verify(c, BJ_VERIFIER_PRIVILEGED, 0, NULL, 0, msg, sizeof(msg), NULL);
	int sret = vc_verify(c, BJ_VERIFIER_STRICT, 0, NULL, 0, strict_msg, sizeof(strict_msg), NULL);
	struct vk_result kr;

	t->cases++;
	ok &= check_recorded(c, &c->expect, ret, msg, stricter, "default");
	ok &= check_recorded(c, &c->strict, sret, strict_msg, false, "strict");
	if (!sret && ret) {
		print_message("  why %s: the strict policy accepts what the default rejects\n", c->name);
		ok = false;
	}
	if (s->kernel && vk_load(c, 0, s->log, LOG_SIZE, &kr) == 0) {
		bool kaccept = kr.ret == 0;
		t->kernel_cases++;
		snprintf(kcol, sizeof(kcol), "%s", verdict_word(kaccept));
		snprintf(kmsg, sizeof(kmsg), "%s", kr.msg);
		if (kaccept != c->expect.accept) {
			print_message("  why %s: recorded %s, Linux %s (%s)\n", c->name, verdict_word(c->expect.accept),
				      verdict_word(kaccept), kr.msg);
			ok = false;
		}
		if (!kaccept && c->expect.msg[0] && !strstr(s->log, c->expect.msg))
			print_message("note %s: Linux words it \"%s\", not \"%s\"\n", c->name, kr.msg, c->expect.msg);
		if (kaccept == !ret) {
			t->agree++;
		} else if (!ret) {
			print_message("  why %s: bpfjet accepts, Linux rejects: %s\n", c->name, kr.msg);
			ok = false;
		} else if (!stricter) {
			print_message("  why %s: bpfjet rejects (%s), Linux accepts; not in STRICTER.md\n", c->name, msg);
			ok = false;
		}
	}
	if (ret && stricter)
		t->stricter++;
	print_message("%-52s %-6s %-7s %-6s %-6s %s%s%s%s\n", c->name, verdict_word(c->expect.accept), kcol,
		      verdict_word(!ret), verdict_word(!sret), ok ? "" : known ? "XFAIL " : "FAIL ", ret ? msg : "",
		      kmsg[0] ? " | linux: " : "", kmsg);
	if (ok && known) {
		print_message("FAIL %s: listed in KNOWN_BUGS.md but passes: remove the line\n", c->name);
		t->failures++;
	} else if (!ok && known) {
		t->known++;
	} else if (!ok) {
		t->failures++;
	}
}

static void test_corpus_agreement(void **st)
{
	struct state *s = *st;
	struct tally t = { 0 };

	if (!s->kernel)
		print_message("kernel half skipped: %s (bpfjet still checked against the recorded verdicts)\n",
			      s->kernel_why);
	print_message("%-52s %-6s %-7s %-6s %-6s %s\n", "program", "expect", "linux", "bpfjet", "strict",
		      "bpfjet's message | linux: Linux's message");
	for (size_t i = 0; i < s->corpus.n; i++)
		check_case(s, &s->corpus.cases[i], &t);
	print_message("%zu programs; %zu also in Linux: bpfjet agrees on %zu/%zu; %zu rejected on purpose "
		      "(STRICTER.md); %zu known verifier bugs (KNOWN_BUGS.md); %zu failures\n",
		      t.cases, t.kernel_cases, t.agree, t.kernel_cases, t.stricter, t.known, t.failures);
	assert_true(t.cases >= 100);
	assert_int_equal(t.failures, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_corpus_agreement),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
