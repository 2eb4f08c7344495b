# node-agent/: skiff-agent, the node agent (build/bin/skiff-agent), the
# infrastructure container's program (pause, static) and its image tarball
# (build/bin/pause.tar, imported by the agent as skiff/pause:0.1), and the
# integration tests tests/integration/check_agent*.c (real etcd, real
# Docker, the real agent binary).
AGENT_SRC := $(wildcard node-agent/*.c)
AGENT_OBJ := $(AGENT_SRC:%.c=$(OBJ)/%.o)

$(AGENT_OBJ): CFLAGS += -DSKIFF_PREFIX='"$(PREFIX)"'

# --as-needed: no NEEDED entry (and no loaded, relocated pages) for a
# library of $(LDLIBS) the agent does not call, such as libm.
$(BIN)/skiff-agent: $(AGENT_OBJ) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB) | $(BIN)/pause.tar
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(filter %.o %.a,$^) -Wl,--as-needed $(LDLIBS)
PROGRAMS += $(BIN)/skiff-agent
MAN_PAGES += node-agent/skiff-agent.8

# The pause program is static and plain (no sanitizers: it runs inside a
# container that has nothing but itself).
$(BIN)/pause: node-agent/pause/pause.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $@")
	$(Q)$(CC) -static -O2 -Wall -Wextra -Werror -o $@ $<

$(BIN)/pause.tar: $(BIN)/pause
	@$(if $(Q),echo "  TAR     $@")
	$(Q)rm -rf $@.d && mkdir -p $@.d && cp $< $@.d/pause && \
	  tar --owner=0 --group=0 --numeric-owner -C $@.d -cf $@.tmp pause && mv $@.tmp $@ && rm -rf $@.d
all: $(BIN)/pause.tar

.PHONY: install-agent
install: install-agent
install-agent: $(BIN)/pause.tar
	install -d $(DESTDIR)$(PREFIX)/share/skiff
	install -m 644 $(BIN)/pause.tar $(DESTDIR)$(PREFIX)/share/skiff/pause.tar

# agent_netcalc.c is pure: the unit tests link it. check_agent_net runs
# the agents beside the real node controller, which allocates subnets.
AGENT_NETCALC := $(OBJ)/node-agent/agent_netcalc.o
AGENT_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_agent*.c))
$(foreach t,$(filter-out check_agent_fw check_agent_init check_agent_probes check_agent_vxlan check_agent_fulldisk check_agent_serve,$(AGENT_INTEG)),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(ETCD_LIB))))
$(eval $(call test_prog,check_agent_init,tests/integration,$(ETCD_FIXTURE_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(eval $(call test_prog,check_agent_probes,tests/integration,$(ETCD_FIXTURE_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(eval $(call test_prog,check_agent_fulldisk,tests/integration,$(ETCD_FIXTURE_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
# check_agent_fw drives agent_fw.c itself (iptables in a namespace of its own).
$(eval $(call test_prog,check_agent_fw,tests/integration,$(OBJ)/node-agent/agent_fw.o $(OBJ)/tests/harness/th_netns.o $(DAEMON_LIB) $(API_LIB)))
# check_agent_vxlan drives the vxlan backend's netlink side in namespaces of its own.
AGENT_VXLAN := $(OBJ)/node-agent/agent_vxlan_calc.o $(OBJ)/node-agent/agent_netcalc.o
$(eval $(call test_prog,check_agent_vxlan,tests/integration,$(OBJ)/node-agent/agent_vxlan_nl.o $(OBJ)/node-agent/agent_rtnl.o $(AGENT_VXLAN) $(OBJ)/tests/harness/th_netns.o $(API_LIB)))
$(foreach t,$(AGENT_INTEG),$(eval $(OBJ)/tests/integration/$(t).o: CFLAGS += -DSKIFF_AGENT='"$(BIN)/skiff-agent"'))
$(foreach t,$(AGENT_INTEG),$(eval $(TBIN)/$(t): | $(BIN)/skiff-agent))
$(OBJ)/tests/integration/check_agent_net.o: CFLAGS += -DSKIFF_NODECTL='"$(BIN)/skiff-node-controller"'
$(TBIN)/check_agent_net: | $(BIN)/skiff-node-controller
INTEG_TESTS += $(AGENT_INTEG:%=$(TBIN)/%)

# agent_plan.c (the planner; agent_plan_init.c, its init containers) and
# agent_plan_status.c (the status value it
# makes) are pure too: check_agent_plan runs them over the fixture folders
# tests/fixtures/agent/<case>/. So is agent_security.c (check_agent_secopts).
AGENT_PLAN := $(OBJ)/node-agent/agent_plan.o $(OBJ)/node-agent/agent_plan_status.o $(OBJ)/node-agent/agent_plan_init.o $(OBJ)/node-agent/agent_security.o
AGENT_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/check_agent*.c))
$(foreach t,$(filter-out check_agent_volpaths check_agent_cmvol check_agent_probe_run,$(AGENT_UNIT)),$(eval $(call test_prog,$(t),tests/unit,$(AGENT_NETCALC) $(OBJ)/node-agent/agent_vxlan_calc.o $(AGENT_PLAN) $(API_LIB))))
# check_agent_volpaths drives agent_volumes.c on a temporary directory.
$(eval $(call test_prog,check_agent_volpaths,tests/unit,$(OBJ)/node-agent/agent_volumes.o $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
# check_agent_cmvol drives agent_cmvol.c (configMap and secret files) there too.
$(eval $(call test_prog,check_agent_cmvol,tests/unit,$(OBJ)/node-agent/agent_cmvol.o $(OBJ)/node-agent/agent_volumes.o $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
# check_agent_probe_run drives agent_probe_run.c (httpGet, tcpSocket, sleep) on a loop, without Docker.
$(eval $(call test_prog,check_agent_probe_run,tests/unit,$(OBJ)/node-agent/agent_probe_run.o $(OBJ)/node-agent/agent_docker.o $(OBJ)/node-agent/agent_hollow.o $(OBJ)/tests/harness/fake_http.o $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
UNIT_TESTS += $(AGENT_UNIT:%=$(TBIN)/%)

# bench/agent_bench.c: bindings → running pods → removed, against the real
# etcd and dockerd, next to the same Docker calls made one by one.
BENCH_AGENT := $(B)/bench/agent_bench
$(OBJ)/bench/agent_bench.o: CFLAGS += -DSKIFF_AGENT='"$(BIN)/skiff-agent"' -DPAUSE_TAR='"$(BIN)/pause.tar"'
$(BENCH_AGENT): $(OBJ)/bench/agent_bench.o $(OBJ)/bench/proc_mem.o $(HARNESS_OBJ) $(ETCD_LIB) | $(BIN)/skiff-agent
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $(filter %.o %.a,$^) $(LDLIBS)
BENCHES += $(BENCH_AGENT)

# The drain gate: check_drain_calc runs its pure decision
# (agent_drain_calc.c); check_drain runs agent_drain.c itself against a
# real etcd and a real skiff-proxy.
AGENT_DRAIN_CALC := $(OBJ)/node-agent/agent_drain_calc.o
$(eval $(call test_prog,check_drain_calc,tests/unit,$(AGENT_DRAIN_CALC) $(API_LIB)))
UNIT_TESTS += $(TBIN)/check_drain_calc
$(eval $(call test_prog,check_drain,tests/integration,$(OBJ)/node-agent/agent_drain.o $(AGENT_DRAIN_CALC) $(HARNESS_OBJ) $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
$(TBIN)/check_drain: | $(BIN)/skiff-proxy
INTEG_TESTS += $(TBIN)/check_drain

# The pure halves of pods' DNS and service variables: check_dnsconf runs
# agent_dns_conf.c (a pod's resolv.conf), check_svcenv agent_svcenv_vars.c
# (one service's variables), each over a table of Kubernetes' outputs.
$(eval $(call test_prog,check_dnsconf,tests/unit,$(OBJ)/node-agent/agent_dns_conf.o $(API_LIB)))
$(eval $(call test_prog,check_svcenv,tests/unit,$(OBJ)/node-agent/agent_svcenv_vars.o $(API_LIB)))
UNIT_TESTS += $(TBIN)/check_dnsconf $(TBIN)/check_svcenv

# check_hollow drives the hollow runtime (agent_hollow.c, --runtime hollow)
# through the dk_* calls of agent_docker.c on a loop, without Docker.
$(eval $(call test_prog,check_hollow,tests/unit,$(OBJ)/node-agent/agent_docker.o $(OBJ)/node-agent/agent_hollow.o $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
UNIT_TESTS += $(TBIN)/check_hollow
# check_docker_cap drives agent_docker.c (the in-flight cap, the queue,
# deadlines from the send) against a unix-socket server of its own.
$(eval $(call test_prog,check_docker_cap,tests/unit,$(OBJ)/node-agent/agent_docker.o $(OBJ)/node-agent/agent_hollow.o $(DAEMON_LIB) $(RUNTIME_LIB) $(API_LIB) $(ETCD_LIB)))
UNIT_TESTS += $(TBIN)/check_docker_cap
# check_agent_frozen runs on the suite etcd of the check_etcd_* fixture.
$(TBIN)/check_agent_frozen: $(ETCD_FIXTURE_OBJ)
# check_agent_serve: the agent's HTTPS server (agent_serve.c) with the real
# skiffctl logs, on the suite etcd of the check_etcd_* fixture.
$(eval $(call test_prog,check_agent_serve,tests/integration,$(ETCD_FIXTURE_OBJ) $(HARNESS_OBJ) $(ETCD_LIB)))
$(OBJ)/tests/integration/check_agent_serve.o: CFLAGS += -DSKIFFCTL='"$(BIN)/skiffctl"'
$(TBIN)/check_agent_serve: | $(BIN)/skiffctl
# check_exec_frames: the exec channel's two pure frame decoders, the
# agent's (agent_serve_exec_frame.c) and skiffctl's (cli/ctl_stream_frame.c),
# over the case folders tests/fixtures/exec_frames/{agent,ctl}/.
$(eval $(call test_prog,check_exec_frames,tests/unit,$(OBJ)/node-agent/agent_serve_exec_frame.o $(OBJ)/cli/ctl_stream_frame.o))
UNIT_TESTS += $(TBIN)/check_exec_frames
# check_agent_serve runs skiffctl exec -it in a pseudo-terminal (forkpty).
$(TBIN)/check_agent_serve: LDLIBS += -lutil
