# vfio-trace — top-level build. `make help` lists the targets.
#
# Everything generated lands in build/. The binary is linked statically so one file can be
# copied onto any hypervisor host (and into the lab's initramfs).

PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    := build
CC       ?= cc
CLANG    ?= clang
BPFTOOL  ?= bpftool
ARCH     := x86

VERSION  := $(shell git describe --always --dirty --tags 2>/dev/null || echo unknown)

WARN     := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wshadow -Wformat=2
CFLAGS   ?= -O2 -g
CPPFLAGS += -Iinclude -Ilib -Icmd -I$(BUILD)/bpf -D_GNU_SOURCE -DVT_VERSION='"$(VERSION)"'
# libtracefs/libtraceevent's headers (the ftrace backend, lib/ftrace*.c)
CPPFLAGS += $(shell pkg-config --cflags libtracefs libtraceevent 2>/dev/null)
STATIC_LIBS := -lbpf -lelf -lz -lzstd -lcap -ljson-c -lncursesw -ltinfo -ltracefs -ltraceevent -lpthread -ldl
LDFLAGS  += -static

# BPF_DEFINES: extra -D switches for the BPF objects (bench/ablate's builds; empty otherwise)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Ibpf -Iinclude -Wall -Wno-unused-function \
	$(BPF_DEFINES)

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS     := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))

