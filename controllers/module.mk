# controllers/: skiff-replication-controller (replicas of pods) and
# skiff-node-controller (evictions from nodes whose lease is gone).
RC_SRC := $(wildcard controllers/replication/*.c)
NODECTL_SRC := $(wildcard controllers/node/*.c)
PROGRAMS += $(BIN)/skiff-replication-controller $(BIN)/skiff-node-controller
MAN_PAGES += controllers/replication/skiff-replication-controller.8 controllers/node/skiff-node-controller.8

$(BIN)/skiff-replication-controller: $(RC_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/skiff-node-controller: $(NODECTL_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

CTL_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_replication*.c tests/integration/check_nodectl*.c))
# check_replication also tries rc_batch.c (creates in one txn) alone.
CTL_EXTRA_check_replication := $(OBJ)/controllers/replication/rc_batch.o
$(foreach t,$(CTL_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(CTL_EXTRA_$(t)) $(HARNESS_OBJ) $(ETCD_LIB))))
$(foreach t,$(CTL_INTEG),$(eval $(TBIN)/$(t): | $(BIN)/skiff-replication-controller $(BIN)/skiff-node-controller))
INTEG_TESTS += $(CTL_INTEG:%=$(TBIN)/%)

# Unit tests link the pure parts (index, ranking, the cached pod) without main.c.
RC_UNIT_OBJ := $(OBJ)/controllers/replication/rc_index.o $(OBJ)/controllers/replication/rc_delete.o \
               $(OBJ)/controllers/replication/rc_pod.o $(OBJ)/controllers/replication/rc_create.o \
               $(OBJ)/controllers/replication/rc_batch.o $(OBJ)/controllers/replication/rc_expect.o
$(eval $(call test_prog,check_rc,tests/unit,$(RC_UNIT_OBJ) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
UNIT_TESTS += $(TBIN)/check_rc

# bench/replication_bench: time to fill a controller of 10,000 replicas
# against 10,000 create-if-absent transactions by the library alone.
BENCH_RC := $(B)/bench/replication_bench
$(BENCH_RC): $(OBJ)/bench/replication_bench.o $(OBJ)/bench/bench_stats.o $(OBJ)/controllers/replication/rc_batch.o \
             $(ETCD_LIB) | $(BIN)/skiff-replication-controller
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_RC)
