# tests/e2e/: Skiff end to end on the multi-minion bed of tests/cluster
# (root; network namespaces, a dockerd per minion). E2E_OBJ is also linked
# by bench/cluster_bench (named by path there: bench/ is read first).
E2E_OBJ := $(OBJ)/tests/e2e/e2e_bed.o $(OBJ)/tests/e2e/e2e_net.o

$(eval $(call test_prog,check_cluster,tests/e2e,$(E2E_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_cluster: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_cluster

# host-gw on the routed bed: a loud NextHopNotOnLink, not silence.
$(eval $(call test_prog,check_cluster_routed,tests/e2e,$(E2E_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_cluster_routed: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_cluster_routed

# The same suite on the routed bed with the vxlan backend.
$(TBIN)/check_cluster_vxlan: $(TBIN)/check_cluster
	@printf '#!/bin/sh\nSKIFF_E2E_BED="--backend vxlan --routed" exec %s "$$@"\n' "$(abspath $<)" >$@ && chmod +x $@
INTEG_TESTS += $(TBIN)/check_cluster_vxlan

# Kubernetes' v1.0 guestbook (manifests/guestbook/, images from
# scripts/guestbook-images.sh) on the bed: DNS, NodePort, headless,
# ClientIP affinity, the master's minion lost. About 2 minutes.
$(eval $(call test_prog,check_guestbook,tests/e2e,$(E2E_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_guestbook: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_guestbook

# A Deployment rolling with its controller killed mid-way (about 2 min).
$(eval $(call test_prog,check_rollout,tests/e2e,$(E2E_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_rollout: | $(PROGRAMS)
INTEG_TESTS += $(TBIN)/check_rollout