LIB_SRCS  := $(wildcard lib/*.c)
CMD_SRCS  := $(wildcard cmd/*.c) $(wildcard cmd/top/*.c) $(wildcard cmd/export/*.c)
LIB_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIB_SRCS))
CMD_OBJS  := $(patsubst %.c,$(BUILD)/obj/%.o,$(CMD_SRCS))
HDRS      := $(wildcard include/*.h) $(wildcard lib/*.h) $(wildcard cmd/*.h) $(wildcard cmd/top/*.h) \
	$(wildcard cmd/export/*.h)

# Only the sources that include a BPF skeleton (directly, or through lib/tracer.h) wait for
# the skeletons; everything else, and the unit tests, build without clang and bpftool.
SKEL_SRCS := $(shell grep -l -E '^\#include "([a-z_]+\.skel|tracer)\.h"' $(LIB_SRCS) $(CMD_SRCS))
# What the unit tests link: the library without its BPF backend, cmd/cli.c and top's view
# (cmd/top/ but its loop, top.c).
# The backend table (lib/backend.c) names the BPF backend, the ftrace backend (lib/ftrace*.c)
# its callback finder (lib/callbacks.c), and the live storm detector (lib/storm_live.c) reads
# a tracer through the table: they stay out too.
UNIT_SRCS_LINKED := $(filter-out $(SKEL_SRCS) lib/backend.c lib/storm_live.c $(wildcard lib/ftrace*.c),$(LIB_SRCS)) cmd/cli.c \
	$(filter-out cmd/top/top.c,$(wildcard cmd/top/*.c))
UNIT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(UNIT_SRCS_LINKED))

UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))

WORKLOAD  := $(BUILD)/tests/vfio-workload

.PHONY: all deps deps-build deps-lab install deb dist deb-test readme-samples clean check unit-test lab-test lab-fetch demo help vmlinux-h

all: $(BUILD)/vfio-trace

help:
	@echo "make              build build/vfio-trace (static, BPF skeletons embedded)"
	@echo "make deps         install every Debian package needed to build, run and test"
	@echo "make lint         cppcheck over lib/ and cmd/: zero findings"
	@echo "make format       rewrite the C sources in the style of .clang-format"
	@echo "make format-check the C sources in that style (a host check)"
	@echo "make deps-build   only what building, unit and host tests need (no QEMU)"
	@echo "make deps-lab     only what the QEMU lab adds (QEMU, busybox, kernel tooling)"
	@echo "make check        unit + host tests, the lab on every kernel, the .deb in a guest"
	@echo "make check-host   build, unit tests and host checks (lint, man pages...): no lab"
	@echo "make unit-test    unit tests only (no VFIO needed)"
	@echo "make san-test     unit tests and the host harness under ASan + UBSan (build/san)"
	@echo "make fuzz         the libFuzzer targets, FUZZ_SECONDS each (default 600)"
	@echo "make lab-test     the QEMU lab suite on every kernel in tests/lab/kernels.list"
	@echo "make demo         boot the lab, run an unmap storm, show vfio-trace output"
	@echo "make deb-test     install the .deb with dpkg in a Debian 12 lab guest, run doctor"
	@echo "make readme-samples  regenerate docs/samples/*.txt and the README's samples (lab)"
	@echo "make install      install binary, man pages, bash completion, export's systemd unit"
	@echo "make deb          build/pkg/vfio-trace_<version>_amd64.deb (dpkg -i it)"
	@echo "make dist         build/pkg/vfio-trace-<version>-amd64.tar.gz, the same files"
	@echo "make vmlinux-h    regenerate bpf/vmlinux.h from the reference kernel's BTF"

# Debian bookworm packages, installed idempotently. deps-build: what building vfio-trace,
# its unit and host tests (man pages, completion, packages) need; deps-lab: the QEMU lab on
# top (QEMU, busybox, kernel and module tooling; tests/lab/fetch installs the kernel
# headers itself, tests/lab/build-kernel linux-source-6.12; bison, flex, libssl-dev, libelf-dev
# and patch are what building that kernel needs beyond the rest). `make deps` = both, so
# `make deps && make check` stays the one command.
# libclang-rt-14-dev: libFuzzer and the sanitizer runtimes for tests/fuzz (only recommended
# by clang, and deps skips recommends). librsvg2-bin: rsvg-convert, which the tests render
# report --heatmap's SVG with.
DEB_PKGS_BUILD := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libzstd-dev libcap-dev \
	libtracefs-dev libtraceevent-dev libncurses-dev libjson-c-dev libcmocka-dev pkg-config \
	make gcc libc6-dev git python3 man-db groff-base bash xz-utils cppcheck \
	libclang-rt-14-dev clang-format libmicrohttpd-dev libgnutls28-dev nettle-dev libtasn1-6-dev \
	libidn2-dev libunistring-dev libgmp-dev binutils prometheus librsvg2-bin
DEB_PKGS_LAB := qemu-system-x86 busybox-static kmod cpio xz-utils zstd dwarves bc binutils \
	gcc make python3 prometheus prometheus-node-exporter bison flex libssl-dev libelf-dev patch
define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	else echo "$(2): all packages present"; fi
endef
deps: deps-build deps-lab
deps-build:
	$(call install_missing,$(DEB_PKGS_BUILD),deps-build)
deps-lab:
	$(call install_missing,$(DEB_PKGS_LAB),deps-lab)

# --- BPF -----------------------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) | $(BUILD)/bpf
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@.tmp && mv $@.tmp $@

# --- user space ----------------------------------------------------------------------------
$(BUILD)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -c $< -o $@
$(patsubst %.c,$(BUILD)/obj/%.o,$(SKEL_SRCS)): $(SKELS)

# --version names the tree the binary was built from: main.o is rebuilt when that changes
$(BUILD)/version.stamp: FORCE
	@mkdir -p $(dir $@)
	@[ "$$(cat $@ 2>/dev/null)" = "$(VERSION)" ] || echo "$(VERSION)" > $@
$(BUILD)/obj/cmd/main.o: $(BUILD)/version.stamp
.PHONY: FORCE
FORCE:

# export's HTTP server: Debian's libmicrohttpd.a is built with HTTPS, so it pulls in gnutls,
# whose static archive calls p11-kit, of which Debian ships no static archive. vfio-trace
# serves plain HTTP and never reaches gnutls's PKCS#11 code: each p11-kit function gnutls
# names resolves to one stub that fails (cmd/link_stubs.c, build/p11kit-absent.ld).
GNUTLS_A   := $(firstword $(wildcard /usr/lib/*/libgnutls.a /usr/lib/libgnutls.a))
HTTP_LIBS  := -lmicrohttpd -lgnutls -lhogweed -lnettle -ltasn1 -lidn2 -lunistring -lgmp -latomic
# ... nor needs gnutls initialized: libmicrohttpd's init and deinit calls go to no-ops, and
# gnutls's own constructor is told to skip (cmd/link_stubs.c)
HTTP_LDFLAGS := -Wl,--wrap=gnutls_global_init -Wl,--wrap=gnutls_global_deinit

# PROVIDE: defined only where gnutls refers to it and nothing else defines it
$(BUILD)/p11kit-absent.ld: $(GNUTLS_A)
	@mkdir -p $(dir $@)
	nm -u $< 2>/dev/null | awk '$$2 ~ /^p11_kit_/ {print "PROVIDE(" $$2 " = vt_p11kit_absent);"}' | sort -u > $@.tmp
	@mv $@.tmp $@

