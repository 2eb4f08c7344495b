/*
 * agent_dns.c: the node's side of pods' name resolution (agent_dns.h).
 * At start the cluster DNS address (--cluster-dns) goes on a bridge with
 * no ports, skiff-dns0 (these kernels lack the dummy driver), made over
 * rtnetlink; skiff-dns answers there and pods reach it through their
 * gateway. Per container it writes the pod's resolv.conf
 * (agent_dns_conf.c) to PODDIR/UID/resolv.conf and binds it read-only on
 * /etc/resolv.conf: Docker's own file on a user network names its
 * embedded resolver 127.0.0.11, which knows nothing of the cluster.
 *
 * It does not remove the bridge (pods keep resolving while the agent is
 * down), answer DNS (skiff-dns does), nor rewrite the file of a running
 * container when the policy's inputs change: like the kubelet, a
 * container gets its file when it is created.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent.h"
#include "agent_dns.h"
#include "agent_rtnl.h"
#include "agent_volumes.h"

/* ---------------------------------------------------------------- the bridge */

struct nl_req {
	struct nlmsghdr nh;
	union {
		struct ifinfomsg ifi;
		struct ifaddrmsg ifa;
	} u;
	char attrs[128];
};

static struct rtattr *
attr(struct nl_req *q, unsigned short type, const void *data, size_t dlen)
{
	struct rtattr *a = (struct rtattr *)((char *)q + NLMSG_ALIGN(q->nh.nlmsg_len));

	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(dlen);
	if (dlen)
		memcpy(RTA_DATA(a), data, dlen);
	q->nh.nlmsg_len = NLMSG_ALIGN(q->nh.nlmsg_len) + RTA_ALIGN(a->rta_len);
	return a;
}

static void
req(struct nl_req *q, int type, int flags, size_t body)
{
	memset(q, 0, sizeof(*q));
	q->nh.nlmsg_len = (unsigned)NLMSG_LENGTH(body);
	q->nh.nlmsg_type = (unsigned short)type;
	q->nh.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | flags);
	q->nh.nlmsg_seq = 1;
}

/* `ip link add NAME type bridge` (there already is fine), `ip addr add
 * ADDR/32 dev NAME` (replaced when there), `ip link set NAME up`. */
