# sbx - one plain Makefile.
#   make                 libsbx.a, libsbx.so, sbx, sbx-emu (in build/)
#   make test            unit + integration + conformance, then the same under ASan+UBSan
#   make run             a sample batch (see README)
#   make bench           client CPU and memory figures against sbx-emu, and a 10,000-task batch
#   make fuzz            libFuzzer targets, each for FUZZ_SECONDS (60); see tests/fuzz/README.md
#   make format          clang-format every source file
#   make SANITIZE=address,undefined   sanitized build in build-san/
#   make B=DIR BSAN=DIR2 test         private build dirs (plain and sanitized),
#                                     e.g. for a second checkout on one machine
#   make install PREFIX=/usr/local [DESTDIR=...]   and make uninstall (same args)
#   make abi-check       libsbx.so's exported symbols against mk/abi.txt
#   make abi-update      rewrite mk/abi.txt after a deliberate API change
#   make check-alloc     no direct malloc/free in the library: all through the client's hooks

CC      ?= cc
PREFIX  ?= /usr/local
SOVER   := 0
VERSION := 0.1.0

BSAN    ?= build-san

ifeq ($(SANITIZE),)
B        := build
OPT      := -O2
SANFLAGS :=
else
B        := $(BSAN)
OPT      := -O1 -fno-omit-frame-pointer
SANFLAGS := -fsanitize=$(SANITIZE) -fno-sanitize-recover=all
endif

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wwrite-strings -Wno-unused-parameter
CFLAGS  := -std=c11 -D_GNU_SOURCE -g $(OPT) $(WARN) -fPIC -MMD -MP -Iinclude $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS)
LIBS    := -lcurl -ljansson -lev -lwslay -lssl -lcrypto -lm -lpthread
EMULIBS := -lnghttp2 -lhttp_parser -lz

