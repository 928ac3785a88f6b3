# libpal: learning representations from a similarity graph.
#
#   make               build lib/libpal.so and lib/libpal.a
#   make check         build and run the test suite and the examples
#   make check-asan    the suite under AddressSanitizer + UBSan
#   make check-valgrind, check-tsan, lint, fuzz, fuzz-short
#   make demo          run the main example on the handwritten digits
#   make oracle-demo   answers needed to label the digits, by oracle
#   make figures       the paper's figures: tables, CSV files, and the
#                      PNG plots in docs/figures/ (gnuplot; see
#                      docs/figures/); one figure: make fig3
#   make bench         the performance benchmark (bench-quick, bench-plot,
#                      bench-docs: see mk/bench.mk, docs/performance.md)
#   make install       install under $(DESTDIR)$(PREFIX)
#   make uninstall     remove what install put there
#
# BLIS comes from Debian's libblis-dev, which ships no pkg-config file;
# override BLIS_CFLAGS / BLIS_LIBS to use another build. LAPACK (the
# closed-form spectral embedding and the linear probe) comes from
# Debian's liblapack-dev; override LAPACK_LIBS for another LAPACK with
# the same (LP64, gfortran) calling convention.

VERSION := $(shell sed -n \
	-e 's/^\#define PAL_VERSION_MAJOR \([0-9]*\)/\1/p' \
	-e 's/^\#define PAL_VERSION_MINOR \([0-9]*\)/\1/p' \
	-e 's/^\#define PAL_VERSION_PATCH \([0-9]*\)/\1/p' \
	include/pal/core.h | paste -sd.)
SOMAJOR := $(firstword $(subst ., ,$(VERSION)))

PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR ?=

CC ?= cc
AR ?= ar
CFLAGS ?= -O2 -g
BLIS_CFLAGS ?= -I/usr/include/x86_64-linux-gnu
BLIS_LIBS ?= -lblis
LAPACK_LIBS ?= -llapack
CHECK_CFLAGS ?= $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS ?= $(shell pkg-config --libs check 2>/dev/null || echo -lcheck)

WARN := -Wall -Wextra -Werror -Wno-psabi -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wpointer-arith -Wvla
HARDEN := -fstack-protector-strong -D_FORTIFY_SOURCE=2
# No contraction of a * b + c into fused operations: the same source
# gives the same bits whatever instructions the compiler picks. gcc also
# vectorises the elementwise loops (clang does at -O2 already).
OPENMP ?= -fopenmp
VECTORIZE ?= $(if $(findstring clang,$(shell $(CC) --version 2>/dev/null)),,\
	-ftree-vectorize -fvect-cost-model=dynamic)
LIB_CFLAGS := -std=c11 $(WARN) $(HARDEN) -fPIC -fvisibility=hidden \
	-ffp-contract=off $(VECTORIZE) $(OPENMP) -DPAL_BUILDING -Iinclude -Ilib \
	$(BLIS_CFLAGS) $(CFLAGS)
LIB_LIBS := $(BLIS_LIBS) $(LAPACK_LIBS) $(OPENMP) -lm

# Packages a fresh Debian machine needs, per target.
DEPS_LIB := libblis-dev liblapack-dev
DEPS_CHECK := $(DEPS_LIB) check pkg-config
DEPS_DEMO := $(DEPS_LIB)

BUILD := build

