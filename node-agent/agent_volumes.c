/*
 * agent_volumes.c: a pod's volumes on this node. emptyDir volumes are
 * directories PODDIR/UID/volumes/NAME (--pod-dir), made before the pod's
 * application containers are created, bind-mounted into every container
 * that mounts them and removed by the sweep once no binding has the UID.
 * hostPath volumes are mounted only under a prefix of --allow-host-path,
 * judged on the path with its symbolic links resolved. A subPath is walked
 * one component at a time without following any symbolic link, so a
 * container cannot point a later mount out of its volume.
 *
 * configMap and secret volumes (their files: agent_cmvol.c) are bound
 * read-only from the same place as an emptyDir.
 *
 * An emptyDir with medium Memory is a tmpfs mounted there (size from
 * sizeLimit), unmounted by the sweep before it removes the directory.
 *
 * It does not do: a size limit for an emptyDir on disk (refused by the
 * decoder), counting a tmpfs against the pod's memory limit, mount
 * propagation. Docker
 * resolves a bind's source again when it mounts it; between our walk and
 * that, a container of the pod could still swap a subPath component for a
 * link (a race Kubernetes closes with file descriptors; Skiff does not).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "agent_volumes.h"

/* ---------------------------------------------------------------- paths */

void
vol_allow_free(char **v)
{
	size_t i;

	for (i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int
vol_allow_parse(const char *s, char ***out, char *err, size_t len)
{
	char *copy = strdup(s ? s : ""), *tok, *save = NULL, real[PATH_MAX], *p, **nv;
	char **v = calloc(1, sizeof(*v));
	size_t n = 0, l;

	if (!v || !copy)
		goto oom;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (tok[0] != '/' || api_path_has_backstep(tok)) {
			snprintf(err, len, "\"%.200s\" is not an absolute path without '..'", tok);
			goto fail;
		}
		p = realpath(tok, real) ? real : tok;
		for (l = strlen(p); l > 1 && p[l - 1] == '/';)
			p[--l] = '\0';
		if (!(nv = realloc(v, (n + 2) * sizeof(*v))))
			goto oom;
		v = nv;
		v[n + 1] = NULL;
		if (!(v[n] = strdup(p)))
			goto oom;
		n++;
	}
	free(copy);
	*out = v;
	return 0;
oom:
	snprintf(err, len, "out of memory");
fail:
	free(copy);
	vol_allow_free(v);
	return -1;
}

/* path with its symbolic links resolved into out (PATH_MAX bytes); the
 * components that do not exist yet are appended as written. 0 or -1. */
static int
resolve(const char *path, char *out)
{
	char parent[PATH_MAX], *slash;

	if (realpath(path, out))
		return 0;
	if (errno != ENOENT || snprintf(parent, sizeof(parent), "%s", path) >= (int)sizeof(parent))
		return -1;
	slash = strrchr(parent, '/');
	if (!slash || slash == parent) {
		snprintf(out, PATH_MAX, "%s", path);
		return 0;
	}
	*slash = '\0';
	if (resolve(parent, out) < 0 || strlen(out) + strlen(slash + 1) + 2 > PATH_MAX)
		return -1;
	if (strcmp(out, "/") != 0)
		strcat(out, "/");
	strcat(out, slash + 1);
	return 0;
}

/* Is the resolved path under a prefix of --allow-host-path? */
static int
allowed(const struct agent *a, const char *path)
{
	size_t n = 0;

	while (a->o.host_path_allow && a->o.host_path_allow[n])
		n++;
	return api_path_under(path, a->o.host_path_allow, n);
}

/* ---------------------------------------------------------------- judge */

/* The first container of pod mounting volume name, else the first one. */
static const char *
mounter(const struct api_pod *pod, const char *name)
{
	size_t i, k;

	for (i = 0; i < pod->spec.n_containers; i++)
		for (k = 0; k < pod->spec.containers[i].n_volume_mounts; k++)
			if (strcmp(pod->spec.containers[i].volume_mounts[k].name, name) == 0)
				return pod->spec.containers[i].name;
	return pod->spec.n_containers ? pod->spec.containers[0].name : "";
}

/* hostPath volume v: NULL when it may be mounted, else the reason with
 * msg filled. */
static const char *
judge_host_path(const struct agent *a, const struct api_volume *v, char *msg, size_t len)
{
	char real[PATH_MAX];
	struct stat st;
	int exists = stat(v->path, &st) == 0;
	const char *want = NULL;

	if (resolve(v->path, real) < 0 || !allowed(a, real)) {
		snprintf(msg, len, "hostPath %s of volume %s is not under this node's --allow-host-path%s", v->path,
		         v->name, a->o.host_path_allow && a->o.host_path_allow[0] ? "" : " (it allows none)");
		return "HostPathNotAllowed";
	}
	if (v->type == API_HOST_PATH_DIRECTORY && (!exists || !S_ISDIR(st.st_mode)))
		want = "an existing directory (type Directory)";
	else if (v->type == API_HOST_PATH_DIRECTORY_OR_CREATE && exists && !S_ISDIR(st.st_mode))
		want = "a directory (type DirectoryOrCreate)";
	else if (v->type == API_HOST_PATH_FILE && (!exists || !S_ISREG(st.st_mode)))
		want = "an existing file (type File)";
	if (!want)
		return NULL;
	snprintf(msg, len, "hostPath %s of volume %s is not %s", v->path, v->name, want);
	return "HostPathTypeMismatch";
}

int
vol_judge(const struct agent *a, const struct api_pod *pod, const char **reason, const char **cname, char *msg,
          size_t len)
{
	size_t i;

	for (i = 0; i < pod->spec.n_volumes; i++) {
		const struct api_volume *v = &pod->spec.volumes[i];

		if (v->source != API_VOL_HOST_PATH || !(*reason = judge_host_path(a, v, msg, len)))
			continue;
		*cname = mounter(pod, v->name);
		return 1;
	}
	*reason = NULL;
	return 0;
}

/* ---------------------------------------------------------------- prepare */

int
vol_mkdirs(const char *path, mode_t mode)
{
	char buf[PATH_MAX], *s;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return errno = ENAMETOOLONG, -1;
	for (s = strchr(buf + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -1;
		if (!s)
			return 0;
		*s = '/';
	}
}

/* A tmpfs at path (emptyDir medium Memory, size sizeLimit, else tmpfs'
 * default of half the RAM) unless an earlier pass mounted it. 0 or -1. */
static int
mount_tmpfs(const char *path, const struct api_volume *v)
{
	char opts[64], parent[PATH_MAX];
	struct stat st, pst;

	snprintf(parent, sizeof(parent), "%s/..", path);
	if (stat(path, &st) == 0 && stat(parent, &pst) == 0 && st.st_dev != pst.st_dev)
		return 0;
	if (v->size_limit.text)
		snprintf(opts, sizeof(opts), "mode=0777,size=%lld", (long long)v->size_limit.value);
	else
		snprintf(opts, sizeof(opts), "mode=0777");
	return mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, opts);
}

/* Unmount the tmpfs volumes under pod directory dir (PODDIR/UID), without
 * following a link; a volume that is no mount point stays as it is. */
static void
unmount_tmpfs(const char *dir)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/volumes", dir);
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' &&
		    snprintf(path, sizeof(path), "%s/volumes/%s", dir, e->d_name) < (int)sizeof(path))
			umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW);
	closedir(d);
}

