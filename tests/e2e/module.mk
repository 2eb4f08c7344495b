# tests/e2e/: Skiff end to end on the multi-minion bed of tests/cluster
# (root; network namespaces, a dockerd per minion). E2E_OBJ is also linked
# by bench/cluster_bench (named by path there: bench/ is read first).
E2E_OBJ := $(OBJ)/tests/e2e/e2e_bed.o $(OBJ)/tests/e2e/e2e_net.o

$(eval $(call test_prog,check_cluster,tests/e2e,$(E2E_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_cluster: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_cluster
