# The performance benchmark (issue 4), included by the Makefile.
#
#   make bench         the full run (planned for 15 minutes on 2 cores,
#                      longer when the machine is shared): table,
#                      build/bench/results.csv, summary.txt, bench.log
#                      and build/bench/performance.png
#   make bench-quick   small sizes in about a minute, for CI
#   make bench-plot    the plot of a run's CSV: BENCH_CSV (default
#                      build/bench/results.csv) to BENCH_PNG
#   make bench-docs    copy the last full run into docs/perf/, draw
#                      docs/perf/performance.png from its CSV and put its
#                      tables into docs/performance.md
#
# The C program (bench/*.c) links libpal and BLIS; PyTorch's side is
# bench/torch_ref.py, run by Debian's python3 with python3-torch. The
# plot is drawn by gnuplot (bench/plot.gp). PyTorch and gnuplot are
# installed when missing if make runs as root; otherwise make says which
# package is missing and that part is skipped: without PyTorch, results
# are verified against bench/reference.c and the PyTorch columns stay
# empty. BENCH_FLAGS passes options to the program, e.g.
# BENCH_FLAGS=--no-torch.

BENCH_SRC := $(addprefix bench/,bench.c inputs.c procs.c reference.c \
	storebench.c)
BENCH_DIR := $(BUILD)/bench
BENCH_BIN := $(BENCH_DIR)/bench
BENCH_PYTHON ?= /usr/bin/python3
BENCH_FLAGS ?=
BENCH_CSV ?= $(BENCH_DIR)/results.csv
BENCH_PNG ?= $(BENCH_DIR)/performance.png
BENCH_DOCS := docs/perf
BENCH_RUN = $(BENCH_BIN) --dir $(BENCH_DIR) --python $(BENCH_PYTHON) \
	--script bench/torch_ref.py $(BENCH_FLAGS)

# Run the benchmark ($(1): extra flags) with its output also in $(2).
# The program's exit status is kept across the pipe to tee.
define bench_run
	@mkdir -p $(BENCH_DIR)
	@{ $(BENCH_RUN) $(1); echo $$? > $(BENCH_DIR)/.status; } 2>&1 \
		| tee $(2); exit $$(cat $(BENCH_DIR)/.status)
endef

# Draw $(3) from the plot data written into $(1) with prefix $(2).
define bench_gnuplot
	@if command -v gnuplot >/dev/null 2>&1; then \
		gnuplot -e "dir='$(1)'; mode='$(2)'; out='$(3)'" bench/plot.gp \
		&& echo "plot: $(3)"; \
	else \
		echo "bench: gnuplot is missing (Debian package gnuplot-nox): no plot"; \
	fi
endef

.PHONY: bench bench-quick bench-plot bench-docs deps-bench

deps-bench:
	@sh mk/deps.sh $(DEPS_LIB)
	@sh mk/deps.sh --optional "the PyTorch comparison" python3-torch \
		python3-numpy
	@sh mk/deps.sh --optional "the plot" gnuplot-nox

$(BENCH_BIN): $(BENCH_SRC) bench/bench.h $(HEADERS) lib/libpal.so \
		| deps-lib
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) $(BLIS_CFLAGS) $(OPENMP) -o $@ $(BENCH_SRC) \
		$(HOST_LIBS)

bench: all $(BENCH_BIN) | deps-bench
	$(call bench_run,,$(BENCH_DIR)/bench.log)
	$(call bench_gnuplot,$(BENCH_DIR),,$(BENCH_DIR)/performance.png)

bench-quick: all $(BENCH_BIN) | deps-bench
	$(call bench_run,--quick,$(BENCH_DIR)/bench_quick.log)
	$(call bench_gnuplot,$(BENCH_DIR),quick_,$(BENCH_DIR)/performance_quick.png)

bench-plot: $(BENCH_BIN)
	@mkdir -p $(BENCH_DIR)/plot
	$(BENCH_BIN) --plot-from $(BENCH_CSV) --dir $(BENCH_DIR)/plot
	$(call bench_gnuplot,$(BENCH_DIR)/plot,,$(BENCH_PNG))

bench-docs: $(BENCH_BIN)
	@test -f $(BENCH_DIR)/results.csv || \
		{ echo "bench-docs: run make bench first"; exit 1; }
	@mkdir -p $(BENCH_DOCS)
	cp $(BENCH_DIR)/results.csv $(BENCH_DIR)/summary.txt \
		$(BENCH_DIR)/bench.log $(BENCH_DOCS)/
	$(MAKE) --no-print-directory bench-plot \
		BENCH_CSV=$(BENCH_DOCS)/results.csv \
		BENCH_PNG=$(BENCH_DOCS)/performance.png
	$(BENCH_PYTHON) bench/report.py $(BENCH_DOCS)/results.csv \
		--into docs/performance.md
