/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Static calls: the trampoline page laid out by BJ_DEFINE_XDP_CALL is swapped, on its first update, for a
 * dual mapping of the same bytes; from then on its leading `jmp rel32` is rewritten through the writable alias
 * with one 8-byte compare-and-swap, which also checks the bytes being replaced (as text poking does).
 */
#include <errno.h>
#include <stdatomic.h>

#include "dispatcher/dispatcher_int.h"

enum {
	TRAMP_NOP = 16,  /* xor eax, eax; ret */
	TRAMP_FAR = 32,  /* jmp [rip + slot] */
	TRAMP_SLOT = 48, /* the far program */
};

static uint64_t tramp_word(uint64_t tramp, uint64_t dest)
{
	uint32_t rel = (uint32_t)(dest - (tramp + 5));

	return 0xe9 | (uint64_t)rel << 8 | 0xccccccull << 40; /* jmp rel32; int3 x3 */
}

/* The trampoline's bytes are read through the writable alias once there is one: only this module writes
 * them, under sc->lock, and sanitizers then see ordinary memory. */
static const uint8_t *tramp_bytes(const struct bj_static_call *sc)
{
	return sc->rw ? sc->rw : sc->tramp;
}

static uint64_t tramp_dest(const struct bj_static_call *sc)
{
	uint64_t word;
	int32_t rel;

	memcpy(&word, tramp_bytes(sc), 8);
	rel = (int32_t)(uint32_t)(word >> 8);
	return (word & 0xff) == 0xe9 ? (uint64_t)sc->tramp + 5 + (uint64_t)(int64_t)rel : 0;
}

static bj_prog_fn decode_target(const struct bj_static_call *sc, bool *direct)
{
	uint64_t tramp = (uint64_t)sc->tramp, dest = tramp_dest(sc);
	bool is_direct = false;
	uint64_t target;

	if (dest == tramp + TRAMP_NOP) {
		target = 0;
	} else if (dest == tramp + TRAMP_FAR) {
		memcpy(&target, tramp_bytes(sc) + TRAMP_SLOT, 8);
	} else {
		target = dest;
		is_direct = true;
	}
	if (direct)
		*direct = is_direct;
	return (bj_prog_fn)(void *)(uintptr_t)target;
}

bj_prog_fn bj_static_call__target(struct bj_static_call *sc, bool *direct)
{
	bj_prog_fn t;

	pthread_mutex_lock(&sc->lock);
	t = decode_target(sc, direct);
	pthread_mutex_unlock(&sc->lock);
	return t;
}

static int adopt(struct bj_static_call *sc)
{
	struct bj_dualmap m;
	int err;

	if (sc->rw)
		return 0;
	err = bj_dualmap_adopt_page(sc->tramp, &m);
	if (err)
		return err;
	sc->rw = m.rw;
	return 0;
}

int bj_static_call__update(struct bj_static_call *sc, bj_prog_fn from, bj_prog_fn to)
{
	uint64_t tramp = (uint64_t)sc->tramp, dest = (uint64_t)to, old;
	int err;

	pthread_mutex_lock(&sc->lock);
	err = adopt(sc);
	if (err)
		goto out;
	err = -EBUSY;
	if (decode_target(sc, NULL) != from || !tramp_dest(sc))
		goto out;
	if (!to) {
		dest = tramp + TRAMP_NOP;
	} else if (!bj_rel32_ok(tramp + 5, dest)) {
		/* The slot is read by a data load, so one aligned store is enough even while the far jump runs. */
		atomic_store((_Atomic uint64_t *)(sc->rw + TRAMP_SLOT), dest);
		dest = tramp + TRAMP_FAR;
	}
	memcpy(&old, sc->rw, 8);
	if (!atomic_compare_exchange_strong((_Atomic uint64_t *)sc->rw, &old, tramp_word(tramp, dest)))
		goto out;
	bj_sync_all_cores();
	err = 0;
out:
	pthread_mutex_unlock(&sc->lock);
	return err;
}
