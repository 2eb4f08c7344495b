# api/: the object model (libskiffapi.a): the contract's objects, keys,
# quantities and selectors. Also registers its Check tests
# (tests/unit/check_api*.c).
API_SRC := $(wildcard api/*.c)
API_LIB := $(LIB)/libskiffapi.a
$(API_LIB): $(API_SRC:%.c=$(OBJ)/%.o)
all: $(API_LIB)

# check_api_cli is registered by cli/module.mk (it links skiffctl's objects).
API_UNIT := $(filter-out check_api_cli,$(patsubst tests/unit/%.c,%,$(wildcard tests/unit/check_api*.c)))
$(foreach t,$(API_UNIT),$(eval $(call test_prog,$(t),tests/unit,$(API_LIB))))
UNIT_TESTS += $(API_UNIT:%=$(TBIN)/%)
