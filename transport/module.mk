# transport/: the HTTP transport (libskifftransport.a): every libcurl
# transfer of the daemons on their libev loop. Its users are the etcd
# client and the agent's Docker client; $(ETCD_LIB) names both archives.
TRANSPORT_SRC := $(wildcard transport/*.c)
$(TRANSPORT_LIB): $(TRANSPORT_SRC:%.c=$(OBJ)/%.o)
all: $(TRANSPORT_LIB)

# check_transport: the transport against a local libmicrohttpd server.
$(eval $(call test_prog,check_transport,tests/integration,$(TRANSPORT_LIB)))
INTEG_TESTS += $(TBIN)/check_transport
SAN_TESTS += $(TBIN)/check_transport
