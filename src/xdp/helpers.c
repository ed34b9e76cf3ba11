/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The XDP helpers, with Linux's checks and error codes (net/core/filter.c). Frame offsets are the truth;
 * each helper that moves data, data_end or data_meta updates the frame and then the program's xdp_md.
 */
#include <errno.h>
#include <string.h>

#include "maps/map_internal.h"
#include "xdp/xdp_int.h"

struct bj_frame *bj_xdp_frame_of(struct bj_xdp_worker *w, uint64_t ctx, uint32_t *index)
{
	uintptr_t base = (uintptr_t)w->slots;
	uint64_t off = ctx - base;

	if (ctx < base || off % BJ_XDP_SLOT_SIZE || off / BJ_XDP_SLOT_SIZE >= w->n)
		return NULL;
	*index = (uint32_t)(off / BJ_XDP_SLOT_SIZE);
	return &w->frames[*index];
}

/* Out of line and returning the helper's result, so that the helpers' common path saves no registers for it. */
static __attribute__((cold, noinline)) uint64_t no_runner(struct bj_run *run, const char *helper)
{
	bj_run_fault(run, EINVAL, -1, "%s outside an XDP runner: no frame to act on", helper);
	return 0;
}

static struct bj_xdp_worker *worker_of(struct bj_run *run, const char *helper)
{
	if (BJ_UNLIKELY(!run->env))
		no_runner(run, helper);
	return run->env;
}

/* The frame of ctx, or NULL with the run stopped. */
static struct bj_frame *frame_of(struct bj_run *run, uint64_t ctx, uint32_t *index, const char *helper)
{
	struct bj_xdp_worker *w = worker_of(run, helper);
	struct bj_frame *f;

	if (!w)
		return NULL;
	f = bj_xdp_frame_of(w, ctx, index);
	if (BJ_UNLIKELY(!f))
		bj_run_fault(run, EINVAL, -1, "%s: r1 (0x%llx) is not the context of this run", helper,
			     (unsigned long long)ctx);
	return f;
}

static void sync_ctx(struct bj_run *run, uint32_t i, const struct bj_frame *f)
{
	bj_xdp_slot_sync(&((struct bj_xdp_worker *)run->env)->slots[i], f);
}

static uint64_t xdp_adjust_head(uint64_t ctx, uint64_t delta, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bj_run *run)
{
	struct bj_frame *f;
	uint32_t i, metalen;
	int64_t data;

	(void)r3, (void)r4, (void)r5;
	if (!(f = frame_of(run, ctx, &i, "bpf_xdp_adjust_head")))
		return 0;
	metalen = f->data - f->data_meta;
	data = (int64_t)f->data + (int32_t)delta;
	if (data < (int64_t)(BJ_XDP_FRAME_RESERVE + metalen) || data > (int64_t)f->data_end - BJ_XDP_ETH_HLEN)
		return (uint64_t)-EINVAL;
	if (metalen)
		memmove(f->buf + data - metalen, f->buf + f->data_meta, metalen);
	f->data_meta = (uint32_t)data - metalen;
	f->data = (uint32_t)data;
	sync_ctx(run, i, f);
	return 0;
}

static uint64_t xdp_adjust_meta(uint64_t ctx, uint64_t delta, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bj_run *run)
{
	struct bj_frame *f;
	int64_t meta;
	uint32_t i;

	(void)r3, (void)r4, (void)r5;
	if (!(f = frame_of(run, ctx, &i, "bpf_xdp_adjust_meta")))
		return 0;
	meta = (int64_t)f->data_meta + (int32_t)delta;
	if (meta < BJ_XDP_FRAME_RESERVE || meta > f->data)
		return (uint64_t)-EINVAL;
	/* Since Linux 6.8 the bound is skb_shared_info's u8 meta_len, and the length stays a multiple of 4. */
	if ((f->data - meta) % 4 || f->data - meta > BJ_XDP_META_MAX)
		return (uint64_t)-EACCES;
	f->data_meta = (uint32_t)meta;
	sync_ctx(run, i, f);
	return 0;
}

static uint64_t xdp_adjust_tail(uint64_t ctx, uint64_t delta, uint64_t r3, uint64_t r4, uint64_t r5,
				struct bj_run *run)
{
	int32_t d = (int32_t)delta;
	struct bj_frame *f;
	int64_t end;
	uint32_t i;

	(void)r3, (void)r4, (void)r5;
	if (!(f = frame_of(run, ctx, &i, "bpf_xdp_adjust_tail")))
		return 0;
	end = (int64_t)f->data_end + d;
	if (end > (int64_t)f->buf_sz - BJ_IO_TAILROOM || end < (int64_t)f->data + BJ_XDP_ETH_HLEN)
		return (uint64_t)-EINVAL;
	if (d > 0)
		memset(f->buf + f->data_end, 0, (size_t)d);
	f->data_end = (uint32_t)end;
	sync_ctx(run, i, f);
	return 0;
}

