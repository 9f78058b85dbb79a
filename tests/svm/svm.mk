# The SVM test harness (tests/svm/): KVM with true AMD-V inside QEMU TCG.
# Include from tests/tests.mk (`-include tests/svm/svm.mk`), or use alone:
#     make -f tests/svm/svm.mk svm-tools        (tests/svm/run.sh does this)
# Targets:
#   svm-tools                   init, kvm-probe (static) and the mkcpio host tool
#   $(BUILD)/svm/init           the initramfs's /init
#   $(BUILD)/svm/kvm-probe      a minimal static KVM user
#   $(BUILD)/svm/mkcpio         writes newc cpio archives
# The kernel itself is fetched by tests/svm/fetch-kernel.sh (a download,
# cached in $(BUILD)/svm/), never at make time.

BUILD ?= build
CC    ?= gcc
Q     ?= @

SVM_CFLAGS := -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -Werror -Wshadow
SVM_TOOLS  := $(BUILD)/svm/init $(BUILD)/svm/kvm-probe $(BUILD)/svm/mkcpio

.PHONY: svm-tools
svm-tools: $(SVM_TOOLS)

$(BUILD)/svm/init: tests/svm/init.c
	@mkdir -p $(@D); echo "  CC [svm] $@"
	$(Q)$(CC) $(SVM_CFLAGS) -static -o $@ $<

$(BUILD)/svm/kvm-probe: tests/svm/kvm-probe.c
	@mkdir -p $(@D); echo "  CC [svm] $@"
	$(Q)$(CC) $(SVM_CFLAGS) -static -o $@ $<

$(BUILD)/svm/mkcpio: tests/svm/mkcpio.c
	@mkdir -p $(@D); echo "  CC [svm] $@"
	$(Q)$(CC) $(SVM_CFLAGS) -o $@ $<
