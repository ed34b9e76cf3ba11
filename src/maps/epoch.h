/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Epoch-based reclamation. Lookups never lock, so memory a reader may still hold (a removed hash element, a
 * replaced inner map) is handed to bj_epoch_retire and freed only once every thread that was inside an
 * epoch section has left it.
 *
 * The domain is process-wide on purpose: a program reaches many maps, and a worker announces that it holds
 * no pointers once per batch for all of them.
 *
 * XDP workers call bj_epoch_enter before running a batch of packets and bj_epoch_exit after it; a pointer
 * obtained from a map inside the section stays valid until the exit. Sections nest.
 */
#ifndef BJ_MAPS_EPOCH_H
#define BJ_MAPS_EPOCH_H

#include <stdbool.h>

typedef void (*bj_epoch_free_fn)(void *ptr, void *owner);

void bj_epoch_enter(void);
void bj_epoch_exit(void);
/* Calls free_fn(ptr, owner) once no thread can still see ptr. Callable inside or outside a section. */
void bj_epoch_retire(void *ptr, void *owner, bj_epoch_free_fn free_fn);
/* Tries to advance the epoch and frees what became safe; returns true if something was freed. */
bool bj_epoch_reclaim(void);
/* Frees at once every retired object of `owner` (its owner is going away and no reader can remain). */
void bj_epoch_forget(void *owner);

#endif
