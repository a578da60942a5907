# fuzz.mk - libFuzzer targets (tests/fuzz/fuzz_*.c), included by the Makefile.
#   make fuzz-build            build them all in $(B)/fuzz/
#   make fuzz [FUZZ_SECONDS=N] run each for N s (default 60), FUZZ_JOBS (4) at a time
# The library, CLI and emulator sources are compiled again here with clang
# and the fuzzer's instrumentation (the gcc-built libsbx.a has none).

FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FB           := $(B)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer $(WARN) -MMD -MP -Iinclude \
                $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_NAMES   := $(sort $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FB)/fuzz_%)
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FB)/obj/%.o)
FUZZ_CLI_OBJ := $(patsubst %.c,$(FB)/obj/%.o,$(filter-out harness/cli_main.c,$(CLI_SRC)))
FUZZ_EMU_OBJ := $(patsubst %.c,$(FB)/obj/%.o,$(filter-out tests/emu/emu_main.c,$(EMU_SRC)))
FUZZ_LIBS    := $(FB)/libcli.a $(FB)/libemu.a $(FB)/libsbx.a

.PHONY: fuzz fuzz-build fuzz-deps
fuzz-deps:
	@sh mk/deps.sh fuzz

fuzz-build: fuzz-deps
	$(MAKE) $(FUZZ_BIN)

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FB) $(FUZZ_SECONDS) $(FUZZ_NAMES)

$(FB)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FB)/libsbx.a: $(FUZZ_LIB_OBJ)
$(FB)/libcli.a: $(FUZZ_CLI_OBJ)
$(FB)/libemu.a: $(FUZZ_EMU_OBJ)
$(FUZZ_LIBS):
	@rm -f $@
	ar rcs $@ $^

$(FB)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIBS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< -Wl,--start-group $(FUZZ_LIBS) \
	  -Wl,--end-group $(LIBS) $(EMULIBS)
