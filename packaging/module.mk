# packaging/: Debian packages. "make deb" builds the programs again into
# build/deb with PREFIX=/usr and Debian's hardening flags, then
# packaging/build-deb.sh stages and builds skiff-node, skiff-control-plane
# and skiffctl (build/deb/*.deb) with dpkg-deb. "make deb-test" installs
# them into a scratch root and purges them (tests/packaging/deb-test.sh).
#
# The link lines take no LDFLAGS; SAN_FLAGS is the one variable on every
# compile and link line, so the hardening link flags ride there (this
# build never runs the sanitizers).
DEB_B := build/deb
DEB_CFLAGS = $(shell dpkg-buildflags --get CFLAGS 2>/dev/null) $(shell dpkg-buildflags --get CPPFLAGS 2>/dev/null)
DEB_LDFLAGS = $(shell dpkg-buildflags --get LDFLAGS 2>/dev/null) -Wl,-z,now

# PROGRAMS is complete only once every module.mk is read: the recipe names
# them (recipes expand when they run), not a prerequisite list.
.PHONY: deb deb-test
deb:
	@./scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory -j$(JOBS) B=$(DEB_B) PREFIX=/usr CFLAGS="$(DEB_CFLAGS)" SAN_FLAGS="$(DEB_LDFLAGS)" \
	  $(patsubst $(BIN)/%,$(DEB_B)/bin/%,$(PROGRAMS) $(BIN)/pause.tar)
	@VERSION=$(VERSION) ./packaging/build-deb.sh $(DEB_B)

deb-test: deb
	@./tests/packaging/deb-test.sh $(DEB_B)
