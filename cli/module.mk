# cli/: skiffctl, the command-line client (build/bin/skiffctl). Its
# commands live in cmd_*.c; check_api_cli runs them in-process and the
# binary itself.
SKIFFCTL_SRC := $(wildcard cli/*.c)
SKIFFCTL_OBJ := $(SKIFFCTL_SRC:%.c=$(OBJ)/%.o)
SKIFFCTL_CMD_OBJ := $(filter-out $(OBJ)/cli/skiffctl.o,$(SKIFFCTL_OBJ))

$(BIN)/skiffctl: $(SKIFFCTL_OBJ) $(API_LIB)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(SAN_FLAGS) -o $@ $^ $(LDLIBS)
PROGRAMS += $(BIN)/skiffctl

$(eval $(call test_prog,check_api_cli,tests/unit,$(SKIFFCTL_CMD_OBJ) $(API_LIB)))
$(OBJ)/tests/unit/check_api_cli.o: CFLAGS += -DSKIFFCTL='"$(BIN)/skiffctl"'
$(TBIN)/check_api_cli: | $(BIN)/skiffctl
UNIT_TESTS += $(TBIN)/check_api_cli
