/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Read-side sections and grace periods for live code patching.
 *
 * Each thread that calls through a dispatcher owns a counter, odd while it is inside a section. A reader only
 * stores to its own cache line (no fence, no atomic read-modify-write); the updater makes those plain stores
 * ordered by a process-wide barrier (membarrier, which also makes every thread re-fetch patched code), then
 * waits for each counter that was odd to change. After that no thread can still be inside code that the
 * update replaced, nor inside a program it detached.
 *
 * The registry of counters is process-wide on purpose: the updater must find every thread, and threads may
 * call through many dispatchers.
 */
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dispatcher/dispatcher_int.h"

struct reader {
	_Atomic uint64_t ctr; /* odd: inside a section */
	unsigned depth;
	bool registered;
	struct reader *next, **pprev;
} __attribute__((aligned(64)));

static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static struct reader *readers;
static pthread_key_t reader_key;
static pthread_once_t reader_key_once = PTHREAD_ONCE_INIT;
static __thread struct reader self __attribute__((tls_model("initial-exec")));

static void reader_unregister(void *arg)
{
	struct reader *r = arg;

	pthread_mutex_lock(&readers_lock);
	*r->pprev = r->next;
	if (r->next)
		r->next->pprev = r->pprev;
	r->registered = false;
	pthread_mutex_unlock(&readers_lock);
}

static void reader_key_create(void)
{
	if (pthread_key_create(&reader_key, reader_unregister))
		reader_key = (pthread_key_t)-1;
}

static __attribute__((noinline)) void reader_register(void)
{
	pthread_once(&reader_key_once, reader_key_create);
	pthread_mutex_lock(&readers_lock);
	self.next = readers;
	self.pprev = &readers;
	if (readers)
		readers->pprev = &self.next;
	readers = &self;
	self.registered = true;
	pthread_mutex_unlock(&readers_lock);
	if (reader_key != (pthread_key_t)-1)
		pthread_setspecific(reader_key, &self);
}

void bj_dispatcher_read_lock(void)
{
	if (BJ_UNLIKELY(!self.registered))
		reader_register();
	if (self.depth++ == 0)
		atomic_store_explicit(&self.ctr, atomic_load_explicit(&self.ctr, memory_order_relaxed) + 1,
				      memory_order_relaxed);
	atomic_signal_fence(memory_order_seq_cst);
}

void bj_dispatcher_read_unlock(void)
{
	atomic_signal_fence(memory_order_seq_cst);
	if (--self.depth == 0)
		atomic_store_explicit(&self.ctr, atomic_load_explicit(&self.ctr, memory_order_relaxed) + 1,
				      memory_order_release);
}

bool bj_in_read_section(void)
{
	return self.depth > 0;
}

enum barrier_kind { BARRIER_SYNC_CORE, BARRIER_EXPEDITED, BARRIER_MPROTECT };

static enum barrier_kind barrier_kind;
static void *barrier_page;
static pthread_once_t barrier_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t barrier_lock = PTHREAD_MUTEX_INITIALIZER;

static long membarrier(int cmd)
{
	return syscall(__NR_membarrier, cmd, 0, 0);
}

static void barrier_init(void)
{
	long mask = membarrier(MEMBARRIER_CMD_QUERY);

	if (mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) &&
	    membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
		barrier_kind = BARRIER_SYNC_CORE;
	else if (mask > 0 && (mask & MEMBARRIER_CMD_PRIVATE_EXPEDITED) &&
		 membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0)
		barrier_kind = BARRIER_EXPEDITED;
	else
		barrier_kind = BARRIER_MPROTECT;
	if (barrier_kind == BARRIER_MPROTECT) {
		barrier_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (barrier_page == MAP_FAILED)
			barrier_page = NULL;
	}
}

/* Without membarrier: taking write access away from a touched page shoots down its TLB entry on every CPU
 * running this process, and the interrupt is a full barrier there. */
static void barrier_by_mprotect(void)
{
	pthread_mutex_lock(&barrier_lock);
	if (barrier_page) {
		*(volatile char *)barrier_page = 1;
		mprotect(barrier_page, 4096, PROT_READ);
		mprotect(barrier_page, 4096, PROT_READ | PROT_WRITE);
	}
	pthread_mutex_unlock(&barrier_lock);
}

void bj_sync_all_cores(void)
{
	pthread_once(&barrier_once, barrier_init);
	atomic_thread_fence(memory_order_seq_cst);
	switch (barrier_kind) {
	case BARRIER_SYNC_CORE:
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0)
			return;
		break;
	case BARRIER_EXPEDITED:
		if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0)
			return;
		break;
	case BARRIER_MPROTECT:
		break;
	}
	barrier_by_mprotect();
}

static void wait_for_change(struct reader *r, uint64_t seen)
{
	for (unsigned spins = 0; atomic_load_explicit(&r->ctr, memory_order_acquire) == seen; spins++) {
		if (spins < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
	}
}

int bj_synchronize(void)
{
	if (bj_in_read_section())
		return -EDEADLK;
	bj_sync_all_cores();
	pthread_mutex_lock(&readers_lock);
	for (struct reader *r = readers; r; r = r->next) {
		uint64_t v = atomic_load_explicit(&r->ctr, memory_order_acquire);

		if (v & 1)
			wait_for_change(r, v);
	}
	pthread_mutex_unlock(&readers_lock);
	return 0;
}
