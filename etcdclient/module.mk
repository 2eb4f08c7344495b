# etcdclient/: the etcd v3 client library (libskiffetcd.a). It runs on the
# transport (transport/), so $(ETCD_LIB), named in the Makefile, is both.
ETCD_SRC := $(wildcard etcdclient/*.c)
$(LIB)/libskiffetcd.a: $(ETCD_SRC:%.c=$(OBJ)/%.o)
all: $(LIB)/libskiffetcd.a
