/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bpfjet xdp run|attach: an XDP program from an object file over a pcap file or a live interface
 * (../shared/spec/cli.md).
 */
#include <bpfjet/object.h>
#include <bpfjet/xdp.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

struct xdp_args {
	const char *verb;
	const char *obj;
	const char *prog;
	const char *pcap_in;
	const char *pcap_out;
	const char *dev;
	enum bj_io_kind mode;
	enum bj_engine engine;
	enum bj_xdp_exec exec;
	uint32_t batch;
	uint32_t repeat;
	uint32_t queue;
	uint32_t duration;
	bool json;
	bool unchecked;
	bool kernel;
};

static int parse_u32(const char *verb, const char *opt, const char *s, uint32_t min, uint32_t *out)
{
	unsigned long v;
	char *end;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || !*s || v < min || v > UINT32_MAX)
		return cli_fail(verb, opt, "'%s' is not a number of at least %u", s, min);
	*out = (uint32_t)v;
	return 0;
}

static int parse_choice(const char *verb, const char *opt, const char *s, const char *const *names, int n, int *out)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i])) {
			*out = i;
			return 0;
		}
	return cli_fail(verb, opt, "unknown value '%s'", s);
}

static int parse_option(struct xdp_args *a, const char *opt, const char *val)
{
	static const char *const engines[] = { "interp", "jit" };
	static const char *const execs[] = { "auto", "per-packet", "rewrite", "native" };
	static const char *const modes[] = { "pcap", "afpacket", "afxdp" };
	int v = 0;

	if (!strcmp(opt, "--prog"))
		a->prog = val;
	else if (!strcmp(opt, "--pcap-in"))
		a->pcap_in = val;
	else if (!strcmp(opt, "--pcap-out"))
		a->pcap_out = val;
	else if (!strcmp(opt, "--dev"))
		a->dev = val;
	else if (!strcmp(opt, "--batch"))
		return parse_u32(a->verb, opt, val, 1, &a->batch);
	else if (!strcmp(opt, "--repeat"))
		return parse_u32(a->verb, opt, val, 1, &a->repeat);
	else if (!strcmp(opt, "--queue"))
		return parse_u32(a->verb, opt, val, 0, &a->queue);
	else if (!strcmp(opt, "--duration"))
		return parse_u32(a->verb, opt, val, 1, &a->duration);
	else if (!strcmp(opt, "--engine")) {
		if (parse_choice(a->verb, opt, val, engines, 2, &v))
			return 1;
		a->engine = (enum bj_engine)v;
	} else if (!strcmp(opt, "--exec")) {
		if (parse_choice(a->verb, opt, val, execs, 4, &v))
			return 1;
		a->exec = (enum bj_xdp_exec)v;
	} else if (!strcmp(opt, "--mode")) {
		if (parse_choice(a->verb, opt, val, modes, 3, &v) || v == 0)
			return cli_fail(a->verb, opt, "'%s' is not afxdp or afpacket", val);
		a->mode = (enum bj_io_kind)v;
	} else {
		return cli_fail(a->verb, opt, "unknown option");
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct xdp_args *a)
{
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i];

		if (!strcmp(opt, "--json"))
			a->json = true;
		else if (!strcmp(opt, "--unchecked"))
			a->unchecked = true;
		else if (!strcmp(opt, "--kernel"))
			a->kernel = true;
		else if (opt[0] == '-' && opt[1] == '-') {
			if (i + 1 >= argc)
				return cli_fail(a->verb, opt, "needs a value");
			if (parse_option(a, opt, argv[++i]))
				return 1;
		} else if (!a->obj) {
			a->obj = opt;
		} else {
			return cli_fail(a->verb, opt, "unexpected argument");
		}
	}
	if (!a->obj)
		return cli_fail(a->verb, "arguments", "missing OBJ.o");
	return 0;
}

/* The named program, or the object's first XDP program. */
static const struct bj_program *find_xdp_prog(const struct bj_object *obj, const char *name)
{
	if (name)
		return bj_object__find_prog(obj, name);
	for (size_t i = 0; i < bj_object__prog_count(obj); i++)
		if (bj_program__type(bj_object__prog(obj, i)) == BJ_PROG_TYPE_XDP)
			return bj_object__prog(obj, i);
	return NULL;
}

