# node-agent/proxy/: skiff-proxy, the per-node service proxy.
PROXY_SRC := $(wildcard node-agent/proxy/*.c)
PROGRAMS += $(BIN)/skiff-proxy
$(BIN)/skiff-proxy: $(PROXY_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

PROXY_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_proxy*.c))
$(foreach t,$(PROXY_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(ETCD_LIB))))
INTEG_TESTS += $(PROXY_INTEG:%=$(TBIN)/%)
MAN_PAGES += node-agent/proxy/skiff-proxy.8

# check_px_affinity: the ClientIP table and its nftables text, from
# px_affinity.c alone.
$(eval $(call test_prog,check_px_affinity,tests/unit,$(OBJ)/node-agent/proxy/px_affinity.o $(API_LIB)))
UNIT_TESTS += $(TBIN)/check_px_affinity

# check_px_nft: the nft script for a change of some chains' rules alone,
# from px_nftdelta.c alone.
$(eval $(call test_prog,check_px_nft,tests/unit,$(OBJ)/node-agent/proxy/px_nftdelta.o))
UNIT_TESTS += $(TBIN)/check_px_nft
