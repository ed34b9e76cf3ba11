/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dispatcher object: attached programs (refcounted, in attach order), and an image of three parts in one
 * dual mapping: an entry stub `jmp rel32` and two halves. An update writes the idle half, swings the stub to
 * it with one 8-byte compare-and-swap (failing with -EBUSY if the stub is not what it should be), and waits
 * for a grace period, after which the other half is idle and may be rewritten by the next update.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "dispatcher/dispatcher_int.h"

#define STUB_SIZE 64u
#define DEFAULT_LINEAR_MAX 4u
#define INT3 0xcc

struct slot {
	uint64_t prog;
	unsigned users;
};

struct bj_dispatcher {
	pthread_mutex_t lock;
	struct bj_dualmap map;
	size_t half_size;
	unsigned active; /* the half the stub jumps to */
	_Atomic(bj_dispatch_fn) current; /* that half, for callers inside a read-side section */
	size_t image_len;
	struct bj_dispatch_layout lay;
	unsigned capacity;
	struct slot *progs; /* attach order: the first `capacity` eligible ones are reached directly */
	size_t n_progs, cap_progs;
	uint64_t *direct, *next_direct; /* sorted */
	size_t n_direct;
};

static size_t half_off(const struct bj_dispatcher *d, unsigned half)
{
	return STUB_SIZE + half * d->half_size;
}

static uint64_t jmp_word(uint64_t at, uint64_t target)
{
	uint32_t rel = (uint32_t)(target - (at + 5));

	return 0xe9 | (uint64_t)rel << 8 | 0xccccccull << 40; /* jmp rel32; int3 x3 */
}

static int opts_to_layout(const struct bj_dispatcher_opts *opts, struct bj_dispatcher *d)
{
	if (!BJ_OPTS_VALID(opts, struct bj_dispatcher_opts))
		return -EINVAL;
	d->capacity = BJ_OPTS_GET(opts, capacity, 0u);
	d->lay.linear_max = BJ_OPTS_GET(opts, linear_max, 0u);
	d->lay.cmp = BJ_OPTS_GET(opts, cmp, BJ_DISPATCHER_CMP_DEFAULT);
	if (!d->capacity)
		d->capacity = BJ_DISPATCHER_DEFAULT_CAPACITY;
	if (!d->lay.linear_max)
		d->lay.linear_max = DEFAULT_LINEAR_MAX;
	if (d->lay.cmp == BJ_DISPATCHER_CMP_DEFAULT)
		d->lay.cmp = BJ_DISPATCHER_CMP_BIAS;
	if (d->capacity > BJ_DISPATCHER_MAX_CAPACITY ||
	    d->lay.cmp > BJ_DISPATCHER_CMP_TABLE)
		return -EINVAL;
	return 0;
}

/* Writes half `half` for `progs` and returns its length, or -errno. */
static long emit_half(struct bj_dispatcher *d, unsigned half, const uint64_t *progs, size_t n)
{
	size_t off = half_off(d, half);
	struct bj_emit e = { .buf = d->map.rw + off, .cap = d->half_size, .base = (uint64_t)d->map.rx + off };

	bj_emit_dispatch(&e, progs, n, &d->lay);
	if (e.err)
		return e.err;
	memset(e.buf + e.len, INT3, d->half_size - e.len);
	return (long)e.len;
}

int bj_dispatcher__create(const struct bj_dispatcher_opts *opts, struct bj_dispatcher **out)
{
	struct bj_dispatcher *d = calloc(1, sizeof(*d));
	long len;
	int err;

	if (!d)
		return -ENOMEM;
	err = opts_to_layout(opts, d);
	if (err)
		goto fail;
	d->half_size = (bj_dispatch_max_size(d->capacity, &d->lay) + 63) & ~(size_t)63;
	d->direct = calloc(d->capacity, sizeof(*d->direct));
	d->next_direct = calloc(d->capacity, sizeof(*d->next_direct));
	err = -ENOMEM;
	if (d->half_size == 0 || !d->direct || !d->next_direct)
		goto fail;
	err = bj_dualmap_create(STUB_SIZE + 2 * d->half_size, bj_dispatcher_code_hint(), &d->map);
	if (err)
		goto fail;
	memset(d->map.rw, INT3, d->map.size);
	len = emit_half(d, 0, NULL, 0);
	if (len < 0) {
		err = (int)len;
		goto fail;
	}
	d->image_len = (size_t)len;
	atomic_init(&d->current, (bj_dispatch_fn)(void *)(d->map.rx + half_off(d, 0)));
	*(uint64_t *)d->map.rw = jmp_word((uint64_t)d->map.rx, (uint64_t)d->map.rx + half_off(d, 0));
	pthread_mutex_init(&d->lock, NULL);
	*out = d;
	return 0;
fail:
	bj_dualmap_destroy(&d->map);
	free(d->direct);
	free(d->next_direct);
	free(d);
	return err;
}

void bj_dispatcher__destroy(struct bj_dispatcher *d)
{
	if (!d)
		return;
	bj_dualmap_destroy(&d->map);
	pthread_mutex_destroy(&d->lock);
	free(d->progs);
	free(d->direct);
	free(d->next_direct);
	free(d);
}

static bool eligible(const struct bj_dispatcher *d, uint64_t prog)
{
	return bj_dispatch_eligible((uint64_t)d->map.rx, d->map.size, prog, d->lay.cmp);
}

/* The programs the image should reach directly, sorted, in d->next_direct. */
static size_t collect_direct(struct bj_dispatcher *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n_progs && n < d->capacity; i++)
		if (eligible(d, d->progs[i].prog))
			d->next_direct[n++] = d->progs[i].prog;
	bj_dispatch_sort(d->next_direct, n);
	return n;
}

