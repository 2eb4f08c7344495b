# runtime/: the controller runtime (informer, work queue, leader election,
# event recorder, and the controller harness that ties informers and a
# queue together), libskiffruntime.a, on top of the etcd client.
RUNTIME_SRC := $(wildcard runtime/*.c)
RUNTIME_LIB := $(LIB)/libskiffruntime.a
$(RUNTIME_LIB): $(RUNTIME_SRC:%.c=$(OBJ)/%.o)
all: $(RUNTIME_LIB)

RUNTIME_INTEG := $(patsubst tests/integration/%.c,%,$(wildcard tests/integration/check_runtime*.c))
$(foreach t,$(RUNTIME_INTEG),$(eval $(call test_prog,$(t),tests/integration,$(HARNESS_OBJ) $(RUNTIME_LIB) $(ETCD_LIB))))
INTEG_TESTS += $(RUNTIME_INTEG:%=$(TBIN)/%)
SAN_TESTS += $(RUNTIME_INTEG:%=$(TBIN)/%)

RUNTIME_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/check_runtime*.c))
$(foreach t,$(RUNTIME_UNIT),$(eval $(call test_prog,$(t),tests/unit,$(RUNTIME_LIB) $(ETCD_LIB))))
UNIT_TESTS += $(RUNTIME_UNIT:%=$(TBIN)/%)
