# Fuzzing libpal with libFuzzer, and replaying what fuzzing found.
#
#   make fuzz              build every tests/fuzz/fuzz_*.c with libFuzzer,
#                          ASan and UBSan, then run each FUZZ_SECONDS
#   make fuzz-short        the same, FUZZ_SHORT_SECONDS each (for CI)
#   make fuzz-replay       run each target, built without libFuzzer, over
#                          its seed corpus and its regression inputs
#
# Each target NAME is tests/fuzz/fuzz_NAME.c. Its seeds are in
# tests/fuzz/corpus/NAME/ and the inputs that once found a bug, named
# after the bug, in tests/fuzz/regressions/NAME/; both are read, never
# written. Inputs found while fuzzing go to $(BUILD)/fuzz/corpus/NAME/,
# crashes to $(BUILD)/fuzz/artifacts/NAME/, logs to $(BUILD)/fuzz/NAME.log.
#
# The library sources are compiled into every target (not linked from
# lib/libpal.so) so that the sanitizers instrument them. The knowledge
# store is built with a low "heavy component" threshold, so that the
# few items a fuzz input can name reach both of its bookkeeping paths.
#
# Included by the Makefile once BUILD, CC, WARN, BLIS_CFLAGS, BLIS_LIBS and
# LAPACK_LIBS are defined.

FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_SHORT_SECONDS ?= 10
FUZZ_CFLAGS ?= -O1 -g
FUZZ_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=all
# Extra libFuzzer options for every run, e.g. FUZZ_OPTS=-jobs=2.
FUZZ_OPTS ?=
FUZZ_REPLAY_CC ?= $(CC)
FUZZ_REPLAY_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=all
# Debian packages for the libFuzzer build (clang 14 is Debian 12's).
FUZZ_PACKAGES ?= libblis-dev liblapack-dev clang libclang-rt-14-dev

FUZZ_DIR := $(or $(BUILD),build)/fuzz
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_LIB_SRC := $(sort $(wildcard lib/*/*.c))
FUZZ_LIB_DEPS := $(wildcard include/pal/*.h lib/*/*.h)
FUZZ_DEPS := $(FUZZ_LIB_DEPS) tests/fuzz/fuzz.h
FUZZ_WARN := $(or $(WARN),-Wall -Wextra -Werror)
# clang warns about things gcc does not: in the libFuzzer build the
# library's warnings are reported, not fatal (the main build owns them).
FUZZ_LIB_WARN := $(filter-out -Werror,$(FUZZ_WARN))
FUZZ_DEFS := -std=c11 -DPAL_BUILDING -DPAL__KN_HEAVY_DEGREE=4 -Iinclude \
	-Ilib -Itests/fuzz $(BLIS_CFLAGS)
FUZZ_LIBS := $(BLIS_LIBS) $(LAPACK_LIBS) -lm

FUZZ_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC))
FUZZ_ROBJ := $(patsubst %.c,$(FUZZ_DIR)/robj/%.o,$(FUZZ_LIB_SRC))
FUZZ_BIN := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_REPLAY_BIN := $(patsubst %,$(FUZZ_DIR)/replay_%,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-short fuzz-replay fuzz-build deps-fuzz
.SECONDARY: $(FUZZ_OBJ) $(FUZZ_ROBJ)

# ---- libFuzzer builds -------------------------------------------------------

deps-fuzz:
	@sh mk/deps.sh $(FUZZ_PACKAGES)

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_LIB_DEPS) | deps-fuzz
	@mkdir -p $(dir $@)
	$(call quiet,FUZZCC $<)
	$(Q)$(FUZZ_CC) $(FUZZ_DEFS) $(FUZZ_LIB_WARN) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer-no-link $(FUZZ_SAN) -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ) $(FUZZ_DEPS)
	$(call quiet,FUZZLD $@)
	$(Q)$(FUZZ_CC) $(FUZZ_DEFS) $(FUZZ_WARN) $(FUZZ_CFLAGS) \
		-fsanitize=fuzzer $(FUZZ_SAN) -o $@ $< $(FUZZ_OBJ) $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: $(FUZZ_BIN)
	@sh mk/fuzz_run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) "$(FUZZ_OPTS)" \
		$(FUZZ_NAMES)

fuzz-short: $(FUZZ_BIN)
	@sh mk/fuzz_run.sh $(FUZZ_DIR) $(FUZZ_SHORT_SECONDS) "$(FUZZ_OPTS)" \
		$(FUZZ_NAMES)

# ---- Replay without libFuzzer -----------------------------------------------

$(FUZZ_DIR)/robj/%.o: %.c $(FUZZ_LIB_DEPS)
	@mkdir -p $(dir $@)
	$(call quiet,CC $<)
	$(Q)$(FUZZ_REPLAY_CC) $(FUZZ_DEFS) $(FUZZ_WARN) $(FUZZ_CFLAGS) \
		$(FUZZ_REPLAY_SAN) -c $< -o $@

$(FUZZ_DIR)/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c \
		$(FUZZ_ROBJ) $(FUZZ_DEPS)
	@mkdir -p $(dir $@)
	$(call quiet,CC $@)
	$(Q)$(FUZZ_REPLAY_CC) $(FUZZ_DEFS) $(FUZZ_WARN) $(FUZZ_CFLAGS) \
		$(FUZZ_REPLAY_SAN) -o $@ $< tests/fuzz/replay_main.c \
		$(FUZZ_ROBJ) $(FUZZ_LIBS)

fuzz-replay: $(FUZZ_REPLAY_BIN)
	@set -e; for t in $(FUZZ_NAMES); do \
		$(FUZZ_DIR)/replay_$$t tests/fuzz/corpus/$$t \
			tests/fuzz/regressions/$$t; \
	done
