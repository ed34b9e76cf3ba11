/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Code memory for generated code that changes while it runs: one memfd mapped twice, read-write for the
 * updater and read-execute for the callers, so that no page is ever writable and executable at once (W^X)
 * and the executable view never has to change protection while other threads run it.
 */
#include <errno.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dispatcher/dispatcher_int.h"

#define PAGE 4096ul
#define NEAR_STEP (64ul << 20)
#define NEAR_TRIES 12

static size_t page_round(size_t n)
{
	return (n + PAGE - 1) & ~(PAGE - 1);
}

static int memfd_sized(size_t size)
{
	int fd = memfd_create("bpfjet-code", MFD_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size)) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Tries free ranges below, then above `near` (MAP_FIXED_NOREPLACE never moves existing mappings), and takes
 * any address when none is free: the code then works, only through indirect jumps. */
static void *map_rx_near(int fd, size_t size, const void *near)
{
	const int prot = PROT_READ | PROT_EXEC;

	for (int i = 1; near && i <= 2 * NEAR_TRIES; i++) {
		uintptr_t base = (uintptr_t)near & ~(PAGE - 1);
		long k = i <= NEAR_TRIES ? -(long)i : i - NEAR_TRIES;
		uintptr_t hint = base + (uintptr_t)(k * (long)NEAR_STEP) - (k < 0 ? size : 0);
		void *p = mmap((void *)hint, size, prot, MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);

		if (p == MAP_FAILED)
			continue;
		if (p == (void *)hint)
			return p;
		munmap(p, size); /* kernels before 4.17 treat the flag as a hint */
	}
	return mmap(NULL, size, prot, MAP_SHARED, fd, 0);
}

int bj_dualmap_create(size_t size, const void *near, struct bj_dualmap *out)
{
	int fd, err = 0;

	size = page_round(size);
	fd = memfd_sized(size);
	if (fd < 0)
		return fd;
	out->size = size;
	out->rx = map_rx_near(fd, size, near);
	out->rw = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (out->rx == MAP_FAILED || out->rw == MAP_FAILED) {
		err = -errno;
		if (out->rx != MAP_FAILED)
			munmap(out->rx, size);
		if (out->rw != MAP_FAILED)
			munmap(out->rw, size);
	}
	close(fd);
	return err;
}

void bj_dualmap_destroy(struct bj_dualmap *m)
{
	if (m->rx)
		munmap(m->rx, m->size);
	if (m->rw)
		munmap(m->rw, m->size);
	m->rx = m->rw = NULL;
}

int bj_dualmap_adopt_page(void *page, struct bj_dualmap *out)
{
	int fd, err = 0;

	if ((uintptr_t)page & (PAGE - 1))
		return -EINVAL;
	fd = memfd_sized(PAGE);
	if (fd < 0)
		return fd;
	out->size = PAGE;
	out->rx = NULL;
	out->rw = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (out->rw == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	memcpy(out->rw, page, PAGE);
	/* One mmap call swaps the page: a thread running it faults and waits on the mapping lock, then finds
	 * the same bytes in the new mapping. The raw system call keeps sanitizers' interceptors from resetting
	 * shadow memory that they never mapped for the executable's text. */
	if ((void *)syscall(SYS_mmap, page, PAGE, (long)(PROT_READ | PROT_EXEC),
			      (long)(MAP_SHARED | MAP_FIXED), (long)fd, 0L) == MAP_FAILED) {
		err = -errno;
		munmap(out->rw, PAGE);
		goto out;
	}
	out->rx = page;
out:
	close(fd);
	return err;
}
