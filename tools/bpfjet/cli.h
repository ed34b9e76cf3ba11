/* SPDX-License-Identifier: Apache-2.0 */
/* Shared by the subcommands of the bpfjet command line. */
#ifndef BJ_CLI_H
#define BJ_CLI_H

#include <bpfjet/prog.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Prints `bpfjet: <what>: <where>: <why>` on stderr and returns 1 (the exit status). */
int cli_fail(const char *what, const char *where, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A bj_object_log_fn: the verifier's log on stderr, line by line, before the one-line error. */
void cli_log_line(void *ctx, const char *msg);
/* Reads a whole file; returns 0 or -errno. The caller frees *data. */
int cli_read_file(const char *path, uint8_t **data, size_t *len);
int cli_write_file(const char *path, const void *data, size_t len);

struct cli_command {
	const char *name;
	const char *usage;
	int (*run)(int argc, char **argv);
};

/* One line per subcommand: X(name, usage). */
#define CLI_OBJECT_USAGE "object show OBJ.o | object dump xlated OBJ.o [--prog NAME]"
#define CLI_COMMANDS(X) X(version, "version") \
	X(asm, "asm FILE.s|FILE.data -o FILE.bin") \
	X(disasm, "disasm FILE.bin [--kernel] [--indexes] [--opcodes] [--labels] [--jit [--checked]]") \
	X(prog, "prog load OBJ.o [--prog NAME] [--log-level 0-2] [--json] | prog dump xlated|jited OBJ.o [--prog NAME] | prog run OBJ.o|FILE.bin [--prog NAME] [--engine interp|jit] [--data-in F] [--data-out F] [--ctx-in F] [--repeat N] [--json] [--unchecked]") \
	X(object, CLI_OBJECT_USAGE) \
	X(map, "map dump|lookup|update|delete PIN ...") \
	X(xdp, "xdp run OBJ.o [--prog NAME] --pcap-in F [--pcap-out F] [--batch N] [--engine interp|jit] [--exec auto|per-packet|rewrite|native] [--repeat N] [--json] [--kernel] | xdp attach OBJ.o --dev IFACE [--mode afxdp|afpacket] [--queue Q] [--duration S]")

/* `xdp run OBJ.o --kernel`: the program in Linux, BPF_PROG_TEST_RUN per frame. Returns the exit status. */
int cli_xdp_kernel_run(const char *obj, const char *prog, const char *pcap_in, uint32_t repeat, bool json);

/* The program type's name as bpfjet prints it ("xdp", "mem", ...). */
const char *cli_prog_type_name(enum bj_prog_type t);

/* `prog dump xlated OBJ.o [--prog NAME]`: the programs after relocation, as text. Returns the exit status. */
int cli_dump_xlated(const char *path, const char *prog_name);

#define CLI_DECLARE(name, usage) int cmd_##name(int argc, char **argv);
CLI_COMMANDS(CLI_DECLARE)
#undef CLI_DECLARE

#endif
