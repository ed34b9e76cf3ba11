/* SPDX-License-Identifier: Apache-2.0 */
/*
 * RINGBUF (kernel/bpf/ringbuf.c) and its consumer (libbpf's ring_buffer). Records carry the kernel's 8-byte
 * header: length with the BUSY (bit 31) and DISCARD (bit 30) bits, and a page offset. The data pages are
 * mapped twice back to back, so a record that wraps around the end is still contiguous.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maps/map_internal.h"

#define RB_BUSY (1u << 31)
#define RB_DISCARD (1u << 30)
#define RB_HDR_SZ 8u
#define RB_MAX_RECORD (RB_DISCARD - 1)
#define NUMA_NODE (1u << 2)

struct rb_hdr {
	_Atomic uint32_t len;
	uint32_t pg_off;
};

struct ringbuf {
	_Atomic uint32_t lock;
	uint64_t mask;
	uint8_t *data;        /* 2 * size bytes of address space, the same pages twice */
	int efd;              /* eventfd that wakes consumers */
	_Atomic uint64_t producer_pos __attribute__((aligned(64)));
	uint64_t pending_pos;
	_Atomic uint64_t consumer_pos __attribute__((aligned(64)));
	_Atomic uint64_t dropped;
};

static struct ringbuf *R(const struct bj_map *map)
{
	return map->priv;
}

static int map_twice(struct ringbuf *r, size_t size)
{
	int fd = memfd_create("bpfjet-ringbuf", MFD_CLOEXEC);
	uint8_t *area;

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size))
		goto fail;
	area = mmap(NULL, 2 * size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		goto fail;
	if (mmap(area, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED ||
	    mmap(area + size, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0) == MAP_FAILED) {
		munmap(area, 2 * size);
		goto fail;
	}
	close(fd);
	r->data = area;
	return 0;
fail:
	close(fd);
	return -ENOMEM;
}

static int rb_alloc(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	struct ringbuf *r;
	uint32_t n = map->max_entries;

	(void)opts;
	if ((map->map_flags & ~NUMA_NODE) || map->key_size || map->value_size || !n || (n & (n - 1)) || n % page)
		return bj_fail(err, EINVAL, -1, -1,
			       "ringbuf needs key_size 0, value_size 0 and max_entries a power of 2 and of the page "
			       "size (got %u)", n);
	r = calloc(1, sizeof(*r));
	if (!r)
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	r->mask = n - 1;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0 || map_twice(r, n)) {
		if (r->efd >= 0)
			close(r->efd);
		free(r);
		return bj_fail(err, ENOMEM, -1, -1, "cannot allocate a %u-byte ring buffer", n);
	}
	map->priv = r;
	return 0;
}

static void rb_free(struct bj_map *map)
{
	struct ringbuf *r = R(map);

	munmap(r->data, 2 * (r->mask + 1));
	close(r->efd);
	free(r);
}

static int rb_notsupp(void)
{
	return -BJ_ENOTSUPP;
}

static int rb_update(struct bj_map *m, const void *k, const void *v, uint64_t f, int w)
{
	(void)m, (void)k, (void)v, (void)f, (void)w;
	return rb_notsupp();
}

static int rb_delete(struct bj_map *m, const void *k)
{
	(void)m, (void)k;
	return rb_notsupp();
}

static int rb_copy(struct bj_map *m, const void *k, void *v, uint64_t f)
{
	(void)m, (void)k, (void)v, (void)f;
	return rb_notsupp();
}

static int rb_next_key(struct bj_map *m, const void *k, void *n)
{
	(void)m, (void)k, (void)n;
	return rb_notsupp();
}

const struct bj_map_ops bj_ringbuf_ops = {
	.alloc = rb_alloc, .free = rb_free, .update = rb_update, .delete = rb_delete, .copy = rb_copy,
	.get_next_key = rb_next_key,
};

/* ---- producer ---- */

