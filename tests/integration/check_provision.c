/*
 * check_provision.c: the provisioning material, checked the way it is
 * used. scripts/dist.sh builds a release tarball (or SKIFF_DIST_TARBALL
 * names one); scripts/install-minion.sh unpacks it into a scratch root
 * laid out like Debian 12 (/lib a symlink to usr/lib, the host's own units
 * copied in) and enables units with "systemctl --root"; systemd-analyze
 * verifies every unit inside that root, so ExecStart must name a binary
 * that the tarball really installed. The cloud-init files are validated
 * with "cloud-init schema", and the minion's user data is replayed
 * (write_files, then runcmd with the download pointed at the tarball) into
 * a scratch root. The etcd role commands of docs/operations.md are run,
 * as written, against a real etcd; the node user they create is tried
 * inside and outside its prefixes, and the real skiff-agent registers its
 * node with it.
 *
 * Nothing here starts a service or touches the host outside temporary
 * directories. A missing tool (systemd-analyze, systemctl, cloud-init,
 * python3-yaml) skips the checks that need it with a message on stderr.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "etcd_harness.h"
#include "th_proc.h"

#ifndef SKIFF_SRCDIR
#define SKIFF_SRCDIR "."
#endif
#ifndef SKIFF_BINDIR
#define SKIFF_BINDIR SKIFF_SRCDIR "/build/bin"
#endif

static const char *const DAEMONS[] = {"skiff-scheduler",
                                      "skiff-replication-controller",
                                      "skiff-node-controller",
                                      "skiff-endpoints-controller",
                                      "skiff-config-controller",
                                      "skiff-deployment-controller",
                                      "skiff-agent",
                                      "skiff-proxy",
                                      "skiff-dns",
                                      NULL};
static const char *const CONTROL_PLANE[] = {"skiff-scheduler",
                                            "skiff-replication-controller",
                                            "skiff-node-controller",
                                            "skiff-endpoints-controller",
                                            "skiff-config-controller",
                                            "skiff-deployment-controller",
                                            NULL};

static char TMP[PATH_MAX];     /* scratch directory of the whole run */
static char TARBALL[PATH_MAX]; /* the release tarball under test */
static struct th_etcd *E;

/* Run a shell command built from fmt; its stdout and stderr go to *out
 * (new, may be NULL) when out is given, else to our stderr. Returns the exit
 * status, or -1 when it could not run or died from a signal. */
static int
shf(char **out, const char *fmt, ...)
{
	char cmd[16384], buf[4096];
	va_list ap;
	FILE *f;
	size_t len = 0, n;
	char *s = NULL;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (!out)
		return (st = system(cmd)) != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	strncat(cmd, " 2>&1", sizeof(cmd) - strlen(cmd) - 1);
	if (!(f = popen(cmd, "r")))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		s = realloc(s, len + n + 1);
		memcpy(s + len, buf, n);
		len += n;
	}
	if (!s)
		s = calloc(1, 1);
	s[len] = '\0';
	*out = s;
	st = pclose(f);
	return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
have(const char *tool)
{
	return shf(NULL, "command -v %s >/dev/null 2>&1", tool) == 0;
}

static void
skip(const char *what)
{
	fprintf(stderr, "check_provision: SKIP %s\n", what);
}

/* The whole file as a new string, or NULL. */
static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *s = NULL;
	long n;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (s = malloc((size_t)n + 1))) {
		s[fread(s, 1, (size_t)n, f)] = '\0';
	}
	if (f)
		fclose(f);
	return s;
}

