/*
 * check_agent_vxlan_calc.c: the vxlan backend's pure part
 * (node-agent/agent_vxlan_calc.c): the device's name and MTU, the peer
 * made of a subnet entry (own entry, no vtepMAC yet, bad MAC or publicIP,
 * directRouting on and off a shared link), the three entries per peer,
 * the neighbour and forwarding diffs, and the rtnetlink messages built
 * and read back (truncated ones refused).
 */
#include <arpa/inet.h>
#include <check.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>
#include <stdlib.h>
#include <string.h>

#include "node-agent/agent_vxlan_calc.h"

static const unsigned char MAC1[6] = {0x0a, 0x58, 0x0a, 0xf4, 0x02, 0x00};
static const unsigned char MAC2[6] = {0x0a, 0x58, 0x0a, 0xf4, 0x03, 0x00};

static uint32_t
ip(const char *s)
{
	uint32_t a = 0;

	ck_assert_int_eq(api_ipv4_parse(s, &a, NULL), 0);
	return a;
}

static struct api_cidr
C(const char *s) {
	struct api_cidr c = {0, 0};

	ck_assert_int_eq(api_cidr_parse(s, &c, NULL), 0);
	return c;
}

/* vxcalc_peer on entry (subnet, hostIP, publicIP, vtepMAC) for node
 * 198.51.100.11 with subnet 10.244.1.0/24 on link 198.51.100.0/24. */
static int
peer(const char *sn, const char *host, const char *pub, const char *mac, int direct, struct vx_peer *p, char *why)
{
	struct api_network_config nc;
	struct api_subnet s = {(char *)sn, (char *)host, (char *)pub, (char *)mac};
	struct api_cidr own = C("10.244.1.0/24"), link = C("198.51.100.0/24");

	api_network_config_default(&nc);
	return vxcalc_peer(&nc, &s, ip("198.51.100.11"), &own, &link, 1, direct, p, why, 256);
}

START_TEST(test_name_mtu)
{
	char n[16];

	vxcalc_name(1, n, sizeof(n));
	ck_assert_str_eq(n, "skiff.1");
	vxcalc_name(16777215, n, sizeof(n));
	ck_assert_str_eq(n, "skiff.16777215");
	ck_assert_int_eq(vxcalc_mtu(1500), 1450);
	ck_assert_int_eq(vxcalc_mtu(9001), 8951);
	ck_assert_int_eq(vxcalc_mtu(600), -1);
}
END_TEST

START_TEST(test_peer)
{
	struct vx_peer p;
	char why[256];

	ck_assert_int_eq(peer("10.244.2.0/24", "198.51.100.12", NULL, "0A:58:0a:f4:02:00", 0, &p, why), 0);
	ck_assert_int_eq(p.public_ip, ip("198.51.100.12")); /* no publicIP: the hostIP */
	ck_assert_int_eq(memcmp(p.mac, MAC1, 6), 0);
	ck_assert_int_eq(p.direct, 0);
	ck_assert_int_eq(peer("10.244.2.0/24", "198.51.100.12", "203.0.113.5", "0a:58:0a:f4:02:00", 0, &p, why), 0);
	ck_assert_int_eq(p.public_ip, ip("203.0.113.5"));
	ck_assert_int_eq(peer("10.244.1.0/24", "198.51.100.11", NULL, NULL, 0, &p, why), 1); /* our own */
	ck_assert_int_eq(peer("10.244.2.0/24", "198.51.100.12", NULL, NULL, 0, &p, why), 1);
	ck_assert_ptr_nonnull(strstr(why, "vtepMAC"));
	ck_assert_int_eq(peer("10.244.2.0/24", "198.51.100.12", NULL, "01:00:5e:00:00:01", 0, &p, why), -1);
	ck_assert_int_eq(peer("10.244.2.0/24", "198.51.100.12", "x", "0a:58:0a:f4:02:00", 0, &p, why), -1);
	ck_assert_ptr_nonnull(strstr(why, "publicIP"));
	ck_assert_int_eq(peer("10.245.2.0/24", "198.51.100.12", NULL, "0a:58:0a:f4:02:00", 0, &p, why), -1);
	ck_assert_int_eq(peer("10.244.1.0/25", "198.51.100.12", NULL, "0a:58:0a:f4:02:00", 0, &p, why), -1);
	/* directRouting: on our link a host-gw route (no MAC needed), off it VXLAN */
	ck_assert_int_eq(peer("10.244.2.0/24", "198.51.100.12", NULL, NULL, 1, &p, why), 0);
	ck_assert_int_eq(p.direct, 1);
	ck_assert_int_eq(peer("10.244.3.0/24", "192.0.2.7", NULL, "0a:58:0a:f4:03:00", 1, &p, why), 0);
	ck_assert_int_eq(p.direct, 0);
}
END_TEST

