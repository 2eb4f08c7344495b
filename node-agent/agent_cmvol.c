/*
 * agent_cmvol.c: a pod's configMap and secret volumes on this node
 * (agent_cmvol.h): the files each key or item asks for, compared with what
 * the volume's directory holds and, when they differ, written to a new
 * timestamped directory that the ..data link is swapped to in one rename,
 * so a container never reads half an update. The agent calls it before it
 * creates a container and on every pass over a pod, which a change of a
 * node copy (agent_config.c) starts: files change in place within seconds.
 *
 * With the pod's fsGroup, the volume's directories and files belong to
 * that group (directories setgid, files group-readable), as the kubelet
 * gives a read-only volume to fsGroup.
 *
 * It does not do: tmpfs for secrets (the files are on the node's disk
 * below PODDIR/UID, which only root may enter), a subPath that follows updates (Kubernetes does not either), the
 * downwardAPI and projected sources (refused by the field policy).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "agent_cmvol.h"
#include "agent_volumes.h"

struct file {
	const char *path; /* relative to ..data; borrowed */
	const char *data; /* borrowed from values */
	size_t len;
	int mode;
	long gid; /* the pod's fsGroup, or -1 */
};

/* ---------------------------------------------------------------- payload */

static int
file_mode(const struct api_volume *v, int item_mode)
{
	return item_mode >= 0 ? item_mode : v->default_mode >= 0 ? v->default_mode : 0644;
}

/* The files of v from values into f (room for max(keys, items)). The
 * number of files, or -1 with err. */
static int
payload(const struct api_volume *v, const json_t *values, struct file *f, char *err, size_t len)
{
	const char *what = v->source == API_VOL_SECRET ? "secret" : "configMap";
	const char *key;
	const json_t *val;
	size_t i;
	int n = 0;

	if (!values) {
		if (v->optional)
			return 0;
		return snprintf(err, len, "%s %s of volume %s not found (or not copied to this node yet)", what,
		                v->object, v->name),
		       -1;
	}
	if (!v->n_items) {
		json_object_foreach((json_t *)values, key, val)
			f[n++] = (struct file){key, json_string_value(val), json_string_length(val), file_mode(v, -1),
			                       -1};
	}
	for (i = 0; i < v->n_items; i++) {
		const struct api_key_to_path *it = &v->items[i];

		val = json_object_get(values, it->key);
		if (!val && v->optional)
			continue;
		if (!val)
			return snprintf(err, len, "%s %s of volume %s has no key %s", what, v->object, v->name,
			                it->key),
			       -1;
		f[n++] = (struct file){it->path, json_string_value(val), json_string_length(val),
		                       file_mode(v, it->mode), -1};
	}
	for (i = 0; i < (size_t)n; i++)
		if (!f[i].data || strncmp(f[i].path, "..", 2) == 0)
			return snprintf(err, len, "volume %s: path %s may not start with \"..\"", v->name, f[i].path),
			       -1;
	return n;
}

/* ---------------------------------------------------------------- compare */

static int count_files;

static int
count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)path;
	(void)ftw;
	if (flag == FTW_F && S_ISREG(st->st_mode))
		count_files++;
	return 0;
}

/* Does file f under data (the resolved ..data) hold what it should? */
static int
file_same(const char *data, const struct file *f)
{
	char path[PATH_MAX], *buf;
	struct stat st;
	int fd, same = 0;

	if (snprintf(path, sizeof(path), "%s/%s", data, f->path) >= (int)sizeof(path))
		return 0;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return 0;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 07777) == (mode_t)f->mode &&
	    (f->gid < 0 || st.st_gid == (gid_t)f->gid) && (size_t)st.st_size == f->len && (buf = malloc(f->len + 1))) {
		same = read(fd, buf, f->len + 1) == (ssize_t)f->len && memcmp(buf, f->data, f->len) == 0;
		free(buf);
	}
	close(fd);
	return same;
}

/* Does dir already hold exactly the n files f? */
static int
dir_same(const char *dir, const struct file *f, int n)
{
	char link[PATH_MAX], data[PATH_MAX];
	int i;

	snprintf(link, sizeof(link), "%s/..data", dir);
	if (!realpath(link, data))
		return 0;
	for (i = 0; i < n; i++)
		if (!file_same(data, &f[i]))
			return 0;
	count_files = 0;
	nftw(data, count_one, 16, FTW_PHYS);
	return count_files == n;
}

/* ---------------------------------------------------------------- write */

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* A directory of the volume given to group gid (the pod's fsGroup) as
 * Kubernetes does: group-owned, setgid, group may enter. Nothing when gid
 * is -1. 0 or -1. */
static int
dir_group(const char *path, long gid)
{
	if (gid < 0)
		return 0;
	return chown(path, (uid_t)-1, (gid_t)gid) == 0 && chmod(path, 02755) == 0 ? 0 : -1;
}

/* File f under ts, its parent directories made (0755). 0 or -1. */
static int
write_file(const char *ts, const struct file *f)
{
	char path[PATH_MAX], *s;
	int fd, ok;

	if (snprintf(path, sizeof(path), "%s/%s", ts, f->path) >= (int)sizeof(path))
		return errno = ENAMETOOLONG, -1;
	for (s = strchr(path + strlen(ts) + 1, '/'); s; s = strchr(s + 1, '/')) {
		*s = '\0';
		if ((mkdir(path, 0755) < 0 && errno != EEXIST) || dir_group(path, f->gid) < 0)
			return -1;
		*s = '/';
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) < 0)
		return -1;
	ok = write(fd, f->data, f->len) == (ssize_t)f->len &&
	     (f->gid < 0 || fchown(fd, (uid_t)-1, (gid_t)f->gid) == 0) && fchmod(fd, (mode_t)f->mode) == 0;
	return close(fd) == 0 && ok ? 0 : -1;
}

