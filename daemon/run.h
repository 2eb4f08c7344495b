/*
 * run.h: run a helper program (iptables, nft) to its end and keep what it
 * said (run.c).
 */
#ifndef SKIFF_RUN_H
#define SKIFF_RUN_H

#include <stddef.h>

/* Run argv[0], looked up on PATH, with argv (NULL-ended); its stdout and
 * stderr go into out, NUL-ended, up to len - 1 bytes (the rest is read and
 * dropped, so the program never blocks on a full pipe). Blocks until it
 * exits. Returns its exit status (0..255), 127 when it is not found, or
 * -1 when it could not be started or was killed by a signal; out then
 * says why, after whatever the program wrote. */
int run_program(const char *const argv[], char *out, size_t len);

#endif
