# cli/: skiffctl, the command-line client (build/bin/skiffctl). Its
# commands live in cmd_*.c, their shared helpers in ctl_*.c; check_api_cli
# runs them in-process and the binary itself, check_skiffctl* run the
# binary against a real etcd.
SKIFFCTL_SRC := $(wildcard cli/*.c)
SKIFFCTL_OBJ := $(SKIFFCTL_SRC:%.c=$(OBJ)/%.o)
SKIFFCTL_CMD_OBJ := $(filter-out $(OBJ)/cli/skiffctl.o,$(SKIFFCTL_OBJ))
SKIFFCTL_LIBS := $(DAEMON_LIB) $(API_LIB) $(ETCD_LIB)

$(BIN)/skiffctl: $(SKIFFCTL_OBJ) $(SKIFFCTL_LIBS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ -lyaml $(LDLIBS)
PROGRAMS += $(BIN)/skiffctl

$(eval $(call test_prog,check_api_cli,tests/unit,$(SKIFFCTL_CMD_OBJ) $(SKIFFCTL_LIBS)))
$(OBJ)/tests/unit/check_api_cli.o: CFLAGS += -DSKIFFCTL='"$(BIN)/skiffctl"'
$(TBIN)/check_api_cli: LDLIBS += -lyaml
$(TBIN)/check_api_cli: | $(BIN)/skiffctl
UNIT_TESTS += $(TBIN)/check_api_cli

SKIFFCTL_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_skiffctl*.c))
$(foreach t,$(SKIFFCTL_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(ETCD_LIB))))
$(foreach t,$(SKIFFCTL_INTEG),$(eval $(OBJ)/tests/integration/$(t).o: CFLAGS += -DSKIFFCTL='"$(BIN)/skiffctl"'))
$(foreach t,$(SKIFFCTL_INTEG),$(eval $(TBIN)/$(t): | $(BIN)/skiffctl))
INTEG_TESTS += $(SKIFFCTL_INTEG:%=$(TBIN)/%)
# check_skiffctl's version test reads a real scheduler's leader key.
$(TBIN)/check_skiffctl: | $(BIN)/skiff-scheduler

# The man page (section 1) and bash completion, installed beside what the
# top Makefile's install rule installs.
install: install-skiffctl
.PHONY: install-skiffctl
install-skiffctl: $(BIN)/skiffctl
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 644 cli/skiffctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/skiffctl.1
	install -m 644 cli/skiffctl.bash-completion $(DESTDIR)$(PREFIX)/share/bash-completion/completions/skiffctl
