# fuzz/: libFuzzer targets, one per fuzz/fuzz_*.c, with seeds in
# fuzz/corpus/NAME/ (and an optional dictionary fuzz/NAME.dict). Built by
# "make fuzz" / "make fuzz-smoke" (B=build/fuzz FUZZ=1 CC=clang) and run by
# scripts/run-fuzz.sh. A target needs no rule of its own: each links every
# Skiff library that exists at link time (libskiff*.a, in one group, so
# only what the target uses is pulled in). FUZZ_LIBS are built first; a new
# library a target needs joins that list. A program's own pure code that a
# target tests is an extra object prerequisite of the target.
FUZZ_SRC  := $(wildcard fuzz/fuzz_*.c)
FUZZERS   += $(FUZZ_SRC:fuzz/%.c=$(BIN)/%)
FUZZ_LIBS := $(API_LIB) $(ETCD_LIB)
$(BIN)/fuzz_netcalc: $(OBJ)/node-agent/agent_netcalc.o
$(BIN)/fuzz_vxlan: $(OBJ)/node-agent/agent_vxlan_calc.o $(OBJ)/node-agent/agent_netcalc.o
$(BIN)/fuzz_manifest_yaml: $(OBJ)/cli/ctl_manifest.o
$(BIN)/fuzz_manifest_yaml: LDLIBS += -lyaml
$(BIN)/fuzz_dns_query: $(OBJ)/node-agent/dns/dns_answer.o $(OBJ)/node-agent/dns/dns_table.o
$(BIN)/fuzz_dns_query: LDLIBS += $(DNS_LIBS)
$(BIN)/fuzz_demux: $(OBJ)/node-agent/agent_serve_demux.o
$(BIN)/fuzz_xframe: $(OBJ)/node-agent/agent_serve_exec_frame.o
$(BIN)/fuzz_ctl_frames: $(OBJ)/cli/ctl_stream_frame.o

$(FUZZ_SRC:fuzz/%.c=$(BIN)/%): $(BIN)/%: $(OBJ)/fuzz/%.o $(FUZZ_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -fsanitize=fuzzer -o $@ $(filter %.o,$^) \
	  -Wl,--start-group $(LIB)/libskiff*.a -Wl,--end-group $(LDLIBS)
