# node-agent/dns/: skiff-dns, the per-node cluster DNS (ldns for the wire format).
DNS_SRC := $(wildcard node-agent/dns/*.c)
DNS_LIBS := $(shell pkg-config --libs ldns 2>/dev/null || echo -lldns)
PROGRAMS += $(BIN)/skiff-dns
# skiff-dns takes ldns from libldns.a when libldns-dev ships it: only the
# parts it uses are then mapped (libldns.so costs 0.4 MB resident, most of
# it code skiff-dns never calls; its RSS target). Tests and the fuzz target
# keep the shared library.
DNS_LDNS_A := $(wildcard $(shell pkg-config --variable=libdir ldns 2>/dev/null)/libldns.a)
DNS_BIN_LIBS := $(if $(DNS_LDNS_A),$(DNS_LDNS_A),$(DNS_LIBS))
# --as-needed: libmicrohttpd is loaded only when --health-addr asks for it
# (daemon/health_mhd.c), so that skiff-dns stays small (its RSS target).
$(BIN)/skiff-dns: $(DNS_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -Wl,--as-needed -o $@ $^ $(DNS_BIN_LIBS) $(LDLIBS)

DNS_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_dns*.c))
$(foreach t,$(DNS_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(ETCD_LIB))))
$(DNS_INTEG:%=$(TBIN)/%): LDLIBS += $(DNS_LIBS)
INTEG_TESTS += $(DNS_INTEG:%=$(TBIN)/%)
MAN_PAGES += node-agent/dns/skiff-dns.8
$(DNS_INTEG:%=$(TBIN)/%): | $(BIN)/skiff-dns

# The table, the query path and the cache are pure: a unit test links them.
DNS_PURE := $(OBJ)/node-agent/dns/dns_table.o $(OBJ)/node-agent/dns/dns_answer.o $(OBJ)/node-agent/dns/dns_cache.o
$(eval $(call test_prog,check_dns_table,tests/unit,$(DNS_PURE)))
$(TBIN)/check_dns_table: LDLIBS += $(DNS_LIBS)
UNIT_TESTS += $(TBIN)/check_dns_table
