/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The dispatcher object: attached programs (refcounted, in attach order), and an image of three parts in one
 * dual mapping: an entry stub `jmp rel32` and two halves. An update writes the idle half, swings the stub to
 * it with one 8-byte compare-and-swap (failing with -EBUSY if the stub is not what it should be), and waits
 * for a grace period, after which the other half is idle and may be rewritten by the next update.
 *
 * The HOT layout's order comes from samples: a bucket per program address (hashed) counts, without atomic
 * read-modify-write, one call in SAMPLE_PERIOD per thread. After RELAYOUT_SAMPLES samples the next call
 * through bj_dispatcher__call() that finds the lock free and the rate limit passed re-lays out (only if the
 * chain changes) and halves the counts, so the chain follows a shifting load.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "dispatcher/dispatcher_int.h"

#define STUB_SIZE 64u
#define DEFAULT_LINEAR_MAX 4u
#define DEFAULT_RELAYOUT_MS 100u
#define INT3 0xcc
#define SAMPLE_PERIOD 64u
#define SAMPLE_BITS 10
#define RELAYOUT_SAMPLES 1024u
/* A program joins the chain with at least 1/HOT_SHARE of the samples: a compare taken less often than that
 * is a poorly predicted branch in front of the indirect jump (measured: 4-16 uniformly random targets through
 * a chain of 4 cost 1.3-1.7x an indirect call; with the threshold the chain is empty and they cost the same). */
#define HOT_SHARE 5u
/* Below this many samples the counts say nothing yet, and the chain takes programs in attach order. */
#define MIN_SAMPLES 64u

struct slot {
	uint64_t prog;
	unsigned users;
	unsigned priority;
};

struct bj_dispatcher {
	pthread_mutex_t lock;
	struct bj_dualmap map;
	size_t half_size;
	unsigned active; /* the half the stub jumps to */
	_Atomic(bj_dispatch_fn) current; /* that half, for callers inside a read-side section */
	size_t image_len;
	struct bj_dispatch_layout lay;
	enum bj_dispatcher_layout layout;
	unsigned capacity; /* programs reached directly at most (the chain length for HOT) */
	bool auto_relayout;
	uint64_t relayout_ns, next_relayout_ns;
	_Atomic uint32_t hits[1u << SAMPLE_BITS];
	_Atomic uint32_t samples;
	_Atomic bool relayout_due;
	struct slot *progs; /* attach order: the first `capacity` eligible ones are reached directly */
	size_t n_progs, cap_progs;
	uint64_t *direct, *next_direct; /* TREE: sorted; HOT: hottest first */
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
	unsigned hot = BJ_OPTS_GET(opts, hot, 0u), relayout_ms = BJ_OPTS_GET(opts, relayout_ms, 0u);

