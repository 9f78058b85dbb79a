# hvlab — one entry point: make, make test, make bench, make docs, make clean.
#
# Layout of outputs (never committed):
#   build/guest/guestkernel.elf   the guest kernel (freestanding, lower half)
#   build/lib/libhv.a             what the monitors share
#   build/bin/hv-*                the monitors
#   build/tests/                  unit-test binaries and test guests

BUILD   ?= build
CC      ?= gcc
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)

# ---- host side (monitors, libhv, tests): C11, warnings are errors --------
HOST_CFLAGS  := -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
                -Wshadow -Wno-missing-field-initializers -I. -MMD -MP
HOST_LDFLAGS :=

# ---- guest kernel: freestanding x86-64, no SSE/x87 (docs/guestkernel.md) ---------
GUEST_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding \
                -mgeneral-regs-only -mno-red-zone -march=x86-64 -fno-pic \
                -fno-pie -mcmodel=small -fno-stack-protector \
                -fno-asynchronous-unwind-tables -fcf-protection=none \
                -fno-builtin -nostdinc -isystem $(shell $(CC) -print-file-name=include) \
                -I. -Iguestkernel -MMD -MP
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
                 -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack

.PHONY: all test bench docs clean deps help unit e2e
.DEFAULT_GOAL := all
include bench/bench.mk
all: $(BUILD)/guest/guestkernel.elf $(BUILD)/bin/hv-hwassist $(BUILD)/bin/hv-trap-emulate \
     $(BUILD)/bin/hv-paravirt $(BENCH_BINS)

help:
	@echo "make            build the guest kernel and the monitors"
	@echo "make test       unit + end-to-end tests (installs missing Debian packages as root)"
	@echo "make bench      the benchmark suite and report: reports/latest/report.md"
	@echo "                (QUICK=1: one run of a reduced set; BENCH_ARGS=...: see"
	@echo "                build/bin/hvlab-bench --help)"
	@echo "make docs       list the documentation"
	@echo "make deps       check/install the Debian packages hvlab needs"
	@echo "make clean      remove build/"
	@echo "V=1             show the commands"

# ---- Debian packages -------------------------------------------------------
# One list for everything: make test and make bench both call this step.
# BUILD_PACKAGES is the part a plain `make` needs (the bench harness links
# hwloc and libcpuid); its objects check it first, so a clean clone says
# what is missing instead of failing on a missing header.
DEB_PACKAGES := gcc make libc6-dev pkg-config libcmocka-dev qemu-system-x86 \
                gnuplot-nox libcpuid-dev libhwloc-dev hwloc xz-utils jq
BUILD_PACKAGES := gcc make libc6-dev pkg-config libcpuid-dev libhwloc-dev
define install_missing
	$(Q)missing=""; \
	for p in $(1); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "deps: installing missing Debian packages:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -q && apt-get install -y -q --no-install-recommends $$missing; } >$(BUILD_LOG) 2>&1 \
	    || { echo "deps: apt-get install failed; see $(BUILD_LOG)" >&2; exit 1; }; \
	else \
	  echo "deps: missing Debian packages:$$missing" >&2; \
	  echo "deps: run: sudo apt-get install$$missing" >&2; exit 1; \
	fi
endef
.PHONY: deps-build
deps:
	$(call install_missing,$(DEB_PACKAGES))
deps-build:
	$(call install_missing,$(BUILD_PACKAGES))
BUILD_LOG = /tmp/hvlab-apt.log

# ---- guest kernel ---------------------------------------------------------
GUEST_SRCS := $(wildcard guestkernel/*.c) $(wildcard guestkernel/*.S)
GUEST_OBJS := $(patsubst guestkernel/%,$(BUILD)/guest/%.o,$(GUEST_SRCS))

$(BUILD)/guest/%.c.o: guestkernel/%.c
	@mkdir -p $(@D); echo "  CC [guest] $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/guest/%.S.o: guestkernel/%.S
	@mkdir -p $(@D); echo "  AS [guest] $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@
$(BUILD)/guest/guestkernel.elf: $(GUEST_OBJS) guestkernel/linker.ld
	@echo "  LD [guest] $@"
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T guestkernel/linker.ld -o $@ $(GUEST_OBJS) -lgcc

# ---- libhv ----------------------------------------------------------------
LIBHV_SRCS := $(wildcard libhv/*.c)
LIBHV_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(LIBHV_SRCS))
$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D); echo "  CC $<"
	$(Q)$(CC) $(HOST_CFLAGS) -c $< -o $@
$(BUILD)/lib/libhv.a: $(LIBHV_OBJS)
	@mkdir -p $(@D); echo "  AR $@"
	$(Q)rm -f $@; ar rcs $@ $^

# ---- monitors -------------------------------------------------------------
HWASSIST_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hv-hwassist/*.c))
$(BUILD)/bin/hv-hwassist: $(HWASSIST_OBJS) $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lpthread
# A fully static build, for the initramfs of the SVM test (issue 3).
$(BUILD)/bin/hv-hwassist.static: $(HWASSIST_OBJS) $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) -static -o $@ $^ -lpthread

TRAP_EMULATE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hv-trap-emulate/*.c))
$(BUILD)/bin/hv-trap-emulate: $(TRAP_EMULATE_OBJS) $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lrt

PARAVIRT_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard hv-paravirt/*.c))
$(BUILD)/bin/hv-paravirt: $(PARAVIRT_OBJS) $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lrt

include libhv/r3.mk
-include tests/tests.mk

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

docs:
	@echo "hvlab documentation (Markdown, readable as is):"; ls docs/*.md | sed 's/^/  /'

# make bench [QUICK=1] [BENCH_ARGS="--rows native,paravirt --runs 3"]: the
# suite under every row, then reports/latest/report.md (docs/benchmarks.md).
bench: deps
	$(Q)$(MAKE) --no-print-directory all $(SVM_TOOLS) $(BUILD)/bin/hv-hwassist.static
	$(Q)$(BUILD)/bin/hvlab-bench --build $(BUILD) $(if $(filter 1 yes,$(QUICK)),--quick) $(BENCH_ARGS)

clean:
	rm -rf $(BUILD)
