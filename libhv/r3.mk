# The ring-3 engine's stub child (libhv/r3_stub.S, DESIGN.md §4): a static,
# libc-free binary linked at R3_STUB_BASE inside the hypervisor hole
# (libhv/r3_layout.h, libhv/r3_stub.ld).  The monitors find it next to
# themselves as ../lib/hvlab-r3-stub (unit tests: ../../lib/), or through
# $HVLAB_R3_STUB.  The C side (libhv/r3_*.c) is part of libhv.a as usual.
#
# Include from the top-level Makefile AFTER the `all:` rule (this file adds
# prerequisites to `all` and must not become the default goal):
#     include libhv/r3.mk

R3_STUB := $(BUILD)/lib/hvlab-r3-stub
R3_STUB_OBJ := $(BUILD)/obj/libhv/r3_stub.S.o

$(R3_STUB_OBJ): libhv/r3_stub.S
	@mkdir -p $(@D); echo "  AS [stub] $<"
	$(Q)$(CC) -D__ASSEMBLY__ -I. -MMD -MP -c $< -o $@

$(R3_STUB): $(R3_STUB_OBJ) libhv/r3_stub.ld
	@mkdir -p $(@D); echo "  LD [stub] $@"
	$(Q)$(CC) -nostdlib -static -no-pie -Wl,--build-id=none -Wl,-z,noexecstack \
	    -Wl,-z,max-page-size=4096 -T libhv/r3_stub.ld -o $@ $(R3_STUB_OBJ)

all: $(R3_STUB)
# The engine's unit test runs the stub; so will hv-trap-emulate/hv-paravirt.
$(BUILD)/tests/unit/test_r3_engine: $(R3_STUB)