$(BUILD)/vfio-trace: $(LIB_OBJS) $(CMD_OBJS) $(BUILD)/p11kit-absent.ld
	$(CC) $(CFLAGS) $(LDFLAGS) $(HTTP_LDFLAGS) -o $@ $(LIB_OBJS) $(CMD_OBJS) \
		$(BUILD)/p11kit-absent.ld $(HTTP_LIBS) $(STATIC_LIBS) 2>&1 | \
		{ grep -v "getpwuid_r' in statically linked\|in function \`_gnutls_find_config_path'\|Using 'dlopen' in statically\|in function \`load_plugin'" || true; }
	@test -x $@

$(WORKLOAD): $(wildcard tests/workload/*.c) $(wildcard tests/workload/*.h) tests/kmod/vfio_dmatest.h
	@mkdir -p $(dir $@)
	$(CC) -O2 -g -Wall -Wextra -static -Itests/kmod -o $@ $(filter %.c,$^) -ljson-c -lpthread

$(BUILD)/bpf:
	mkdir -p $@

# --- tests ---------------------------------------------------------------------------------
$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_OBJS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -o $@ $< $(UNIT_OBJS) -lcmocka $(STATIC_LIBS:-static=)

unit-test: $(UNIT_BINS) $(BUILD)/vfio-trace
	@tests/unit/run $(UNIT_BINS)

# --- sanitizers: the library, the unit tests and a host-side harness (tests/san) under
# ASan + UBSan, in their own build dir, linked dynamically; make check runs them ------------
SAN        := $(BUILD)/san
SAN_FLAGS  := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_LIB_OBJS  := $(patsubst %.c,$(SAN)/obj/%.o,$(UNIT_SRCS_LINKED))
SAN_BINS   := $(patsubst tests/unit/%.c,$(SAN)/tests/unit/%,$(UNIT_SRCS)) \
	$(patsubst tests/san/%.c,$(SAN)/tests/san/%,$(wildcard tests/san/*.c))

$(SAN)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -c $< -o $@

$(SAN)/tests/%: tests/%.c $(SAN_LIB_OBJS) $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(SAN_FLAGS) $(WARN) -o $@ $< $(SAN_LIB_OBJS) -lcmocka $(STATIC_LIBS)

.PHONY: san-test
san-test: $(SAN_BINS)
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/unit/run $(SAN_BINS)

# --- fuzzing: libFuzzer targets (clang) for the parsers of host data (tests/fuzz); make check
# runs each for FUZZ_CHECK_SECONDS, make fuzz for FUZZ_SECONDS ------------------------------
FUZZ       := $(BUILD)/fuzz
FUZZ_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIB   := lib/ksyms.c lib/report.c lib/util.c lib/model.c lib/escape.c lib/record.c \
	lib/record_read.c lib/record_flight.c lib/timeline.c lib/heatmap.c lib/filter.c
FUZZ_BINS  := $(patsubst tests/fuzz/%.c,$(FUZZ)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 600
FUZZ_CHECK_SECONDS ?= 20

$(FUZZ)/obj/%.o: %.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -Wall -c $< -o $@

$(FUZZ)/fuzz_%: tests/fuzz/fuzz_%.c $(patsubst %.c,$(FUZZ)/obj/%.o,$(FUZZ_LIB)) $(HDRS)
	$(CLANG) $(CPPFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -Wall -o $@ $< \
		$(patsubst %.c,$(FUZZ)/obj/%.o,$(FUZZ_LIB)) -ljson-c -lzstd -lz

# cppcheck over lib/ and cmd/ (also run by make check, tests/host/t-lint)
.PHONY: lint
lint: $(SKELS)
	tests/host/run t-lint

# The C style (.clang-format; generated code left alone): format rewrites the sources,
# format-check (also run by check-host and check, tests/host/t-format) fails on a difference.
.PHONY: format format-check
format:
	tests/host/t-format --fix
format-check:
	tests/host/run t-format

.PHONY: fuzz
fuzz: $(FUZZ_BINS)
	tests/fuzz/run --seconds $(FUZZ_SECONDS) $(FUZZ_BINS)

lab-fetch:
	tests/lab/fetch

lab-test: $(BUILD)/vfio-trace $(WORKLOAD)
	tests/lab/run-tests

# The quick gate before a commit: the build, the unit tests and the host checks (lint, man
# pages, completion, packages); no sanitizers, no fuzzing, no lab.
.PHONY: check-host
check-host: $(BUILD)/vfio-trace $(UNIT_BINS)
	@tests/unit/run $(UNIT_BINS) && tests/host/run

# Unit tests first (seconds), then the lab (minutes); one summary line at the end.
check: $(BUILD)/vfio-trace $(WORKLOAD) $(UNIT_BINS) $(SAN_BINS) $(FUZZ_BINS)
	@SAN_BINS="$(SAN_BINS)" FUZZ_BINS="$(FUZZ_BINS)" FUZZ_CHECK_SECONDS=$(FUZZ_CHECK_SECONDS) \
		tests/check-all $(UNIT_BINS)

demo: $(BUILD)/vfio-trace $(WORKLOAD)
	tests/lab/demo

# The .deb installed with Debian's own dpkg in a clean Debian 12 (debootstrap, cached) in the
# lab guest, then the installed vfio-trace doctor on the real kernel (tests/lab/deb-test; make
# check runs it last).
deb-test: $(BUILD)/vfio-trace $(WORKLOAD)
	tests/lab/deb-test

# docs/samples/*.txt and the README's sample blocks, regenerated in the lab
readme-samples: $(BUILD)/vfio-trace $(WORKLOAD)
	tests/lab/readme-samples

install: $(BUILD)/vfio-trace
	install -D -m 0755 $(BUILD)/vfio-trace $(DESTDIR)$(PREFIX)/sbin/vfio-trace
	for m in man/*.8; do install -D -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man8/$$(basename $$m); done
	install -D -m 0644 contrib/bash-completion/vfio-trace \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions/vfio-trace
	mkdir -p $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's|/usr/sbin/vfio-trace|$(PREFIX)/sbin/vfio-trace|' contrib/vfio-trace-export.service > \
		$(DESTDIR)$(PREFIX)/lib/systemd/system/vfio-trace-export.service

# The release: a Debian package and a tarball with the same files (packaging/mkpkg), in
# build/pkg/. Install with `dpkg -i build/pkg/vfio-trace_*.deb`, or unpack the tarball and
# copy sbin/ and share/ under /usr/local.
PKG_INPUTS := $(BUILD)/vfio-trace packaging/mkpkg packaging/copyright $(wildcard man/*.8) \
	contrib/bash-completion/vfio-trace README.md docs/BENCHMARKS.md docs/TEARDOWN.md $(wildcard docs/samples/*.txt) \
	contrib/vfio-trace-export.service $(wildcard docs/prometheus/*)
deb: $(PKG_INPUTS)
	@rm -f $(BUILD)/pkg/vfio-trace_*.deb
	packaging/mkpkg deb $(BUILD)/pkg $(BUILD)/vfio-trace $(VERSION)
dist: $(PKG_INPUTS)
	@rm -f $(BUILD)/pkg/vfio-trace-*.tar.gz
	packaging/mkpkg dist $(BUILD)/pkg $(BUILD)/vfio-trace $(VERSION)

vmlinux-h:
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > bpf/vmlinux.h.tmp && mv bpf/vmlinux.h.tmp bpf/vmlinux.h

VMLINUX_BTF ?= /usr/src/linux-headers-6.12.118+deb12-amd64/vmlinux

clean:
	rm -rf $(BUILD)/bpf $(BUILD)/obj $(BUILD)/tests $(BUILD)/vfio-trace $(BUILD)/san $(BUILD)/fuzz $(BUILD)/lint

# Keep skeletons and objects around between runs.
.SECONDARY:

# --- benchmarks (bench/README.md, docs/BENCHMARKS.md); not part of check -------------------
BENCH_TOOLS := $(BUILD)/bench/empty-load $(BUILD)/bench/progstats $(BUILD)/bench/vtexec $(BUILD)/bench/mutexloop \
	$(BUILD)/bench/ksymsload $(BUILD)/bench/opcost $(BUILD)/bench/detach-cost
BENCH_LIBS  := -lbpf -lelf -lz -lzstd
# the vfio-trace binary measured (another build: make bench VFIO_TRACE=...)
VFIO_TRACE  ?= $(BUILD)/vfio-trace

.PHONY: bench bench-quick bench-scale bench-tools
bench-tools: $(BENCH_TOOLS)

$(BUILD)/bench/%.bpf.o: bench/%.bpf.c bpf/vmlinux.h $(wildcard include/*.h) $(wildcard bpf/*.h)
	@mkdir -p $(dir $@)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(BPFTOOL) gen object $@ $@.tmp
	@rm -f $@.tmp

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $*_bpf > $@.tmp && mv $@.tmp $@

$(BUILD)/bench/empty-load: bench/empty-load.c $(BUILD)/bench/empty.skel.h
	$(CC) $(CFLAGS) -Wall -Wextra -I$(BUILD)/bench -static -o $@ $< $(BENCH_LIBS)

# what one BPF building block costs (bpf_stats, every program on one fentry point)
$(BUILD)/bench/opcost: bench/opcost.c $(BUILD)/bench/opcost.skel.h
	$(CC) $(CFLAGS) -Wall -Wextra -I$(BUILD)/bench -static -o $@ $< $(BENCH_LIBS)

# what taking probes off costs, by attach method (bench/detach-cost-guest.sh; issue #12)
$(BUILD)/bench/detach-cost: bench/detach-cost.c $(BUILD)/bench/detach_cost.skel.h
	$(CC) $(CFLAGS) -Wall -Wextra -I$(BUILD)/bench -static -o $@ $< $(BENCH_LIBS) -lpthread

$(BUILD)/bench/progstats: bench/progstats.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wall -Wextra -static -o $@ $< $(BENCH_LIBS)

# vfio-trace's own kallsyms loader (lib/ksyms.c), timed alone: the start-up profile
$(BUILD)/bench/ksymsload: bench/ksymsload.c lib/ksyms.c lib/vt.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -static -o $@ bench/ksymsload.c lib/ksyms.c

# export's scrape cost, on the host: lib/prom.c rendering 1,000 series (make bench-scrape)
$(BUILD)/bench/prom-scrape: bench/prom-scrape.c $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wall -Wextra -o $@ $< $(LIB_OBJS) $(STATIC_LIBS)
.PHONY: bench-scrape
bench-scrape: $(BUILD)/bench/prom-scrape
	$< 1000 200

# top -b's user-space CPU per interval at 256 containers, on the host: real BPF maps, live
# processes, top's view and text code (make bench-top-interval; root)
$(BUILD)/bench/top-interval: bench/top-interval.c $(LIB_OBJS) $(filter-out %/top.o,$(filter $(BUILD)/obj/cmd/top/%,$(CMD_OBJS)))
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) -Icmd $(CFLAGS) -Wall -Wextra -o $@ $< $(filter %.o,$^) $(STATIC_LIBS)
.PHONY: bench-top-interval
bench-top-interval: $(BUILD)/bench/top-interval
	$< 16 100 && $< 64 100 && $< 256 100 && $< 500 60 && $< 1024 30

$(BUILD)/bench/%: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wall -Wextra -static -o $@ $<

# Full run on every lab kernel (newest first): results in bench/results/<kver>.json and the
# tables in docs/BENCHMARKS.md. Needs the bpftrace rootfs (bench/mkrootfs, built once).
bench: $(VFIO_TRACE) $(WORKLOAD) $(BENCH_TOOLS)
	VFIO_TRACE=$(VFIO_TRACE) bench/run --full

# Day-to-day (~3 min): the newest lab kernel only, 3 short rounds, no bpftrace peer; prints the
# table, commits nothing (bench/run --quick --kernel KVER for another kernel).
bench-quick: $(VFIO_TRACE) $(WORKLOAD) $(BENCH_TOOLS)
	VFIO_TRACE=$(VFIO_TRACE) bench/run --quick

# Scale (bench/scale): storms over 1, 16, 64, 256 containers and a 100k-mapping teardown in one
# VM boot (newest kernel; another:
# bench/scale --kernel KVER); bench/results/scale-<kver>.json and docs/bench-scale-<kver>.svg.
bench-scale: $(VFIO_TRACE) $(WORKLOAD) $(BENCH_TOOLS)
	VFIO_TRACE=$(VFIO_TRACE) bench/scale

# Where top's per-event cost goes (bench/ablate, ~7 min per kernel): builds of this commit
# with parts of the BPF programs' work compiled out (bench/ablate.patch), against the limit.
.PHONY: bench-ablate
bench-ablate: $(WORKLOAD) $(BENCH_TOOLS)
	bench/ablate
