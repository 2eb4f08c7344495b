/*
 * skiffctl.c: skiffctl's main: global flags, then dispatch to a
 * subcommand (cmd_*.c). Talks to nothing by itself.
 */
#include <stdio.h>
#include <string.h>

#include "skiffctl.h"

#ifndef SKIFF_VERSION
#define SKIFF_VERSION "dev"
#endif

static const struct skiffctl_cmd commands[] = {
	{"validate", cmd_validate, cmd_validate_usage, "check manifests offline"},
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: skiffctl [--help] [--version] COMMAND [ARGS...]\n\ncommands:\n");
	for (i = 0; i < N_COMMANDS; i++)
		fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
	fprintf(f, "\nRun 'skiffctl COMMAND --help' for a command's flags.\n");
}

int
main(int argc, char **argv)
{
	size_t c;
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage(stdout);
			return SKIFFCTL_EXIT_OK;
		}
		if (strcmp(argv[i], "--version") == 0) {
			printf("skiffctl %s\n", SKIFF_VERSION);
			return SKIFFCTL_EXIT_OK;
		}
		fprintf(stderr, "skiffctl: unknown flag %s\n", argv[i]);
		usage(stderr);
		return SKIFFCTL_EXIT_USAGE;
	}
	if (i == argc) {
		fprintf(stderr, "skiffctl: no command given\n");
		usage(stderr);
		return SKIFFCTL_EXIT_USAGE;
	}
	if (strcmp(argv[i], "help") == 0) {
		for (c = 0; i + 1 < argc && c < N_COMMANDS; c++) {
			if (strcmp(argv[i + 1], commands[c].name) == 0) {
				commands[c].usage(stdout);
				return SKIFFCTL_EXIT_OK;
			}
		}
		usage(stdout);
		return SKIFFCTL_EXIT_OK;
	}
	for (c = 0; c < N_COMMANDS; c++)
		if (strcmp(argv[i], commands[c].name) == 0)
			return commands[c].run(argc - i, argv + i, stdout, stderr);
	fprintf(stderr, "skiffctl: unknown command %s\n", argv[i]);
	usage(stderr);
	return SKIFFCTL_EXIT_USAGE;
}