/* Is name the first component of a path of f? */
static int
top_level(const char *name, const struct file *f, int n)
{
	size_t l = strlen(name);
	int i;

	for (i = 0; i < n; i++)
		if (strncmp(f[i].path, name, l) == 0 && (f[i].path[l] == '\0' || f[i].path[l] == '/'))
			return 1;
	return 0;
}

/* The user-visible links of dir: one per first component of f, pointing
 * into ..data; any other name not starting with ".." removed. */
static void
relink(const char *dir, const struct file *f, int n)
{
	char path[PATH_MAX], target[PATH_MAX], first[NAME_MAX + 1];
	struct dirent *e;
	DIR *d;
	int i;

	for (i = 0; i < n; i++) {
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(f[i].path, "/"), f[i].path);
		snprintf(path, sizeof(path), "%s/%s", dir, first);
		snprintf(target, sizeof(target), "..data/%s", first);
		if (access(path, F_OK) < 0 && errno == ENOENT)
			(void)!symlink(target, path);
	}
	if (!(d = opendir(dir)))
		return;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "..", 2) != 0 && strcmp(e->d_name, ".") != 0 && !top_level(e->d_name, f, n))
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
}

/* Write the n files f to a new ..TS in dir and swap ..data to it. */
static int
swap_in(const char *dir, const struct file *f, int n, long gid, char *err, size_t len)
{
	char ts[PATH_MAX], tmp[PATH_MAX], data[PATH_MAX], old[PATH_MAX] = "";
	struct tm tm;
	time_t now = time(NULL);
	int i;

	gmtime_r(&now, &tm);
	snprintf(ts, sizeof(ts), "%s/..%04d_%02d_%02d_%02d_%02d_%02d.XXXXXX", dir, tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
	snprintf(data, sizeof(data), "%s/..data", dir);
	if (!mkdtemp(ts) || chmod(ts, 0755) < 0 || dir_group(ts, gid) < 0)
		return snprintf(err, len, "%s: %s", ts, strerror(errno)), -1;
	for (i = 0; i < n; i++)
		if (write_file(ts, &f[i]) < 0) {
			snprintf(err, len, "%s/%s: %s", ts, f[i].path, strerror(errno));
			nftw(ts, remove_one, 16, FTW_DEPTH | FTW_PHYS);
			return -1;
		}
	if (realpath(data, old) == NULL)
		old[0] = '\0';
	unlink(tmp);
	if (symlink(strrchr(ts, '/') + 1, tmp) < 0 || rename(tmp, data) < 0) {
		snprintf(err, len, "%s: %s", data, strerror(errno));
		nftw(ts, remove_one, 16, FTW_DEPTH | FTW_PHYS);
		return -1;
	}
	relink(dir, f, n);
	if (old[0] && strcmp(old, ts) != 0)
		nftw(old, remove_one, 16, FTW_DEPTH | FTW_PHYS);
	return 0;
}

int
cmvol_write(const char *dir, const struct api_volume *v, const json_t *values, char *err, size_t len)
{
	return cmvol_write_group(dir, v, values, -1, err, len);
}

int
cmvol_write_group(const char *dir, const struct api_volume *v, const json_t *values, long gid, char *err, size_t len)
{
	size_t room = (values ? json_object_size(values) : 0) + v->n_items + 1;
	struct file *f = calloc(room, sizeof(*f));
	int n, rc;

	if (!f)
		return snprintf(err, len, "out of memory"), -1;
	if ((mkdir(dir, 0755) < 0 && errno != EEXIST) || dir_group(dir, gid) < 0) {
		snprintf(err, len, "%s: %s", dir, strerror(errno));
		free(f);
		return -1;
	}
	n = payload(v, values, f, err, len);
	for (int i = 0; i < n; i++) { /* Kubernetes: group read on a read-only volume */
		f[i].gid = gid;
		f[i].mode |= gid >= 0 ? 0440 : 0;
	}
	if (n < 0)
		rc = -1;
	else if (dir_same(dir, f, n))
		rc = 0;
	else
		rc = swap_in(dir, f, n, gid, err, len) < 0 ? -1 : 1;
	free(f);
	return rc;
}

int
cmvol_sync(const char *pod_dir, const struct api_pod *pod, cmvol_get_fn get, void *arg, char *err, size_t len)
{
	char dir[PATH_MAX], why[512];
	size_t i;
	int rc = 0;

	for (i = 0; i < pod->spec.n_volumes; i++) {
		const struct api_volume *v = &pod->spec.volumes[i];
		const json_t *values;

		if (v->source != API_VOL_CONFIG_MAP && v->source != API_VOL_SECRET)
			continue;
		values = get(arg, v->source == API_VOL_SECRET ? "secrets" : "configmaps", v->object);
		if (snprintf(dir, sizeof(dir), "%s/%s/volumes", pod_dir, pod->meta.uid) >= (int)sizeof(dir) ||
		    vol_mkdirs(dir, 0700) < 0 || strlen(dir) + strlen(v->name) + 2 > sizeof(dir))
			snprintf(why, sizeof(why), "%s: %s", dir, strerror(errno));
		else if (cmvol_write_group(strcat(strcat(dir, "/"), v->name), v, values,
		                           pod->spec.security_context.fs_group.set
		                                   ? (long)pod->spec.security_context.fs_group.v
		                                   : -1,
		                           why, sizeof(why)) >= 0)
			continue;
		if (rc == 0)
			snprintf(err, len, "%s", why);
		rc = -1;
	}
	return rc;
}
