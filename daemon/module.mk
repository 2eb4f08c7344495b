# daemon/: the skeleton every Skiff program links (libskiffdaemon.a): flags,
# logfmt logging, the health/metrics server (libmicrohttpd), and the
# start/stop life of a daemon. Link it before $(ETCD_LIB).
DAEMON_SRC := $(wildcard daemon/*.c)
DAEMON_LIB := $(LIB)/libskiffdaemon.a
$(DAEMON_LIB): $(DAEMON_SRC:%.c=$(OBJ)/%.o)
all: $(DAEMON_LIB)

DAEMON_UNIT := $(patsubst tests/unit/%.c,%,$(wildcard tests/unit/check_daemon*.c))
$(foreach t,$(DAEMON_UNIT),$(eval $(call test_prog,$(t),tests/unit,$(DAEMON_LIB) $(ETCD_LIB))))
UNIT_TESTS += $(DAEMON_UNIT:%=$(TBIN)/%)
