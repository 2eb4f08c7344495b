# tests/: Check suites. tests/unit/check_*.c are pure-logic tests;
# tests/integration/check_*.c run against a real etcd started by
# tests/harness (and real Docker where a component needs it).

ETCD_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/check_etcd*.c))
$(foreach t,$(ETCD_UNIT),$(eval $(call test_prog,$(t),tests/unit,$(ETCD_LIB))))
UNIT_TESTS += $(ETCD_UNIT:%=$(TBIN)/%)

# Allocation failures in api/ and etcdclient/'s JSON decoding: the
# libraries' malloc, calloc, realloc, free, strdup and strndup go to the
# suite's own counting hook through the linker (production code unchanged),
# and it sees when jansson's parser runs.
$(eval $(call test_prog,check_chaos,tests/unit,$(API_LIB) $(ETCD_LIB)))
$(TBIN)/check_chaos: TEST_LDFLAGS := \
	-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=free,--wrap=strdup,--wrap=strndup \
	-Wl,--wrap=json_loadb,--wrap=json_loads
UNIT_TESTS += $(TBIN)/check_chaos

ETCD_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_etcd*.c))
$(foreach t,$(ETCD_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(ETCD_FIXTURE_OBJ) $(HARNESS_OBJ) $(ETCD_LIB))))
INTEG_TESTS += $(ETCD_INTEG:%=$(TBIN)/%)
SAN_TESTS += $(ETCD_INTEG:%=$(TBIN)/%)

# Provisioning: the release tarball, systemd units and cloud-init user-data.
$(eval $(call test_prog,check_provision,tests/integration,$(HARNESS_OBJ) $(ETCD_LIB)))
$(OBJ)/tests/integration/check_provision.o: CFLAGS += -DSKIFF_SRCDIR='"$(CURDIR)"' -DSKIFF_BINDIR='"$(CURDIR)/$(BIN)"'
$(TBIN)/check_provision: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_provision

# The README's make up / make down, end to end (root, Docker).
$(eval $(call test_prog,check_make_up,tests/integration,))
$(TBIN)/check_make_up: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_make_up

# Services end to end: scheduler, controllers, agent and proxy as real
# processes (root, Docker, nftables).
$(eval $(call test_prog,check_services_e2e,tests/integration,$(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_services_e2e: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_services_e2e

# check_etcd_auth_tls also runs a daemon (skiff-node-controller) over TLS.
$(TBIN)/check_etcd_auth_tls: | $(PROGRAMS)

# The hostile-node suite (issue 15): the documented etcd roles
# (tests/harness/th_roles.c), the real control plane, an attacker holding
# only its own node's etcd user.
$(eval $(call test_prog,check_hostile_node,tests/integration,$(OBJ)/bench/proc_mem.o $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_hostile_node: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_hostile_node

# The small scale test (issue 20): the real control plane and 50 hollow
# agents (skiff-agent --runtime hollow, tests/harness/th_scale.c), 2,000
# pods. No Docker.
$(eval $(call test_prog,check_scale,tests/integration,$(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_scale: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_scale
