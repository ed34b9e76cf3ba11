/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Random attach/detach/update/call sequences against a model: a refcounted list of programs in attach order
 * of which the first `capacity` are reached directly (for HOT, no more than its chain of 4: calls go through
 * the entry, which does not sample, so the chain stays in attach order). Input: byte 0 picks the capacity
 * (1..8) and the layout; then each byte pair is an operation (low 2 bits of the first) on program (second % N_PROGS).
 */
#include <errno.h>
#include <stdlib.h>

#include <bpfjet/dispatcher.h>

#include "dispatcher/synth.h"

#define N_PROGS 24

struct model {
	size_t order[N_PROGS]; /* attached programs, first attach first */
	unsigned users[N_PROGS];
	size_t n;
	unsigned capacity;
	bool hot;
};

static void model_add(struct model *m, size_t p)
{
	if (m->users[p]++ == 0)
		m->order[m->n++] = p;
}

static void model_drop(struct model *m, size_t p)
{
	if (--m->users[p])
		return;
	for (size_t i = 0; i < m->n; i++)
		if (m->order[i] == p) {
			memmove(&m->order[i], &m->order[i + 1], (m->n - i - 1) * sizeof(m->order[0]));
			break;
		}
	m->n--;
}

static bool model_direct(const struct model *m, size_t p)
{
	for (size_t i = 0; i < m->n && i < m->capacity; i++)
		if (m->order[i] == p)
			return true;
	return false;
}

static struct bj_synth progs;

static void check(struct bj_dispatcher *d, const struct model *m, size_t p, uint64_t r2)
{
	void *r1 = (void *)(uintptr_t)(r2 * 31);
	size_t n_direct;

	uint64_t got;

	if (m->hot) {
		bj_dispatcher_read_lock();
		got = bj_dispatcher__entry(d)(r1, r2, NULL, bj_synth_prog(&progs, p));
		bj_dispatcher_read_unlock();
	} else {
		got = bj_dispatcher__call(d, r1, r2, NULL, bj_synth_prog(&progs, p));
	}
	if (got != bj_synth_expect(p, r1, r2, NULL))
		abort();
	if (bj_dispatcher__is_direct(d, bj_synth_prog(&progs, p)) != model_direct(m, p))
		abort();
	if (bj_dispatcher__n_progs(d, &n_direct) != m->n || n_direct != (m->n < m->capacity ? m->n : m->capacity))
		abort();
}

static void step(struct bj_dispatcher *d, struct model *m, uint8_t op, size_t p, size_t q)
{
	bj_prog_fn fp = bj_synth_prog(&progs, p), fq = bj_synth_prog(&progs, q);

	switch (op & 3) {
	case 0:
		if (bj_dispatcher__attach(d, fp))
			abort();
		model_add(m, p);
		break;
	case 1:
		if (bj_dispatcher__detach(d, fp) != (m->users[p] ? 0 : -ENOENT))
			abort();
		if (m->users[p])
			model_drop(m, p);
		break;
	case 2:
		if (bj_dispatcher__update(d, fp, fq) != (m->users[p] || p == q ? 0 : -ENOENT))
			abort();
		if (m->users[p] && p != q) {
			model_drop(m, p);
			model_add(m, q);
		}
		break;
	default:
		if (bj_dispatcher__relayout(d))
			abort();
		break;
	}
	check(d, m, p, (uint64_t)op << 8 | q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct model m = { 0 };
	struct bj_dispatcher *d;

	if (!progs.n && bj_synth_create(&progs, N_PROGS, bj_dispatcher_code_hint()))
		abort();
	if (size < 1)
		return 0;
	m.capacity = 1 + data[0] % 8;
	m.hot = (data[0] >> 5) / 3 % 2;
	BJ_OPTS(bj_dispatcher_opts, opts, .capacity = m.capacity, .linear_max = 1 + (data[0] >> 3) % 4,
		.cmp = (enum bj_dispatcher_cmp)(1 + (data[0] >> 5) % 3),
		.layout = m.hot ? BJ_DISPATCHER_LAYOUT_HOT : BJ_DISPATCHER_LAYOUT_TREE);
	if (m.hot && m.capacity > BJ_DISPATCHER_DEFAULT_HOT)
		m.capacity = BJ_DISPATCHER_DEFAULT_HOT;
	if (bj_dispatcher__create(&opts, &d))
		abort();
	for (size_t i = 1; i + 1 < size; i += 2)
		step(d, &m, data[i], data[i + 1] % N_PROGS, (data[i] >> 2) % N_PROGS);
	for (size_t p = 0; p < N_PROGS; p++)
		check(d, &m, p, p);
	bj_dispatcher__destroy(d);
	return 0;
}
