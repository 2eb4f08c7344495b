# controllers/endpoints/: skiff-endpoints-controller (cluster IPs and
# endpoint lists of services).
EPC_SRC := $(wildcard controllers/endpoints/*.c)
PROGRAMS += $(BIN)/skiff-endpoints-controller
$(BIN)/skiff-endpoints-controller: $(EPC_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

EPC_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_endpoints*.c))
$(foreach t,$(EPC_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(ETCD_LIB))))
INTEG_TESTS += $(EPC_INTEG:%=$(TBIN)/%)
MAN_PAGES += controllers/endpoints/skiff-endpoints-controller.8

# The node-port allocator's pure decisions (range, pick, conflicts).
$(eval $(call test_prog,check_epc_nodeport,tests/unit,$(OBJ)/controllers/endpoints/epc_nodeport_calc.o $(API_LIB)))
UNIT_TESTS += $(TBIN)/check_epc_nodeport

# What the pods cache keeps of a pod, against the whole pod.
$(eval $(call test_prog,check_epc_pod,tests/unit,$(OBJ)/controllers/endpoints/epc_pod.o $(API_LIB)))
UNIT_TESTS += $(TBIN)/check_epc_pod
