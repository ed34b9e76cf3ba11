/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Pinning. bpfjet maps live in the memory of the process that made them, so a pin is a unix socket at the
 * pin path served by that process. Another process opens it and gets a map handle whose calls are requests
 * (info, lookup, update, delete, next key, batches); for mmapable arrays the memfd itself is passed with
 * SCM_RIGHTS and the client maps the very pages the owner's programs update.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "maps/map_internal.h"
#include "maps/remote.h"

#define MAX_CLIENTS 64
#define MAX_PAYLOAD (256u << 20)

enum pin_op { OP_INFO = 1, OP_LOOKUP, OP_UPDATE, OP_DELETE, OP_NEXT_KEY, OP_LOOKUP_BATCH, OP_UPDATE_BATCH,
	      OP_DELETE_BATCH, OP_MMAP, OP_MUNMAP };

struct pin_req {
	uint32_t op;
	uint32_t count;
	uint64_t flags;
	uint64_t elem_flags;
	uint64_t arg;
	uint32_t has_key; /* a key (or cursor) starts the payload */
	uint32_t payload_len;
};

struct pin_resp {
	int32_t ret;
	uint32_t count;
	uint32_t payload_len;
	uint32_t has_fd;
};

struct pin_info {
	uint32_t type, key_size, value_size, max_entries, map_flags, n_workers, id, frozen;
	uint64_t mmap_size;
	char name[BJ_MAP_NAME_LEN];
};

struct client {
	int fd;
	int writers; /* writable mappings this client holds */
};

struct bj_pin {
	char *path;
	int listen_fd;
	int stop_pipe[2];
	pthread_t thread;
	struct client clients[MAX_CLIENTS];
	unsigned n_clients;
	struct bj_map *map;
};

/* ---- framing ---- */

static int io_all(int fd, void *buf, size_t len, bool rd)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = rd ? recv(fd, p, len, MSG_WAITALL) : send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_resp(int fd, const struct pin_resp *resp, const void *payload, int pass_fd)
{
	struct iovec iov = { (void *)resp, sizeof(*resp) };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
	int ret;

	if (pass_fd >= 0) {
		struct cmsghdr *c;
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &pass_fd, sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(*resp))
		return -EIO;
	ret = resp->payload_len ? io_all(fd, (void *)payload, resp->payload_len, false) : 0;
	return ret;
}

/* ---- server ---- */

static size_t cursor_size(const struct bj_map *map)
{
	return map->key_size > 4 ? map->key_size : 4;
}

static void fill_info(struct bj_map *map, struct pin_info *info)
{
	memset(info, 0, sizeof(*info));
	*info = (struct pin_info){ map->type, map->key_size, map->value_size, map->max_entries, map->map_flags,
				   map->n_workers, map->id, bj_map__is_frozen(map), bj_map__mmap_size(map), { 0 } };
	memcpy(info->name, map->name, sizeof(info->name));
}

/* Checks that the payload holds `need` bytes. */
static bool has(const struct pin_req *req, uint64_t need)
{
	return req->payload_len >= need;
}

static int serve_batch_lookup(struct bj_map *map, const struct pin_req *req, const uint8_t *in,
			      struct pin_resp *resp, uint8_t **out)
{
	size_t cur = cursor_size(map), vsz = bj_map__value_buf_size(map);
	uint64_t bytes = cur + (uint64_t)req->count * (map->key_size + vsz);
	BJ_OPTS(bj_map_batch_opts, o, .elem_flags = req->elem_flags, .flags = req->flags);
	uint32_t count = req->count;
	uint8_t *buf;
	int ret;

	if (bytes > MAX_PAYLOAD)
		return -E2BIG;
	if (req->has_key && !has(req, cur))
		return -EINVAL;
	buf = calloc(1, bytes);
	if (!buf)
		return -ENOMEM;
	ret = bj_map__lookup_batch(map, req->has_key ? (void *)in : NULL, buf, buf + cur, buf + cur +
				   (size_t)req->count * map->key_size, &count, &o);
	/* Compact: cursor, keys, values of the `count` elements returned. */
	memmove(buf + cur + (size_t)count * map->key_size, buf + cur + (size_t)req->count * map->key_size,
		(size_t)count * vsz);
	resp->count = count;
	resp->payload_len = (uint32_t)(cur + (size_t)count * (map->key_size + vsz));
	*out = buf;
	return ret;
}

