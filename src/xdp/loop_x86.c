/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The native batch loop: a few dozen bytes of x86-64 placed next to the JIT-compiled program, calling it
 * directly once per frame. Against a loop in C it saves the indirect call, and it prefetches the next
 * frame's packet while the current one runs, which the rewritten BPF loop cannot express. For programs that
 * redirect it points the worker's cur_ctx at the frame before each call.
 *
 *   uint64_t loop(struct bj_xdp_slot *slots, uint64_t n, struct bj_run *run)   returns frames completed
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "jit/codemem.h"
#include "xdp/xdp_int.h"

struct bj_xdp_loop {
	struct bj_codemem mem;
	size_t len;
};

struct emit {
	uint8_t buf[256];
	size_t len;
};

static void bytes(struct emit *e, const void *b, size_t n)
{
	memcpy(e->buf + e->len, b, n);
	e->len += n;
}

static void u32le(struct emit *e, uint32_t v)
{
	bytes(e, &v, 4);
}

/* call target: rel32 when it reaches from `at` (the code's final address), else movabs r11 + call r11. */
static void emit_call(struct emit *e, const uint8_t *at, const void *target)
{
	int64_t rel = (int64_t)((uintptr_t)target - ((uintptr_t)at + e->len + 5));

	if (at && rel == (int32_t)rel) {
		bytes(e, "\xe8", 1);                         /* call rel32 */
		u32le(e, (uint32_t)(int32_t)rel);
	} else {
		uint64_t a = (uintptr_t)target;

		bytes(e, "\x49\xbb", 2);                     /* movabs r11, target */
		bytes(e, &a, 8);
		bytes(e, "\x41\xff\xd3", 3);                 /* call r11 */
	}
}

/* Writes the loop as it must be at address `at` (NULL: sizing pass, every call in its long form). */
static void emit_loop(struct emit *e, const uint8_t *at, void *entry, bool track)
{
	size_t loop, jz_done, jne_fault;
	int32_t rel;

	e->len = 0;
	bytes(e, "\x53\x41\x54\x41\x55\x41\x56\x41\x57", 9); /* push rbx, r12, r13, r14, r15: rsp 16-aligned */
	bytes(e, "\x48\x89\xfb", 3);                         /* mov rbx, rdi       slot */
	bytes(e, "\x49\x89\xf4", 3);                         /* mov r12, rsi       n */
	bytes(e, "\x49\x89\xd5", 3);                         /* mov r13, rdx       run */
	bytes(e, "\x45\x31\xf6", 3);                         /* xor r14d, r14d     i */
	bytes(e, "\x4d\x85\xe4", 3);                         /* test r12, r12 */
	bytes(e, "\x0f\x84", 2);                             /* jz done */
	jz_done = e->len;
	u32le(e, 0);
	loop = e->len;
	bytes(e, "\x8b\x43", 2);                             /* mov eax, [rbx + 32]   next slot's data */
	bytes(e, (uint8_t[]){ BJ_XDP_SLOT_SIZE }, 1);
	bytes(e, "\x0f\x18\x08", 3);                         /* prefetcht0 [rax] */
	if (track) {
		bytes(e, "\x49\x8b\x85", 3);              /* mov rax, [r13 + env] */
		u32le(e, (uint32_t)offsetof(struct bj_run, env));
		bytes(e, "\x48\x89\x98", 3);              /* mov [rax + cur_ctx], rbx   the frame bpf_redirect*() sees */
		u32le(e, (uint32_t)offsetof(struct bj_xdp_worker, cur_ctx));
	}
	bytes(e, "\x48\x89\xdf", 3);                         /* mov rdi, rbx */
	bytes(e, "\x31\xf6", 2);                             /* xor esi, esi */
	bytes(e, "\x4c\x89\xea", 3);                         /* mov rdx, r13 */
	emit_call(e, at, entry);                             /* call prog */
	bytes(e, "\x48\x89\x43", 3);                         /* mov [rbx + 24], rax   slot.action */
	bytes(e, (uint8_t[]){ BJ_XDP_SLOT_ACTION }, 1);
	bytes(e, "\x41\x83\xbd", 3);                         /* cmp dword [r13 + fault], 0 */
	u32le(e, (uint32_t)offsetof(struct bj_run, fault));
	bytes(e, "\x00", 1);
	bytes(e, "\x0f\x85", 2);                             /* jne done            the run stopped */
	jne_fault = e->len;
	u32le(e, 0);
	bytes(e, "\x48\x83\xc3", 3);                         /* add rbx, 32 */
	bytes(e, (uint8_t[]){ BJ_XDP_SLOT_SIZE }, 1);
	bytes(e, "\x49\xff\xc6", 3);                         /* inc r14 */
	bytes(e, "\x4d\x39\xe6", 3);                         /* cmp r14, r12 */
	bytes(e, "\x0f\x82", 2);                             /* jb loop */
	u32le(e, (uint32_t)(int32_t)((long)loop - (long)(e->len + 4)));
	rel = (int32_t)(e->len - (jz_done + 4));
	memcpy(e->buf + jz_done, &rel, 4);
	rel = (int32_t)(e->len - (jne_fault + 4));
	memcpy(e->buf + jne_fault, &rel, 4);
	bytes(e, "\x4c\x89\xf0", 3);                         /* done: mov rax, r14 */
	bytes(e, "\x41\x5f\x41\x5e\x41\x5d\x41\x5c\x5b\xc3", 10); /* pop r15, r14, r13, r12, rbx; ret */
}

int bj_xdp_loop_build(void *entry, bool track, struct bj_xdp_loop **out, struct bj_error *err)
{
	struct bj_xdp_loop *l = calloc(1, sizeof(*l));
	struct emit e;
	int ret;

	if (!l)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	emit_loop(&e, NULL, entry, track);
	ret = bj_codemem_reserve(&l->mem, 4096, entry, 0);
	if (!ret)
		ret = bj_codemem_open(&l->mem, e.len);
	if (!ret) {
		/* The long forms of the sizing pass fit, and the final pass can only be as long or shorter. */
		emit_loop(&e, l->mem.base, entry, track);
		memcpy(l->mem.base, e.buf, e.len);
		l->len = e.len;
		ret = bj_codemem_seal(&l->mem, e.len);
	}
	if (ret) {
		bj_xdp_loop_free(l);
		return bj_fail(err, -ret, -1, -1, "xdp: code memory for the batch loop: %s", strerror(-ret));
	}
	*out = l;
	return 0;
}

bj_xdp_loop_fn bj_xdp_loop_fn_of(const struct bj_xdp_loop *l)
{
	return (bj_xdp_loop_fn)(void *)l->mem.base;
}

const uint8_t *bj_xdp_loop_image(const struct bj_xdp_loop *l, size_t *len)
{
	*len = l->len;
	return l->mem.base;
}

void bj_xdp_loop_free(struct bj_xdp_loop *l)
{
	if (!l)
		return;
	if (l->mem.base)
		bj_codemem_release(&l->mem);
	free(l);
}
