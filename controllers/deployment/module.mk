# controllers/deployment/: skiff-deployment-controller (Deployments rolled
# through the replication controllers they own, one per pod template).
DC_SRC := $(wildcard controllers/deployment/*.c)
PROGRAMS += $(BIN)/skiff-deployment-controller
MAN_PAGES += controllers/deployment/skiff-deployment-controller.8
$(BIN)/skiff-deployment-controller: $(DC_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

# The rollout arithmetic and the status, without main.c and the writes.
DC_UNIT_OBJ := $(OBJ)/controllers/deployment/dc_math.o $(OBJ)/controllers/deployment/dc_status.o
$(eval $(call test_prog,check_dc_math,tests/unit,$(DC_UNIT_OBJ) $(API_LIB)))
UNIT_TESTS += $(TBIN)/check_dc_math

# Integration: real etcd, the real deployment and replication controllers.
DC_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_deployment*.c))
# It computes a pod-template-hash with api/ to plant a collision.
$(foreach t,$(DC_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(API_LIB) $(ETCD_LIB))))
$(foreach t,$(DC_INTEG),$(eval $(TBIN)/$(t): | $(BIN)/skiff-deployment-controller $(BIN)/skiff-replication-controller))
INTEG_TESTS += $(DC_INTEG:%=$(TBIN)/%)
