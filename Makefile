# Skiff: one non-recursive GNU Makefile; each folder adds its own module.mk.
#
#   make            build everything into build/
#   make test       install missing packages, build, run every test, then the
#                   unit tests again under ASan+UBSan, then each fuzz target
#                   over its seeds plus FUZZ_SMOKE_SECONDS
#   make bench      benchmarks against real etcd (ratios against baselines)
#   make fuzz       run every fuzz target for FUZZ_SECONDS each
#   make format-check  list the sources that differ from .clang-format (fails)
#   make format     apply .clang-format to every tracked .c and .h
#   make fn-length  no function of the programs is longer than 80 lines
#   make install    PREFIX=/usr/local DESTDIR=
#   make clean
#   make deb        Debian packages skiff-node, skiff-control-plane, skiffctl
#                   in build/deb (packaging/); make deb-test installs them
#                   into a scratch root and purges them (make test runs it)
#   make chaos      the chaos suite (tests/chaos) for CHAOS_SECONDS (300) on
#                   the three-minion bed (root); make test runs it for 90 s
#
# B is the build directory; the sanitizer pass reuses every rule with
# B=build/san.

B        ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  := 0.1.0
# The version of the etcd key contract (docs/keys.md) this tree speaks.
CONTRACT_VERSION := 2
# Parallel jobs for the builds inside make test (one per core); the tests
# themselves still run one after another.
JOBS     ?= $(shell nproc 2>/dev/null || echo 1)

CC       ?= cc
PKGS     := libcurl jansson libmicrohttpd openssl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lcurl -ljansson -lmicrohttpd -lssl -lcrypto)
EV_LIBS    := $(shell pkg-config --libs libev 2>/dev/null || echo -lev)
CHECK_CFLAGS := $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt -lpthread)

OPT      ?= -O2
# Messages are truncated on purpose into fixed buffers; gcc's guess at
# truncation is not a bug report (clang has no such warning).
WNO      = $(if $(findstring clang,$(CC)),,-Wno-format-truncation)
CFLAGS   ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror $(WNO) $(CFLAGS) $(SAN_FLAGS) \
             -I. -Itransport -Ietcdclient -Iruntime -Iapi -Idaemon $(PKG_CFLAGS) -DSKIFF_VERSION='"$(VERSION)"' -MMD -MP \
             -DSKIFF_CONTRACT_VERSION='"$(CONTRACT_VERSION)"'
