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

BENCH_PROXY := $(B)/bench/proxy_bench
$(BENCH_PROXY): $(OBJ)/bench/proxy_bench.o $(ETCD_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
BENCHES += $(BENCH_PROXY)