# Short command lines unless V=1.
ifeq ($(V),1)
Q :=
quiet = @true
else
Q := @
quiet = @echo "  $(1)"
endif
LIB_SRC := $(sort $(wildcard lib/*/*.c))
LIB_OBJ := $(patsubst lib/%.c,$(BUILD)/lib/%.o,$(LIB_SRC))

# On x86-64 the vector kernels are built a second time for AVX2, and
# chosen at run time on processors that have it.
ifeq ($(shell uname -m),x86_64)
V3_SRC := lib/loss/simclr_kern.c
V3_FLAGS := -mavx2 -mfma -DPAL_KERN_V3
LIB_CFLAGS += -DPAL_HAVE_V3
LIB_OBJ += $(patsubst lib/%.c,$(BUILD)/lib/%_v3.o,$(V3_SRC))
endif
HEADERS := $(wildcard include/pal/*.h)
SONAME := libpal.so.$(SOMAJOR)
SHARED := lib/libpal.so.$(VERSION)
STATIC := lib/libpal.a

TEST_SRC := $(sort $(wildcard tests/test_*.c))
TEST_BIN := $(BUILD)/tests/pal_tests
EXAMPLE_SRC := $(sort $(wildcard examples/[0-9]*.c))
EXAMPLE_BIN := $(patsubst examples/%.c,$(BUILD)/examples/%,$(EXAMPLE_SRC))
# The paper's figures (examples/figures/, docs/figures/): make figures.
FIGURES := fig3 fig4 fig7 fig8 fig9
FIGURE_SRC := $(sort $(wildcard examples/figures/fig[0-9]*_*.c))
FIGURE_BIN := $(patsubst examples/figures/%.c,$(BUILD)/examples/%,$(FIGURE_SRC))
FIGURE_COMMON := examples/figures/figcommon.c examples/figures/figcommon.h
HOST_CFLAGS := -std=c11 $(WARN) -Wno-missing-prototypes -Iinclude $(CFLAGS)
HOST_LIBS := -Llib -lpal -Wl,-rpath,'$$ORIGIN/../../lib' $(LIB_LIBS)

.PHONY: FORCE all deps-lib deps-check deps-demo deps-valgrind check test \
	check-asan check-valgrind check-tsan lint deps-lint examples demo \
	oracle-demo figures deps-figures $(FIGURES) \
	install uninstall clean

all: lib/libpal.so $(STATIC)

deps-lib:
	@sh mk/deps.sh $(DEPS_LIB)
deps-check:
	@sh mk/deps.sh $(DEPS_CHECK)
deps-demo:
	@sh mk/deps.sh $(DEPS_DEMO)

# The objects wait for the dependency check, without being rebuilt by it.
$(BUILD)/lib/%.o: lib/%.c $(HEADERS) $(wildcard lib/*/*.h) | deps-lib
	@mkdir -p $(dir $@)
	$(call quiet,CC $<)
	$(Q)$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/lib/%_v3.o: lib/%.c $(HEADERS) $(wildcard lib/*/*.h) | deps-lib
	@mkdir -p $(dir $@)
	$(call quiet,CC [avx2] $<)
	$(Q)$(CC) $(LIB_CFLAGS) $(V3_FLAGS) -c $< -o $@

$(SHARED): $(LIB_OBJ) lib/libpal.map
	$(call quiet,LD $@)
	$(Q)$(CC) -shared -Wl,-soname,$(SONAME) -Wl,--version-script=lib/libpal.map \
		-Wl,--no-undefined -o $@ $(LIB_OBJ) $(LIB_LIBS) $(LDFLAGS)

lib/$(SONAME): $(SHARED)
	$(Q)ln -sf $(notdir $(SHARED)) $@

lib/libpal.so: lib/$(SONAME)
	$(Q)ln -sf $(SONAME) $@

$(STATIC): $(LIB_OBJ)
	$(call quiet,AR $@)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $(LIB_OBJ)

# ---- Tests and examples ----------------------------------------------------

$(TEST_BIN): $(TEST_SRC) $(wildcard tests/*.h) $(HEADERS) lib/libpal.so | deps-check
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) -D_POSIX_C_SOURCE=200809L -Ilib $(CHECK_CFLAGS) \
		-Wl,-rpath,'$$ORIGIN/../../lib' -o $@ $(TEST_SRC) \
		-Llib -lpal $(CHECK_LIBS) $(LIB_LIBS)

$(BUILD)/examples/%: examples/%.c $(HEADERS) lib/libpal.so
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) -D_POSIX_C_SOURCE=200809L -o $@ $< $(HOST_LIBS)

examples: $(EXAMPLE_BIN) $(BUILD)/examples/oracle_digits $(FIGURE_BIN)

# Golden values from an independent implementation, when present.
PAL_VECTORS_DIR ?= $(wildcard ../shared/vectors)
export PAL_VECTORS_DIR

check: all $(TEST_BIN) examples fuzz-replay
	$(TEST_BIN)
	@set -e; for e in $(EXAMPLE_BIN); do echo "example $$e"; \
		$$e --check >/dev/null; done
	sh tests/install_test.sh

test: check

# libFuzzer targets (make fuzz, make fuzz-short) and the replay of their
# corpora and regression inputs in make check.
include mk/fuzz.mk

# ---- Sanitizers and valgrind -----------------------------------------------
#
# check-asan: the library and the suite rebuilt with AddressSanitizer and
# UndefinedBehaviorSanitizer (any report fails the run; leaks included).
# check-valgrind: the normal suite under valgrind memcheck, in one process,
# zero errors and zero leaks (tests/valgrind.supp only silences the packing
# buffers BLIS keeps for the life of the process).

SAN_CC ?= $(CC)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
ASAN_DIR := $(BUILD)/asan
ASAN_OBJ := $(patsubst lib/%.c,$(ASAN_DIR)/lib/%.o,$(LIB_SRC)) \
	$(patsubst lib/%.c,$(ASAN_DIR)/lib/%_v3.o,$(V3_SRC))

$(ASAN_DIR)/lib/%.o: lib/%.c $(HEADERS) $(wildcard lib/*/*.h) | deps-lib
	@mkdir -p $(dir $@)
	$(call quiet,CC [asan] $<)
	$(Q)$(SAN_CC) $(filter-out -D_FORTIFY_SOURCE=2,$(LIB_CFLAGS)) \
		$(SAN_FLAGS) -c $< -o $@

$(ASAN_DIR)/lib/%_v3.o: lib/%.c $(HEADERS) $(wildcard lib/*/*.h) | deps-lib
	@mkdir -p $(dir $@)
	$(Q)$(SAN_CC) $(filter-out -D_FORTIFY_SOURCE=2,$(LIB_CFLAGS)) \
		$(SAN_FLAGS) $(V3_FLAGS) -c $< -o $@

$(ASAN_DIR)/lib/libpal.so: $(ASAN_OBJ) lib/libpal.map
	$(call quiet,LD [asan] $@)
	$(Q)$(SAN_CC) -shared $(SAN_FLAGS) -Wl,-soname,$(SONAME) \
		-Wl,--version-script=lib/libpal.map -o $@ $(ASAN_OBJ) $(LIB_LIBS)
	$(Q)ln -sf libpal.so $(ASAN_DIR)/lib/$(SONAME)

$(ASAN_DIR)/pal_tests: $(TEST_SRC) $(wildcard tests/*.h) $(HEADERS) \
		$(ASAN_DIR)/lib/libpal.so | deps-check
	$(call quiet,CC [asan] $@)
	$(Q)$(SAN_CC) $(HOST_CFLAGS) $(SAN_FLAGS) -D_POSIX_C_SOURCE=200809L \
		-Ilib $(CHECK_CFLAGS) -Wl,-rpath,'$$ORIGIN/lib' -o $@ \
		$(TEST_SRC) -L$(ASAN_DIR)/lib -lpal $(CHECK_LIBS) $(LIB_LIBS)

check-asan: $(ASAN_DIR)/pal_tests
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(ASAN_DIR)/pal_tests

# Valgrind runs one thread at a time, so OpenMP teams that spin while they
# wait take a time slice per barrier: threads wait passively here, BLIS
# runs on one thread unless a test's context asks for more, and the large
# thread-team test (run by check and check-asan) is left out.
check-valgrind: all $(TEST_BIN) | deps-valgrind
	CK_FORK=no PAL_TEST_NO_TEAMS=1 OMP_WAIT_POLICY=passive \
	BLIS_NUM_THREADS=1 OMP_NUM_THREADS=1 \
	valgrind -q --leak-check=full --show-leak-kinds=definite,indirect,possible \
		--errors-for-leak-kinds=definite,indirect,possible \
		--error-exitcode=1 --suppressions=tests/valgrind.supp $(TEST_BIN)

deps-valgrind:
	@sh mk/deps.sh valgrind

# check-tsan: the concurrency suite (tests/test_threads.c) with the
# library rebuilt under ThreadSanitizer. ThreadSanitizer cannot see the
# synchronisation inside the OpenMP runtime (libgomp is not built with
# it), so this build leaves OpenMP out of libpal and the suite leaves out
# the test that runs BLIS's and libpal's thread teams at large sizes;
# the host-thread tests run in full.
TSAN_DIR := $(BUILD)/tsan
TSAN_OBJ := $(patsubst lib/%.c,$(TSAN_DIR)/lib/%.o,$(LIB_SRC)) \
	$(patsubst lib/%.c,$(TSAN_DIR)/lib/%_v3.o,$(V3_SRC))
TSAN_FLAGS := -fsanitize=thread -fno-omit-frame-pointer

$(TSAN_DIR)/lib/%.o: lib/%.c $(HEADERS) $(wildcard lib/*/*.h) | deps-lib
	@mkdir -p $(dir $@)
	$(call quiet,CC [tsan] $<)
	$(Q)$(SAN_CC) $(filter-out -D_FORTIFY_SOURCE=2 $(OPENMP),$(LIB_CFLAGS)) \
		$(TSAN_FLAGS) -c $< -o $@

$(TSAN_DIR)/lib/%_v3.o: lib/%.c $(HEADERS) $(wildcard lib/*/*.h) | deps-lib
	@mkdir -p $(dir $@)
	$(Q)$(SAN_CC) $(filter-out -D_FORTIFY_SOURCE=2 $(OPENMP),$(LIB_CFLAGS)) \
		$(TSAN_FLAGS) $(V3_FLAGS) -c $< -o $@

$(TSAN_DIR)/lib/libpal.so: $(TSAN_OBJ) lib/libpal.map
	$(call quiet,LD [tsan] $@)
	$(Q)$(SAN_CC) -shared $(TSAN_FLAGS) -Wl,-soname,$(SONAME) \
		-Wl,--version-script=lib/libpal.map -o $@ $(TSAN_OBJ) \
		$(filter-out $(OPENMP),$(LIB_LIBS))
	$(Q)ln -sf libpal.so $(TSAN_DIR)/lib/$(SONAME)

$(TSAN_DIR)/pal_tests: $(TEST_SRC) $(wildcard tests/*.h) $(HEADERS) \
		$(TSAN_DIR)/lib/libpal.so | deps-check
	$(call quiet,CC [tsan] $@)
	$(Q)$(SAN_CC) $(HOST_CFLAGS) $(TSAN_FLAGS) -D_POSIX_C_SOURCE=200809L \
		-DPAL_TEST_TSAN -Ilib $(CHECK_CFLAGS) -Wl,-rpath,'$$ORIGIN/lib' \
		-o $@ $(TEST_SRC) -L$(TSAN_DIR)/lib -lpal $(CHECK_LIBS) \
		$(filter-out $(OPENMP),$(LIB_LIBS))

check-tsan: $(TSAN_DIR)/pal_tests
	CK_FORK=no CK_RUN_SUITE=threads TSAN_OPTIONS=halt_on_error=1 \
		$(TSAN_DIR)/pal_tests

# ---- Static analysis ------------------------------------------------------
#
# cppcheck (warnings, style, performance, portability) and clang-tidy
# (the checks listed in .clang-tidy) on lib/, both with warnings as errors.

lint: | deps-lint
	cppcheck -q --enable=warning,style,performance,portability --std=c11 \
		--inline-suppr --error-exitcode=1 -DPAL_BUILDING -Iinclude -Ilib \
		lib/
	@out=$$(clang-tidy --quiet $(LIB_SRC) -- -std=c11 -DPAL_BUILDING \
		-Iinclude -Ilib $(BLIS_CFLAGS) 2>&1); rc=$$?; \
		printf '%s\n' "$$out" | grep -v 'warnings generated'; \
		echo "clang-tidy: exit $$rc"; exit $$rc

deps-lint:
	@sh mk/deps.sh cppcheck clang-tidy

demo: all deps-demo $(BUILD)/examples/demo_digits $(BUILD)/digits.csv
	@echo "demo: about 1 to 3 minutes on 2 cores; progress on stderr"
	$(BUILD)/examples/demo_digits $(BUILD)/digits.csv $(BUILD)/demo.csv

$(BUILD)/examples/demo_digits: examples/demo/demo_digits.c $(HEADERS) lib/libpal.so
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) $(BLIS_CFLAGS) -D_POSIX_C_SOURCE=200809L -o $@ \
		$< $(HOST_LIBS)

# How many cheap answers label the whole digits set, by oracle
# (examples/oracles/, docs/oracles.md). About 75 seconds on 2 cores.
oracle-demo: all deps-demo $(BUILD)/examples/oracle_digits $(BUILD)/digits.csv
	$(BUILD)/examples/oracle_digits $(BUILD)/digits.csv

$(BUILD)/examples/oracle_digits: examples/oracles/oracle_digits.c $(HEADERS) lib/libpal.so
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) -D_POSIX_C_SOURCE=200809L -o $@ $< $(HOST_LIBS)

# ---- The paper's figures --------------------------------------------------
#
# Each figure program (examples/figures/figN_*.c, with the shared
# figcommon.c) prints its table, writes $(BUILD)/figures/figN.csv and the
# gnuplot script figN.gp, which renders docs/figures/figN.png. Without
# gnuplot (not installable: not root, or no Debian) the PNG step is
# skipped with one line and the table and CSV are still made.

$(BUILD)/examples/fig%: examples/figures/fig%.c $(FIGURE_COMMON) $(HEADERS) \
		lib/libpal.so
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(CC) $(HOST_CFLAGS) -D_POSIX_C_SOURCE=200809L -o $@ $< \
		examples/figures/figcommon.c $(HOST_LIBS)

deps-figures:
	@sh mk/deps.sh --optional "PNG rendering" gnuplot-nox

# Render $(1) (fig3, ...) if gnuplot is there, else say so in one line.
render = if command -v gnuplot >/dev/null 2>&1; then \
		gnuplot $(BUILD)/figures/$(1).gp && echo "  PNG docs/figures/$(1).png"; \
	else echo "$(1): gnuplot not available, PNG skipped" \
		"(table and $(BUILD)/figures/$(1).csv made)"; fi

figures: $(FIGURES)

# Fig. 3: active (captcha) against passive oracles, four circles. ~25 s.
fig3: all deps-figures $(BUILD)/examples/fig3_active_vs_passive
	@mkdir -p $(BUILD)/figures docs/figures
	$(BUILD)/examples/fig3_active_vs_passive --png docs/figures/fig3.png \
		$(BUILD)/figures
	@$(call render,fig3)

# Fig. 4: known labels mixed into the SSL graph, (1 - alpha) G_ssl +
# alpha Y Y^T, two augmentations. ~60 s.
fig4: all deps-figures $(BUILD)/examples/fig4_mixed_graph
	@mkdir -p $(BUILD)/figures docs/figures
	$(BUILD)/examples/fig4_mixed_graph --png docs/figures/fig4.png \
		$(BUILD)/figures
	@$(call render,fig4)

# Fig. 7: non-contrastive against contrastive known graphs. ~25 s.
fig7: all deps-figures $(BUILD)/examples/fig7_contrastive
	@mkdir -p $(BUILD)/figures docs/figures
	$(BUILD)/examples/fig7_contrastive --png docs/figures/fig7.png \
		$(BUILD)/figures
	@$(call render,fig7)

# Fig. 8: a labeler that flips answers with probability p. ~100 s.
fig8: all deps-figures $(BUILD)/examples/fig8_noisy_labeler
	@mkdir -p $(BUILD)/figures docs/figures
	$(BUILD)/examples/fig8_noisy_labeler --png docs/figures/fig8.png \
		$(BUILD)/figures
	@$(call render,fig8)

# Fig. 9: error against the components of the known graph. ~25 s.
fig9: all deps-figures $(BUILD)/examples/fig9_components
	@mkdir -p $(BUILD)/figures docs/figures
	$(BUILD)/examples/fig9_components --png docs/figures/fig9.png \
		$(BUILD)/figures
	@$(call render,fig9)

$(BUILD)/digits.csv: examples/data/digits.csv.gz
	@mkdir -p $(dir $@)
	gzip -dc $< > $@

# ---- Installation ----------------------------------------------------------

# Generated at every install, so that it always names this PREFIX.
$(BUILD)/pal.pc: pal.pc.in include/pal/core.h FORCE
	@mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@LIBDIR@|$(LIBDIR)|g' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|g' -e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@BLIS_LIBS@|$(BLIS_LIBS)|g' -e 's|@LAPACK_LIBS@|$(LAPACK_LIBS)|g' \
		-e 's|@OPENMP@|$(OPENMP)|g' $< > $@

FORCE:

install: all $(BUILD)/pal.pc
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR)/pal \
		$(DESTDIR)$(PKGCONFIGDIR)
	install -m 644 $(HEADERS) $(DESTDIR)$(INCLUDEDIR)/pal/
	install -m 755 $(SHARED) $(DESTDIR)$(LIBDIR)/
	ln -sf $(notdir $(SHARED)) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libpal.so
	install -m 644 $(STATIC) $(DESTDIR)$(LIBDIR)/
	install -m 644 $(BUILD)/pal.pc $(DESTDIR)$(PKGCONFIGDIR)/

uninstall:
	rm -f $(addprefix $(DESTDIR)$(INCLUDEDIR)/pal/,$(notdir $(HEADERS)))
	-rmdir $(DESTDIR)$(INCLUDEDIR)/pal 2>/dev/null
	rm -f $(DESTDIR)$(LIBDIR)/$(notdir $(SHARED)) \
		$(DESTDIR)$(LIBDIR)/$(SONAME) $(DESTDIR)$(LIBDIR)/libpal.so \
		$(DESTDIR)$(LIBDIR)/libpal.a $(DESTDIR)$(PKGCONFIGDIR)/pal.pc

clean:
	rm -rf $(BUILD) lib/libpal.so* $(STATIC)

include mk/bench.mk