/* Loads the object (maps, then every program verified); the program lives as long as the object. */
static int load_prog(const struct xdp_args *a, struct bj_object **obj, struct bj_prog **out)
{
	const struct bj_program *p;
	struct bj_error err = { 0 };

	if (bj_object__open_file(a->obj, NULL, obj, &err))
		return cli_fail(a->verb, a->obj, "%s", err.msg);
	p = find_xdp_prog(*obj, a->prog);
	if (!p || bj_program__type(p) != BJ_PROG_TYPE_XDP) {
		bj_object__close(*obj);
		return cli_fail(a->verb, a->obj, "no XDP program%s%s", a->prog ? " named " : "", a->prog ? a->prog : "");
	}
	BJ_OPTS(bj_object_load_opts, lo, .engine = a->engine, .unchecked = a->unchecked, .log = cli_log_line);
	if (bj_object__load(*obj, &lo, &err)) {
		bj_object__close(*obj);
		return cli_fail(a->verb, a->obj, "%s", err.msg);
	}
	*out = bj_program__prog(p);
	return 0;
}

static struct bj_xdp *volatile running;

static void on_signal(int sig)
{
	(void)sig;
	if (running)
		bj_xdp__stop(running);
}

struct worker {
	struct bj_xdp *x;
	struct bj_io *io;
	uint64_t duration_ms;
	bool no_delivery;
	int ret;
	struct bj_error err;
	atomic_bool done;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	BJ_OPTS(bj_xdp_loop_opts, lo, .duration_ms = w->duration_ms, .no_delivery = w->no_delivery);
	w->ret = bj_xdp__run_io(w->x, 0, w->io, &lo, &w->err);
	atomic_store(&w->done, true);
	return NULL;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Runs io to its end (or the duration) on a thread; every second prints the rate on stderr. */
static int run_io(struct bj_xdp *x, struct bj_io *io, uint64_t duration_ms, bool live, bool deliver,
		  struct bj_error *err)
{
	struct worker w = { .x = x, .io = io, .duration_ms = duration_ms, .no_delivery = !deliver };
	bool per_second = live;
	double start = now_s(), last = start;
	uint64_t last_packets = 0;
	pthread_t t;