static int
bridge_ensure(const char *name, uint32_t addr_be, char *why, size_t len)
{
	struct nl_req q;
	struct rtattr *info;
	unsigned idx;
	int e;

	req(&q, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	q.u.ifi.ifi_family = AF_UNSPEC;
	attr(&q, IFLA_IFNAME, name, strlen(name) + 1);
	info = attr(&q, IFLA_LINKINFO, NULL, 0);
	attr(&q, IFLA_INFO_KIND, "bridge", 7);
	info->rta_len = (unsigned short)((char *)&q + q.nh.nlmsg_len - (char *)info);
	if (rtnl_talk(&q.nh, &e, why, len) < 0 && e != EEXIST)
		return -1;
	if (!(idx = if_nametoindex(name))) {
		snprintf(why, len, "%s: %s", name, strerror(errno));
		return -1;
	}
	req(&q, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, sizeof(struct ifaddrmsg));
	q.u.ifa.ifa_family = AF_INET;
	q.u.ifa.ifa_prefixlen = 32;
	q.u.ifa.ifa_scope = RT_SCOPE_UNIVERSE;
	q.u.ifa.ifa_index = idx;
	attr(&q, IFA_LOCAL, &addr_be, 4);
	attr(&q, IFA_ADDRESS, &addr_be, 4);
	if (rtnl_talk(&q.nh, &e, why, len) < 0 && e != EEXIST)
		return -1;
	req(&q, RTM_NEWLINK, 0, sizeof(struct ifinfomsg));
	q.u.ifi.ifi_family = AF_UNSPEC;
	q.u.ifi.ifi_index = (int)idx;
	q.u.ifi.ifi_flags = IFF_UP;
	q.u.ifi.ifi_change = IFF_UP;
	return rtnl_talk(&q.nh, &e, why, len);
}

void
dns_start(struct agent *a)
{
	char why[256] = "not an IPv4 address", msg[512];
	uint32_t ip;

	if (!a->o.cluster_dns)
		return;
	if (api_ipv4_parse(a->o.cluster_dns, &ip, NULL) == 0 &&
	    bridge_ensure(DNS_BRIDGE, htonl(ip), why, sizeof(why)) == 0) {
		log_kv(LL_INFO, KV("node", a->o.node_name, "address", a->o.cluster_dns, "device", DNS_BRIDGE),
		       "cluster DNS address in place");
		return;
	}
	snprintf(msg, sizeof(msg),
	         "cannot put the cluster DNS address %s on %s: %s; pods are given it as their nameserver all the "
	         "same (restart the agent once the cause is fixed)",
	         a->o.cluster_dns, DNS_BRIDGE, why);
	log_kv(LL_ERROR, KV("node", a->o.node_name), "%s", msg);
	recorder_eventf(a->rec, "nodes", a->o.node_name, "Warning", "ClusterDNSSetupFailed", "%s", msg);
}

/* ---------------------------------------------------------------- per pod */

/* The node's resolver file (new text, "" when unreadable; NULL when out
 * of memory). On a host of systemd-resolved (127.0.0.53 in the default
 * file) a pod with a network of its own gets the resolvers that stub
 * forwards to, as Docker does. */
static char *
read_host(const char *path, int host_network)
{
	static const char *const resolved = "/run/systemd/resolve/resolv.conf";
	FILE *f = fopen(path, "r");
	char *b = malloc(65537);
	size_t got = 0;

	if (f && b)
		got = fread(b, 1, 65536, f);
	if (f)
		fclose(f);
	if (!b)
		return NULL;
	b[got] = '\0';
	if (!host_network && strcmp(path, DNS_DEFAULT_RESOLV) == 0 && strstr(b, "nameserver 127.0.0.53") &&
	    access(resolved, R_OK) == 0) {
		free(b);
		return read_host(resolved, 1);
	}
	return b;
}

/* The cluster domain of P/network/config (the default when the agent does
 * not watch it: no --docker-network). */
static void
cluster_domain(const struct agent *a, char *out, size_t len)
{
	const struct informer_obj *o = a->network ? informer_get(a->network, "config") : NULL;
	struct api_network_config cfg;
	char why[256];

	if (o && netcalc_config(o->value, o->value_len, &cfg, why, sizeof(why)) == 0)
		snprintf(out, len, "%s", cfg.cluster_domain);
	else
		snprintf(out, len, "%s", API_DEFAULT_CLUSTER_DOMAIN);
}

/* Write text to dir/resolv.conf (a new file renamed over the old one, mode
 * 0644); its path into path. 0 or -1 with why. */
static int
write_file(const char *dir, const char *text, char *path, size_t plen, char *why, size_t len)
{
	char tmp[PATH_MAX];
	size_t tl = strlen(text);
	int fd;

	snprintf(path, plen, "%s/resolv.conf", dir);
	snprintf(tmp, sizeof(tmp), "%s/.resolv.conf.tmp", dir);
	if (vol_mkdirs(dir, 0700) < 0 || (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
		snprintf(why, len, "cannot write %s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, text, tl) != (ssize_t)tl || fchmod(fd, 0644) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(why, len, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Whether hc already mounts something on /etc/resolv.conf (a volume). */
static int
mounted(json_t *mounts)
{
	size_t i;
	json_t *m;

	json_array_foreach(mounts, i, m) {
		const char *t = json_string_value(json_object_get(m, "Target"));

		if (t && strcmp(t, "/etc/resolv.conf") == 0)
			return 1;
	}
	return 0;
}

int
dns_container_config(struct agent *a, const struct api_pod *pod, json_t *hc, char *why, size_t len)
{
	json_t *mounts = json_object_get(hc, "Mounts");
	char domain[256], dir[PATH_MAX], path[PATH_MAX + 16], *host, *text = NULL;
	struct dns_in in = {pod->spec.dns_policy, pod->spec.host_network, a->o.cluster_dns, domain, NULL,
	                    pod->spec.dns_config};
	int rc;

	if (mounted(mounts))
		return 0;
	cluster_domain(a, domain, sizeof(domain));
	host = read_host(a->o.resolv_conf, pod->spec.host_network);
	in.host_resolv = host;
	rc = host ? dns_resolv_conf(&in, &text) : -1;
	free(host);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		snprintf(why, len, "out of memory");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/%s", a->o.pod_dir, pod->meta.uid);
	rc = write_file(dir, text, path, sizeof(path), why, len);
	free(text);
	if (rc < 0)
		return -1;
	if (!mounts)
		json_object_set_new(hc, "Mounts", mounts = json_array());
	json_array_append_new(mounts, json_pack("{s:s,s:s,s:s,s:b}", "Type", "bind", "Source", path, "Target",
	                                        "/etc/resolv.conf", "ReadOnly", 1));
	return 0;
}
