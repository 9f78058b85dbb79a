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


NATIVE_OBJS := $(patsubst %.c,$(BUILD)/obj/%.o,$(wildcard bench/native/*.c))
$(BUILD)/bin/hvlab-native: $(NATIVE_OBJS)
	@mkdir -p $(@D); echo "  LD $@"
	$(Q)$(CC) $(HOST_LDFLAGS) -o $@ $^ -lm