static int serve(struct bj_pin *pin, struct client *c, const struct pin_req *req, const uint8_t *in)
{
	struct bj_map *map = pin->map;
	struct pin_resp resp = { 0, 0, 0, 0 };
	size_t vsz = bj_map__value_buf_size(map), ks = map->key_size;
	uint8_t *out = NULL;
	struct pin_info info;
	int pass_fd = -1, ret;

	switch (req->op) {
	case OP_INFO:
		fill_info(map, &info);
		out = malloc(sizeof(info));
		if (!out)
			return -ENOMEM;
		memcpy(out, &info, sizeof(info));
		resp.payload_len = sizeof(info);
		break;
	case OP_LOOKUP:
		if (!has(req, ks) || !(out = calloc(1, vsz ? vsz : 1))) {
			resp.ret = -EINVAL;
			break;
		}
		resp.ret = bj_map__lookup_elem_flags(map, ks ? in : NULL, out, req->flags);
		resp.payload_len = resp.ret ? 0 : (uint32_t)vsz;
		break;
	case OP_UPDATE:
		resp.ret = has(req, ks + vsz) ? bj_map__update_elem(map, ks ? in : NULL, in + ks, req->flags) : -EINVAL;
		break;
	case OP_DELETE:
		resp.ret = has(req, ks) ? bj_map__delete_elem(map, in) : -EINVAL;
		break;
	case OP_NEXT_KEY:
		if ((req->has_key && !has(req, ks)) || !(out = calloc(1, ks ? ks : 1))) {
			resp.ret = -EINVAL;
			break;
		}
		resp.ret = bj_map__get_next_key(map, req->has_key ? in : NULL, out);
		resp.payload_len = resp.ret ? 0 : (uint32_t)ks;
		break;
	case OP_LOOKUP_BATCH:
		resp.ret = serve_batch_lookup(map, req, in, &resp, &out);
		break;
	case OP_UPDATE_BATCH:
	case OP_DELETE_BATCH: {
		BJ_OPTS(bj_map_batch_opts, o, .elem_flags = req->elem_flags, .flags = req->flags);
		uint64_t need = (uint64_t)req->count * (ks + (req->op == OP_UPDATE_BATCH ? vsz : 0));
		resp.count = req->count;
		if (!has(req, need))
			resp.ret = -EINVAL;
		else if (req->op == OP_UPDATE_BATCH)
			resp.ret = bj_map__update_batch(map, in, in + (size_t)req->count * ks, &resp.count, &o);
		else
			resp.ret = bj_map__delete_batch(map, in, &resp.count, &o);
		break;
	}
	case OP_MMAP:
		resp.ret = bj_map_mmap_check(map, 0, bj_map__mmap_size(map), (int)req->arg, bj_map__mmap_size(map), NULL);
		if (!resp.ret) {
			bool wr = req->arg & PROT_WRITE;
			c->writers += wr;
			pass_fd = bj_array_memfd(map, !wr);
			resp.has_fd = 1;
		}
		break;
	case OP_MUNMAP:
		if (c->writers > 0 && (req->arg & PROT_WRITE)) {
			c->writers--;
			atomic_fetch_sub(&map->writecnt, 1);
		}
		break;
	default:
		resp.ret = -EINVAL;
	}
	ret = send_resp(c->fd, &resp, out, pass_fd);
	free(out);
	return ret;
}

static int handle(struct bj_pin *pin, struct client *c)
{
	struct pin_req req;
	uint8_t *payload = NULL;
	int ret = io_all(c->fd, &req, sizeof(req), true);

	if (ret)
		return ret;
	if (req.payload_len > MAX_PAYLOAD)
		return -E2BIG;
	if (req.payload_len) {
		payload = malloc(req.payload_len);
		if (!payload)
			return -ENOMEM;
		ret = io_all(c->fd, payload, req.payload_len, true);
	}
	if (!ret)
		ret = serve(pin, c, &req, payload);
	free(payload);
	return ret;
}

