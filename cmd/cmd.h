/* SPDX-License-Identifier: GPL-2.0 */
/* One entry point per subcommand; main.c dispatches. */
#ifndef VT_CMD_H
#define VT_CMD_H

int cmd_doctor(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_top(int argc, char **argv);
int cmd_snoop(int argc, char **argv);
int cmd_hist(int argc, char **argv);
int cmd_hung(int argc, char **argv);
int cmd_locks(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