static inline uint64_t redirect_to(struct bj_xdp_target *t, uint64_t ifindex, uint64_t flags)
{
	if (flags)
		return BJ_XDP_ABORTED;
	/* Field by field: a compound literal would be built on the stack and copied, once per frame. */
	t->kind = BJ_XDP_TARGET_IFINDEX;
	t->ifindex = (uint32_t)ifindex;
	t->map = NULL;
	t->key = 0;
	t->flags = 0;
	t->entry = NULL;
	return BJ_XDP_REDIRECT;
}

static uint64_t xdp_redirect(uint64_t ifindex, uint64_t flags, uint64_t r3, uint64_t r4, uint64_t r5,
			     struct bj_run *run)
{
	struct bj_xdp_worker *w = worker_of(run, "bpf_redirect");

	(void)r3, (void)r4, (void)r5;
	if (!w)
		return 0;
	return redirect_to(bj_xdp_cur_target(w), ifindex, flags);
}

static uint64_t xdp_redirect_map(uint64_t map_ptr, uint64_t key, uint64_t flags, uint64_t r4, uint64_t r5,
				 struct bj_run *run)
{
	struct bj_xdp_worker *w = worker_of(run, "bpf_redirect_map");
	struct bj_map *map = (struct bj_map *)(uintptr_t)map_ptr;
	uint64_t allowed = 3;
	void *entry;

	(void)r4, (void)r5;
	if (!w)
		return 0;
	if (!map) {
		bj_run_fault(run, EINVAL, -1, "bpf_redirect_map: r1 is not a map");
		return 0;
	}
	switch (map->type) {
	case BJ_MAP_TYPE_DEVMAP:
	case BJ_MAP_TYPE_DEVMAP_HASH:
		allowed |= BJ_XDP_F_BROADCAST | BJ_XDP_F_EXCLUDE_INGRESS;
		break;
	case BJ_MAP_TYPE_XSKMAP:
		break;
	default:
		bj_run_fault(run, EINVAL, -1, "bpf_redirect_map on a %s map (needs devmap, devmap_hash or xskmap)",
			     bj_map_type__name(map->type) ? bj_map_type__name(map->type) : "unknown");
		return 0;
	}
	if (flags & ~allowed)
		return BJ_XDP_ABORTED;
	if (flags & BJ_XDP_F_BROADCAST) {
		*bj_xdp_cur_target(w) = (struct bj_xdp_target){ .kind = BJ_XDP_TARGET_MAP, .map = map, .flags = flags };
		return BJ_XDP_REDIRECT;
	}
	entry = map->type == BJ_MAP_TYPE_XSKMAP ? bj_map_xskmap_get(map, (uint32_t)key)
						 : bj_map_devmap_get(map, (uint32_t)key);
	if (!entry) {
		*bj_xdp_cur_target(w) = (struct bj_xdp_target){ 0 };
		return flags & 3;
	}
	*bj_xdp_cur_target(w) = (struct bj_xdp_target){
		.kind = BJ_XDP_TARGET_MAP,
		.map = map,
		.key = (uint32_t)key,
		.flags = flags,
		.entry = entry,
		.ifindex = map->type == BJ_MAP_TYPE_XSKMAP ? 0 : *(uint32_t *)entry,
	};
	return BJ_XDP_REDIRECT;
}

/*
 * The cursor the rewritten loop hands over may sit in a stack slot that a checked program can reach with
 * pointer arithmetic: it must name one of the batch's slots before a target is written through it.
 */
static __attribute__((cold, noinline)) uint64_t bad_cursor(struct bj_run *run, uint64_t ctx)
{
	bj_run_fault(run, EINVAL, -1, "bpf_redirect*: the batch loop's frame pointer (0x%llx) was overwritten",
		     (unsigned long long)ctx);
	return 0;
}

static inline bool is_slot(const struct bj_xdp_worker *w, uint64_t ctx)
{
	uint64_t off = ctx - (uintptr_t)w->slots;

	return off < (uint64_t)w->n * BJ_XDP_SLOT_SIZE && !(off % BJ_XDP_SLOT_SIZE);
}

static inline uint64_t redirect_at(uint64_t ifindex, uint64_t flags, uint64_t ctx, struct bj_run *run, bool check)
{
	struct bj_xdp_worker *w = run->env;

	if (BJ_UNLIKELY(!w))
		return no_runner(run, "bpf_redirect");
	if (check && BJ_UNLIKELY(!is_slot(w, ctx)))
		return bad_cursor(run, ctx);
	return redirect_to(&w->targets[(ctx - (uintptr_t)w->slots) / BJ_XDP_SLOT_SIZE], ifindex, flags);
}

static inline uint64_t redirect_map_at(uint64_t map, uint64_t key, uint64_t flags, uint64_t ctx, struct bj_run *run,
				       bool check)
{
	struct bj_xdp_worker *w = run->env;

	if (BJ_UNLIKELY(!w))
		return no_runner(run, "bpf_redirect_map");
	if (check && BJ_UNLIKELY(!is_slot(w, ctx)))
		return bad_cursor(run, ctx);
	w->cur_ctx = ctx;
	return xdp_redirect_map(map, key, flags, 0, 0, run);
}

