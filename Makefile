# SPDX-License-Identifier: Apache-2.0
# sluice: one non-recursive Makefile. `make` builds every binary into $(BUILD)/bin.
PKG_CONFIG ?= pkg-config
PREFIX     ?= /opt/cni
BINDIR     ?= $(PREFIX)/bin
# SANITIZE=1 (ASan+UBSan, dynamic) builds in a directory of its own, never mixing its objects
# with the normal build's
ifeq ($(SANITIZE),1)
BUILD      ?= build-san
else
BUILD      ?= build
endif
PLUGINS    := $(notdir $(wildcard plugins/*))
DEPS       := libmnl libnftnl libcjson

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	    -Wno-unused-parameter -fno-strict-aliasing
CPPFLAGS += -D_GNU_SOURCE -Icommon -MMD -MP $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null)
CPPFLAGS += $(shell $(PKG_CONFIG) --cflags libcurl yaml-0.1 2>/dev/null)
# Static archives: libnftnl's from Debian; cJSON's and libmnl's from $(BUILD)/static, which
# `make deps` fills (tools/archives.sh). With all three, every plugin is linked static-pie
# and loads no shared library: on our VM each exec is ~1 ms faster (a chained ADD pays one
# per plugin) and its peak RSS half. Whatever archive is missing (or SANITIZE=1, which needs
# the dynamic libc), the shared library is linked instead, and only sluice-host-local
# (cJSON and libc) can still be static. DYNAMIC=1 links every shared library (libnftnl too)
# and nothing static: the valgrind pass needs that, since memcheck tracks malloc only where it
# can replace it, in a dynamic program.
ifeq ($(filter 1,$(SANITIZE) $(DYNAMIC)),)
CJSON_A  := $(wildcard $(BUILD)/static/libcjson.a)
MNL_A    := $(wildcard $(BUILD)/static/libmnl.a)
endif
ifeq ($(DYNAMIC),1)
LDLIBS   += -lnftnl -lmnl -lcjson -lm
else
LDLIBS   += -Wl,-Bstatic -lnftnl -Wl,-Bdynamic $(or $(MNL_A),-lmnl) $(or $(CJSON_A),-lcjson) -lm
endif
LDFLAGS  += -Wl,--as-needed -Wl,-O1
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif
# gcc leaves float-cast-overflow out of "undefined": a JSON number out of an int's range
# converted to it (an interface index of 1e300) is caught only with it
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=float-cast-overflow
LDFLAGS  += -fsanitize=float-cast-overflow
endif
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif

# What only the commands (sluicectl, sluiced) link: the etcd backend (libcurl) and the
# YAML reader (libyaml). A plugin never loads libcurl (DESIGN.md: ~4 ms more per exec);
# tests/layers.sh checks that no plugin binary does.
CMD_ONLY := $(wildcard common/store/etcd*.c common/k8s/yaml*.c)
CMD_DEPS := libcurl yaml-0.1
COMMON := $(patsubst %.c,$(BUILD)/%.o,$(filter-out $(CMD_ONLY),$(wildcard common/*/*.c)))
CMDLIB := $(patsubst %.c,$(BUILD)/%.o,$(CMD_ONLY))
CMDS   := $(notdir $(wildcard cmd/*))
CMD_BINS := $(CMDS:%=$(BUILD)/bin/%)
# libcurl: the static one `make deps` builds from Debian's source with only HTTP/1.1, HTTP/2
# and OpenSSL (tools/archives.sh), with the archives of nghttp2 and OpenSSL; without it
# (or with SANITIZE=1 or DYNAMIC=1), Debian's shared libcurl and the ~30 libraries it loads.
# With it and the plugins' static archives, the commands are static-pie too: sluiced's peak
# RSS programming 1,000 peers is ~6 MiB (7.1-7.5 with libc.so, 12.9 with Debian's libcurl).
# The archive is used only while it was built from the installed libcurl4-openssl-dev: after
# apt updates that package (a security fix), the commands link the updated shared libcurl
# until `make deps` has rebuilt the archive.
CURL_VER := $(shell dpkg-query -W -f='$${Version}' libcurl4-openssl-dev 2>/dev/null)
ifeq ($(filter 1,$(SANITIZE) $(DYNAMIC)),)
ifneq ($(CURL_VER),)
ifeq ($(CURL_VER),$(shell cat $(BUILD)/static/libcurl.version 2>/dev/null))
CURL_A   := $(wildcard $(BUILD)/static/libcurl.a)
endif
endif
endif
CMD_SO_LIBS := $(shell $(PKG_CONFIG) --libs $(CMD_DEPS) 2>/dev/null)
ifneq ($(CURL_A),)
CMD_LIBS := $(CURL_A) -l:libnghttp2.a -l:libssl.a -l:libcrypto.a \
	    $(shell $(PKG_CONFIG) --libs yaml-0.1 2>/dev/null)
else
CMD_LIBS := $(CMD_SO_LIBS)
endif
# store.c calls store_etcd_open() through a weak reference, which never pulls an archive
# member in: what links libcmd.a asks for the backend by name
CMD_LINK := -Wl,--undefined=store_etcd_open
BINS   := $(PLUGINS:%=$(BUILD)/bin/sluice-%)
UNITS  := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/test_*.c))
TOOLS  := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/tools/*.c))
SRCS   := $(wildcard common/*/*.[ch] plugins/*/*.[ch] cmd/*/*.[ch] tests/unit/*.[ch] tests/tools/*.c)

# libFuzzer targets (tests/fuzz/<name>.c, seeds in tests/fuzz/corpus/<name>): clang objects
# of their own in $(BUILD)/fuzz (never mixed with gcc's), the shared libraries linked
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fno-strict-aliasing \
		-fno-omit-frame-pointer $(FUZZ_SAN) $(if $(filter 1,$(WERROR)),-Werror)
FUZZ_TARGETS := $(basename $(notdir $(wildcard tests/fuzz/*.c)))
# store/etcd_pb.c is in CMD_ONLY by its name but pure (no libcurl): the fuzz lib takes it
FUZZ_LIB     := $(patsubst %.c,$(BUILD)/fuzz/%.o,$(filter-out $(CMD_ONLY),$(wildcard common/*/*.c)) \
		common/store/etcd_pb.c $(wildcard tests/fuzz/lib/*.c))
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/bin/%)
SRCS         += $(wildcard tests/fuzz/*.c tests/fuzz/lib/*.[ch])

all: $(BINS) $(CMD_BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(BUILD)/fuzz/bin/%: $(BUILD)/fuzz/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ -lnftnl -lmnl -lcjson -lm

$(BUILD)/libcommon.a: $(COMMON)
	@$(RM) $@
	$(AR) rcs $@ $^

$(BUILD)/libcmd.a: $(CMDLIB)
	@$(RM) $@
	$(AR) rcs $@ $^

# sluicectl and sluiced: every .c of cmd/<name>/. Static-pie when every archive is there;
# static glibc resolves host names itself (files and dns in nsswitch.conf; other modules it
# would dlopen), which tests/netns/store-etcd.sh checks with a name from /etc/hosts. ld's
# warning that it may need glibc's shared NSS modules at run time is printed only on failure.
# Their relative relocations (21,000, mostly OpenSSL's tables) packed as DT_RELR: 7 KiB that
# the start-up reads instead of 495 KiB of RELA (~0.5 MiB less RSS), where binutils 2.38 and
# glibc 2.36 (Debian 12) have it: a trial program must link and run.
ifneq ($(and $(CURL_A),$(CJSON_A),$(MNL_A)),)
CMD_RELR   := $(shell t=$$(mktemp) && printf 'static const char *p = "x";\nint main(void) { return *p != 120; }\n' | \
		$(CC) -x c -static-pie -Wl,-z,pack-relative-relocs -o $$t - 2>/dev/null && \
		(exec $$t) 2>/dev/null && echo -Wl,-z,pack-relative-relocs; rm -f $$t)
CMD_LDLIBS := -static-pie $(CMD_RELR) -lnftnl $(MNL_A) $(CJSON_A) $(CMD_LIBS) -lm
CMD_QUIET  := 2>$$@.ld || { cat $$@.ld >&2; rm -f $$@.ld; exit 1; }; \
	grep -v -e 'statically linked applications requires at runtime' -e ': in function' \
	$$@.ld >&2; rm -f $$@.ld
else
CMD_LDLIBS := -lnftnl -lmnl -lcjson $(CMD_LIBS) -lm
endif
# The Debian packages whose archives (or, for libcurl, whose source) a static binary carries a
# copy of, with their versions, in a stamp that changes only when one of them does: an apt
# upgrade of any (a security fix) relinks the binaries at the next make. (Not their files'
# mtimes: dpkg gives a file its package's build time, which can be older than our link.)
SYS_STAMP := $(BUILD)/static/system.versions
SYS_VERS  := $(shell dpkg-query -W -f='$${Package}=$${Version}\n' libc6-dev libnftnl-dev \
		libssl-dev libnghttp2-dev libcurl4-openssl-dev 2>/dev/null)
$(shell mkdir -p $(BUILD)/static && [ "$$(cat $(SYS_STAMP) 2>/dev/null)" = "$(SYS_VERS)" ] || \
	printf '%s' "$(SYS_VERS)" >$(SYS_STAMP))
define CMD_RULE
$(BUILD)/bin/$(1): $(patsubst %.c,$(BUILD)/%.o,$(wildcard cmd/$(1)/*.c)) $(BUILD)/libcmd.a $(BUILD)/libcommon.a $(CJSON_A) $(MNL_A) $(CURL_A) $(SYS_STAMP)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) $(CMD_LINK) -o $$@ $$(filter-out $(CJSON_A) $(MNL_A) $(CURL_A) $(SYS_STAMP),$$^) $(CMD_LDLIBS) $(CMD_QUIET)
endef
$(foreach c,$(CMDS),$(eval $(call CMD_RULE,$(c))))

.SECONDEXPANSION:
$(BUILD)/bin/sluice-%: $(BUILD)/plugins/$$*/$$*.o $(BUILD)/libcommon.a $(CJSON_A) $(MNL_A) $(SYS_STAMP)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(CJSON_A) $(MNL_A) $(SYS_STAMP),$^) $(LDLIBS)
ifneq ($(and $(CJSON_A),$(MNL_A)),)
$(BINS): LDFLAGS += -static-pie
$(BINS): LDLIBS = -lnftnl $(MNL_A) $(CJSON_A) -lm
else ifneq ($(CJSON_A),)
$(BUILD)/bin/sluice-host-local: LDFLAGS += -static-pie
$(BUILD)/bin/sluice-host-local: LDLIBS = $(CJSON_A) -lm
endif