static int
empty_dir_path(const struct agent *a, const struct api_pod *pod, const char *vol, char *out)
{
	return snprintf(out, PATH_MAX, "%s/%s/volumes/%s", a->o.pod_dir, pod->meta.uid, vol) < PATH_MAX ? 0 : -1;
}

/* An emptyDir's directory given to the pod's fsGroup, as the kubelet
 * does: group-owned and setgid, so what containers write there stays in
 * the group (mode 02777). Nothing without fsGroup. 0 or -1. */
static int
fs_group(const struct api_pod *pod, const char *path)
{
	const struct api_opt *g = &pod->spec.security_context.fs_group;

	if (!g->set)
		return 0;
	return chown(path, (uid_t)-1, (gid_t)g->v) == 0 && chmod(path, 02777) == 0 ? 0 : -1;
}

/* The pod's emptyDir directories (mode 0777, as Kubernetes makes them,
 * below directories only root enters; with fsGroup, the group's) and its
 * missing host directories (never given to fsGroup, as Kubernetes). */
static int
prepare(const struct agent *a, const struct api_pod *pod, char *err, size_t len)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < pod->spec.n_volumes; i++) {
		const struct api_volume *v = &pod->spec.volumes[i];

		if (v->source == API_VOL_EMPTY_DIR) {
			if (empty_dir_path(a, pod, v->name, path) < 0 || vol_mkdirs(path, 0700) < 0 ||
			    chmod(path, 0777) < 0 || (v->memory && mount_tmpfs(path, v) < 0) || fs_group(pod, path) < 0)
				return snprintf(err, len, "emptyDir %s: %s: %s", v->name, path, strerror(errno)), -1;
		} else if (v->source == API_VOL_HOST_PATH &&
		           (v->type == API_HOST_PATH_ANY || v->type == API_HOST_PATH_DIRECTORY_OR_CREATE)) {
			if (access(v->path, F_OK) < 0 &&
			    (resolve(v->path, path) < 0 || !allowed(a, path) || vol_mkdirs(path, 0755) < 0))
				return snprintf(err, len, "hostPath %s: cannot make the directory", v->path), -1;
		}
	}
	return 0;
}

/* ---------------------------------------------------------------- mounts */

/* base/sub into out (PATH_MAX bytes, "." left out), each component of sub
 * a directory that is not a symbolic link (made when missing), the last
 * one possibly a file. */
