# tests/upgrade/: an upgrade on the multi-minion bed of tests/cluster
# (root, Docker; about 2 minutes): the bed starts with the programs of the
# commit in tests/upgrade/OLD_COMMIT, built once per commit in a git
# worktree under $(B)/upgrade-old by old-build.sh, and each is replaced by
# this build's, one at a time, in docs/operations.md's order.
UPGRADE_OLD := $(B)/upgrade-old/.built
$(UPGRADE_OLD): tests/upgrade/OLD_COMMIT tests/upgrade/old-build.sh
	@./tests/upgrade/old-build.sh $(B)

$(OBJ)/tests/upgrade/check_upgrade.o: CFLAGS += -Itests/e2e
$(eval $(call test_prog,check_upgrade,tests/upgrade,$(E2E_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(TBIN)/check_upgrade: | $(PROGRAMS) $(UPGRADE_OLD)
INTEG_TESTS += $(TBIN)/check_upgrade