static int switch_stub(struct bj_dispatcher *d, unsigned from_half, unsigned to_half)
{
	uint64_t rx = (uint64_t)d->map.rx;
	uint64_t old = jmp_word(rx, rx + half_off(d, from_half));
	uint64_t new = jmp_word(rx, rx + half_off(d, to_half));

	if (!atomic_compare_exchange_strong((_Atomic uint64_t *)d->map.rw, &old, new))
		return -EBUSY;
	return 0;
}

/* Regenerates when the directly reached set changed. The idle half is free: the previous update waited. */
static int regenerate(struct bj_dispatcher *d)
{
	size_t n = collect_direct(d);
	unsigned next = d->active ^ 1;
	uint64_t *tmp;
	long len;
	int err;

	if (n == d->n_direct && !memcmp(d->direct, d->next_direct, n * sizeof(*d->direct)))
		return 0;
	len = emit_half(d, next, d->next_direct, n);
	if (len < 0)
		return (int)len;
	err = switch_stub(d, d->active, next);
	if (err)
		return err;
	atomic_store_explicit(&d->current, (bj_dispatch_fn)(void *)(d->map.rx + half_off(d, next)),
			      memory_order_release);
	d->active = next;
	d->image_len = (size_t)len;
	tmp = d->direct;
	d->direct = d->next_direct;
	d->next_direct = tmp;
	d->n_direct = n;
	return bj_synchronize();
}

static struct slot *find(struct bj_dispatcher *d, bj_prog_fn prog)
{
	for (size_t i = 0; i < d->n_progs; i++)
		if (d->progs[i].prog == (uint64_t)prog)
			return &d->progs[i];
	return NULL;
}

static int reserve(struct bj_dispatcher *d)
{
	size_t cap = d->cap_progs ? 2 * d->cap_progs : 16;
	struct slot *p;

	if (d->n_progs < d->cap_progs)
		return 0;
	p = realloc(d->progs, cap * sizeof(*p));
	if (!p)
		return -ENOMEM;
	d->progs = p;
	d->cap_progs = cap;
	return 0;
}

static void add_user(struct bj_dispatcher *d, bj_prog_fn prog)
{
	struct slot *s = find(d, prog);

	if (s)
		s->users++;
	else
		d->progs[d->n_progs++] = (struct slot){ (uint64_t)prog, 1 };
}

static void drop_user(struct bj_dispatcher *d, struct slot *s)
{
	if (--s->users)
		return;
	memmove(s, s + 1, (size_t)(d->progs + d->n_progs - (s + 1)) * sizeof(*s));
	d->n_progs--;
}

int bj_dispatcher__update(struct bj_dispatcher *d, bj_prog_fn from, bj_prog_fn to)
{
	struct slot *s = NULL;
	int err = 0;

	if (!d)
		return -EINVAL;
	if (bj_in_read_section())
		return -EDEADLK;
	if (from == to)
		return 0;
	pthread_mutex_lock(&d->lock);
	/* Before find(): growing the slot array moves it. */
	if (to && (err = reserve(d)))
		goto out;
	if (from && !(s = find(d, from))) {
		err = -ENOENT;
		goto out;
	}
	if (s)
		drop_user(d, s);
	if (to)
		add_user(d, to);
	err = regenerate(d);
out:
	pthread_mutex_unlock(&d->lock);
	return err;
}

int bj_dispatcher__attach(struct bj_dispatcher *d, bj_prog_fn prog)
{
	return prog ? bj_dispatcher__update(d, NULL, prog) : -EINVAL;
}

int bj_dispatcher__detach(struct bj_dispatcher *d, bj_prog_fn prog)
{
	return prog ? bj_dispatcher__update(d, prog, NULL) : -EINVAL;
}

bj_dispatch_fn bj_dispatcher__entry(const struct bj_dispatcher *d)
{
	return (bj_dispatch_fn)(void *)d->map.rx;
}

bj_dispatch_fn bj_dispatcher__current(struct bj_dispatcher *d)
{
	return atomic_load_explicit(&d->current, memory_order_acquire);
}

uint64_t bj_dispatcher__call(struct bj_dispatcher *d, void *r1, uint64_t r2, struct bj_run *run, bj_prog_fn target)
{
	uint64_t ret;

	bj_dispatcher_read_lock();
	ret = bj_dispatcher__entry(d)(r1, r2, run, target);
	bj_dispatcher_read_unlock();
	return ret;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

bool bj_dispatcher__is_direct(struct bj_dispatcher *d, bj_prog_fn prog)
{
	uint64_t key = (uint64_t)prog;
	bool found;

	pthread_mutex_lock(&d->lock);
	found = bsearch(&key, d->direct, d->n_direct, sizeof(key), cmp_u64) != NULL;
	pthread_mutex_unlock(&d->lock);
	return found;
}

size_t bj_dispatcher__n_progs(struct bj_dispatcher *d, size_t *n_direct)
{
	size_t n;

	pthread_mutex_lock(&d->lock);
	n = d->n_progs;
	if (n_direct)
		*n_direct = d->n_direct;
	pthread_mutex_unlock(&d->lock);
	return n;
}

const uint8_t *bj_dispatcher__image(struct bj_dispatcher *d, size_t *len)
{
	const uint8_t *p;

	pthread_mutex_lock(&d->lock);
	p = d->map.rx + half_off(d, d->active);
	if (len)
		*len = d->image_len;
	pthread_mutex_unlock(&d->lock);
	return p;
}

void *bj_dispatcher_code_hint(void)
{
	return (void *)(uintptr_t)bj_dispatcher_code_hint;
}
