/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The Linux verifier as the oracle for the corpus: loads a corpus program with BPF_PROG_LOAD (as root) and
 * reports the verdict, the log and the kernel's own verification time.
 */
#ifndef BJ_VKERNEL_H
#define BJ_VKERNEL_H

#include "corpus.h"

/* 0 when programs can be loaded into the kernel, else -errno with the reason in why. */
int vk_available(char *why, size_t why_len);

struct vk_result {
	int ret;            /* 0 accepted, -errno rejected */
	char msg[VC_MSG_LEN]; /* rejected: the log's last line that is not a statistic */
	uint64_t verify_us; /* "verification time N usec" (log level BPF_LOG_STATS) */
	uint64_t insns_processed;
};

/*
 * Loads case c: asm programs get their declared maps (ld_imm64 src 5/6 become src 1/2 with the new maps'
 * fds), C objects go through libbpf with only this program enabled. The log (at least 64 KiB) receives
 * the kernel's log at log_level (0 = log only on rejection, at level 1). Returns 0 with *res filled,
 * -EOPNOTSUPP when the program type has no kernel equivalent, or another -errno when the load could not
 * be attempted.
 */
int vk_load(const struct vc_case *c, uint32_t log_level, char *log, size_t log_size, struct vk_result *res);

#endif
