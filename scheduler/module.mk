# scheduler/: skiff-scheduler (binds pods to nodes). sched_filter.c,
# sched_score.c, sched_pod.c and sched_copy.c are pure and also linked by the unit tests.
SCHED_SRC := $(wildcard scheduler/*.c)
SCHED_PURE := $(OBJ)/scheduler/sched_filter.o $(OBJ)/scheduler/sched_score.o $(OBJ)/scheduler/sched_pod.o \
              $(OBJ)/scheduler/sched_copy.o
PROGRAMS += $(BIN)/skiff-scheduler
MAN_PAGES += scheduler/skiff-scheduler.8
$(BIN)/skiff-scheduler: $(SCHED_SRC:%.c=$(OBJ)/%.o) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)

SCHED_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_scheduler*.c))
$(foreach t,$(SCHED_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(API_LIB) $(ETCD_LIB))))
INTEG_TESTS += $(SCHED_INTEG:%=$(TBIN)/%)

SCHED_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/check_scheduler*.c))
$(foreach t,$(SCHED_UNIT),$(eval $(call test_prog,$(t),tests/unit,$(SCHED_PURE) $(API_LIB))))
UNIT_TESTS += $(SCHED_UNIT:%=$(TBIN)/%)

# bench/scheduler_bench.c: a 10,000-pod burst on 1,000 nodes against the
# same number of guarded creates by the library alone (make bench).
BENCH_SCHED := $(B)/bench/scheduler_bench
$(BENCH_SCHED): $(OBJ)/bench/scheduler_bench.o $(OBJ)/bench/proc_mem.o $(BENCH_STATS_OBJ) $(ETCD_LIB) | $(BIN)/skiff-scheduler
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_SCHED)
