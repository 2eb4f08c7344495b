# etcdclient/: the etcd v3 client library (libskiffetcd.a).
ETCD_SRC := $(wildcard etcdclient/*.c)
ETCD_LIB := $(LIB)/libskiffetcd.a
$(ETCD_LIB): $(ETCD_SRC:%.c=$(OBJ)/%.o)
all: $(ETCD_LIB)