	d->capacity = BJ_OPTS_GET(opts, capacity, 0u);
	d->lay.linear_max = BJ_OPTS_GET(opts, linear_max, 0u);
	d->lay.cmp = BJ_OPTS_GET(opts, cmp, BJ_DISPATCHER_CMP_DEFAULT);
	d->layout = BJ_OPTS_GET(opts, layout, BJ_DISPATCHER_LAYOUT_DEFAULT);
	d->auto_relayout = !BJ_OPTS_GET(opts, manual_relayout, false);
	if (d->layout == BJ_DISPATCHER_LAYOUT_DEFAULT)
		d->layout = BJ_DISPATCHER_LAYOUT_HOT;
	if (!d->capacity)
		d->capacity = BJ_DISPATCHER_DEFAULT_CAPACITY;
	if (!d->lay.linear_max)
		d->lay.linear_max = DEFAULT_LINEAR_MAX;
	if (!hot)
		hot = BJ_DISPATCHER_DEFAULT_HOT;
	d->relayout_ns = (uint64_t)(relayout_ms ? relayout_ms : DEFAULT_RELAYOUT_MS) * 1000000u;
	/* A chain needs no bias register: a RIP-relative table compare is one instruction with no setup. */
	if (d->lay.cmp == BJ_DISPATCHER_CMP_DEFAULT)
		d->lay.cmp = d->layout == BJ_DISPATCHER_LAYOUT_HOT ? BJ_DISPATCHER_CMP_TABLE : BJ_DISPATCHER_CMP_BIAS;
	if (d->capacity > BJ_DISPATCHER_MAX_CAPACITY || d->lay.cmp > BJ_DISPATCHER_CMP_TABLE ||
	    d->layout > BJ_DISPATCHER_LAYOUT_TREE || hot > BJ_DISPATCHER_MAX_HOT)
		return -EINVAL;
	d->lay.chain = d->layout == BJ_DISPATCHER_LAYOUT_HOT;
	if (d->lay.chain && hot < d->capacity)
		d->capacity = hot;
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

static unsigned bucket(uint64_t prog)
{
	return (unsigned)((prog >> 4) * 0x9e3779b97f4a7c15ull >> (64 - SAMPLE_BITS));
}

static uint32_t hits_of(struct bj_dispatcher *d, uint64_t prog)
{
	return atomic_load_explicit(&d->hits[bucket(prog)], memory_order_relaxed);
}

/* Whether slot a goes before slot b in the hot chain: priority, then samples, then attach order. */
static bool hotter(struct bj_dispatcher *d, const struct slot *a, const struct slot *b)
{
	uint32_t ha, hb;

	if (a->priority != b->priority)
		return a->priority > b->priority;
	ha = hits_of(d, a->prog), hb = hits_of(d, b->prog);
	return ha != hb ? ha > hb : a < b;
}

static bool chosen(const struct bj_dispatcher *d, size_t n, uint64_t prog)
{
	for (size_t i = 0; i < n; i++)
		if (d->next_direct[i] == prog)
			return true;
	return false;
}

static uint32_t min_hot_hits(struct bj_dispatcher *d)
{
	uint64_t total = 0;

	for (size_t i = 0; i < BJ_ARRAY_SIZE(d->hits); i++)
		total += atomic_load_explicit(&d->hits[i], memory_order_relaxed);
	return total < MIN_SAMPLES ? 0 : (uint32_t)(total / HOT_SHARE);
}

/* Up to `capacity` (at most 16) hot eligible programs, hottest first: those with a priority, and those with
 * a large enough share of the samples. */
static size_t collect_hot(struct bj_dispatcher *d)
{
	uint32_t min_hits = min_hot_hits(d);
	size_t n = 0;

	for (; n < d->capacity; n++) {
		const struct slot *best = NULL;

		for (size_t i = 0; i < d->n_progs; i++) {
			const struct slot *s = &d->progs[i];

			if (eligible(d, s->prog) && !chosen(d, n, s->prog) &&
			    (s->priority || hits_of(d, s->prog) >= min_hits) && (!best || hotter(d, s, best)))
				best = s;
		}
		if (!best)
			break;
		d->next_direct[n] = best->prog;
	}
	return n;
}

/* The programs the image should reach directly, in d->next_direct. */
static size_t collect_direct(struct bj_dispatcher *d)
{
	size_t n = 0;

	if (d->lay.chain)
		return collect_hot(d);
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
		d->progs[d->n_progs++] = (struct slot){ (uint64_t)prog, 1, 0 };
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

/* Per thread rather than per dispatcher: a thread's calls are spread evenly over the dispatchers it uses. */
static __thread unsigned sample_countdown __attribute__((tls_model("initial-exec")));

static void record_sample(struct bj_dispatcher *d, uint64_t prog)
{
	_Atomic uint32_t *h = &d->hits[bucket(prog)];
	uint32_t n = atomic_load_explicit(&d->samples, memory_order_relaxed) + 1;

	/* Lost updates between threads only blur the counts; an atomic increment would bounce the line. */
	atomic_store_explicit(h, atomic_load_explicit(h, memory_order_relaxed) + 1, memory_order_relaxed);
	atomic_store_explicit(&d->samples, n, memory_order_relaxed);
	if (n >= RELAYOUT_SAMPLES && d->auto_relayout && d->lay.chain)
		atomic_store_explicit(&d->relayout_due, true, memory_order_relaxed);
}

static inline void sample(struct bj_dispatcher *d, bj_prog_fn target)
{
	if (BJ_LIKELY(sample_countdown--))
		return;
	sample_countdown = SAMPLE_PERIOD - 1;
	record_sample(d, (uint64_t)target);
}

void bj_dispatcher__sample(struct bj_dispatcher *d, bj_prog_fn target)
{
	sample(d, target);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void decay_samples(struct bj_dispatcher *d)
{
	for (size_t i = 0; i < BJ_ARRAY_SIZE(d->hits); i++)
		atomic_store_explicit(&d->hits[i], atomic_load_explicit(&d->hits[i], memory_order_relaxed) / 2,
				      memory_order_relaxed);
	atomic_store_explicit(&d->samples, 0, memory_order_relaxed);
	atomic_store_explicit(&d->relayout_due, false, memory_order_relaxed);
}

static int relayout_locked(struct bj_dispatcher *d)
{
	int err = d->lay.chain ? regenerate(d) : 0;

	decay_samples(d);
	return err;
}

/* Called outside any read-side section; a busy lock or the rate limit only postpones the relayout by
 * another RELAYOUT_SAMPLES samples, so the check stays off the common path. */
static void relayout_if_due(struct bj_dispatcher *d)
{
	uint64_t now;

	if (pthread_mutex_trylock(&d->lock))
		return;
	now = now_ns();
	if (now < d->next_relayout_ns) {
		atomic_store_explicit(&d->samples, 0, memory_order_relaxed);
		atomic_store_explicit(&d->relayout_due, false, memory_order_relaxed);
	} else {
		relayout_locked(d);
		d->next_relayout_ns = now + d->relayout_ns;
	}
	pthread_mutex_unlock(&d->lock);
}

int bj_dispatcher__relayout(struct bj_dispatcher *d)
{
	int err;

	if (!d)
		return -EINVAL;
	if (bj_in_read_section())
		return -EDEADLK;
	pthread_mutex_lock(&d->lock);
	err = relayout_locked(d);
	pthread_mutex_unlock(&d->lock);
	return err;
}

int bj_dispatcher__set_priority(struct bj_dispatcher *d, bj_prog_fn prog, unsigned priority)
{
	struct slot *s;
	int err = -ENOENT;

	if (!d || !prog)
		return -EINVAL;
	if (bj_in_read_section())
		return -EDEADLK;
	pthread_mutex_lock(&d->lock);
	s = find(d, prog);
	if (s) {
		s->priority = priority;
		err = d->lay.chain ? regenerate(d) : 0;
	}
	pthread_mutex_unlock(&d->lock);
	return err;
}

uint64_t bj_dispatcher__call(struct bj_dispatcher *d, void *r1, uint64_t r2, struct bj_run *run, bj_prog_fn target)
{
	uint64_t ret;

	bj_dispatcher_read_lock();
	ret = ((bj_dispatch_fn)(void *)d->map.rx)(r1, r2, run, target);
	bj_dispatcher_read_unlock();
	sample(d, target);
	if (BJ_UNLIKELY(atomic_load_explicit(&d->relayout_due, memory_order_relaxed)) && !bj_in_read_section())
		relayout_if_due(d);
	return ret;
}

bool bj_dispatcher__is_direct(struct bj_dispatcher *d, bj_prog_fn prog)
{
	bool found = false;

	pthread_mutex_lock(&d->lock);
	for (size_t i = 0; i < d->n_direct && !found; i++)
		found = d->direct[i] == (uint64_t)prog;
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