static void
tmp_up(void)
{
	snprintf(TMP, sizeof(TMP), "%s/skiff-provision.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(TMP))
		abort();
}

static void
tmp_down(void)
{
	if (TMP[0])
		shf(NULL, "rm -rf '%s'", TMP);
	TMP[0] = '\0';
}

/* Build the tarball once for every test (or take SKIFF_DIST_TARBALL). */
static void
dist_up(void)
{
	const char *given = getenv("SKIFF_DIST_TARBALL");
	char *out = NULL, path[PATH_MAX + 16];
	int rc;

	tmp_up();
	if (given && *given) {
		snprintf(TARBALL, sizeof(TARBALL), "%s", given);
		return;
	}
	/* A make of our own: not the jobserver or variables of "make test". */
	rc = shf(NULL,
	         "cd '%s' && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS OUTDIR='%s/dist' scripts/dist.sh >'%s/dist.out' "
	         "2>'%s/dist.log'",
	         SKIFF_SRCDIR, TMP, TMP, TMP);
	snprintf(path, sizeof(path), "%s/dist.out", TMP);
	if (rc != 0 || !(out = slurp(path)) || !*out) {
		fprintf(stderr, "check_provision: scripts/dist.sh failed (exit %d):\n", rc);
		shf(NULL, "tail -n 30 '%s/dist.log' >&2", TMP);
	} else {
		out[strcspn(out, "\n")] = '\0';
		snprintf(TARBALL, sizeof(TARBALL), "%s", out);
	}
	free(out);
}

/* A fresh root shaped like Debian 12: /lib -> usr/lib, etc/, mode 0755,
 * with the host's units (targets, docker.service if any) so that
 * dependencies resolve. Returns its path in root. */
static void
make_root(char *root, size_t len, const char *name)
{
	snprintf(root, len, "%s/%s", TMP, name);
	ck_assert_int_eq(
		shf(NULL,
	            "rm -rf '%s' && mkdir -p '%s/usr/lib/systemd/system' '%s/etc' && ln -s usr/lib '%s/lib' && "
	            "chmod 755 '%s' && if [ -d /lib/systemd/system ]; then cp -a /lib/systemd/system/. "
	            "'%s/usr/lib/systemd/system/'; fi",
	            root, root, root, root, root, root),
		0);
}

/* Whether path exists as such (enablement links point into the root, not
 * at the host's files, so they are not followed). */
static int
present(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static const char *
systemctl_cmd(void)
{
	return have("systemctl") ? "systemctl" : "true";
}

/* install-minion.sh from the tarball itself into root; extra is more env. */
static int
install_into(const char *root, const char *extra, char **out)
{
	return shf(
		out,
		"d=$(mktemp -d '%s/x.XXXXXX') && tar -xzf '%s' -C \"$d\" ./usr/local/share/skiff/install-minion.sh && "
		"ROOT='%s' SYSTEMCTL=%s %s sh \"$d/usr/local/share/skiff/install-minion.sh\" '%s'",
		TMP, TARBALL, root, systemctl_cmd(), extra ? extra : "", TARBALL);
}

static void
need_tarball(void)
{
	ck_assert_msg(TARBALL[0], "no release tarball (scripts/dist.sh failed, see above)");
}

START_TEST(test_dist_contents)
{
	char *list = NULL, pat[256];

	need_tarball();
	ck_assert_int_eq(shf(&list, "tar -tzvf '%s'", TARBALL), 0);
	for (int i = 0; DAEMONS[i]; i++) {
		snprintf(pat, sizeof(pat), " ./usr/local/bin/%s\n", DAEMONS[i]);
		ck_assert_msg(strstr(list, pat), "%s missing from the tarball", DAEMONS[i]);
		snprintf(pat, sizeof(pat), " ./lib/systemd/system/%s.service\n", DAEMONS[i]);
		ck_assert_msg(strstr(list, pat), "%s.service missing from the tarball", DAEMONS[i]);
	}
	ck_assert(strstr(list, " ./usr/local/bin/skiffctl\n"));
	ck_assert(strstr(list, " ./etc/skiff/skiff.env.example\n"));
	ck_assert(strstr(list, " ./usr/local/share/skiff/install-minion.sh\n"));
	ck_assert(strstr(list, " ./usr/local/share/skiff/pause.tar\n"));
	ck_assert_msg(!strstr(list, "./etc/skiff/skiff.env\n"), "the tarball must not carry a live skiff.env");
	/* No directory entries (they could replace /lib or chmod /), all root's. */
	for (char *l = list; *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
		ck_assert_msg(*l != 'd', "directory entry in the tarball: %.80s", l);
		ck_assert_msg(!strncmp(l + 11, "0/0 ", 4), "not owned by 0/0: %.80s", l);
	}
	free(list);
}
END_TEST

/* Text checks of the hardening asked of every unit. */
START_TEST(test_unit_hardening)
{
	static const char *const every[] = {"NoNewPrivileges=yes\n",
	                                    "ProtectSystem=strict\n",
	                                    "ProtectHome=yes\n",
	                                    "PrivateTmp=yes\n",
	                                    "Restart=always\n",
	                                    "RestartSec=2\n",
	                                    "EnvironmentFile=-/etc/skiff/skiff.env\n",
	                                    "StartLimitIntervalSec=0\n",
	                                    "WantedBy=multi-user.target\n",
	                                    NULL};
	char path[PATH_MAX], exec[256];

	for (int i = 0; DAEMONS[i]; i++) {
		const char *d = DAEMONS[i];
		char *u, *dyn;
		int cp = 0;

		snprintf(path, sizeof(path), "%s/manifests/systemd/%s.service", SKIFF_SRCDIR, d);
		ck_assert_msg((u = slurp(path)) && *u, "%s missing", path);
		for (int j = 0; every[j]; j++)
			ck_assert_msg(strstr(u, every[j]), "%s: no %s", d, every[j]);
		snprintf(exec, sizeof(exec),
		         "\nExecStart=/usr/local/bin/%s $SKIFF_COMMON_ARGS $SKIFF_CREDENTIAL_ARGS $SKIFF_", d);
		ck_assert_msg(strstr(u, exec), "%s: ExecStart is not %s...", d, exec + 1);
		for (int j = 0; CONTROL_PLANE[j]; j++)
			cp |= strcmp(CONTROL_PLANE[j], d) == 0;
		dyn = strstr(u, "\nDynamicUser=yes\n");
		ck_assert_msg(cp ? dyn != NULL : dyn == NULL, "%s: DynamicUser=yes is for the control plane only", d);
		if (cp)
			ck_assert_msg(strstr(u, "\nCapabilityBoundingSet=\n"), "%s keeps capabilities", d);
		free(u);
	}
	snprintf(path, sizeof(path), "%s/manifests/systemd/skiff-agent.service", SKIFF_SRCDIR);
	char *a = slurp(path);
	ck_assert(strstr(a, "\nWants=network-online.target docker.service\n"));
	ck_assert(strstr(a, "\nAfter=network-online.target docker.service\n"));
	/* host-gw needs routes and iptables; nothing else of root's. */
	ck_assert(strstr(a, "\nCapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW\n"));
	ck_assert(strstr(a, "DOCKER SOCKET IS ROOT-EQUIVALENT"));
	free(a);
	snprintf(path, sizeof(path), "%s/manifests/systemd/skiff-proxy.service", SKIFF_SRCDIR);
	char *p = slurp(path);
	ck_assert(strstr(p, "\nCapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_BIND_SERVICE\n"));
	ck_assert(strstr(p, "\nAmbientCapabilities=CAP_NET_ADMIN CAP_NET_BIND_SERVICE\n"));
	ck_assert(strstr(p, "\nAfter=network-online.target"));
	free(p);
}
END_TEST

/* systemd-analyze verify inside an installed root: the unit parses, every
 * setting is known, and ExecStart names an executable that exists there. A
 * drop-in like the one in docs/operations.md (LoadCredential, %d) too. */
START_TEST(test_units_verify)
{
	char root[PATH_MAX], *out = NULL;

	need_tarball();
	if (!have("systemd-analyze")) {
		skip("systemd-analyze verify: systemd-analyze not installed");
		return;
	}
	make_root(root, sizeof(root), "verify");
	ck_assert_int_eq(install_into(root, "SYSTEMCTL=true", &out), 0);
	free(out);
	ck_assert_int_eq(shf(NULL,
	                     "mkdir -p '%s/etc/systemd/system/skiff-.service.d' && cat > "
	                     "'%s/etc/systemd/system/skiff-.service.d/etcd-credentials.conf' <<'EOF'\n"
	                     "[Service]\nLoadCredential=etcd-ca:/etc/skiff/pki/ca.pem\n"
	                     "LoadCredential=etcd-password:/etc/skiff/etcd-password\n"
	                     "Environment=\"SKIFF_CREDENTIAL_ARGS=--etcd-cacert %%d/etcd-ca "
	                     "--etcd-password-file %%d/etcd-password\"\nEOF",
	                     root, root),
	                 0);
	for (int i = 0; DAEMONS[i]; i++) {
		int rc = shf(&out, "cd '%s' && systemd-analyze --man=no --root='%s' verify %s.service", TMP, root,
		             DAEMONS[i]);

		/* Unknown keys and bad values are warnings with exit 0: fail on any output. */
		ck_assert_msg(rc == 0 && out[0] == '\0', "systemd-analyze verify %s.service: exit %d: %s", DAEMONS[i],
		              rc, out);
		free(out);
	}
	/* The check is real: a unit whose binary is missing fails. */
	ck_assert_int_eq(shf(NULL, "rm '%s/usr/local/bin/skiff-proxy'", root), 0);
	ck_assert_int_ne(
		shf(&out, "cd '%s' && systemd-analyze --man=no --root='%s' verify skiff-proxy.service", TMP, root), 0);
	ck_assert_msg(strstr(out, "skiff-proxy"), "%s", out);
	free(out);
}
END_TEST

START_TEST(test_install_minion)
{
	char root[PATH_MAX], path[PATH_MAX], *out = NULL, *env;
	struct stat st;

	need_tarball();
	make_root(root, sizeof(root), "minion");
	ck_assert_msg(install_into(root, NULL, &out) == 0, "install-minion.sh: %s", out);
	free(out);
	for (int i = 0; DAEMONS[i]; i++) {
		snprintf(path, sizeof(path), "%s/usr/local/bin/%s", root, DAEMONS[i]);
		ck_assert_msg(access(path, X_OK) == 0, "%s not installed", path);
		snprintf(path, sizeof(path), "%s/usr/lib/systemd/system/%s.service", root, DAEMONS[i]);
		ck_assert_msg(access(path, R_OK) == 0, "%s not installed (through the /lib symlink)", path);
	}
	snprintf(path, sizeof(path), "%s/lib", root);
	ck_assert_msg(lstat(path, &st) == 0 && S_ISLNK(st.st_mode), "/lib is no longer a symlink");
	ck_assert_msg(stat(root, &st) == 0 && (st.st_mode & 07777) == 0755, "mode of / changed to %o",
	              st.st_mode & 07777);
	snprintf(path, sizeof(path), "%s/etc/skiff/skiff.env", root);
	ck_assert_msg(stat(path, &st) == 0 && (st.st_mode & 077) == 0, "skiff.env missing or readable by others");
	if (have("systemctl")) {
		snprintf(path, sizeof(path), "%s/etc/systemd/system/multi-user.target.wants/skiff-agent.service", root);
		ck_assert_msg(present(path), "skiff-agent not enabled");
		snprintf(path, sizeof(path), "%s/etc/systemd/system/multi-user.target.wants/skiff-proxy.service", root);
		ck_assert_msg(present(path), "skiff-proxy not enabled");
		snprintf(path, sizeof(path), "%s/etc/systemd/system/multi-user.target.wants/skiff-dns.service", root);
		ck_assert_msg(present(path), "skiff-dns not enabled");
		snprintf(path, sizeof(path), "%s/etc/systemd/system/multi-user.target.wants/skiff-scheduler.service",
		         root);
		ck_assert_msg(!present(path), "a minion must not run the scheduler");
	} else {
		skip("enablement checks: systemctl not installed");
	}
	/* Again (an upgrade): an edited skiff.env stays as it is. */
	ck_assert_int_eq(shf(NULL, "echo 'SKIFF_NODE_NAME=edited' >> '%s/etc/skiff/skiff.env'", root), 0);
	ck_assert_int_eq(install_into(root, NULL, &out), 0);
	free(out);
	snprintf(path, sizeof(path), "%s/etc/skiff/skiff.env", root);
	ck_assert((env = slurp(path)) && strstr(env, "SKIFF_NODE_NAME=edited\n"));
	free(env);
	/* Errors a person can act on. */
	ck_assert_int_eq(shf(&out, "ROOT='%s' SYSTEMCTL=true sh '%s/scripts/install-minion.sh' /nonexistent.tar.gz",
	                     root, SKIFF_SRCDIR),
	                 1);
	ck_assert_msg(strstr(out, "no such file"), "%s", out);
	free(out);
	ck_assert_int_eq(shf(&out, "sh '%s/scripts/install-minion.sh'", SKIFF_SRCDIR), 2);
	free(out);
}
END_TEST

START_TEST(test_cloud_init_schema)
{
	static const char *const files[] = {"minion.yaml", "controller.yaml", "minion-deb.yaml", NULL};
	char *out = NULL;

	if (!have("cloud-init")) {
		skip("cloud-init schema: cloud-init not installed (Debian package cloud-init)");
		return;
	}
	for (int i = 0; files[i]; i++) {
		int rc = shf(&out, "cloud-init schema --config-file '%s/manifests/cloud-init/%s'", SKIFF_SRCDIR,
		             files[i]);

		ck_assert_msg(rc == 0 && strstr(out, "Valid cloud-config"), "%s: %s", files[i], out);
		free(out);
	}
	/* The check is real: a wrong type is an error. */
	ck_assert_int_ne(shf(&out,
	                     "printf '#cloud-config\\npackages: 3\\n' > '%s/bad.yaml' && "
	                     "cloud-init schema --config-file '%s/bad.yaml'",
	                     TMP, TMP),
	                 0);
	free(out);
}
END_TEST

/* Replay minion.yaml into a scratch root: write_files under the root, then
 * runcmd with the download pointed at our tarball (file://) and its real
 * SHA-256. The packages it asks for are checked by name. */
static const char REPLAY_PY[] =
	"import os, sys, yaml\n"
	"root, url, sha, script = sys.argv[1:5]\n"
	"d = yaml.safe_load(open(sys.argv[5]))\n"
	"need = {'docker.io', 'nftables', 'libcurl4', 'libjansson4', 'libev4', 'libmicrohttpd12'}\n"
	"missing = need - set(d['packages'])\n"
	"assert not missing, 'packages missing: %s' % missing\n"
	"for f in d['write_files']:\n"
	"    p = root + f['path']\n"
	"    os.makedirs(os.path.dirname(p), exist_ok=True)\n"
	"    open(p, 'w').write(f['content'])\n"
	"    os.chmod(p, int(f.get('permissions', '0644'), 8))\n"
	"run = '\\n'.join(d['runcmd'])\n"
	"assert 'url=https://CHANGE-ME' in run and 'sha256=CHANGE-ME' in run, 'placeholders changed'\n"
	"run = run.replace('url=https://CHANGE-ME.example.org/skiff/skiff-0.1.0.tar.gz', 'url=' + url)\n"
	"run = run.replace('sha256=CHANGE-ME', 'sha256=' + sha)\n"
	"open(script, 'w').write(run)\n";

START_TEST(test_cloud_init_replay)
{
	char root[PATH_MAX], path[PATH_MAX], *out = NULL, *env;

	need_tarball();
	if (shf(NULL, "python3 -c 'import yaml' 2>/dev/null") != 0 || !have("curl")) {
		skip("minion.yaml replay: needs python3-yaml and curl");
		return;
	}
	make_root(root, sizeof(root), "cloud");
	snprintf(path, sizeof(path), "%s/replay.py", TMP);
	FILE *f = fopen(path, "w");
	ck_assert(f && fputs(REPLAY_PY, f) >= 0 && fclose(f) == 0);
	ck_assert_msg(shf(&out,
	                  "python3 '%s' '%s' 'file://%s' \"$(sha256sum '%s' | cut -d' ' -f1)\" '%s/runcmd.sh' "
	                  "'%s/manifests/cloud-init/minion.yaml'",
	                  path, root, TARBALL, TARBALL, TMP, SKIFF_SRCDIR) == 0,
	              "replay: %s", out);
	free(out);
	ck_assert_msg(shf(&out, "ROOT='%s' SYSTEMCTL=%s sh '%s/runcmd.sh'", root, systemctl_cmd(), TMP) == 0,
	              "runcmd: %s", out);
	free(out);
	snprintf(path, sizeof(path), "%s/usr/local/bin/skiff-agent", root);
	ck_assert(access(path, X_OK) == 0);
	snprintf(path, sizeof(path), "%s/usr/local/bin/skiff-proxy", root);
	ck_assert(access(path, X_OK) == 0);
	snprintf(path, sizeof(path), "%s/etc/skiff/skiff.env", root);
	ck_assert_msg((env = slurp(path)) && strstr(env, "Written by cloud-init"),
	              "cloud-init's skiff.env was replaced");
	free(env);
	if (have("systemctl")) {
		snprintf(path, sizeof(path), "%s/etc/systemd/system/multi-user.target.wants/skiff-agent.service", root);
		ck_assert(present(path));
	}
	/* A wrong checksum stops the install before anything is unpacked. */
	make_root(root, sizeof(root), "cloud-bad");
	ck_assert_int_ne(
		shf(&out,
	            "sed 's/^sha256=.*/sha256=0000/' '%s/runcmd.sh' > '%s/bad.sh' && ROOT='%s' SYSTEMCTL=true sh '%s/bad.sh'",
	            TMP, TMP, root, TMP),
		0);
	free(out);
	snprintf(path, sizeof(path), "%s/usr/local/bin/skiff-agent", root);
	ck_assert(!present(path));
}
END_TEST

/* The shell block of docs/operations.md that follows the HTML comment
 * "<!-- check_provision: NAME -->", as a new string (NULL if absent). */
static char *
doc_block(const char *name)
{
	char path[PATH_MAX], mark[128], *doc, *b, *e, *s;

	snprintf(path, sizeof(path), "%s/docs/operations.md", SKIFF_SRCDIR);
	snprintf(mark, sizeof(mark), "<!-- check_provision: %s -->", name);
	if (!(doc = slurp(path)) || !(b = strstr(doc, mark)) || !(b = strstr(b, "```sh\n")) ||
	    !(e = strstr(b + 6, "\n```"))) {
		free(doc);
		return NULL;
	}
	b += 6;
	s = strndup(b, (size_t)(e - b) + 1);
	free(doc);
	return s;
}

static void
etcd_up(void)
{
	tmp_up();
	if (!(E = th_etcd_start(1, NULL)))
		fprintf(stderr, "check_provision: etcd did not start\n");
}

static void
etcd_down(void)
{
	th_etcd_free(E);
	E = NULL;
	tmp_down();
}

/* Run block with the variables the docs use, as the admin. */
static int
run_block(const char *block, char **out)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/block.sh", TMP);
	if (!(f = fopen(path, "w")) || fputs(block, f) < 0 || fclose(f) != 0)
		return -1;
	return shf(out,
	           "cd '%s' && ETCDCTL_API=3 ETCDCTL_ENDPOINTS='%s' P=/skiff NODE=m1 ROOT_PASSWORD=rootpw "
	           "NODE_PASSWORD=nodepw CONTROL_PLANE_PASSWORD=cppw sh -eu '%s'",
	           TMP, th_etcd_endpoints(E), path);
}

/* etcdctl as the node user m1: allowed (ok) or denied (!ok), as expected. */
static void
node_may(const char *args, int ok)
{
	char *out = NULL;
	int rc = shf(&out, "ETCDCTL_API=3 etcdctl --endpoints='%s' --user='skiff-node-m1:nodepw' %s",
	             th_etcd_endpoints(E), args);

	ck_assert_msg(ok ? rc == 0 : rc != 0 && strstr(out, "permission denied"),
	              "etcdctl %s as skiff-node-m1: %s (exit %d): %s", args, ok ? "denied" : "allowed", rc, out);
	free(out);
}

/* The real agent, as the node user of the docs, registers node m1 and
 * keeps its lease (Docker is not needed for that; its socket is absent). */
START_TEST(test_rbac_agent)
{
	char *out = NULL, sock[PATH_MAX + 16], pw[64] = "SKIFF_ETCD_PASSWORD=nodepw";
	char *argv[] = {"skiff-agent",
	                "--etcd-endpoints",
	                (char *)th_etcd_endpoints(E),
	                "--etcd-user",
	                "skiff-node-m1",
	                "--allow-insecure-auth", /* the test's etcd is http:// */
	                "--node-name",
	                "m1",
	                "--node-ip",
	                "127.0.0.1",
	                "--docker-socket",
	                sock,
	                NULL};
	char *env[] = {pw, NULL};
	struct th_proc *p;
	int ok = 0;

	ck_assert_msg(E, "no etcd");
	snprintf(sock, sizeof(sock), "%s/no-docker.sock", TMP);
	ck_assert_msg(p = th_proc_start(SKIFF_BINDIR "/skiff-agent", argv, env),
	              "cannot start " SKIFF_BINDIR "/skiff-agent");
	for (int i = 0; i < 100 && !ok && th_proc_running(p); i++) {
		usleep(100000);
		ok = th_proc_log_has(p, "node is ready");
	}
	ck_assert_int_eq(shf(&out,
	                     "ETCDCTL_API=3 etcdctl --endpoints='%s' --user='root:rootpw' get /skiff/nodeleases/m1 "
	                     "--keys-only",
	                     th_etcd_endpoints(E)),
	                 0);
	if (!ok || !strstr(out, "/skiff/nodeleases/m1"))
		th_proc_free(p, 1), p = NULL;
	ck_assert_msg(ok && strstr(out, "/skiff/nodeleases/m1"), "the agent did not register as skiff-node-m1: %s",
	              out);
	free(out);
	ck_assert_int_eq(th_proc_signal(p, SIGTERM), 0);
	ck_assert_int_eq(th_proc_wait(p, 15), 0);
	th_proc_free(p, 0);
}
END_TEST

START_TEST(test_rbac_docs)
{
	char *cluster, *node, *cp, *out = NULL;

	ck_assert_msg(E, "no etcd");
	if (!have("etcdctl")) {
		skip("etcd roles: etcdctl not installed");
		return;
	}
	ck_assert_msg((cluster = doc_block("rbac-cluster")), "docs/operations.md: no rbac-cluster block");
	ck_assert_msg((node = doc_block("rbac-node")), "docs/operations.md: no rbac-node block");
	ck_assert_msg((cp = doc_block("rbac-control-plane")), "docs/operations.md: no rbac-control-plane block");
	ck_assert_msg(run_block(cluster, &out) == 0, "rbac-cluster block: %s", out);
	free(out);
	ck_assert_msg(run_block(node, &out) == 0, "rbac-node block: %s", out);
	free(out);
	ck_assert_msg(run_block(cp, &out) == 0, "rbac-control-plane block: %s", out);
	free(out);

	/* What the agent and the proxy of m1 do. */
	node_may("endpoint status", 1);
	node_may("get --prefix /skiff/bindings/m1/", 1);
	node_may("put /skiff/podstatus/m1/web '{}'", 1);
	node_may("del /skiff/podstatus/m1/web", 1);
	node_may("put /skiff/nodestatus/m1 '{}'", 1);
	node_may("get --prefix /skiff/network/", 1);
	node_may("put /skiff/nodeevents/m1/pods/web/0123456789abcdef '{}'", 1);
	node_may("get --prefix /skiff/endpoints/", 1);
	node_may("get --prefix /skiff/services/", 1);
	node_may("get --prefix /skiff/nodeconfig/m1/", 1);
	node_may("put /skiff/proxystatus/m1 '{}'", 1);
	node_may("del /skiff/proxystatus/m1", 1);
	node_may("get --prefix /skiff/proxystatus/", 1);
	node_may("get --prefix /skiff/nodeleases/", 1);
	node_may("get --prefix /skiff/serviceips/", 1); /* skiff-dns, the proxy */
	node_may("put /skiff/serviceips/10.0.0.9 '{}'", 0);
	node_may("get --prefix /skiff/nodeports/", 1);
	ck_assert_int_eq(shf(&out,
	                     "export ETCDCTL_API=3 ETCDCTL_ENDPOINTS='%s' ETCDCTL_USER='skiff-node-m1:nodepw'; "
	                     "id=$(etcdctl lease grant 10 | awk '{print $2}') && "
	                     "etcdctl put --lease=\"$id\" /skiff/nodeleases/m1 '{}' && etcdctl lease revoke \"$id\"",
	                     th_etcd_endpoints(E)),
	                 0);
	free(out);
	/* And nothing of anyone else's. */
	node_may("put /skiff/podstatus/m2/web '{}'", 0);
	node_may("get --prefix /skiff/bindings/m2/", 0);
	node_may("put /skiff/bindings/m1/web '{}'", 0);
	node_may("put /skiff/nodes/m1 '{}'", 0);
	node_may("put /skiff/nodes/m10 '{}'", 0);
	node_may("put /skiff/network/subnets/m1 '{}'", 0);
	node_may("put /skiff/events/pods/web/0123456789abcdef '{}'", 0);
	node_may("put /skiff/nodeevents/m10/pods/web/0123456789abcdef '{}'", 0);
	node_may("get --prefix /skiff/nodeconfig/m10/", 0);
	node_may("put /skiff/nodeconfig/m1/secrets/x '{}'", 0);
	node_may("get --prefix /skiff/secrets/", 0);
	node_may("put /skiff/nodestatus/m10 '{}'", 0);
	node_may("put /skiff/nodeleases/m10 '{}'", 0);
	node_may("put /skiff/proxystatus/m10 '{}'", 0);
	node_may("put /skiff/proxystatus/m2 '{}'", 0);
	node_may("put /skiff/network/subnets/m2 '{}'", 0);
	node_may("put /skiff/network/config '{}'", 0);
	node_may("put /skiff/nodeports/30080 '{}'", 0);
	node_may("put /skiff/pods/web '{}'", 0);
	node_may("put /skiff/serviceips/10.0.0.1 '{}'", 0);
	node_may("get --prefix /skiff/pods/", 0);
	node_may("get --prefix /skiff/leaders/", 0);
	/* The control plane's user may write anywhere under the prefix, not outside. */
	ck_assert_int_eq(shf(&out,
	                     "ETCDCTL_API=3 etcdctl --endpoints='%s' --user='skiff-control-plane:cppw' put "
	                     "/skiff/bindings/m1/web '{}'",
	                     th_etcd_endpoints(E)),
	                 0);
	free(out);
	ck_assert_int_ne(shf(&out,
	                     "ETCDCTL_API=3 etcdctl --endpoints='%s' --user='skiff-control-plane:cppw' put /other x",
	                     th_etcd_endpoints(E)),
	                 0);
	free(out);
	free(cluster);
	free(node);
	free(cp);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("provision");
	TCase *tc = tcase_create("core");
	TCase *te = tcase_create("etcd");

	tcase_add_unchecked_fixture(tc, dist_up, tmp_down);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_unit_hardening);
	tcase_add_test(tc, test_dist_contents);
	tcase_add_test(tc, test_units_verify);
	tcase_add_test(tc, test_install_minion);
	tcase_add_test(tc, test_cloud_init_schema);
	tcase_add_test(tc, test_cloud_init_replay);
	suite_add_tcase(s, tc);

	tcase_add_unchecked_fixture(te, etcd_up, etcd_down);
	tcase_set_timeout(te, 60);
	tcase_add_test(te, test_rbac_docs);
	tcase_add_test(te, test_rbac_agent); /* after test_rbac_docs: it uses its users */
	suite_add_tcase(s, te);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