void *bj_ringbuf_reserve(struct bj_map *map, uint64_t size, uint64_t flags)
{
	struct ringbuf *r = R(map);
	uint64_t len, cons, prod, pend, new_prod;
	struct rb_hdr *hdr;

	if (map->type != BJ_MAP_TYPE_RINGBUF || flags || size > RB_MAX_RECORD)
		return NULL;
	len = (size + RB_HDR_SZ + 7) & ~7ull;
	if (len > r->mask + 1)
		return NULL;
	cons = atomic_load_explicit(&r->consumer_pos, memory_order_acquire);
	bj_map_spin_lock(&r->lock);
	prod = atomic_load_explicit(&r->producer_pos, memory_order_relaxed);
	pend = r->pending_pos;
	/* Records still reserved behind the consumer keep their space, as in the kernel. */
	while (pend < prod) {
		struct rb_hdr *h = (struct rb_hdr *)(r->data + (pend & r->mask));
		uint32_t l = atomic_load_explicit(&h->len, memory_order_acquire);
		if (l & RB_BUSY)
			break;
		pend += ((l & ~RB_DISCARD) + RB_HDR_SZ + 7) & ~7u;
	}
	r->pending_pos = pend;
	new_prod = prod + len;
	if (new_prod - cons > r->mask || new_prod - pend > r->mask) {
		bj_map_spin_unlock(&r->lock);
		atomic_fetch_add_explicit(&r->dropped, 1, memory_order_relaxed);
		return NULL;
	}
	hdr = (struct rb_hdr *)(r->data + (prod & r->mask));
	atomic_store_explicit(&hdr->len, (uint32_t)size | RB_BUSY, memory_order_relaxed);
	hdr->pg_off = (uint32_t)((prod & r->mask) / (uint64_t)sysconf(_SC_PAGESIZE));
	atomic_store_explicit(&r->producer_pos, new_prod, memory_order_release);
	bj_map_spin_unlock(&r->lock);
	return hdr + 1;
}

static void wake(struct ringbuf *r)
{
	uint64_t one = 1;
	ssize_t n = write(r->efd, &one, sizeof(one));
	(void)n; /* EAGAIN: the counter is already non-zero, the consumer will wake anyway */
}

void bj_ringbuf_commit(struct bj_map *map, void *sample, uint64_t flags, bool discard)
{
	struct ringbuf *r = R(map);
	struct rb_hdr *hdr = (struct rb_hdr *)((uint8_t *)sample - RB_HDR_SZ);
	uint32_t len = atomic_load_explicit(&hdr->len, memory_order_relaxed) & ~RB_BUSY;
	uint64_t rec_pos = (uint64_t)((uint8_t *)hdr - r->data) & r->mask;

	if (discard)
		len |= RB_DISCARD;
	/* seq_cst pairs with the consumer's store of its position then load of this header: one of the
	 * two sides sees the other, so a sleeping consumer is always woken. */
	atomic_exchange(&hdr->len, len);
	if (flags & BJ_RB_FORCE_WAKEUP)
		wake(r);
	else if (!(flags & BJ_RB_NO_WAKEUP) && (atomic_load(&r->consumer_pos) & r->mask) == rec_pos)
		wake(r);
}

int bj_ringbuf_output(struct bj_map *map, const void *data, uint64_t size, uint64_t flags)
{
	void *rec;

	if (flags & ~(BJ_RB_NO_WAKEUP | BJ_RB_FORCE_WAKEUP))
		return -EINVAL;
	rec = bj_ringbuf_reserve(map, size, 0);
	if (!rec)
		return -EAGAIN;
	memcpy(rec, data, size);
	bj_ringbuf_commit(map, rec, flags, false);
	return 0;
}

uint64_t bj_ringbuf_query(struct bj_map *map, uint64_t flags)
{
	struct ringbuf *r = R(map);
	uint64_t cons = atomic_load(&r->consumer_pos), prod = atomic_load(&r->producer_pos);

	switch (flags) {
	case 0: return prod - cons;   /* BPF_RB_AVAIL_DATA */
	case 1: return r->mask + 1;   /* BPF_RB_RING_SIZE */
	case 2: return cons;          /* BPF_RB_CONS_POS */
	case 3: return prod;          /* BPF_RB_PROD_POS */
	default: return 0;
	}
}

void *bj_ringbuf__reserve(struct bj_map *map, uint64_t size, uint64_t flags)
{
	return bj_ringbuf_reserve(map, size, flags);
}

void bj_ringbuf__submit(struct bj_map *map, void *sample, uint64_t flags)
{
	bj_ringbuf_commit(map, sample, flags, false);
}

void bj_ringbuf__discard(struct bj_map *map, void *sample, uint64_t flags)
{
	bj_ringbuf_commit(map, sample, flags, true);
}

int bj_ringbuf__output(struct bj_map *map, const void *data, uint64_t size, uint64_t flags)
{
	if (map->type != BJ_MAP_TYPE_RINGBUF)
		return -EINVAL;
	return bj_ringbuf_output(map, data, size, flags);
}