static void drop_client(struct bj_pin *pin, unsigned i)
{
	/* A client that goes away releases its writable mappings' hold on freezing. */
	atomic_fetch_sub(&pin->map->writecnt, pin->clients[i].writers);
	close(pin->clients[i].fd);
	pin->clients[i] = pin->clients[--pin->n_clients];
}

static void *server(void *arg)
{
	struct bj_pin *pin = arg;
	struct pollfd fds[MAX_CLIENTS + 2];

	for (;;) {
		unsigned n = 0;

		fds[n++] = (struct pollfd){ .fd = pin->stop_pipe[0], .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = pin->listen_fd, .events = pin->n_clients < MAX_CLIENTS ? POLLIN : 0 };
		for (unsigned i = 0; i < pin->n_clients; i++)
			fds[n++] = (struct pollfd){ .fd = pin->clients[i].fd, .events = POLLIN };
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (fds[0].revents)
			break;
		for (unsigned i = pin->n_clients; i-- > 0;)
			if (fds[2 + i].revents && handle(pin, &pin->clients[i]))
				drop_client(pin, i);
		if (fds[1].revents & POLLIN) {
			int fd = accept4(pin->listen_fd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				pin->clients[pin->n_clients++] = (struct client){ fd, 0 };
		}
	}
	while (pin->n_clients)
		drop_client(pin, pin->n_clients - 1);
	return NULL;
}

static int make_addr(const char *path, struct sockaddr_un *addr, struct bj_error *err)
{
	memset(addr, 0, sizeof(*addr));
	addr->sun_family = AF_UNIX;
	if (!path || !*path || strlen(path) >= sizeof(addr->sun_path))
		return bj_fail(err, EINVAL, -1, -1, "pin path '%s' is empty or longer than %zu bytes", path ? path : "",
			       sizeof(addr->sun_path) - 1);
	strcpy(addr->sun_path, path);
	return 0;
}

int bj_map__pin(struct bj_map *map, const char *path, struct bj_error *err)
{
	struct sockaddr_un addr;
	struct bj_pin *pin;
	struct stat st;
	int ret;

	if (map->ops->remote)
		return bj_fail(err, EINVAL, -1, -1, "a map opened from a pin cannot be pinned again");
	if (map->pin)
		return bj_fail(err, EBUSY, -1, -1, "map '%s' is already pinned at %s", map->name, map->pin->path);
	ret = make_addr(path, &addr, err);
	if (ret)
		return ret;
	if (!lstat(path, &st))
		return bj_fail(err, EEXIST, -1, -1, "pin path %s already exists", path);
	pin = calloc(1, sizeof(*pin));
	if (!pin || !(pin->path = strdup(path))) {
		free(pin);
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	}
	pin->map = map;
	pin->stop_pipe[0] = pin->stop_pipe[1] = -1;
	pin->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pin->listen_fd < 0 || bind(pin->listen_fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = errno == EADDRINUSE ? EEXIST : errno;
		ret = bj_fail(err, ret, -1, -1, "cannot pin at %s: %s", path, strerror(ret));
		goto fail;
	}
	if (listen(pin->listen_fd, 16) || pipe2(pin->stop_pipe, O_CLOEXEC) ||
	    pthread_create(&pin->thread, NULL, server, pin)) {
		ret = bj_fail(err, errno ? errno : EAGAIN, -1, -1, "cannot serve the pin at %s", path);
		unlink(path);
		goto fail;
	}
	bj_map_get(map); /* a pin keeps its map alive, as in the kernel */
	map->pin = pin;
	return 0;
fail:
	if (pin->listen_fd >= 0)
		close(pin->listen_fd);
	if (pin->stop_pipe[0] >= 0) {
		close(pin->stop_pipe[0]);
		close(pin->stop_pipe[1]);
	}
	free(pin->path);
	free(pin);
	return ret;
}

void bj_pin_stop(struct bj_map *map)
{
	struct bj_pin *pin = map->pin;
	char c = 0;

	if (!pin)
		return;
	map->pin = NULL;
	if (write(pin->stop_pipe[1], &c, 1) != 1)
		abort();
	pthread_join(pin->thread, NULL);
	unlink(pin->path);
	close(pin->listen_fd);
	close(pin->stop_pipe[0]);
	close(pin->stop_pipe[1]);
	free(pin->path);
	free(pin);
}

int bj_map__unpin(struct bj_map *map)
{
	if (!map->pin)
		return -ENOENT;
	bj_pin_stop(map);
	bj_map_put(map);
	return 0;
}

/* ---- client ---- */

struct remote {
	int fd;
	pthread_mutex_t lock;
	size_t mmap_size;
	struct rmapping {
		void *addr;
		size_t len;
		int prot;
		struct rmapping *next;
	} *mappings;
};

static struct remote *RM(const struct bj_map *map)
{
	return map->priv;
}

/* One request, one response; `in` parts are concatenated as the payload. */
static int call(struct bj_map *map, struct pin_req *req, const void *a, size_t alen, const void *b, size_t blen,
		struct pin_resp *resp, void *out, size_t out_cap, int *fd_out)
{
	struct remote *r = RM(map);
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { resp, sizeof(*resp) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf) };
	int ret;

	if (alen + blen > MAX_PAYLOAD)
		return -E2BIG;
	req->payload_len = (uint32_t)(alen + blen);
	pthread_mutex_lock(&r->lock);
	ret = io_all(r->fd, req, sizeof(*req), false);
	if (!ret && alen)
		ret = io_all(r->fd, (void *)a, alen, false);
	if (!ret && blen)
		ret = io_all(r->fd, (void *)b, blen, false);
	if (!ret && recvmsg(r->fd, &msg, MSG_WAITALL | MSG_CMSG_CLOEXEC) != (ssize_t)sizeof(*resp))
		ret = -ECONNRESET;
	if (!ret && fd_out) {
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
		*fd_out = -1;
		if (c && c->cmsg_type == SCM_RIGHTS)
			memcpy(fd_out, CMSG_DATA(c), sizeof(int));
	}
	if (!ret && resp->payload_len > out_cap)
		ret = -EPROTO;
	if (!ret && resp->payload_len)
		ret = io_all(r->fd, out, resp->payload_len, true);
	pthread_mutex_unlock(&r->lock);
	return ret ? ret : resp->ret;
}

