# controllers/config/: skiff-config-controller (copies of ConfigMaps and
# Secrets under P/nodeconfig/NODE/ for the pods bound to NODE).
CFGC_SRC := $(wildcard controllers/config/*.c)
PROGRAMS += $(BIN)/skiff-config-controller
$(BIN)/skiff-config-controller: $(CFGC_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

CFGC_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_config*.c))
$(foreach t,$(CFGC_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(ETCD_LIB))))
$(foreach t,$(CFGC_INTEG),$(eval $(TBIN)/$(t): | $(BIN)/skiff-config-controller))
INTEG_TESTS += $(CFGC_INTEG:%=$(TBIN)/%)
MAN_PAGES += controllers/config/skiff-config-controller.8