static int
walk_sub_path(const char *base, const char *sub, char *out, char *err, size_t len)
{
	char comps[PATH_MAX], *c, *save = NULL, *next;
	int fd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC), nfd;
	struct stat st;

	snprintf(comps, sizeof(comps), "%s", sub);
	snprintf(out, PATH_MAX, "%s", base);
	for (c = strtok_r(comps, "/", &save); fd >= 0 && c; c = next) {
		next = strtok_r(NULL, "/", &save);
		if (strcmp(c, ".") == 0)
			continue;
		if (strlen(out) + strlen(c) + 2 > PATH_MAX)
			return close(fd), snprintf(err, len, "subPath %s: path too long", sub), -1;
		strcat(strcat(out, "/"), c);
		nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && errno == ENOENT && (mkdirat(fd, c, 0755) == 0 || errno == EEXIST))
			nfd = openat(fd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (nfd < 0 && !next && fstatat(fd, c, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode))
			break; /* a file at the end */
		close(fd);
		fd = nfd;
	}
	if (fd < 0)
		return snprintf(err, len, "subPath %s: a component is a symbolic link or not a directory (%s)", sub,
		                strerror(errno)),
		       -1;
	close(fd);
	return 0;
}

/* The host path to bind for mount m of volume v into src. */
static int
mount_source(const struct agent *a, const struct api_pod *pod, const struct api_volume *v,
             const struct api_volume_mount *m, char *src, char *err, size_t len)
{
	char path[PATH_MAX], real[PATH_MAX];

	if (v->source == API_VOL_HOST_PATH)
		snprintf(path, sizeof(path), "%s", v->path);
	else
		empty_dir_path(a, pod, v->name, path);
	/* a configMap or secret: a subPath names a file of the current data */
	if (v->source >= API_VOL_CONFIG_MAP && m->sub_path && strlen(path) + 8 < sizeof(path))
		strcat(path, "/..data");
	if (!realpath(path, real))
		return snprintf(err, len, "volume %s: %s: %s", v->name, path, strerror(errno)), -1;
	if (v->source == API_VOL_HOST_PATH && !allowed(a, real))
		return snprintf(err, len, "hostPath %s resolves to %s, not under --allow-host-path", v->path, real), -1;
	if (!m->sub_path) {
		snprintf(src, PATH_MAX, "%s", real);
		return 0;
	}
	return walk_sub_path(real, m->sub_path, src, err, len);
}

int
vol_host_config(json_t *hc, const struct agent *a, const struct api_pod *pod, const struct api_container *c, char *err,
                size_t len)
{
	char src[PATH_MAX];
	json_t *mounts;
	size_t k;

	if (!pod->spec.n_volumes)
		return 0;
	if (prepare(a, pod, err, len) < 0)
		return -1;
	if (!c->n_volume_mounts || !(mounts = json_array()))
		return c->n_volume_mounts ? snprintf(err, len, "out of memory"), -1 : 0;
	for (k = 0; k < c->n_volume_mounts; k++) {
		const struct api_volume_mount *m = &c->volume_mounts[k];
		const struct api_volume *v = api_volume_find(&pod->spec, m->name);

		if (!v || mount_source(a, pod, v, m, src, err, len) < 0) {
			if (!v)
				snprintf(err, len, "no volume %s", m->name);
			json_decref(mounts);
			return -1;
		}
		json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source", src, "Target",
		                                        m->mount_path, "ReadOnly",
		                                        m->read_only || v->source >= API_VOL_CONFIG_MAP));
	}
	json_object_set_new(hc, "Mounts", mounts);
	return 0;
}

/* ---------------------------------------------------------------- sweep */

struct bound {
	const struct agent *a;
	const char *uid;
	int found, malformed;
};

static void
bound_one(const struct informer_obj *o, void *arg)
{
	struct bound *b = arg;
	const struct api_binding *bd = o->obj;

	if (!bd)
		b->malformed = 1;
	else if (bd->pod.meta.uid && strcmp(bd->pod.meta.uid, b->uid) == 0)
		b->found = 1;
}

static int sweep_errors;

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag != FTW_NS && remove(path) < 0)
		sweep_errors++;
	return 0;
}

void
vol_sweep(struct agent *a)
{
	DIR *d = opendir(a->o.pod_dir);
	struct dirent *e;
	char path[PATH_MAX];

	while (d && (e = readdir(d))) {
		struct bound b = {a, e->d_name, 0, 0};

		if (!e->d_name[0] || strspn(e->d_name, "0123456789") != strlen(e->d_name))
			continue; /* not a UID: never ours to remove */
		informer_foreach(a->bindings, bound_one, &b);
		if (b.found || b.malformed)
			continue;
		snprintf(path, sizeof(path), "%s/%s", a->o.pod_dir, e->d_name);
		sweep_errors = 0;
		unmount_tmpfs(path);
		nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
		log_kv(sweep_errors ? LL_WARN : LL_INFO, KV("uid", e->d_name, "dir", path),
		       sweep_errors ? "could not remove all of a gone pod's volumes; will try again"
		                    : "removed a gone pod's volumes");
	}
	if (d)
		closedir(d);
}
