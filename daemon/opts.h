/*
 * opts.h: the flags every Skiff program takes (etcd connection, prefix,
 * logging, health address, leader election) and a program's description.
 *
 *   static int workers = 2;
 *   static const struct flag my_flags[] = {
 *           {"workers", FLAG_INT, &workers, "2", NULL, "reconcile workers"},
 *           {0}};
 *   static const struct skiff_prog prog = {
 *           .name = "skiff-scheduler", .summary = "Binds pods to nodes.",
 *           .health_addr = "127.0.0.1:10251", .elects = 1, .flags = my_flags};
 *
 * Daemons go through daemon_init (daemon.h); skiffctl calls opts_parse or
 * opts_parse_or_exit itself.
 */
#ifndef SKIFF_OPTS_H
#define SKIFF_OPTS_H

#include <stdio.h>

#include "etcd.h"
#include "flags.h"
#include "log.h"

struct skiff_prog {
	const char *name;         /* "skiff-scheduler"; logs say component=scheduler */
	const char *summary;      /* one line for --help, or NULL */
	const char *args;         /* synopsis of positional arguments; NULL = none taken */
	const char *health_addr;  /* default --health-addr; NULL or "" = off */
	int elects;               /* takes --leader-elect */
	int resyncs;              /* takes --resync-interval (a controller's full reconcile) */
	int client;               /* a command-line client: no --health-addr */
	const struct flag *flags; /* the program's own flags ({0}-ended), or NULL */
};

struct skiff_opts {
	const char *etcd_endpoints;                     /* "http://a:2379,https://b:2379" */
	const char *prefix;                             /* "/skiff": starts with '/', no trailing '/' */
	const char *etcd_cacert, *etcd_cert, *etcd_key; /* NULL when not given */
	const char *etcd_user;                          /* NULL = no auth */
	const char *etcd_password_file;
	char *etcd_password; /* owned; from the file, else SKIFF_ETCD_PASSWORD; NULL if neither */
	long etcd_timeout_ms;
	const char *log_level_name;
	enum log_level log_level;
	const char *health_addr; /* "" = no health server */
	int leader_elect;        /* 1 unless --leader-elect=false (always 0 if !prog->elects) */
	long resync_ms;          /* --resync-interval (0 if !prog->resyncs) */
	long max_value_bytes;    /* --max-value-bytes, for informers (0 for clients) */
	int allow_insecure_auth; /* --allow-insecure-auth: a password may go over http:// (daemons) */
	int nargs;               /* positional arguments, now at argv[1..nargs] */
};

/* Parse argv for program p into o (zeroed first). Returns FLAGS_OK,
 * FLAGS_HELP, FLAGS_VERSION, or FLAGS_ERR with a message in err. Strings are
 * borrowed from argv, the environment or the tables, except etcd_password
 * (free with opts_free, also after an error). Reads the password file. */
int opts_parse(struct skiff_opts *o, const struct skiff_prog *p, int argc, char **argv, char *err, size_t len);
/* opts_parse, then, on success, opts_scrub_env; --help prints the help on stdout and exits 0; --version
 * prints "NAME VERSION" and exits 0; an error prints "NAME: msg" and the usage
 * line on stderr and exits 2. Returns only on success. */
void opts_parse_or_exit(struct skiff_opts *o, const struct skiff_prog *p, int argc, char **argv);
void opts_free(struct skiff_opts *o);

/* Remove the etcd secrets (SKIFF_ETCD_PASSWORD, any other SKIFF_ variable
 * whose name holds PASSWORD, SECRET or TOKEN, ETCDCTL_PASSWORD and
 * ETCDCTL_USER) from the environment, overwriting their bytes first, so
 * that neither a child (nft, iptables, ip) nor /proc/PID/environ shows
 * them. Call once the flags are read (opts_parse has copied the
 * password). Not thread-safe, like setenv. Returns how many it removed. */
int opts_scrub_env(void);

/* Fill cfg for etcd_client_new. Pointers are borrowed from o. */
void opts_etcd_config(const struct skiff_opts *o, struct etcd_config *cfg);

/* Print p's help (every flag, common ones first) or its usage line. */
void opts_help(const struct skiff_prog *p, FILE *f);
void opts_usage(const struct skiff_prog *p, FILE *f);

/* Checks usable in programs' own tables: --x is a key prefix / host:port. */
int opts_check_prefix(const struct flag *f, char *err, size_t len);
int opts_check_hostport(const struct flag *f, char *err, size_t len);

#endif