static void remote_free(struct bj_map *map)
{
	struct remote *r = RM(map);

	while (r->mappings) {
		struct rmapping *m = r->mappings;
		r->mappings = m->next;
		munmap(m->addr, m->len);
		free(m);
	}
	close(r->fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static int remote_alloc(struct bj_map *map, const struct bj_map_opts *opts, struct bj_error *err)
{
	(void)map, (void)opts;
	return bj_fail(err, EINVAL, -1, -1, "remote maps are opened with bj_map__open_pinned");
}

const struct bj_map_ops bj_remote_ops = { .alloc = remote_alloc, .free = remote_free, .remote = true };

int bj_map__open_pinned(const char *path, struct bj_map **out, struct bj_error *err)
{
	struct sockaddr_un addr;
	struct pin_req req = { .op = OP_INFO };
	struct pin_resp resp;
	struct pin_info info;
	struct bj_map *map;
	struct remote *r;
	int ret, fd;

	*out = NULL;
	ret = make_addr(path, &addr, err);
	if (ret)
		return ret;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return bj_fail(err, errno, -1, -1, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr))) {
		ret = errno == ECONNREFUSED || errno == ENOENT ? ENOENT : errno;
		close(fd);
		return bj_fail(err, ret, -1, -1, "no map is pinned at %s%s", path,
			       ret == ENOENT && errno == ECONNREFUSED ? " (its process is gone)" : "");
	}
	map = calloc(1, sizeof(*map));
	r = calloc(1, sizeof(*r));
	if (!map || !r) {
		free(map);
		free(r);
		close(fd);
		return bj_fail(err, ENOMEM, -1, -1, "out of memory");
	}
	r->fd = fd;
	pthread_mutex_init(&r->lock, NULL);
	map->ops = &bj_remote_ops;
	map->priv = r;
	atomic_init(&map->refcnt, 1);
	pthread_mutex_init(&map->freeze_lock, NULL);
	ret = call(map, &req, NULL, 0, NULL, 0, &resp, &info, sizeof(info), NULL);
	if (ret || resp.payload_len != sizeof(info)) {
		bj_map_put(map);
		return bj_fail(err, ret ? -ret : EPROTO, -1, -1, "%s does not answer as a bpfjet map pin", path);
	}
	map->type = info.type;
	map->key_size = info.key_size;
	map->value_size = info.value_size;
	map->value_stride = BJ_ROUND8(info.value_size);
	map->max_entries = info.max_entries;
	map->map_flags = info.map_flags;
	map->n_workers = info.n_workers;
	map->id = info.id;
	map->spin_lock_off = -1;
	atomic_store(&map->frozen, info.frozen != 0);
	memcpy(map->name, info.name, sizeof(map->name));
	map->name[BJ_MAP_NAME_LEN - 1] = 0;
	r->mmap_size = info.mmap_size;
	*out = map;
	return 0;
}

