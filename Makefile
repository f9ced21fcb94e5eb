# SPDX-License-Identifier: Apache-2.0
# sluice: one non-recursive Makefile. `make` builds every binary into $(BUILD)/bin.
PKG_CONFIG ?= pkg-config
PREFIX     ?= /opt/cni
BINDIR     ?= $(PREFIX)/bin
BUILD      ?= build
PLUGINS    := $(notdir $(wildcard plugins/*))
DEPS       := libmnl libnftnl libcjson

CFLAGS   ?= -O2 -g
CFLAGS   += -std=gnu11 -Wall -Wextra -Wshadow -Wformat=2 -Wmissing-prototypes -Wstrict-prototypes \
	    -Wno-unused-parameter -fno-strict-aliasing
CPPFLAGS += -D_GNU_SOURCE -Icommon -MMD -MP $(shell $(PKG_CONFIG) --cflags $(DEPS) 2>/dev/null)
# libnftnl is linked statically (Debian ships the archive), libmnl dynamically (Debian ships
# no archive, and its source package was not reachable from our build machines). cJSON from
# $(BUILD)/cjson/libcjson.a when `make deps` could build it from Debian's source package
# (tools/cjson.sh); sluice-host-local, which then needs no shared library, is linked
# static-pie: its exec is on every ADD's critical path. Without the archive: libcjson.so.
CJSON_A  := $(if $(filter 1,$(SANITIZE)),,$(wildcard $(BUILD)/cjson/libcjson.a))
LDLIBS   += -Wl,-Bstatic -lnftnl -Wl,-Bdynamic -lmnl $(or $(CJSON_A),-lcjson) -lm
LDFLAGS  += -Wl,--as-needed -Wl,-O1
ifeq ($(SANITIZE),1)
CFLAGS   += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS  += -fsanitize=address,undefined
endif
ifeq ($(WERROR),1)
CFLAGS   += -Werror
endif

COMMON := $(patsubst %.c,$(BUILD)/%.o,$(wildcard common/*.c))
BINS   := $(PLUGINS:%=$(BUILD)/bin/sluice-%)
UNITS  := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/unit/test_*.c))
TOOLS  := $(patsubst %.c,$(BUILD)/%,$(wildcard tests/tools/*.c))
SRCS   := $(wildcard common/*.[ch] plugins/*/*.[ch] tests/unit/*.[ch] tests/tools/*.c)

all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(BUILD)/libcommon.a: $(COMMON)
	$(AR) rcs $@ $^

.SECONDEXPANSION:
$(BUILD)/bin/sluice-%: $(BUILD)/plugins/$$*/$$*.o $(BUILD)/libcommon.a $(CJSON_A)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(CJSON_A),$^) $(LDLIBS)
ifneq ($(CJSON_A),)
$(BUILD)/bin/sluice-host-local: LDFLAGS += -static-pie
$(BUILD)/bin/sluice-host-local: LDLIBS = $(CJSON_A) -lm
endif

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libcommon.a $(CJSON_A)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(CJSON_A),$^) $(LDLIBS)

$(BUILD)/tests/tools/%: $(BUILD)/tests/tools/%.o $(BUILD)/libcommon.a $(CJSON_A)
	$(CC) $(LDFLAGS) -o $@ $(filter-out $(CJSON_A),$^) $(LDLIBS)

# Installs the Debian packages the build, the tests and the demo need (root only; a no-op
# when everything is present).
deps:
	@tools/deps.sh
	@tools/cjson.sh $(BUILD)

include tests/libcni/libcni.mk

units: $(UNITS)
tools: $(TOOLS) $(CNITOOL)

test: deps
	@$(MAKE) --no-print-directory all units tools
	@tests/run.sh $(BUILD)

demo: deps
	@$(MAKE) --no-print-directory all $(CNITOOL)
	@examples/demo.sh $(BUILD)

# Side-by-side benchmarks against the upstream plugins and the kernel's floor (root; not
# part of `make test`). BENCH_N=200 pods a row, BENCH_ONLY=<row>, BENCH_SCALE="1000".
bench: deps
	@$(MAKE) --no-print-directory all tools
	@tests/bench/run.sh $(BUILD)

install: $(BINS)
	install -d $(DESTDIR)$(BINDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)

format-check:
	clang-format --dry-run -Werror $(SRCS)

format:
	clang-format -i $(SRCS)

clean:
	$(RM) -r $(BUILD)

.PHONY: all deps units tools test demo bench install format-check format clean
.SECONDARY:
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
