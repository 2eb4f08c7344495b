/*
 * proc_mem.c: CPU time and memory of a process from /proc (proc_mem.h).
 * One open and one read per file; a process that exits between calls
 * reads as an error, not as zero.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "proc_mem.h"

int
proc_cpu_split(pid_t pid, double *user, double *sys)
{
	char path[64], buf[1024], *p;
	unsigned long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces: fields start after the last ')'. */
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	*user = (double)ut / (double)sysconf(_SC_CLK_TCK);
	*sys = (double)st / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

double
proc_cpu_seconds(pid_t pid)
{
	double user, sys;

	return proc_cpu_split(pid, &user, &sys) < 0 ? -1 : user + sys;
}

/* The kB value of "key:" lines in path, added up; -1 if none. */
static long
sum_field(const char *path, const char *const keys[])
{
	char line[256];
	long total = -1, v;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; keys[i]; i++) {
			size_t k = strlen(keys[i]);

			if (strncmp(line, keys[i], k) == 0 && sscanf(line + k, " %ld", &v) == 1)
				total = (total < 0 ? 0 : total) + v;
		}
	}
	fclose(f);
	return total;
}

int
proc_mem_read(pid_t pid, struct proc_mem *m)
{
	static const char *const rss[] = {"VmRSS:", NULL}, *const pss[] = {"Pss:", NULL},
				 *const priv[] = {"Private_Clean:", "Private_Dirty:", NULL},
				 *const anon[] = {"Anonymous:", NULL};
	char status[64], rollup[64];

	snprintf(status, sizeof(status), "/proc/%d/status", (int)pid);
	snprintf(rollup, sizeof(rollup), "/proc/%d/smaps_rollup", (int)pid);
	m->rss_kb = sum_field(status, rss);
	m->pss_kb = sum_field(rollup, pss);
	m->private_kb = sum_field(rollup, priv);
	m->anon_kb = sum_field(rollup, anon);
	return m->rss_kb < 0 || m->pss_kb < 0 || m->private_kb < 0 || m->anon_kb < 0 ? -1 : 0;
}
