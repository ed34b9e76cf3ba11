/* SPDX-License-Identifier: Apache-2.0 */
/* Opens arbitrary bytes as a BPF object and walks everything the loader exposes. */
#include <bpfjet/object.h>
#include <stddef.h>
#include <stdint.h>

static uint64_t walk(struct bj_object *obj)
{
	uint64_t acc = 0;

	for (size_t i = 0; i < bj_object__prog_count(obj); i++) {
		const struct bj_program *p = bj_object__prog(obj, i);
		size_t n, nl;
		const struct bj_insn *in = bj_program__insns(p, &n);
		const struct bj_line_info *li = bj_program__line_info(p, &nl);
		for (size_t k = 0; k < n; k++)
			acc += (uint64_t)in[k].imm;
		for (size_t k = 0; k < nl; k++)
			acc += li[k].line + li[k].file[0] + li[k].text[0];
		struct bj_error err;
		acc += (uint64_t)bj_insns_validate(in, n, &err);
	}
	for (size_t i = 0; i < bj_object__map_count(obj); i++) {
		struct bj_map_spec *m = bj_object__map(obj, i);
		size_t sz, ns;
		const uint8_t *init = bj_map_spec__initial_value(m, &sz);
		for (size_t k = 0; k < sz; k++)
			acc += init[k];
		bj_map_spec__init_slots(m, &ns);
		acc += ns + bj_map_spec__value_size(m) + (bj_map_spec__inner(m) != NULL);
	}
	return acc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bj_object *obj;
	struct bj_error err;
	static volatile uint64_t sink;

	if (bj_object__open_mem(data, size, NULL, &obj, &err) == 0) {
		sink = walk(obj);
		bj_object__close(obj);
	}
	(void)sink;
	return 0;
}
