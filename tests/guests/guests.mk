# Small test guests, built into $(BUILD)/tests/guests/ (included by tests/tests.mk).
#
# mb-hello.elf: a Multiboot v1 kernel (ELF32 i386) that shares no code with
# guestkernel/ or libhv/.  It prints what its boot loader passed and exits
# through isa-debug-exit with the code of its `exit=N` argument; the e2e test
# tests/e2e/qemu-multiboot.sh boots it with stock QEMU.  It needs only
# `gcc -m32` code generation (no 32-bit libc or libgcc: -nostdlib).

MB_HELLO_CFLAGS := -m32 -march=i686 -std=gnu11 -O2 -g -Wall -Wextra -Werror \
                   -ffreestanding -nostdinc -fno-builtin -fno-pic -fno-pie \
                   -fno-stack-protector -fno-asynchronous-unwind-tables \
                   -fcf-protection=none -mgeneral-regs-only
MB_HELLO_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
                    -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack
MB_HELLO_SRCS := tests/guests/mb-hello-entry.S tests/guests/mb-hello.c

$(BUILD)/tests/guests/mb-hello.elf: $(MB_HELLO_SRCS) tests/guests/mb-hello.ld tests/guests/guests.mk
	@mkdir -p $(@D); echo "  LD [test guest] $@"
	$(Q)$(CC) $(MB_HELLO_CFLAGS) $(MB_HELLO_LDFLAGS) -T tests/guests/mb-hello.ld \
	    -o $@ $(MB_HELLO_SRCS)

TEST_GUESTS += $(BUILD)/tests/guests/mb-hello.elf

# mb-long.elf: a Multiboot v1 kernel built like kvm-unit-tests' x86_64 test
# binaries: x86-64 code linked at 4 MiB ($(BUILD)/tests/guests/mb-long.elf64,
# kept as the intermediate), converted with `objcopy -O elf32-i386`.  Its
# 32-bit entry switches to long mode; it reads fw_cfg, its multiboot command
# line and an environment module, and prints kvm-unit-tests-style PASS/FAIL
# lines and a SUMMARY (tests/e2e/qemu-multiboot-long.sh,
# tests/e2e/hwassist-multiboot-long.sh).  The .elf64 suffix keeps the
# intermediate out of the *.elf glob of tests/svm/run.sh.
MB_LONG_CFLAGS := -m64 -std=gnu11 -O2 -g -Wall -Wextra -Werror \
                  -ffreestanding -nostdinc -fno-builtin -fno-pic -fno-pie \
                  -mno-red-zone -mgeneral-regs-only \
                  -fno-stack-protector -fno-asynchronous-unwind-tables \
                  -fcf-protection=none
MB_LONG_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
                   -Wl,-z,max-page-size=4096 -Wl,-z,noexecstack
MB_LONG_SRCS := tests/guests/mb-long-entry.S tests/guests/mb-long.c
MB_LONG_OBJCOPY := $(or $(OBJCOPY),objcopy)

$(BUILD)/tests/guests/mb-long.elf64: $(MB_LONG_SRCS) tests/guests/mb-long.ld tests/guests/guests.mk
	@mkdir -p $(@D); echo "  LD [test guest] $@"
	$(Q)$(CC) $(MB_LONG_CFLAGS) $(MB_LONG_LDFLAGS) -T tests/guests/mb-long.ld \
	    -o $@ $(MB_LONG_SRCS)

$(BUILD)/tests/guests/mb-long.elf: $(BUILD)/tests/guests/mb-long.elf64
	@echo "  OBJCOPY [test guest] $@"
	$(Q)$(MB_LONG_OBJCOPY) -O elf32-i386 $< $@

TEST_GUESTS += $(BUILD)/tests/guests/mb-long.elf

# hostile.elf: the isolation test guest of hv-trap-emulate (issue 4).  An
# ELF64 hvlab guest (64-bit entry, boot info) built like the guest kernel
# ($(GUEST_CFLAGS)), that also carries a PVH entry so that stock QEMU boots
# it.  Its command line picks one hostile scenario (a host system call,
# int $0x80, a jump into the monitor's stub, page tables that point outside
# RAM or into the hypervisor hole, an endless fault loop, a triple fault);
# tests/e2e/trap-emulate-isolation.sh runs each one.  It shares no code with
# guestkernel/ or libhv/, only abi/.
HOSTILE_SRCS := tests/guests/hostile-entry.S tests/guests/hostile.c
HOSTILE_OBJS := $(patsubst tests/guests/%,$(BUILD)/tests/guests/hostile-obj/%.o,$(HOSTILE_SRCS))

$(BUILD)/tests/guests/hostile-obj/%.c.o: tests/guests/%.c tests/guests/guests.mk
	@mkdir -p $(@D); echo "  CC [test guest] $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/tests/guests/hostile-obj/%.S.o: tests/guests/%.S tests/guests/guests.mk
	@mkdir -p $(@D); echo "  AS [test guest] $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(BUILD)/tests/guests/hostile.elf: $(HOSTILE_OBJS) tests/guests/hostile.ld
	@echo "  LD [test guest] $@"
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T tests/guests/hostile.ld -o $@ $(HOSTILE_OBJS)

TEST_GUESTS += $(BUILD)/tests/guests/hostile.elf

# pvhostile.elf: the hostile-input test guest of hv-paravirt.  An ELF64
# hvlab guest built like the guest kernel ($(GUEST_CFLAGS)) that talks to
# the monitor only through hypercalls (abi/hvlab_hypercall.h).  Its command
# line picks one scenario: `refusals` makes every malformed or forbidden
# hypercall and checks the exact error of each, then builds and switches to
# its own page tables; the others end the guest on purpose (a privileged
# instruction, an exception with no handler, HVC_BLOCK with no timer, a
# store to a pinned page table, HVC_GET_STATS into one).
# tests/e2e/paravirt-hostile.sh runs each one.  It shares no code with
# guestkernel/ or libhv/, only abi/; it reuses hostile.ld (linked at 1 MiB,
# below 2 MiB; the PT_NOTE there stays empty: no PVH entry).
PVHOSTILE_SRCS := tests/guests/pvhostile-entry.S tests/guests/pvhostile.c
PVHOSTILE_OBJS := $(patsubst tests/guests/%,$(BUILD)/tests/guests/pvhostile-obj/%.o,$(PVHOSTILE_SRCS))

$(BUILD)/tests/guests/pvhostile-obj/%.c.o: tests/guests/%.c tests/guests/guests.mk
	@mkdir -p $(@D); echo "  CC [test guest] $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -c $< -o $@
$(BUILD)/tests/guests/pvhostile-obj/%.S.o: tests/guests/%.S tests/guests/guests.mk
	@mkdir -p $(@D); echo "  AS [test guest] $<"
	$(Q)$(CC) $(GUEST_CFLAGS) -D__ASSEMBLY__ -c $< -o $@

$(BUILD)/tests/guests/pvhostile.elf: $(PVHOSTILE_OBJS) tests/guests/hostile.ld
	@echo "  LD [test guest] $@"
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -T tests/guests/hostile.ld -o $@ $(PVHOSTILE_OBJS)

TEST_GUESTS += $(BUILD)/tests/guests/pvhostile.elf
