# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# synfin build: BPF object -> bpftool skeleton -> one binary, build/synfin.
# `make V=1` shows the commands.

OUTPUT  := build
CLANG   ?= clang
BPFTOOL ?= bpftool
CC      ?= cc
ARCH    ?= $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

VMLINUX_DIR := vmlinux/$(ARCH)
INCLUDES    := -Iinclude -Isrc -I$(OUTPUT)
CFLAGS      ?= -O2 -g
CFLAGS      += -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE $(INCLUDES) -MMD -MP
BPF_CFLAGS  := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Wextra -Werror \
	       -Wno-unused-parameter -Iinclude -I$(VMLINUX_DIR) -MMD -MP
LDLIBS      := -lbpf -lelf -lz -lpthread -lm

# Debian packages the build and the tests need (make deps installs the missing ones).
DEPS := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev iproute2 jq \
	hping3 tshark libbpf-tools pkg-config groff-base man-db logrotate systemd \
	shellcheck strace valgrind

ifeq ($(V),1)
	Q =
	msg =
else
	Q = @
	msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

APP_SRCS    := $(wildcard src/*.c)
APP_OBJS    := $(patsubst src/%.c,$(OUTPUT)/obj/%.o,$(APP_SRCS))
LIB_OBJS    := $(filter-out $(OUTPUT)/obj/main.o,$(APP_OBJS))
UNIT_SRCS   := $(wildcard tests/unit/test_*.c)
UNIT_BINS   := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
TOOL_SRCS   := $(wildcard tests/tools/*.c)
TOOL_BINS   := $(patsubst tests/tools/%.c,$(OUTPUT)/tools/%,$(TOOL_SRCS))
# LD_PRELOAD shims for the tests, a shared object each
SHIM_SRCS   := $(wildcard tests/tools/shim/*.c)
SHIM_LIBS   := $(patsubst tests/tools/shim/%.c,$(OUTPUT)/tools/%.so,$(SHIM_SRCS))
BENCH_SRCS  := $(filter-out %.bpf.c,$(wildcard bench/*.c))
BENCH_BINS  := $(patsubst bench/%.c,$(OUTPUT)/bench/%,$(BENCH_SRCS))

.PHONY: all
all: $(OUTPUT)/synfin

# a skeleton cut short by a failed bpftool must not pass for built
.DELETE_ON_ERROR:

$(OUTPUT) $(OUTPUT)/obj $(OUTPUT)/tests $(OUTPUT)/tools $(OUTPUT)/bench:
	$(Q)mkdir -p $@

# BPF side: compile, link (bpftool gen object strips DWARF and fixes up
# sections), then generate the skeleton that embeds the object.
# Two objects: synfin's programs, and tw_learn's one, which learns an
# address /proc/kallsyms hides before they load.
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.bpf.linked.o: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.linked.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $*_bpf > $@
# kept: test_bpf_object reads the object, and a rebuild needs neither
.SECONDARY: $(foreach o,synfin tw_learn,$(OUTPUT)/$(o).bpf.o $(OUTPUT)/$(o).bpf.linked.o)

# User side.
$(OUTPUT)/obj/%.o: src/%.c | $(OUTPUT)/obj
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/obj/main.o $(OUTPUT)/obj/loader.o: $(OUTPUT)/synfin.skel.h
$(OUTPUT)/obj/tw_learn.o: $(OUTPUT)/tw_learn.skel.h

$(OUTPUT)/synfin: $(APP_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

# `make static`: one binary with Debian's libbpf.a, libelf.a and libz.a inside.
.PHONY: static
static: $(APP_OBJS)
	$(call msg,LINK,$(OUTPUT)/synfin-static)
	$(Q)$(CC) $(CFLAGS) $^ -static $(LDLIBS) $(shell pkg-config --static --libs-only-l libelf 2>/dev/null) -o $(OUTPUT)/synfin-static

# Unit tests link everything but main.o.
$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) tests/unit/unit.h tests/unit/golden.h | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIB_OBJS) $(LDLIBS) -lm $(TEST_LDFLAGS) -o $@

# test_json fails the writer's realloc() to see the loss counted;
$(OUTPUT)/tests/test_json: TEST_LDFLAGS := -Wl,--wrap=realloc
# test_story fails every allocation to see a tw sock not followed.
$(OUTPUT)/tests/test_story: TEST_LDFLAGS := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc

# btfrename writes BTF with libbpf
$(OUTPUT)/tools/btfrename: TOOL_LDLIBS := -lbpf -lelf -lz

$(OUTPUT)/tools/%: tests/tools/%.c tests/tools/tool.h | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lpthread $(TOOL_LDLIBS)

$(OUTPUT)/tools/%.so: tests/tools/shim/%.c | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -fPIC -shared $< -o $@ -ldl

$(OUTPUT)/bench/%: bench/%.c | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@ -lpthread

# JSON formatting per record: the output code itself, as the unit tests link it.
$(OUTPUT)/bench/format: bench/format.c $(LIB_OBJS) | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# The floor: do-nothing programs on synfin's hooks, with a loader of its own.
$(OUTPUT)/bench/floor.bpf.o: bench/floor.bpf.c | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/bench/floor.skel.h: $(OUTPUT)/bench/floor.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name floor_bpf > $@

$(OUTPUT)/bench/floor: bench/floor.c $(OUTPUT)/bench/floor.skel.h | $(OUTPUT)/bench
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/bench $< $(LDLIBS) -o $@

.PHONY: unit-tests tools
unit-tests: $(UNIT_BINS)
# The unit tests again, built with AddressSanitizer and UBSan in
# $(OUTPUT)/san, so `make test` (and CI) runs them too (tests/run.sh:
# unit-san/*): the engine and the writers work on records the kernel
# made, where a read past a buffer or undefined arithmetic would otherwise
# pass unnoticed. (SAN_BUILD: the sanitizers' own make, which stops there.)
ifndef SAN_BUILD
unit-tests: san-unit-tests
endif
.PHONY: san-unit-tests
san-unit-tests:
	$(Q)CFLAGS="$(SAN_CFLAGS)" $(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/san SAN_BUILD=1 \
		unit-tests
# the integration tests drive churn with the benchmark's generator, check
# the floor's hooks against synfin's, and run the other bench programs
# briefly (test_bench_programs): built with every test run, none of them
# can stop compiling unseen
tools: $(TOOL_BINS) $(SHIM_LIBS) $(BENCH_BINS)

# The README's test command. Installs what is missing, builds, then runs
# unit tests (no root) and integration tests (root, real BPF, namespaces).
.PHONY: test
test: deps all unit-tests tools
	$(Q)bash tests/run.sh

.PHONY: check
check: all unit-tests tools
	$(Q)bash tests/run.sh

# The same tests, unit and integration, against synfin and its code built
# with AddressSanitizer and UBSan, in $(OUTPUT)/san (`make test` runs only
# the unit tests so: the whole suite takes about twice as long). A report ends the program with a non-zero status, which
# the tests take as a failure. (GCC's -O1 with the sanitizers warns of an
# overread in the unit tests' fixture that is not one.)
SAN_CFLAGS := -O1 -g -fsanitize=address,undefined,float-cast-overflow \
	      -fno-sanitize-recover=undefined,float-cast-overflow \
	      -fno-omit-frame-pointer -Wno-stringop-overread
.PHONY: test-sanitizers
test-sanitizers: deps all unit-tests tools
	$(Q)CFLAGS="$(SAN_CFLAGS)" $(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/san SAN_BUILD=1 \
		$(OUTPUT)/san/synfin unit-tests
	$(Q)SYNFIN=$(abspath $(OUTPUT)/san/synfin) BUILD=$(abspath $(OUTPUT)/san) \
		ASAN_OPTIONS=exitcode=99:verify_asan_link_order=0 UBSAN_OPTIONS=print_stacktrace=1 \
		bash tests/run.sh

# The README's run command.
.PHONY: run
run: deps all
	$(Q)./$(OUTPUT)/synfin $(ARGS)

# `make install`: the binary into $(DESTDIR)$(PREFIX)/sbin (it needs root
# to load its programs; it carries its BPF object inside), its manual page,
# the two documents the page sends the reader to, a systemd unit that runs
# that binary (systemd reads /usr/local/lib/systemd/system too) and its
# logrotate configuration.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
DOCDIR  ?= $(PREFIX)/share/doc/synfin
UNITDIR ?= $(PREFIX)/lib/systemd/system
LOGROTATEDIR ?= /etc/logrotate.d
INSTALL_DOCS := docs/schema.md docs/detectors.md

.PHONY: install uninstall
install: all
	$(call msg,INSTALL,$(DESTDIR)$(SBINDIR)/synfin)
	$(Q)install -D -m 0755 $(OUTPUT)/synfin $(DESTDIR)$(SBINDIR)/synfin
	$(Q)install -D -m 0644 docs/synfin.8 $(DESTDIR)$(MANDIR)/man8/synfin.8
	$(Q)install -d $(DESTDIR)$(DOCDIR)
	$(Q)install -m 0644 $(INSTALL_DOCS) $(DESTDIR)$(DOCDIR)/
	$(Q)sed 's|@SBINDIR@|$(SBINDIR)|g' packaging/synfin.service >$(OUTPUT)/synfin.service
	$(Q)install -D -m 0644 $(OUTPUT)/synfin.service $(DESTDIR)$(UNITDIR)/synfin.service
	$(Q)install -D -m 0644 packaging/synfin.logrotate $(DESTDIR)$(LOGROTATEDIR)/synfin

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/synfin $(DESTDIR)$(MANDIR)/man8/synfin.8
	$(Q)rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(INSTALL_DOCS)))
	$(Q)rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null || true
	$(Q)rm -f $(DESTDIR)$(UNITDIR)/synfin.service $(DESTDIR)$(LOGROTATEDIR)/synfin

.PHONY: bench
bench: deps all $(BENCH_BINS)
	$(Q)bash bench/run.sh

# the census on a host of many listeners (bench/listeners.sh); ARGS passes
# options, e.g. ARGS="--compare /path/to/another/synfin"
.PHONY: bench-listeners
bench-listeners: deps all $(OUTPUT)/bench/listen
	$(Q)bash bench/listeners.sh $(ARGS)

# a tracer left running: SOAK_S seconds of full churn (bench/run.sh --soak)
SOAK_S ?= 600
.PHONY: soak
soak: deps all $(BENCH_BINS)
	$(Q)bash bench/run.sh --soak $(SOAK_S)

.PHONY: deps
deps:
	$(Q)missing=""; for p in $(DEPS); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS     installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# Regenerate the pinned vmlinux.h from this machine's BTF (never implicit).
.PHONY: vmlinux
vmlinux:
	$(Q)mkdir -p $(VMLINUX_DIR)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h

.PHONY: clean
clean:
	$(Q)rm -rf $(OUTPUT)

-include $(wildcard $(OUTPUT)/obj/*.d $(OUTPUT)/*.d)
