# The performance benchmark (issue 4), included by the Makefile.
#
#   make bench         the full run (about 15 minutes on 2 cores): table,
#                      build/bench/results.csv, build/bench/performance.png
#   make bench-quick   small sizes in about a minute, for CI
#
# The C program (bench/*.c) links libpal and BLIS; PyTorch's side is
# bench/torch_ref.py, run by Debian's python3 with python3-torch. The
# plot is drawn by gnuplot (bench/plot.gp). BENCH_FLAGS passes options to
# the program, e.g. BENCH_FLAGS=--no-f64-stream-1t.

DEPS_BENCH := $(DEPS_LIB) python3-torch python3-numpy gnuplot-nox
BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(BENCH_DIR)/bench
BENCH_PYTHON ?= /usr/bin/python3
BENCH_FLAGS ?=
BENCH_RUN = $(BENCH_BIN) --dir $(BENCH_DIR) --python $(BENCH_PYTHON) \
	--script bench/torch_ref.py $(BENCH_FLAGS)

.PHONY: bench bench-quick deps-bench

deps-bench:
	@sh mk/deps.sh $(DEPS_BENCH)

$(BENCH_BIN): $(BENCH_SRC) bench/bench.h $(HEADERS) lib/libpal.so | deps-bench
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) $(BLIS_CFLAGS) $(OPENMP) -o $@ $(BENCH_SRC) \
		$(HOST_LIBS)

bench: all $(BENCH_BIN) | deps-bench
	$(BENCH_RUN)
	gnuplot -e "dir='$(BENCH_DIR)'; mode=''" bench/plot.gp
	@echo "plot: $(BENCH_DIR)/performance.png"

bench-quick: all $(BENCH_BIN) | deps-bench
	$(BENCH_RUN) --quick
	gnuplot -e "dir='$(BENCH_DIR)'; mode='quick_'" bench/plot.gp
	@echo "plot: $(BENCH_DIR)/performance_quick.png"