# unit tests and tools link the commands' code too (the etcd backend, YAML). The tools (the
# store suite against real etcd members, the benchmarks) link the commands' libcurl; the unit
# tests, which talk to no server, the shared one (each binary 1.5 MiB instead of 7)
$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcmd.a $(BUILD)/libcommon.a $(CJSON_A) $(MNL_A)
	$(CC) $(LDFLAGS) $(CMD_LINK) -o $@ $(filter-out $(CJSON_A) $(MNL_A),$^) $(LDLIBS) $(CMD_SO_LIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/libcmd.a $(BUILD)/libcommon.a $(CJSON_A) $(MNL_A) $(CURL_A)
	$(CC) $(LDFLAGS) $(CMD_LINK) -o $@ $(filter-out $(CJSON_A) $(MNL_A) $(CURL_A),$^) $(LDLIBS) $(CMD_LIBS)

# Installs the Debian packages the build, the tests and the demo need (root only; a no-op
# when everything is present).
deps:
	@tools/deps.sh
	@tools/archives.sh $(BUILD)

include tests/libcni/libcni.mk

units: $(UNITS)
tools: $(TOOLS) $(CNITOOL)

# The dynamic, unsanitised copy of the plugins that tests/netns/valgrind.sh runs under memcheck
vg:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/vg DYNAMIC=1 SANITIZE= all

fuzz-build: $(FUZZ_BINS)

# Runs every fuzz target (FUZZ_TARGETS="conf result" for some) for FUZZ_TIME seconds each,
# after its committed corpus; what it finds new is kept in $(BUILD)/fuzz/corpus/<name>, a
# crash in $(BUILD)/fuzz/crash-<name>-*. Touches no kernel state.
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh $(BUILD) $(FUZZ_TIME) $(FUZZ_TARGETS)

test: deps
	@$(MAKE) --no-print-directory all units tools vg fuzz-build
	@tests/run.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all $(CNITOOL)
	@examples/demo.sh $(BUILD)

# Side-by-side benchmarks against the upstream plugins and the kernel's floor (root; not
# part of `make test`). BENCH_N=200 pods a row, BENCH_ONLY=<row>, BENCH_SCALE="1000".
bench: deps
	@$(MAKE) --no-print-directory all tools
	@tests/bench/run.sh $(BUILD)

# the plugins where runtimes look for them, the commands on the admin's PATH
SBINDIR ?= /usr/local/sbin
install: $(BINS) $(CMD_BINS)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)
	install -m 0755 $(CMD_BINS) $(DESTDIR)$(SBINDIR)

format-check:
	clang-format --dry-run -Werror $(SRCS)

format:
	clang-format -i $(SRCS)

clean:
	$(RM) -r $(BUILD)

.PHONY: all deps units tools vg fuzz-build fuzz test demo bench install format-check format clean
.SECONDARY:
# (not the sources tools/archives.sh unpacks: curl's docs have .d files of their own)
-include $(shell find $(BUILD) -path $(BUILD)/static-src -prune -o -name '*.d' -print 2>/dev/null)
