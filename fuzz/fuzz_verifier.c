/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random bytes into the verifier: it must never crash, hang, leak or trip a sanitizer, must return one of
 * its documented errors, and must keep the log NUL-terminated inside its buffer.
 *
 * Input: a 3-byte header, up to 3 map descriptions of 4 bytes, then instructions.
 *   byte 0: program type (bits 0-1), attach (bits 2-3), strict policy (bit 4), log level (bits 5-6)
 *   byte 1: mem_size (MEM programs)
 *   byte 2: number of maps (bits 0-1), log buffer size (bits 2-3: 0, 64, 512 or 4096 bytes)
 *   per map: type (index into map_types; bit 7: BPF_F_RDONLY_PROG), key size, value size, max entries
 * fuzz/seed_verifier.sh writes the corpus programs (tests/verifier/asm) in this format.
 */
#include <bpfjet/verifier.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define INSN_LIMIT 5000 /* most corpus programs fit; the rest reach the limit quickly, as inputs must */
#define LOG_CANARY 0xa5

/* enum bpf_map_type values the fuzzer picks from; the last is a map-in-map with an array inside. */
static const uint32_t map_types[] = { 1, 2, 3, 6, 27, 14, 9, 5, 12 };
#define ARRAY_OF_MAPS 12

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_maps(const uint8_t *p, unsigned n, struct bj_verifier_map *maps, struct bj_verifier_map *inner)
{
	*inner = (struct bj_verifier_map){ .type = 2, .key_size = 4, .value_size = 8, .max_entries = 4,
					   .spin_lock_off = -1 };
	for (unsigned i = 0; i < n; i++, p += 4) {
		maps[i] = (struct bj_verifier_map){
			.type = map_types[(p[0] & 0x7f) % (sizeof(map_types) / sizeof(map_types[0]))],
			.flags = p[0] & 0x80 ? 0x80u : 0,
			.key_size = p[1],
			.value_size = p[2],
			.max_entries = p[3],
			.spin_lock_off = -1,
		};
		if (maps[i].type == ARRAY_OF_MAPS)
			maps[i].inner = inner;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t log_sizes[] = { 0, 64, 512, 4096 };
	struct bj_verifier_map maps[3], inner;
	struct bj_verifier_stats stats;
	struct bj_error err;
	struct bj_insn *insns;
	unsigned n_maps;
	size_t log_size, n, head;
	char *log;
	int ret;

	if (size < 3)
		return 0;
	n_maps = data[2] & 3;
	head = 3 + 4 * (size_t)n_maps;
	if (size < head + sizeof(struct bj_insn))
		return 0;
	n = (size - head) / sizeof(struct bj_insn);
	if (n > 4096)
		return 0;
	read_maps(data + 3, n_maps, maps, &inner);
	log_size = log_sizes[(data[2] >> 2) & 3];
	insns = malloc(n * sizeof(*insns));
	log = malloc(log_size + 1);
	if (!insns || !log)
		abort();
	memcpy(insns, data + head, n * sizeof(*insns));
	memset(log, LOG_CANARY, log_size + 1);
	BJ_OPTS(bj_verifier_opts, opts, .type = (enum bj_prog_type)(data[0] & 3),
		.attach = (enum bj_attach)(((data[0] >> 2) & 3) % 3),
		.policy = (data[0] >> 4) & 1 ? BJ_VERIFIER_STRICT : BJ_VERIFIER_PRIVILEGED,
		.maps = maps, .n_maps = n_maps, .mem_size = data[1], .log_level = (data[0] >> 5) & 3,
		.log_buf = log_size ? log : NULL, .log_size = log_size, .insn_limit = INSN_LIMIT);
	ret = bj_verify(insns, n, &opts, &stats, &err);
	if (ret != 0 && ret != -EACCES && ret != -EPERM && ret != -E2BIG && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if ((uint8_t)log[log_size] != LOG_CANARY)
		abort(); /* wrote past the log buffer */
	if (log_size && opts.log_level >= 1 && opts.log_level <= 2 && !memchr(log, '\0', log_size))
		abort(); /* an unterminated log */
	free(log);
	free(insns);
	return 0;
}