START_TEST(test_want)
{
	struct vx_peer p[2] = {{C("10.244.2.0/24"), ip("192.0.2.2"), ip("192.0.2.2"), {0}, 0},
	                       {C("10.244.3.0/24"), ip("198.51.100.13"), ip("198.51.100.13"), {0}, 1}};
	struct netcalc_route r[2];
	struct vx_neigh ne[2];
	struct vx_fdb f[2];
	size_t nr, nn, nf;

	memcpy(p[0].mac, MAC1, 6);
	vxcalc_want(p, 2, 7, r, &nr, ne, &nn, f, &nf);
	ck_assert_uint_eq(nr, 2);
	ck_assert_uint_eq(nn, 1);
	ck_assert_uint_eq(nf, 1);
	ck_assert_int_eq(r[0].gw, ip("10.244.2.0")); /* via SUBNET.0 dev 7 onlink */
	ck_assert_int_eq(r[0].oif, 7);
	ck_assert_int_eq(r[1].gw, ip("198.51.100.13")); /* direct: host-gw */
	ck_assert_int_eq(r[1].oif, 0);
	ck_assert_int_eq(ne[0].ip, ip("10.244.2.0"));
	ck_assert_int_eq(memcmp(ne[0].mac, MAC1, 6), 0);
	ck_assert_int_eq(f[0].dst, ip("192.0.2.2"));
	ck_assert_int_eq(memcmp(f[0].mac, MAC1, 6), 0);
}
END_TEST

START_TEST(test_neigh_diff)
{
	struct vx_neigh want[3] = {{ip("10.244.2.0"), {0}}, {ip("10.244.3.0"), {0}}, {ip("10.244.2.0"), {0}}};
	struct vx_neigh have[3] = {{ip("10.244.2.0"), {0}}, {ip("10.244.3.0"), {0}}, {ip("10.244.9.0"), {0}}};
	struct vx_neigh add[3], del[3];
	size_t na, nd;

	memcpy(want[0].mac, MAC1, 6);
	memcpy(want[1].mac, MAC2, 6);
	memcpy(want[2].mac, MAC2, 6); /* a duplicate address: the first wins */
	memcpy(have[0].mac, MAC1, 6);
	memcpy(have[1].mac, MAC1, 6); /* another MAC: replaced */
	vxcalc_neigh_diff(want, 3, have, 3, add, &na, del, &nd);
	ck_assert_uint_eq(na, 1);
	ck_assert_int_eq(add[0].ip, ip("10.244.3.0"));
	ck_assert_int_eq(memcmp(add[0].mac, MAC2, 6), 0);
	ck_assert_uint_eq(nd, 1);
	ck_assert_int_eq(del[0].ip, ip("10.244.9.0"));
	vxcalc_neigh_diff(want, 2, add, 0, add, &na, del, &nd);
	ck_assert_uint_eq(na, 2);
	ck_assert_uint_eq(nd, 0);
}
END_TEST

START_TEST(test_fdb_diff)
{
	struct vx_fdb want[2] = {{{0}, ip("192.0.2.2")}, {{0}, ip("192.0.2.3")}};
	struct vx_fdb have[2] = {{{0}, ip("192.0.2.9")}, {{0x0a, 9, 9, 9, 9, 9}, ip("192.0.2.3")}};
	struct vx_fdb add[2], del[2];
	size_t na, nd;

	memcpy(want[0].mac, MAC1, 6);
	memcpy(want[1].mac, MAC2, 6);
	memcpy(have[0].mac, MAC1, 6); /* moved to another node address: replaced */
	vxcalc_fdb_diff(want, 2, have, 2, add, &na, del, &nd);
	ck_assert_uint_eq(na, 2);
	ck_assert_int_eq(add[0].dst, ip("192.0.2.2"));
	ck_assert_uint_eq(nd, 1);
	ck_assert_int_eq(del[0].mac[1], 9);
	vxcalc_fdb_diff(want, 2, want, 2, add, &na, del, &nd);
	ck_assert_uint_eq(na + nd, 0);
}
END_TEST

union buf {
	struct nlmsghdr h;
	char b[VX_MSG_MAX];
};