	if (pthread_create(&t, NULL, worker_main, &w))
		return -EAGAIN;
	while (!atomic_load(&w.done)) {
		struct bj_xdp_stats st = { .sz = sizeof(st) };
		double now;

		usleep(50000);
		now = now_s();
		if (now - last < 1.0)
			continue;
		bj_xdp__stats(x, &st);
		if (per_second || now - start >= 1.0)
			fprintf(stderr, "%8.1fs %12" PRIu64 " packets %10.3f Mpps\n", now - start, st.packets,
				(double)(st.packets - last_packets) / (now - last) / 1e6);
		last = now;
		last_packets = st.packets;
	}
	pthread_join(t, NULL);
	if (w.ret && err)
		*err = w.err;
	return w.ret;
}

static void print_result(const struct xdp_args *a, struct bj_xdp *x, double wall_s)
{
	struct bj_xdp_stats st = { .sz = sizeof(st) };
	double ns = 0;

	bj_xdp__stats(x, &st);
	if (st.packets)
		ns = (double)st.busy_ns / (double)st.packets;
	if (a->json) {
		printf("{\"packets\":%" PRIu64 ",\"actions\":{", st.packets);
		for (int i = 0; i < BJ_XDP_N_ACTIONS; i++)
			printf("%s\"%s\":%" PRIu64, i ? "," : "", bj_xdp_action__name((uint32_t)i), st.actions[i]);
		printf(",\"other\":%" PRIu64 "},\"ns_per_packet\":%.3f,\"packets_per_second\":%.0f,\"faults\":%" PRIu64
		       ",\"tx\":%" PRIu64 "}\n",
		       st.other, ns, wall_s > 0 ? (double)st.packets / wall_s : 0, st.faults, st.tx);
		return;
	}
	printf("%-14s %12s %8s\n", "action", "packets", "share");
	for (int i = 0; i < BJ_XDP_N_ACTIONS; i++)
		printf("%-14s %12" PRIu64 " %7.2f%%\n", bj_xdp_action__name((uint32_t)i), st.actions[i],
		       st.packets ? 100.0 * (double)st.actions[i] / (double)st.packets : 0.0);
	if (st.other)
		printf("%-14s %12" PRIu64 "\n", "other", st.other);
	printf("packets %" PRIu64 ", %.0f packets/s, %.2f ns/packet in the program", st.packets,
	       wall_s > 0 ? (double)st.packets / wall_s : 0, ns);
	if (st.faults)
		printf(", %" PRIu64 " faults", st.faults);
	printf("\n");
}

static int make_runner(const struct xdp_args *a, struct bj_prog *prog, struct bj_xdp **x)
{
	struct bj_error err = { 0 };
	const char *why = NULL;

	BJ_OPTS(bj_xdp_opts, xo, .exec = a->exec, .batch_size = a->batch, .pass_to_tx = a->mode == BJ_IO_PCAP);
	if (bj_xdp__create(prog, &xo, x, &err))
		return cli_fail(a->verb, a->obj, "%s", err.msg);
	if (bj_xdp__exec(*x, &why) == BJ_XDP_EXEC_PER_PACKET && why && !a->json)
		fprintf(stderr, "bpfjet: note: one program call per frame: %s\n", why);
	return 0;
}

static int xdp_run(struct xdp_args *a)
{
	struct bj_error err = { 0 };
	struct bj_object *obj;
	struct bj_prog *prog;
	struct bj_xdp *x;
	double t0;
	int ret = 0;

	if (!a->pcap_in)
		return cli_fail("xdp run", "arguments", "missing --pcap-in F");
	if (a->kernel && a->pcap_out)
		return cli_fail("xdp run", "--kernel", "counts only: --pcap-out is for bpfjet runs");
	if (a->kernel)
		return cli_xdp_kernel_run(a->obj, a->prog, a->pcap_in, a->repeat, a->json);
	if (load_prog(a, &obj, &prog))
		return 1;
	if (make_runner(a, prog, &x)) {
		bj_object__close(obj);
		return 1;
	}
	t0 = now_s();
	for (uint32_t r = 0; r < a->repeat && !ret; r++) {
		struct bj_io *io;

		/* Output once: later passes only add to the counts and the timing. */
		BJ_OPTS(bj_io_opts, io_opts, .pcap_in = a->pcap_in, .pcap_out = r ? NULL : a->pcap_out, .ifindex = 1);
		if (bj_io__open(BJ_IO_PCAP, &io_opts, &io, &err)) {
			ret = cli_fail("xdp run", a->pcap_in, "%s", err.msg);
			break;
		}
		if (run_io(x, io, 0, false, r == 0 && a->pcap_out, &err))
			ret = cli_fail("xdp run", a->pcap_in, "%s", err.msg);
		bj_io__destroy(io);
	}
	if (!ret)
		print_result(a, x, now_s() - t0);
	bj_xdp__destroy(x);
	bj_object__close(obj);
	return ret;
}

static int xdp_attach(struct xdp_args *a)
{
	struct bj_error err = { 0 };
	struct bj_object *obj;
	struct bj_prog *prog;
	struct bj_xdp *x;
	struct bj_io *io;
	double t0;
	int ret = 0;

	if (!a->dev)
		return cli_fail("xdp attach", "arguments", "missing --dev IFACE");
	if (load_prog(a, &obj, &prog))
		return 1;
	if (make_runner(a, prog, &x)) {
		bj_object__close(obj);
		return 1;
	}
	BJ_OPTS(bj_io_opts, io_opts, .ifname = a->dev, .queue = a->queue, .rx_wait_ms = 100, .below_4g = true);
	if (bj_io__open(a->mode, &io_opts, &io, &err)) {
		ret = cli_fail("xdp attach", a->dev, "%s", err.msg);
	} else {
		running = x;
		signal(SIGINT, on_signal);
		signal(SIGTERM, on_signal);
		t0 = now_s();
		if (run_io(x, io, (uint64_t)a->duration * 1000, true, true, &err))
			ret = cli_fail("xdp attach", a->dev, "%s", err.msg);
		running = NULL;
		bj_io__destroy(io);
		if (!ret)
			print_result(a, x, now_s() - t0);
	}
	bj_xdp__destroy(x);
	bj_object__close(obj);
	return ret;
}

int cmd_xdp(int argc, char **argv)
{
	struct xdp_args a = { .mode = BJ_IO_AF_XDP, .repeat = 1 };

	if (argc < 2)
		return cli_fail("xdp", "arguments", "usage: bpfjet xdp run|attach OBJ.o ...");
	a.verb = !strcmp(argv[1], "run") ? "xdp run" : !strcmp(argv[1], "attach") ? "xdp attach" : NULL;
	if (!a.verb)
		return cli_fail("xdp", argv[1], "unknown verb (run or attach)");
	if (!strcmp(argv[1], "run"))
		a.mode = BJ_IO_PCAP;
	if (parse_args(argc - 1, argv + 1, &a))
		return 1;
	return a.mode == BJ_IO_PCAP ? xdp_run(&a) : xdp_attach(&a);
}