LIB_SRC  := $(sort $(wildcard protocol/*.c reactor/*.c providers/*.c))
CLI_SRC  := $(sort $(wildcard harness/*.c))
EMU_SRC  := $(sort $(wildcard tests/emu/*.c))
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
INT_SRC  := $(sort $(wildcard tests/integration/test_*.c))
BENCH_SRC:= $(sort $(wildcard bench/*.c))
EX_SRC   := $(sort $(wildcard examples/*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(B)/obj/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(B)/obj/%.o)
EMU_OBJ  := $(EMU_SRC:%.c=$(B)/obj/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
INT_BIN  := $(INT_SRC:tests/integration/%.c=$(B)/itests/%)
EX_BIN   := $(EX_SRC:examples/%.c=$(B)/examples/%)

STATIC   := $(B)/libsbx.a
SHARED   := $(B)/libsbx.so.$(VERSION)
LOAD_SRC := bench/sbxload.c bench/load_opts.c bench/load_run.c bench/load_report.c bench/load_svg.c \
            bench/hist.c \
            bench/proc_stats.c
LOAD_OBJ := $(LOAD_SRC:%.c=$(B)/obj/%.o)
TARGETS  := $(STATIC) $(SHARED) $(B)/sbx $(B)/sbx-emu $(B)/sbxload

.PHONY: all deps test test-unit test-integration test-conformance test-san run soak bench format install uninstall clean check-format check-alloc abi-check abi-update valgrind
all: deps $(TARGETS)

deps:
	@sh mk/deps.sh build

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Library objects export only what sbx.h marks SBX_API (the static archive
# is unaffected: hidden symbols still link within one program).
$(LIB_OBJ): CFLAGS += -fvisibility=hidden

$(STATIC): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libsbx.so.$(SOVER) -o $@ $^ $(LDFLAGS) $(LIBS)
	ln -sf libsbx.so.$(VERSION) $(B)/libsbx.so.$(SOVER)
	ln -sf libsbx.so.$(SOVER) $(B)/libsbx.so

$(B)/sbx: $(CLI_OBJ) $(STATIC)
	$(CC) -o $@ $(CLI_OBJ) $(STATIC) $(LDFLAGS) $(LIBS)

$(B)/sbx-emu: $(EMU_OBJ) $(STATIC)
	$(CC) -o $@ $(EMU_OBJ) $(STATIC) $(LDFLAGS) $(LIBS) $(EMULIBS)

$(B)/sbx-bench: bench/sbx_bench.c $(B)/obj/bench/proc_stats.o $(STATIC)
	$(CC) $(CFLAGS) -o $@ $< $(B)/obj/bench/proc_stats.o $(STATIC) $(LDFLAGS) $(LIBS)

$(B)/sbx-dt-bench: bench/sbx_dt_bench.c $(B)/obj/bench/proc_stats.o $(STATIC)
	$(CC) $(CFLAGS) -o $@ $< $(B)/obj/bench/proc_stats.o $(STATIC) $(LDFLAGS) $(LIBS)

# the libcurl floor of bench/compare: libcurl alone, never libsbx
$(B)/curl-floor: bench/curl_floor.c
	$(CC) $(CFLAGS) -o $@ $< $(LDFLAGS) -lcurl

$(B)/sbxload: $(LOAD_OBJ) $(STATIC)
	$(CC) -o $@ $(LOAD_OBJ) $(STATIC) $(LDFLAGS) $(LIBS)

# the histogram is bench code, not libsbx: its test links it directly
$(B)/tests/test_hist: tests/unit/test_hist.c $(B)/obj/bench/hist.o
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Ibench -o $@ $< $(B)/obj/bench/hist.o $(LDFLAGS) -lm

$(B)/tests/%: tests/unit/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

$(B)/itests/%: tests/integration/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests/unit -Itests/integration -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

$(B)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(STATIC) $(LDFLAGS) $(LIBS)

tests-build: all $(UNIT_BIN) $(INT_BIN) $(EX_BIN)

# The plain run: unit, integration (library and CLI against a fresh sbx-emu),
# conformance (official SDK against sbx-emu); then all but conformance again
# under ASan+UBSan.
test: deps check-alloc
	@sh mk/deps.sh test
	$(MAKE) tests-build
	sh tests/run.sh $(B) all
	$(MAKE) SANITIZE=address,undefined B=$(BSAN) tests-build
	ASAN_OPTIONS=detect_leaks=1 sh tests/run.sh $(BSAN) sanitized

# Every unit and integration test, and the CLI the shell suites run, under
# valgrind memcheck: memory errors and definite/indirect leaks fail (slow:
# tests/run.sh scales the suites' time limits).
BVG ?= build-vg
valgrind: deps
	$(MAKE) B=$(BVG) tests-build
	sh tests/run.sh $(BVG) valgrind

test-unit: tests-build
	sh tests/run.sh $(B) unit

test-integration: tests-build
	sh tests/run.sh $(B) integration

test-conformance: tests-build
	sh tests/run.sh $(B) conformance

run: all
	sh examples/run-batch.sh $(B)

# The chaos soak of tests/SOAK.md: 10,000 tasks, faults, two SIGKILLs and
# resumes (about 6 minutes on 2 cores); SOAK_TASKS, SOAK_SEED, SOAK_KILLS.
soak: all
	sh tests/soak/soak.sh $(B)

bench: all $(B)/sbx-bench $(B)/sbx-dt-bench $(B)/curl-floor
	sh bench/run.sh $(B); rc=$$?; sh bench/batch.sh $(B) || rc=1; sh bench/dt.sh $(B) || rc=1; sh bench/compare $(B) || rc=1; exit $$rc

FMT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FMT_SRC)

check-format:
	clang-format --dry-run -Werror $(FMT_SRC)

# The library allocates only through the client's hooks (protocol/alloc.h).
check-alloc:
	sh mk/check_alloc.sh

abi-check: $(SHARED)
	sh mk/abi.sh check $(SHARED)

abi-update: $(SHARED)
	sh mk/abi.sh update $(SHARED)

MAN1 := man/sbx.1 man/sbxload.1
MAN3 := man/libsbx.3
INST_FILES := include/sbx.h lib/libsbx.a lib/libsbx.so.$(VERSION) lib/libsbx.so.$(SOVER) \
              lib/libsbx.so lib/pkgconfig/sbx.pc bin/sbx bin/sbxload bin/sbx-emu \
              share/man/man1/sbx.1 share/man/man1/sbxload.1 share/man/man3/libsbx.3
D := $(DESTDIR)$(PREFIX)

# sbx.pc is generated here so that it always names this PREFIX.
install: all
	install -d $(D)/include $(D)/lib/pkgconfig $(D)/bin $(D)/share/man/man1 $(D)/share/man/man3
	install -m 644 include/sbx.h $(D)/include/
	install -m 644 $(STATIC) $(D)/lib/
	install -m 755 $(SHARED) $(D)/lib/
	ln -sf libsbx.so.$(VERSION) $(D)/lib/libsbx.so.$(SOVER)
	ln -sf libsbx.so.$(SOVER) $(D)/lib/libsbx.so
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' mk/sbx.pc.in >$(D)/lib/pkgconfig/sbx.pc
	chmod 644 $(D)/lib/pkgconfig/sbx.pc
	install -m 755 $(B)/sbx $(B)/sbxload $(B)/sbx-emu $(D)/bin/
	install -m 644 $(MAN1) $(D)/share/man/man1/
	install -m 644 $(MAN3) $(D)/share/man/man3/

# Removes the files install put there, then those of its directories that
# are left empty (never the prefix itself).
INST_DIRS := lib/pkgconfig share/man/man1 share/man/man3 share/man share lib include bin
uninstall:
	rm -f $(addprefix $(D)/,$(INST_FILES))
	for d in $(INST_DIRS); do rmdir "$(D)/$$d" 2>/dev/null || true; done

clean:
	rm -rf build build-san

include mk/fuzz.mk

-include $(shell find $(B) -name '*.d' 2>/dev/null)
