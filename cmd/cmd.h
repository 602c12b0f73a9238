/* SPDX-License-Identifier: GPL-2.0 */
/* One entry point per subcommand; main.c dispatches. */
#ifndef VT_CMD_H
#define VT_CMD_H

#include "trace.h"
#include "cli.h"

int cmd_doctor(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_snoop(int argc, char **argv);
int cmd_hist(int argc, char **argv);
int cmd_hung(int argc, char **argv);
int cmd_locks(int argc, char **argv);
int cmd_export(int argc, char **argv);

/* The tracer of a tracing command: o with what every command line may ask (--kprobe,
 * --no-hold); vt_tracer_open()'s result. */
static inline int cmd_tracer_open(const struct vt_cli *cli, struct vt_tracer_opts *o,
				  struct vt_tracer **t)
{
	o->force_kprobe = cli->kprobe;
	o->no_hold = cli->no_hold;
	return vt_tracer_open(t, o);
}

#endif
