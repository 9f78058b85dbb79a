# Tests: included by the top-level Makefile.
#   tests/unit/test_*.c     cmocka unit tests, each linked with libhv
#   tests/e2e/*.sh          end-to-end tests (exit 0 pass, 77 skipped, else fail)
#   tests/guests/guests.mk  small test guests (multiboot, hostile images)

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRCS))
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)

$(BUILD)/tests/unit/%: tests/unit/%.c $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  CC [test] $<"
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $< $(BUILD)/lib/libhv.a $(CMOCKA_LIBS) -lpthread

# test_te_*.c test hv-trap-emulate's virtual CPU: they link its objects too.
TE_TEST_OBJS = $(filter-out %/main.o,$(TRAP_EMULATE_OBJS))
$(BUILD)/tests/unit/test_te_%: tests/unit/test_te_%.c $(TE_TEST_OBJS) $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  CC [test] $<"
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $< $(TE_TEST_OBJS) $(BUILD)/lib/libhv.a $(CMOCKA_LIBS) -lpthread -lrt

# test_pv_*.c test hv-paravirt's mechanisms: they link its objects too.
PV_TEST_OBJS = $(filter-out %/main.o,$(PARAVIRT_OBJS))
$(BUILD)/tests/unit/test_pv_%: tests/unit/test_pv_%.c $(PV_TEST_OBJS) $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  CC [test] $<"
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $< $(PV_TEST_OBJS) $(BUILD)/lib/libhv.a $(CMOCKA_LIBS) -lpthread -lrt

# test_bench_*.c test the benchmark harness's library (bench/lib).
$(BUILD)/tests/unit/test_bench_%: tests/unit/test_bench_%.c $(BUILD)/lib/libbench.a
	@mkdir -p $(@D); echo "  CC [test] $<"
	$(Q)$(CC) $(HOST_CFLAGS) -o $@ $< $(BUILD)/lib/libbench.a $(CMOCKA_LIBS) -lm

TEST_GUESTS :=
-include tests/guests/guests.mk
-include tests/svm/svm.mk

.PHONY: test-build unit e2e test-svm
test-build: all $(UNIT_BINS) $(TEST_GUESTS) $(SVM_TOOLS) $(BUILD)/bin/hv-hwassist.static

test: deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)BUILD=$(BUILD) sh tests/run-tests.sh $(UNIT_BINS) -- $(sort $(wildcard tests/e2e/*.sh))

unit: test-build
	$(Q)BUILD=$(BUILD) sh tests/run-tests.sh $(UNIT_BINS) --

# hv-hwassist under true AMD-V + nested paging: KVM inside QEMU TCG (tests/svm/).
test-svm: test-build
	$(Q)BUILD=$(BUILD) sh tests/run-tests.sh -- tests/e2e/svm-selftest.sh

e2e: test-build
	$(Q)BUILD=$(BUILD) sh tests/run-tests.sh -- $(sort $(wildcard tests/e2e/*.sh))