int bj_remote_lookup(struct bj_map *map, const void *key, void *value, uint64_t flags)
{
	struct pin_req req = { .op = OP_LOOKUP, .flags = flags, .has_key = 1 };
	struct pin_resp resp;

	return call(map, &req, key, map->key_size, NULL, 0, &resp, value, bj_map__value_buf_size(map), NULL);
}

int bj_remote_update(struct bj_map *map, const void *key, const void *value, uint64_t flags)
{
	struct pin_req req = { .op = OP_UPDATE, .flags = flags, .has_key = 1 };
	struct pin_resp resp;

	return call(map, &req, key, map->key_size, value, bj_map__value_buf_size(map), &resp, NULL, 0, NULL);
}

int bj_remote_delete(struct bj_map *map, const void *key)
{
	struct pin_req req = { .op = OP_DELETE, .has_key = 1 };
	struct pin_resp resp;

	return call(map, &req, key, map->key_size, NULL, 0, &resp, NULL, 0, NULL);
}

int bj_remote_get_next_key(struct bj_map *map, const void *key, void *next_key)
{
	struct pin_req req = { .op = OP_NEXT_KEY, .has_key = key != NULL };
	struct pin_resp resp;

	return call(map, &req, key, key ? map->key_size : 0, NULL, 0, &resp, next_key, map->key_size, NULL);
}

int bj_remote_lookup_batch(struct bj_map *map, void *in_batch, void *out_batch, void *keys, void *values,
			   uint32_t *count, const struct bj_map_batch_opts *opts)
{
	struct pin_req req = { .op = OP_LOOKUP_BATCH, .count = *count, .has_key = in_batch != NULL };
	size_t cur = cursor_size(map), vsz = bj_map__value_buf_size(map);
	uint64_t cap = cur + (uint64_t)*count * (map->key_size + vsz);
	struct pin_resp resp = { 0, 0, 0, 0 };
	uint8_t *buf;
	int ret;

	if (!BJ_OPTS_VALID(opts, struct bj_map_batch_opts))
		return -EINVAL;
	if (cap > MAX_PAYLOAD)
		return -E2BIG;
	req.flags = BJ_OPTS_GET(opts, flags, 0);
	req.elem_flags = BJ_OPTS_GET(opts, elem_flags, 0);
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	ret = call(map, &req, in_batch, in_batch ? cur : 0, NULL, 0, &resp, buf, cap, NULL);
	if (resp.payload_len >= cur && resp.count <= *count &&
	    resp.payload_len == cur + (size_t)resp.count * (map->key_size + vsz)) {
		*count = resp.count;
		if (resp.count)
			memcpy(out_batch, buf, cur);
		else if (ret == -ENOENT || ret == 0)
			memcpy(out_batch, buf, cur); /* htab cursors move even when nothing is returned */
		memcpy(keys, buf + cur, (size_t)resp.count * map->key_size);
		memcpy(values, buf + cur + (size_t)resp.count * map->key_size, (size_t)resp.count * vsz);
	}
	free(buf);
	return ret;
}

