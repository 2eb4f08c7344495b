/*
 * skiffctl.h: what skiffctl's subcommands share. Each command lives in
 * cmd_NAME.c as cmd_NAME(argc, argv, out, err): argv[0] is the command's
 * name, results go to out and diagnostics to err (so tests can run a
 * command in-process), and the return value is the exit status.
 */
#ifndef SKIFF_SKIFFCTL_H
#define SKIFF_SKIFFCTL_H

#include <stdio.h>

#define SKIFFCTL_EXIT_OK 0
#define SKIFFCTL_EXIT_FAIL 1  /* the command ran and found problems, or failed */
#define SKIFFCTL_EXIT_USAGE 2 /* bad flags or arguments */

struct skiffctl_cmd {
	const char *name;
	int (*run)(int argc, char **argv, FILE *out, FILE *err);
	void (*usage)(FILE *f);
	const char *summary;
};

/* skiffctl validate [--kind KIND] -f FILE|DIR|- ...: check manifests offline. */
int cmd_validate(int argc, char **argv, FILE *out, FILE *err);
void cmd_validate_usage(FILE *f);

/* If arg is "--name" or "--name=value" (or short, when not NULL, is arg):
 * return 1 and set *value to the value (from "=..." or the next argument,
 * advancing *i), or NULL when it is missing. Otherwise return 0. */
int skiffctl_flag(int argc, char **argv, int *i, const char *name, const char *shortname, const char **value);

#endif
