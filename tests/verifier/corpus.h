/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The verifier's corpus: programs that must be accepted and programs that must be rejected, each with the
 * verdict (and, for a rejection, a substring of the message) recorded beside it.
 *
 *   tests/verifier/asm/NAME.s      one program in bpfjet assembly; a header of `# key: value` comments:
 *        # type: xdp | socket | tc | mem          program type (mem: bpfjet only, no kernel equivalent)
 *        # attach: devmap | cpumap                optional, XDP only
 *        # mem_size: N                            mem programs: bytes r1 points to
 *        # map: TYPE key=K value=V entries=E [flags=F]   one line per map, in index order
 *        # expect: accept | reject [MESSAGE]      verdict under the default (privileged) policy
 *        # strict: accept | reject MESSAGE        optional: verdict under the strict policy
 *   tests/verifier/c/NAME.bpf.c    several programs (libbpf conventions), each described by lines
 *        // expect PROG: accept | reject MESSAGE
 *        // strict PROG: accept | reject MESSAGE
 *   examples/bpf/NAME.bpf.c        the examples: every program must be accepted
 * C sources are compiled by meson into build/tests/verifier/ and build/examples/.
 */
#ifndef BJ_VCORPUS_H
#define BJ_VCORPUS_H

#include <bpfjet/verifier.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#define VC_MAX_MAPS 16
#define VC_MSG_LEN 160

enum vc_origin { VC_ASM, VC_C, VC_EXAMPLE };

struct vc_verdict {
	bool known;
	bool accept;
	char msg[VC_MSG_LEN]; /* substring of the rejection message */
};

struct vc_case {
	char name[192];          /* "asm/stack_oob.s", "c/maps.bpf.o:lookup_no_null_check" */
	char object[PATH_MAX];   /* C and examples: the compiled object */
	char prog[128];          /* C and examples: the program's function name */
	enum vc_origin origin;
	enum bj_prog_type type;
	enum bj_attach attach;
	uint32_t mem_size;
	struct bj_verifier_map maps[VC_MAX_MAPS];
	struct bj_verifier_map inner[VC_MAX_MAPS];
	size_t n_maps;
	struct bj_insn *insns;
	size_t n;
	struct vc_verdict expect; /* default policy */
	struct vc_verdict strict; /* strict policy, when recorded */
};

struct vc_corpus {
	struct vc_case *cases;
	size_t n;
	struct bj_object **objects; /* kept open: C cases borrow their maps' frozen values */
	size_t n_objects;
};

/*
 * Reads every corpus program: sources under src_root, compiled objects under build_root. Returns 0 or
 * -errno with the file and the problem in why.
 */
int vc_corpus_load(const char *src_root, const char *build_root, struct vc_corpus *corpus, char *why,
		   size_t why_len);
void vc_corpus_free(struct vc_corpus *corpus);

/* Runs bj_verify on one case; the message (err.msg) goes to msg. Returns bj_verify's result. */
int vc_verify(const struct vc_case *c, enum bj_verifier_policy policy, uint32_t log_level, char *log,
	      size_t log_size, char *msg, size_t msg_len, struct bj_verifier_stats *stats);

/* Name of a program type in corpus headers and tables. */
const char *vc_type_name(enum bj_prog_type type);

#endif
