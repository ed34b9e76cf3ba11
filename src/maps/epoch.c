/* SPDX-License-Identifier: Apache-2.0 */
#include "maps/epoch.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Classic three-epoch scheme. A thread inside a section publishes the global epoch it saw; the global
 * epoch advances only when every active thread has seen the current one, so an object retired at epoch e
 * is unreachable once the global epoch reaches e + 2.
 */
struct epoch_thread {
	_Atomic uint64_t seen; /* 0 = outside any section, else the epoch seen at entry */
	unsigned depth;
	_Atomic bool in_use;
	struct epoch_thread *next;
};

struct limbo {
	void *ptr;
	void *owner;
	bj_epoch_free_fn free_fn;
	uint64_t epoch;
	struct limbo *next;
};

static struct {
	_Atomic uint64_t epoch;
	_Atomic(struct epoch_thread *) threads;
	pthread_mutex_t lock; /* guards limbo */
	struct limbo *limbo, *limbo_tail; /* oldest first: epochs never decrease along the list */
	unsigned n_limbo;
	pthread_key_t key;
	pthread_once_t once;
} dom = { .epoch = 2, .lock = PTHREAD_MUTEX_INITIALIZER, .once = PTHREAD_ONCE_INIT };

static _Thread_local struct epoch_thread *self;

static void thread_gone(void *p)
{
	struct epoch_thread *t = p;

	atomic_store(&t->seen, 0);
	atomic_store(&t->in_use, false);
}

static void init_key(void)
{
	pthread_key_create(&dom.key, thread_gone);
}

static struct epoch_thread *register_thread(void)
{
	struct epoch_thread *t;

	pthread_once(&dom.once, init_key);
	/* Records of exited threads are reused, so the list only grows to the peak thread count. */
	for (t = atomic_load(&dom.threads); t; t = t->next) {
		bool expect = false;
		if (atomic_compare_exchange_strong(&t->in_use, &expect, true))
			goto got;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	atomic_store(&t->in_use, true);
	t->next = atomic_load(&dom.threads);
	while (!atomic_compare_exchange_weak(&dom.threads, &t->next, t))
		;
got:
	t->depth = 0;
	pthread_setspecific(dom.key, t);
	self = t;
	return t;
}

void bj_epoch_enter(void)
{
	struct epoch_thread *t = self ? self : register_thread();

	if (t->depth++ == 0) {
		/* seq_cst: the store must be visible before any map pointer is read. */
		uint64_t e = atomic_load(&dom.epoch);
		atomic_store(&t->seen, e);
		while ((e = atomic_load(&dom.epoch)) != atomic_load(&t->seen))
			atomic_store(&t->seen, e);
	}
}

void bj_epoch_exit(void)
{
	struct epoch_thread *t = self;

	if (t && --t->depth == 0)
		atomic_store_explicit(&t->seen, 0, memory_order_release);
}

static bool try_advance(void)
{
	uint64_t e = atomic_load(&dom.epoch);

	for (struct epoch_thread *t = atomic_load(&dom.threads); t; t = t->next) {
		uint64_t s = atomic_load(&t->seen);
		if (s && s != e)
			return false;
	}
	return atomic_compare_exchange_strong(&dom.epoch, &e, e + 1);
}

/* Detaches the limbo entries that are safe to free (a prefix of the list); the caller frees them. */
static struct limbo *collect_safe(uint64_t epoch)
{
	struct limbo *safe = dom.limbo, *last = NULL;

	for (struct limbo *l = dom.limbo; l && l->epoch + 2 <= epoch; l = l->next) {
		last = l;
		dom.n_limbo--;
	}
	if (!last)
		return NULL;
	dom.limbo = last->next;
	if (!dom.limbo)
		dom.limbo_tail = NULL;
	last->next = NULL;
	return safe;
}

static bool free_list(struct limbo *l)
{
	bool any = l != NULL;

	while (l) {
		struct limbo *next = l->next;
		l->free_fn(l->ptr, l->owner);
		free(l);
		l = next;
	}
	return any;
}

bool bj_epoch_reclaim(void)
{
	struct limbo *safe;

	try_advance();
	pthread_mutex_lock(&dom.lock);
	safe = collect_safe(atomic_load(&dom.epoch));
	pthread_mutex_unlock(&dom.lock);
	return free_list(safe);
}

void bj_epoch_retire(void *ptr, void *owner, bj_epoch_free_fn free_fn)
{
	struct limbo *l = malloc(sizeof(*l));
	bool busy;

	if (!l)
		abort();
	*l = (struct limbo){ ptr, owner, free_fn, 0, NULL };
	pthread_mutex_lock(&dom.lock);
	l->epoch = atomic_load(&dom.epoch);
	if (dom.limbo_tail)
		dom.limbo_tail->next = l;
	else
		dom.limbo = l;
	dom.limbo_tail = l;
	busy = ++dom.n_limbo % 64 == 0;
	pthread_mutex_unlock(&dom.lock);
	if (busy)
		bj_epoch_reclaim();
}

void bj_epoch_forget(void *owner)
{
	struct limbo *mine = NULL, **pp;

	pthread_mutex_lock(&dom.lock);
	dom.limbo_tail = NULL;
	for (pp = &dom.limbo; *pp;) {
		struct limbo *l = *pp;
		if (l->owner == owner) {
			*pp = l->next;
			l->next = mine;
			mine = l;
			dom.n_limbo--;
		} else {
			dom.limbo_tail = l;
			pp = &l->next;
		}
	}
	pthread_mutex_unlock(&dom.lock);
	free_list(mine);
}
