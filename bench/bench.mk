# The benchmark harness (bench/), included by the top-level Makefile.
#   bench/lib/*.c      parsing, statistics, results.json, report.md, plots
#                      -> $(BUILD)/lib/libbench.a (unit-tested with fixed inputs)
#   bench/*.c          hvlab-bench: rows, runs, pinning, machine section
#   bench/native/*.c   hvlab-native: the native and container rows
BENCH_PKGS := hwloc libcpuid
BENCH_CFLAGS = $(shell pkg-config --cflags $(BENCH_PKGS) 2>/dev/null)
BENCH_LIBS = $(shell pkg-config --libs $(BENCH_PKGS) 2>/dev/null || echo -lhwloc -lcpuid)

BENCH_LIB_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/lib/*.c))
$(BUILD)/lib/libbench.a: $(BENCH_LIB_OBJS)
	@mkdir -p $(@D); echo "  AR $@"
	$(Q)rm -f $@; ar rcs $@ $^

BENCH_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/*.c))
$(BENCH_OBJS): HOST_CFLAGS += $(BENCH_CFLAGS)
$(BENCH_OBJS): | deps-build
$(BUILD)/bin/hvlab-bench: $(BENCH_OBJS) $(BUILD)/obj/bench/native/tsc_rate.o $(BUILD)/lib/libbench.a \
                          $(BUILD)/lib/libhv.a
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ $(BENCH_LIBS) -lm

NATIVE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/native/*.c))
$(BUILD)/bin/hvlab-native: $(NATIVE_OBJS)
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lm -lpthread

BENCH_BINS := $(BUILD)/bin/hvlab-bench $(BUILD)/bin/hvlab-native