uint64_t bj_ringbuf__dropped(const struct bj_map *map)
{
	return map->type == BJ_MAP_TYPE_RINGBUF ? atomic_load(&R(map)->dropped) : 0;
}

/* ---- consumer ---- */

struct ring {
	struct bj_map *map;
	bj_ring_buffer_sample_fn fn;
	void *ctx;
};

struct bj_ring_buffer {
	int epfd;
	struct ring *rings;
	unsigned n;
	struct epoll_event *events;
};

int bj_ring_buffer__new(struct bj_map *map, bj_ring_buffer_sample_fn fn, void *ctx,
			const struct bj_ring_buffer_opts *opts, struct bj_ring_buffer **out)
{
	struct bj_ring_buffer *rb;
	int ret;

	*out = NULL;
	if (!BJ_OPTS_VALID(opts, struct bj_ring_buffer_opts))
		return -EINVAL;
	rb = calloc(1, sizeof(*rb));
	if (!rb)
		return -ENOMEM;
	rb->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (rb->epfd < 0) {
		free(rb);
		return -errno;
	}
	ret = bj_ring_buffer__add(rb, map, fn, ctx);
	if (ret) {
		bj_ring_buffer__free(rb);
		return ret;
	}
	*out = rb;
	return 0;
}

int bj_ring_buffer__add(struct bj_ring_buffer *rb, struct bj_map *map, bj_ring_buffer_sample_fn fn, void *ctx)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct ring *rings;
	struct epoll_event *events;

	if (map->type != BJ_MAP_TYPE_RINGBUF || map->ops->remote || !fn)
		return -EINVAL;
	rings = realloc(rb->rings, (rb->n + 1) * sizeof(*rings));
	if (!rings)
		return -ENOMEM;
	rb->rings = rings;
	events = realloc(rb->events, (rb->n + 1) * sizeof(*events));
	if (!events)
		return -ENOMEM;
	rb->events = events;
	ev.data.u32 = rb->n;
	if (epoll_ctl(rb->epfd, EPOLL_CTL_ADD, R(map)->efd, &ev))
		return -errno;
	bj_map_get(map);
	rb->rings[rb->n++] = (struct ring){ map, fn, ctx };
	return 0;
}

/* libbpf's ringbuf_process_ring. */
static int consume_ring(struct ring *ring)
{
	struct ringbuf *r = R(ring->map);
	uint64_t cons = atomic_load_explicit(&r->consumer_pos, memory_order_acquire), prod;
	int cnt = 0;
	bool more;

	do {
		more = false;
		prod = atomic_load_explicit(&r->producer_pos, memory_order_acquire);
		while (cons < prod) {
			struct rb_hdr *hdr = (struct rb_hdr *)(r->data + (cons & r->mask));
			uint32_t len = atomic_load(&hdr->len);

			if (len & RB_BUSY)
				break;
			more = true;
			cons += ((len & ~RB_DISCARD) + RB_HDR_SZ + 7) & ~7u;
			if (!(len & RB_DISCARD)) {
				int err = ring->fn(ring->ctx, hdr + 1, len);
				if (err) {
					atomic_store(&r->consumer_pos, cons);
					return err < 0 ? err : cnt;
				}
				cnt++;
			}
			atomic_store(&r->consumer_pos, cons);
		}
	} while (more);
	return cnt;
}

int bj_ring_buffer__consume(struct bj_ring_buffer *rb)
{
	int total = 0;

	for (unsigned i = 0; i < rb->n; i++) {
		int n = consume_ring(&rb->rings[i]);
		if (n < 0)
			return n;
		total += n;
	}
	return total;
}

int bj_ring_buffer__poll(struct bj_ring_buffer *rb, int timeout_ms)
{
	int total = 0, n = epoll_wait(rb->epfd, rb->events, (int)rb->n, timeout_ms);

	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		struct ring *ring = &rb->rings[rb->events[i].data.u32];
		uint64_t v;
		ssize_t got = read(R(ring->map)->efd, &v, sizeof(v));
		int cnt;

		(void)got;
		cnt = consume_ring(ring);
		if (cnt < 0)
			return cnt;
		total += cnt;
	}
	return total;
}

int bj_ring_buffer__epoll_fd(const struct bj_ring_buffer *rb)
{
	return rb->epfd;
}

void bj_ring_buffer__free(struct bj_ring_buffer *rb)
{
	if (!rb)
		return;
	for (unsigned i = 0; i < rb->n; i++)
		bj_map_put(rb->rings[i].map);
	close(rb->epfd);
	free(rb->rings);
	free(rb->events);
	free(rb);
}