uint64_t bj_xdp_redirect_at(uint64_t ifindex, uint64_t flags, uint64_t ctx, uint64_t r4, uint64_t r5,
			    struct bj_run *run)
{
	(void)r4, (void)r5;
	return redirect_at(ifindex, flags, ctx, run, true);
}

uint64_t bj_xdp_redirect_map_at(uint64_t map, uint64_t key, uint64_t flags, uint64_t ctx, uint64_t r5,
				struct bj_run *run)
{
	(void)r5;
	return redirect_map_at(map, key, flags, ctx, run, true);
}

uint64_t bj_xdp_redirect_at_trusted(uint64_t ifindex, uint64_t flags, uint64_t ctx, uint64_t r4, uint64_t r5,
				    struct bj_run *run)
{
	(void)r4, (void)r5;
	return redirect_at(ifindex, flags, ctx, run, false);
}

uint64_t bj_xdp_redirect_map_at_trusted(uint64_t map, uint64_t key, uint64_t flags, uint64_t ctx, uint64_t r5,
					struct bj_run *run)
{
	(void)r5;
	return redirect_map_at(map, key, flags, ctx, run, false);
}

/*
 * bpf_xdp_load_bytes / bpf_xdp_store_bytes on a single-buffer frame: Linux refuses offsets or lengths above
 * 0xffff with -EFAULT and a range past the packet's end with -EINVAL, and copies nothing then.
 */
static uint64_t xdp_copy_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, struct bj_run *run,
			       bool store, const char *helper)
{
	uint32_t off = (uint32_t)offset, n = (uint32_t)len, i;
	struct bj_frame *f;
	uint8_t *pkt;

	if (!(f = frame_of(run, ctx, &i, helper)))
		return 0;
	if (off > 0xffff || n > 0xffff)
		return (uint64_t)-EFAULT;
	if ((uint64_t)off + n > f->data_end - f->data)
		return (uint64_t)-EINVAL;
	if (BJ_UNLIKELY(run->checked && !bj_run_mem_ok(run, (uintptr_t)buf, n, !store))) {
		bj_run_fault(run, EFAULT, -1, "%s: r3 (0x%llx, %u bytes) is not memory of this run", helper,
			     (unsigned long long)buf, n);
		return 0;
	}
	pkt = f->buf + f->data + off;
	if (store)
		memcpy(pkt, (const void *)(uintptr_t)buf, n);
	else
		memcpy((void *)(uintptr_t)buf, pkt, n);
	return 0;
}

/* Frames are single buffers: the packet's length is its linear part. */
static uint64_t xdp_get_buff_len(uint64_t ctx, uint64_t r2, uint64_t r3, uint64_t r4, uint64_t r5, struct bj_run *run)
{
	struct bj_frame *f;
	uint32_t i;

	(void)r2, (void)r3, (void)r4, (void)r5;
	if (!(f = frame_of(run, ctx, &i, "bpf_xdp_get_buff_len")))
		return 0;
	return f->data_end - f->data;
}

static uint64_t xdp_load_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, uint64_t r5,
			       struct bj_run *run)
{
	(void)r5;
	return xdp_copy_bytes(ctx, offset, buf, len, run, false, "bpf_xdp_load_bytes");
}

static uint64_t xdp_store_bytes(uint64_t ctx, uint64_t offset, uint64_t buf, uint64_t len, uint64_t r5,
				struct bj_run *run)
{
	(void)r5;
	return xdp_copy_bytes(ctx, offset, buf, len, run, true, "bpf_xdp_store_bytes");
}

static const struct bj_helper xdp_helpers[] = {
	{ BJ_XDP_FN_REDIRECT, "bpf_redirect", xdp_redirect },
	{ BJ_XDP_FN_XDP_ADJUST_HEAD, "bpf_xdp_adjust_head", xdp_adjust_head },
	{ BJ_XDP_FN_REDIRECT_MAP, "bpf_redirect_map", xdp_redirect_map },
	{ BJ_XDP_FN_XDP_ADJUST_META, "bpf_xdp_adjust_meta", xdp_adjust_meta },
	{ BJ_XDP_FN_XDP_ADJUST_TAIL, "bpf_xdp_adjust_tail", xdp_adjust_tail },
	{ BJ_XDP_FN_XDP_GET_BUFF_LEN, "bpf_xdp_get_buff_len", xdp_get_buff_len },
	{ BJ_XDP_FN_XDP_LOAD_BYTES, "bpf_xdp_load_bytes", xdp_load_bytes },
	{ BJ_XDP_FN_XDP_STORE_BYTES, "bpf_xdp_store_bytes", xdp_store_bytes },
};

const struct bj_helper *bj_xdp_helpers(size_t *n)
{
	if (n)
		*n = BJ_ARRAY_SIZE(xdp_helpers);
	return xdp_helpers;
}
