/*
 * flags.h: a table-driven long-option parser, as every Skiff program takes.
 *
 *   --name value   --name=value   --bool   --bool=true|false   --   ARGS
 *
 * A program describes its flags in one or more tables ended by {0}; each
 * entry names where the value goes. A value comes from, in rising order: the
 * entry's default text, its environment variable, the command line (the last
 * occurrence wins). After all three, each entry's check runs on the result.
 * String values are borrowed from argv, the environment or the table; the
 * parser allocates nothing.
 */
#ifndef SKIFF_FLAGS_H
#define SKIFF_FLAGS_H

#include <stddef.h>
#include <stdio.h>

enum flag_type {
	FLAG_STRING,  /* dest: const char ** */
	FLAG_INT,     /* dest: long *; decimal, may be negative */
	FLAG_BOOL,    /* dest: int *; --f, --f=true|false|1|0 (never takes the next argument) */
	FLAG_DURATION /* dest: long *, milliseconds; see flags_parse_duration */
};

struct flag;
/* Validate *f->dest once parsing is over: 0, or -1 with why in err. */
typedef int (*flag_check_fn)(const struct flag *f, char *err, size_t len);

struct flag {
	const char *name; /* without "--"; NULL ends a table */
	enum flag_type type;
	void *dest;
	const char *def;     /* default as text, shown by --help; NULL = leave *dest as it is */
	const char *env;     /* variable read when set and non-empty, or NULL */
	const char *help;    /* one line for --help */
	const char *arg;     /* the value's name in --help ("URLS"); NULL = the type's name */
	flag_check_fn check; /* or NULL */
};

enum { FLAGS_ERR = -1, FLAGS_OK = 0, FLAGS_HELP = 1, FLAGS_VERSION = 2 };

/* Parse argv[1..argc-1] against tabs, a NULL-terminated array of tables.
 * Positional arguments (any argument not starting with "--", "-" alone, and
 * everything after "--") are moved, in order, to argv[1..*nargs]; when nargs
 * is NULL they are an error. Returns FLAGS_OK, FLAGS_HELP or FLAGS_VERSION
 * (--help/--version seen; parsing stopped there), or FLAGS_ERR with a message
 * for a person in err. Cost O(argc × flags). */
int flags_parse(const struct flag *const *tabs, int argc, char **argv, int *nargs, char *err, size_t len);

/* A check for FLAG_INT and FLAG_DURATION (milliseconds) entries: the value
 * lies in min..max. 0, or -1 with why in err ("must be between 1 and 1024,
 * got 0"). Use through FLAG_BOUNDS. */
int flags_check_bounds(const struct flag *f, long min, long max, char *err, size_t len);
/* Define a check function name for a table entry's check field:
 *   FLAG_BOUNDS(check_workers, 1, 1024)
 *   {"workers", FLAG_INT, &workers, "8", NULL, "…", "N", check_workers},
 * max LONG_MAX means no upper bound (include <limits.h>). */
#define FLAG_BOUNDS(name, min, max)                                   \
	static int name(const struct flag *f, char *err, size_t len)  \
	{                                                             \
		return flags_check_bounds(f, (min), (max), err, len); \
	}

/* Kubernetes-style durations: one or more NUMBER UNIT with units h, m, s, ms
 * ("1h30m", "500ms", "1.5s"), or a bare NUMBER meaning seconds ("10").
 * Returns 0 with *ms set, -1 for anything else (signs, spaces, unknown
 * units, a bare number followed by more, overflow of long). */
int flags_parse_duration(const char *s, long *ms);

/* Print "usage: NAME [flags] ARGS" (one line). */
void flags_usage(FILE *f, const char *name, const char *args);
/* Print the usage line, summary, then every flag of tabs with its help,
 * default and variable, then --help and --version. */
void flags_help(FILE *f, const char *name, const char *summary, const char *args, const struct flag *const *tabs);

/* What every program's --version prints after its name: the release and the
 * version of the key contract it speaks, "0.1.0 (contract 2)". */
#define SKIFF_VERSION_TEXT SKIFF_VERSION " (contract " SKIFF_CONTRACT_VERSION ")"
/* Print "NAME 0.1.0 (contract 2)\n" on out. */
void flags_version(FILE *out, const char *name);

#endif