START_TEST(test_link_msg)
{
	struct vx_link want = {"skiff.42", 0, 42, 8472, ip("192.0.2.1"), 3, 1450, 0, 0, {0}}, got;
	union buf m;
	struct nlmsghdr *h = vxmsg_link_new(m.b, &want);

	ck_assert_uint_le(h->nlmsg_len, VX_MSG_MAX);
	ck_assert(h->nlmsg_flags & NLM_F_EXCL);
	ck_assert_int_eq(vxmsg_parse_link(h, &got), 0);
	ck_assert_str_eq(got.name, "skiff.42");
	ck_assert_int_eq(got.is_vxlan, 1);
	ck_assert_int_eq(got.vni, 42);
	ck_assert_int_eq(got.port, 8472);
	ck_assert_int_eq(got.local, ip("192.0.2.1"));
	ck_assert_int_eq(got.link, 3);
	ck_assert_int_eq(got.mtu, 1450);
	ck_assert_int_eq(got.learning, 0);
	h->nlmsg_len = NLMSG_LENGTH(4); /* shorter than an ifinfomsg */
	ck_assert_int_eq(vxmsg_parse_link(h, &got), -1);
	h = vxmsg_link_up(m.b, 5, 1400);
	ck_assert_int_eq(vxmsg_parse_link(h, &got), 0);
	ck_assert_int_eq(got.ifindex, 5);
	ck_assert_int_eq(got.mtu, 1400);
	ck_assert_int_eq(got.is_vxlan, 0);
}
END_TEST

START_TEST(test_neigh_msg)
{
	struct vx_neigh n = {ip("10.244.2.0"), {0}}, gn;
	struct vx_fdb f = {{0}, ip("192.0.2.2")}, gf;
	union buf m;
	struct nlmsghdr *h;

	memcpy(n.mac, MAC1, 6);
	memcpy(f.mac, MAC2, 6);
	h = vxmsg_neigh(m.b, 1, 7, &n);
	ck_assert_int_eq(vxmsg_parse_neigh(h, 7, &gn, &gf), 1);
	ck_assert_int_eq(gn.ip, n.ip);
	ck_assert_int_eq(memcmp(gn.mac, MAC1, 6), 0);
	ck_assert_int_eq(vxmsg_parse_neigh(h, 8, &gn, &gf), 0); /* another device's */
	h = vxmsg_fdb(m.b, 1, 7, &f);
	ck_assert_int_eq(vxmsg_parse_neigh(h, 7, &gn, &gf), 2);
	ck_assert_int_eq(gf.dst, f.dst);
	ck_assert_int_eq(memcmp(gf.mac, MAC2, 6), 0);
	ck_assert_int_eq(((struct ndmsg *)NLMSG_DATA(h))->ndm_flags, NTF_SELF);
	h = vxmsg_fdb(m.b, 0, 7, &f);
	ck_assert_int_eq(h->nlmsg_type, RTM_DELNEIGH);
	ck_assert_int_eq(vxmsg_parse_neigh(h, 7, &gn, &gf), 0); /* not an RTM_NEWNEIGH */
	h = vxmsg_neigh(m.b, 0, 0, NULL);
	ck_assert_int_eq(h->nlmsg_type, RTM_GETNEIGH);
	h = vxmsg_neigh(m.b, 1, 7, &n);
	h->nlmsg_len = NLMSG_LENGTH(sizeof(struct ndmsg)) + 8; /* the MAC cut off */
	ck_assert_int_eq(vxmsg_parse_neigh(h, 7, &gn, &gf), 0);
}
END_TEST

START_TEST(test_addr_msg)
{
	union buf m;
	struct nlmsghdr *h = vxmsg_addr(m.b, 1, 4, ip("10.244.2.0"), 32);
	struct api_cidr c;
	int ifindex = 0;

	h->nlmsg_type = RTM_NEWADDR;
	ck_assert_int_eq(vxmsg_parse_addr(h, &c, &ifindex), 1);
	ck_assert_int_eq(c.addr, ip("10.244.2.0"));
	ck_assert_int_eq(c.len, 32);
	ck_assert_int_eq(ifindex, 4);
	h = vxmsg_addr(m.b, 0, 4, ip("10.244.9.0"), 24);
	ck_assert_int_eq(h->nlmsg_type, RTM_DELADDR);
	h->nlmsg_type = RTM_NEWADDR;
	ck_assert_int_eq(vxmsg_parse_addr(h, &c, &ifindex), 1);
	ck_assert_int_eq(c.len, 24);
	h = vxmsg_addr_dump(m.b);
	ck_assert_int_eq(vxmsg_parse_addr(h, &c, &ifindex), 0);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("agent_vxlan_calc");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_name_mtu);
	tcase_add_test(tc, test_peer);
	tcase_add_test(tc, test_want);
	tcase_add_test(tc, test_neigh_diff);
	tcase_add_test(tc, test_fdb_diff);
	tcase_add_test(tc, test_link_msg);
	tcase_add_test(tc, test_neigh_msg);
	tcase_add_test(tc, test_addr_msg);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
