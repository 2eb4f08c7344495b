/*
 * skiffctl_flags.c: the one flag-parsing helper skiffctl's commands share
 * (long options as "--name value" or "--name=value", as every Skiff program
 * takes them). No getopt: commands run in-process in tests.
 */
#include <string.h>

#include "skiffctl.h"

int
skiffctl_flag(int argc, char **argv, int *i, const char *name, const char *shortname, const char **value)
{
	const char *a = argv[*i];
	size_t n = strlen(name);

	if (strncmp(a, name, n) == 0 && a[n] == '=') {
		*value = a + n + 1;
		return 1;
	}
	if (strcmp(a, name) != 0 && !(shortname && strcmp(a, shortname) == 0))
		return 0;
	*value = *i + 1 < argc ? argv[++*i] : NULL;
	return 1;
}
