# bench/: benchmarks run by `make bench` (scripts/run-bench.sh starts a
# throwaway etcd and runs each $(BENCHES) binary against it). Each prints
# "name: skiff=… baseline=… ratio=…" lines; baselines live next to them.
# The library is named by path: etcdclient/module.mk is read after this one.
BENCH_ETCD := $(B)/bench/etcd_bench
BENCH_STATS_OBJ := $(OBJ)/bench/bench_stats.o
$(BENCH_ETCD): $(OBJ)/bench/etcd_bench.o $(BENCH_STATS_OBJ) $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_ETCD)

# The agent's Docker trace read back and replayed: the baseline of the
# agent bench (node-agent/module.mk links agent_bench) and the cluster bench.
BENCH_REPLAY_OBJ := $(OBJ)/bench/docker_trace.o $(OBJ)/bench/docker_replay.o $(BENCH_STATS_OBJ)
$(B)/bench/agent_bench: $(BENCH_REPLAY_OBJ)

BENCH_PROXY := $(B)/bench/proxy_bench
$(BENCH_PROXY): $(OBJ)/bench/proxy_bench.o $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_PROXY)

# bench/cluster_bench: three minions of tests/cluster (root); the bed's
# helpers are tests/e2e's (named by path: tests/e2e/module.mk comes later).
BENCH_CLUSTER := $(B)/bench/cluster_bench
$(OBJ)/bench/cluster_bench.o $(OBJ)/bench/cluster_bench_raw.o: CFLAGS += -Itests/e2e
$(BENCH_CLUSTER): $(OBJ)/bench/cluster_bench.o $(OBJ)/bench/cluster_bench_raw.o $(OBJ)/tests/e2e/e2e_bed.o \
		$(OBJ)/tests/e2e/e2e_net.o $(BENCH_REPLAY_OBJ) $(HARNESS_OBJ) $(ETCD_LIB) | $(PROGRAMS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -pthread -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_CLUSTER)

# bench/network_bench: pod to pod across two minions of tests/cluster
# (root), host-gw and vxlan, next to node to node.
BENCH_NETWORK := $(B)/bench/network_bench
$(OBJ)/bench/network_bench.o: CFLAGS += -Itests/e2e
$(BENCH_NETWORK): $(BENCH_STATS_OBJ)
$(BENCH_NETWORK): $(OBJ)/bench/network_bench.o $(OBJ)/tests/e2e/e2e_bed.o $(OBJ)/tests/e2e/e2e_net.o \
		$(HARNESS_OBJ) $(ETCD_LIB) | $(PROGRAMS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_NETWORK)

# bench/dns_bench: skiff-dns against NSD (Debian) serving the same 1,000
# services from a zone file, with dnsperf; propagation and RSS. Runs
# build/bin/skiff-dns (node-agent/dns/module.mk).
BENCH_DNS := $(B)/bench/dns_bench
$(BENCH_DNS): $(OBJ)/bench/dns_bench.o $(BENCH_STATS_OBJ) $(OBJ)/bench/proc_mem.o $(ETCD_LIB) | $(BIN)/skiff-dns
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -lldns $(LDLIBS)
BENCHES += $(BENCH_DNS)

# bench/rollout_bench: requests through a service while a Deployment rolls,
# scales, is drained and loses a pod, on three minions of tests/cluster
# (root); its load is bench/rollout_client, run in a minion's namespace.
BENCH_ROLLOUT_CLIENT := $(B)/bench/rollout_client
$(BENCH_ROLLOUT_CLIENT): $(OBJ)/bench/rollout_client.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^
BENCH_ROLLOUT := $(B)/bench/rollout_bench
$(OBJ)/bench/rollout_bench.o: CFLAGS += -Itests/e2e
$(BENCH_ROLLOUT): $(OBJ)/bench/rollout_bench.o $(OBJ)/tests/e2e/e2e_bed.o $(OBJ)/tests/e2e/e2e_net.o \
		$(BENCH_STATS_OBJ) $(HARNESS_OBJ) $(ETCD_LIB) | $(PROGRAMS) $(BENCH_ROLLOUT_CLIENT)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -pthread -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_ROLLOUT)

# bench/scale_bench: the control plane and SCALE_NODES hollow agents
# (skiff-agent --runtime hollow) on a private etcd, SCALE_PODS pods
# (issue 20; docs/scaling.md). tests/harness is named by path.
BENCH_SCALE := $(B)/bench/scale_bench
$(BENCH_SCALE): $(OBJ)/bench/scale_bench.o $(BENCH_STATS_OBJ) $(OBJ)/bench/proc_mem.o $(HARNESS_OBJ) $(ETCD_LIB) \
		| $(PROGRAMS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_SCALE)