int bj_remote_update_batch(struct bj_map *map, const void *keys, const void *values, uint32_t *count,
			   const struct bj_map_batch_opts *opts)
{
	struct pin_req req = { .op = OP_UPDATE_BATCH, .count = *count };
	struct pin_resp resp = { 0, 0, 0, 0 };
	int ret;

	if (!BJ_OPTS_VALID(opts, struct bj_map_batch_opts))
		return -EINVAL;
	req.flags = BJ_OPTS_GET(opts, flags, 0);
	req.elem_flags = BJ_OPTS_GET(opts, elem_flags, 0);
	ret = call(map, &req, keys, (size_t)*count * map->key_size, values, (size_t)*count * bj_map__value_buf_size(map),
		   &resp, NULL, 0, NULL);
	if (ret != -ECONNRESET && ret != -E2BIG)
		*count = resp.count;
	return ret;
}

int bj_remote_delete_batch(struct bj_map *map, const void *keys, uint32_t *count, const struct bj_map_batch_opts *opts)
{
	struct pin_req req = { .op = OP_DELETE_BATCH, .count = *count };
	struct pin_resp resp = { 0, 0, 0, 0 };
	int ret;

	if (!BJ_OPTS_VALID(opts, struct bj_map_batch_opts))
		return -EINVAL;
	req.flags = BJ_OPTS_GET(opts, flags, 0);
	req.elem_flags = BJ_OPTS_GET(opts, elem_flags, 0);
	ret = call(map, &req, keys, (size_t)*count * map->key_size, NULL, 0, &resp, NULL, 0, NULL);
	if (ret != -ECONNRESET && ret != -E2BIG)
		*count = resp.count;
	return ret;
}

size_t bj_remote_mmap_size(const struct bj_map *map)
{
	return RM(map)->mmap_size;
}

int bj_remote_mmap(struct bj_map *map, size_t offset, size_t len, int prot, void **addr, struct bj_error *err)
{
	struct remote *r = RM(map);
	struct pin_req req = { .op = OP_MMAP, .arg = (uint64_t)prot };
	struct pin_resp resp = { 0, 0, 0, 0 };
	struct rmapping *m;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int fd = -1, ret;
	void *p;

	if (!r->mmap_size)
		return bj_fail(err, EINVAL, -1, -1, "map '%s' is not mmapable", map->name);
	if (!len || offset % page || offset > r->mmap_size || len > r->mmap_size - offset)
		return bj_fail(err, EINVAL, -1, -1, "mapping [%zu, +%zu) is outside the %zu-byte value area", offset,
			       len, r->mmap_size);
	ret = call(map, &req, NULL, 0, NULL, 0, &resp, NULL, 0, &fd);
	if (ret)
		return bj_fail(err, -ret, -1, -1, "the owner of map '%s' refused the mapping: %s", map->name,
			       strerror(-ret));
	if (fd < 0)
		return bj_fail(err, EPROTO, -1, -1, "the owner of map '%s' sent no memory", map->name);
	m = malloc(sizeof(*m));
	p = m ? mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)offset) : MAP_FAILED;
	ret = errno;
	close(fd);
	if (p == MAP_FAILED) {
		free(m);
		req = (struct pin_req){ .op = OP_MUNMAP, .arg = (uint64_t)prot };
		call(map, &req, NULL, 0, NULL, 0, &resp, NULL, 0, NULL);
		return bj_fail(err, ret, -1, -1, "mmap: %s", strerror(ret));
	}
	*m = (struct rmapping){ p, len, prot, NULL };
	pthread_mutex_lock(&r->lock);
	m->next = r->mappings;
	r->mappings = m;
	pthread_mutex_unlock(&r->lock);
	*addr = p;
	return 0;
}

int bj_remote_munmap(struct bj_map *map, void *addr, size_t len)
{
	struct remote *r = RM(map);
	struct rmapping **pp, *m = NULL;
	struct pin_req req = { .op = OP_MUNMAP };
	struct pin_resp resp;

	pthread_mutex_lock(&r->lock);
	for (pp = &r->mappings; *pp; pp = &(*pp)->next)
		if ((*pp)->addr == addr && (*pp)->len == len) {
			m = *pp;
			*pp = m->next;
			break;
		}
	pthread_mutex_unlock(&r->lock);
	if (!m)
		return -EINVAL;
	munmap(m->addr, m->len);
	req.arg = (uint64_t)m->prot;
	free(m);
	return call(map, &req, NULL, 0, NULL, 0, &resp, NULL, 0, NULL);
}
