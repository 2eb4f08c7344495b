# tests/chaos/: Skiff's own chaos suite on the bed of tests/cluster (root;
# three minions, three etcd members): kills, etcd leader kills, a minion
# cut off from etcd, a frozen dockerd, then invariants from etcd and Docker.
# make test runs it for 90 s (the binary's default CHAOS_SECONDS); make
# chaos for CHAOS_SECONDS (default 300), holding the bed's lock, with the
# frozen node's `skiffctl describe node` printed in full.
CHAOS_OBJ := $(OBJ)/tests/chaos/chaos_check.o $(OBJ)/tests/chaos/chaos_churn.o $(OBJ)/tests/e2e/e2e_bed.o \
             $(OBJ)/tests/e2e/e2e_net.o

$(OBJ)/tests/chaos/%.o: CFLAGS += -Itests/e2e
$(eval $(call test_prog,chaos,tests/chaos,$(CHAOS_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/chaos: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/chaos

CHAOS_SECONDS ?= 300
.PHONY: chaos
chaos: deps $(TBIN)/chaos $(PROGRAMS)
	@CHAOS_SECONDS=$(CHAOS_SECONDS) CHAOS_VERBOSE=1 flock /tmp/skiff-docker.lock ./scripts/run-tests.sh $(TBIN)/chaos
