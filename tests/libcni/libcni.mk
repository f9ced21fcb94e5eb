# SPDX-License-Identifier: Apache-2.0
# cnitool: a Go driver over the real libcni (Debian golang-github-appc-cni-dev, libcni 1.1.2)
# for interop tests. Built offline in GOPATH mode from /usr/share/gocode only: modules and
# the proxy are off, no user go env file is read, the cache lives under $(BUILD).
# Included from the main Makefile: `include tests/libcni/libcni.mk`.
GO        ?= go
GOCODE    ?= /usr/share/gocode
CNITOOL   := $(BUILD)/tests/cnitool
GO_ENV    := env GO111MODULE=off GOPATH=$(GOCODE) GOFLAGS= GOENV=off GOPROXY=off \
	     GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE=$(abspath $(BUILD))/gocache

$(CNITOOL): tests/libcni/cnitool.go
	@mkdir -p $(@D)
	$(GO_ENV) $(GO) build -trimpath -buildvcs=false -o $@ $<

cnitool: $(CNITOOL)

.PHONY: cnitool