LDLIBS   = $(PKG_LIBS) $(EV_LIBS) -lm
# Only tests, benchmarks and fuzz targets see the test harness's headers:
# production code cannot include them by accident.
HARNESS_CFLAGS = $(if $(filter tests/% bench/% fuzz/%,$<),-Itests/harness)
ifeq ($(SAN),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif
ifeq ($(FUZZ),1)
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
endif

OBJ := $(B)/obj
LIB := $(B)/lib
BIN := $(B)/bin
TBIN := $(B)/tests

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Filled in by the module.mk files.
PROGRAMS :=
UNIT_TESTS :=
INTEG_TESTS :=
BENCHES :=
SAN_TESTS :=
FUZZERS :=
MAN_PAGES :=

.PHONY: up down all test unit integration san-unit san-bins san-run bench fuzz fuzz-smoke fuzz-bins install clean deps \
        format format-check fn-length
all:

# Test binaries: $(call test_prog,NAME,extra objects) links
# $(TBIN)/NAME from tests/*/NAME.c with Check and the given objects (and a
# target's TEST_LDFLAGS, if it sets any).
define test_prog
$(TBIN)/$(1): $(OBJ)/$(2)/$(1).o $(3)
	@mkdir -p $$(dir $$@)
	@$$(if $$(Q),echo "  LD      $$@")
	$$(Q)$$(CC) $$(SAN_FLAGS) $$(TEST_LDFLAGS) -o $$@ $$^ $$(CHECK_LIBS) $$(LDLIBS)
endef

# Shared by every integration suite: the real-etcd harness. The libraries
# are named here, before any module.mk, so that every module can link them
# whatever order the module.mk files are read in.
# The check_etcd_* suites' fixture uses Check: only they link it.
ETCD_FIXTURE_OBJ := $(OBJ)/tests/harness/etcd_fixture.o
HARNESS_OBJ := $(filter-out $(ETCD_FIXTURE_OBJ),$(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/harness/*.c)))
# The etcd client runs on the HTTP transport: linking it means both.
TRANSPORT_LIB := $(LIB)/libskifftransport.a
ETCD_LIB    := $(LIB)/libskiffetcd.a $(TRANSPORT_LIB)
API_LIB     := $(LIB)/libskiffapi.a
RUNTIME_LIB := $(LIB)/libskiffruntime.a
DAEMON_LIB  := $(LIB)/libskiffdaemon.a

include $(sort $(wildcard */module.mk) $(wildcard */*/module.mk))

all: $(PROGRAMS) $(UNIT_TESTS) $(INTEG_TESTS) $(BENCHES)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(HARNESS_CFLAGS) $(if $(findstring tests/,$<),$(CHECK_CFLAGS)) -c -o $@ $<

$(LIB)/%.a:
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@ && ar rcs $@ $^

deps:
	@./scripts/deps.sh

# A whole Skiff on this machine (see scripts/up.sh); NODES=3 for three.
up:
	@./scripts/up.sh

down:
	@./scripts/down.sh

# Tests: unit tests (pure logic), then integration tests against real etcd
# (and Docker, for the components that need it), then the unit tests again
# under AddressSanitizer + UndefinedBehaviorSanitizer.
unit: $(UNIT_TESTS)
	@./scripts/run-tests.sh $(UNIT_TESTS)

integration: $(INTEG_TESTS) $(PROGRAMS)
	@./scripts/run-tests.sh $(INTEG_TESTS)

# The sanitizer pass: unit tests plus the integration tests of the pure
# libraries (SAN_TESTS), rebuilt with clang under ASan+UBSan into build/san.
san-unit:
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) B=build/san SAN=1 CC=clang OPT=-O1 san-bins
	$(Q)$(MAKE) --no-print-directory B=build/san SAN=1 CC=clang OPT=-O1 san-run

san-bins: $(UNIT_TESTS) $(SAN_TESTS)

san-run: san-bins
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ./scripts/run-tests.sh $(UNIT_TESTS) $(SAN_TESTS)

test: deps
	@rm -f build/test-counts
	$(Q)$(MAKE) --no-print-directory format-check fn-length
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) all
	$(Q)$(MAKE) --no-print-directory unit
	$(Q)$(MAKE) --no-print-directory integration
	$(Q)$(MAKE) --no-print-directory san-unit
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory deb-test
	@./scripts/run-tests.sh --total

# Fuzzing: FUZZERS are libFuzzer binaries (clang) listed by fuzz/module.mk.
# make fuzz runs each for FUZZ_SECONDS; make test runs each over its seed
# corpus plus FUZZ_SMOKE_SECONDS.
FUZZ_SECONDS ?= 300
FUZZ_SMOKE_SECONDS ?= 20
fuzz:
	$(Q)$(MAKE) --no-print-directory B=build/fuzz FUZZ=1 CC=clang OPT=-O1 fuzz-bins
	@./scripts/run-fuzz.sh $(FUZZ_SECONDS) $(FUZZERS:$(B)/%=build/fuzz/%)

fuzz-smoke:
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) B=build/fuzz FUZZ=1 CC=clang OPT=-O1 fuzz-bins
	@./scripts/run-fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZERS:$(B)/%=build/fuzz/%)

fuzz-bins: $(FUZZERS)

# Formatting: .clang-format over every tracked C source (every .c and .h
# when the tree is not a git checkout). format-check changes nothing and
# names each file that differs.
CLANG_FORMAT ?= clang-format
FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -path ./build -prune -o -name '*.[ch]' -print)
format-check:
	@command -v $(CLANG_FORMAT) >/dev/null || { echo "format-check: $(CLANG_FORMAT) not found (make deps)" >&2; exit 1; }
	@out=$$($(CLANG_FORMAT) --dry-run -Werror $(FORMAT_SRCS) 2>&1 >/dev/null); st=$$?; \
	bad=$$(printf '%s\n' "$$out" | sed -n 's/^\([^:]*\.[ch]\):[0-9]*:[0-9]*: error: .*/\1/p' | sort -u); \
	if [ -n "$$bad" ]; then \
	  echo "format-check: these files differ from .clang-format (make format rewrites them):" >&2; \
	  printf '  %s\n' $$bad >&2; exit 1; \
	elif [ $$st -ne 0 ]; then printf '%s\n' "$$out" >&2; exit 1; fi

format:
	$(Q)$(CLANG_FORMAT) -i $(FORMAT_SRCS)

# No function of the programs (scheduler/, controllers/, node-agent/, cli/)
# is longer than 80 lines.
fn-length:
	@./scripts/fn-length.sh 80

bench: deps all $(BENCHES)
	@./scripts/run-bench.sh $(BENCHES)

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/skiff
	$(if $(PROGRAMS),install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/)
	install -m 644 $(LIB)/*.a $(DESTDIR)$(PREFIX)/lib/
	install -m 644 etcdclient/etcd.h etcdclient/etcd_sync.h $(DESTDIR)$(PREFIX)/include/skiff/
	@for m in $(MAN_PAGES); do s=$${m##*.}; \
	  install -d $(DESTDIR)$(PREFIX)/share/man/man$$s && install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/ || exit 1; \
	done

clean:
	rm -rf build
	-@git worktree prune 2>/dev/null

-include $(shell find $(B) -name '*.d' 2>/dev/null)
