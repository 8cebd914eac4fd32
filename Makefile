# pam_kmsjwt: plain Makefile.
#   make            build the module and the CLI into $(O)
#   make check      unit + PAM + pamtester tests, then the same under ASan+UBSan
#   make demo       local KMS, mint a token, log in with pamtester
#   make install    DESTDIR/PREFIX aware

CC       ?= cc
O        ?= build
SAN      ?=
PREFIX   ?= /usr
DESTDIR  ?=
PAMDIR   ?= $(shell pkg-config --variable=libdir pam 2>/dev/null || echo /lib/x86_64-linux-gnu)/security
MANDIR   ?= $(PREFIX)/share/man
PYTHON   ?= python3

WARN     = -Wall -Wextra -Wformat=2 -Wshadow -Wconversion -Werror
HARDEN   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
CFLAGS  ?= -O2 -g
KJ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) \
	$(shell pkg-config --cflags jansson libcurl 2>/dev/null)
KJ_LDFLAGS = -Wl,-z,relro,-z,now $(LDFLAGS)
# The module needs no OpenSSL (lib/crypto.h says why); tests use it.
MODULE_LIBS = -ljansson -lnettle -lkeyutils -ldl -lpthread
LIBS     = $(MODULE_LIBS) -lcrypto

ifeq ($(SAN),1)
KJ_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE -O1
KJ_LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS = $(wildcard lib/*.c)
LIB_OBJS = $(patsubst lib/%.c,$(O)/lib/%.o,$(LIB_SRCS))
HDRS     = $(wildcard lib/*.h)

MODULE   = $(O)/pam_kmsjwt.so
CLI      = $(O)/kmsjwt
TESTS    = $(O)/test_unit $(O)/test_pam $(O)/test_envelope $(O)/test_authtok \
	$(O)/test_hostile $(O)/test_replay $(O)/test_oom $(O)/test_symbols $(O)/test_aws

.PHONY: all check check-one demo bench install clean deps fuzz fuzz-short fuzz-corpus fuzz-coverage check-clang check-fast deb deb-check rpm

all: $(MODULE) $(CLI)

$(O)/lib/%.o: lib/%.c $(HDRS) | $(O)/lib
	$(CC) $(KJ_CFLAGS) -c -o $@ $<

$(O)/%.o: %.c $(HDRS) | $(O)/lib
	$(CC) $(KJ_CFLAGS) -c -o $@ $<

$(O)/tests/%.o: tests/%.c $(HDRS) | $(O)/lib
	$(CC) $(KJ_CFLAGS) -c -o $@ $<

$(O)/lib:
	mkdir -p $(O)/lib $(O)/tests

$(O)/libkj.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

# Only pam_sm_* are exported (pam_kmsjwt.map); libcurl is not linked but
# loaded on the first KMS call (lib/http.c).
$(MODULE): $(O)/pam_kmsjwt.o $(O)/libkj.a pam_kmsjwt.map
	$(CC) -shared -o $@ $(O)/pam_kmsjwt.o $(O)/libkj.a $(KJ_LDFLAGS) \
		-Wl,--version-script=pam_kmsjwt.map -Wl,--no-undefined -Wl,--as-needed -lpam $(MODULE_LIBS)

$(CLI): $(O)/kmsjwt.o $(O)/libkj.a
	$(CC) -o $@ $(O)/kmsjwt.o $(O)/libkj.a $(KJ_LDFLAGS) -pie $(MODULE_LIBS)

$(O)/test_unit: $(O)/tests/unit.o $(O)/libkj.a
	$(CC) -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) $(LIBS)

# -rdynamic: the test defines pam_vsyslog/pam_syslog, and the module's calls
# bind to them, so each refusal's log line can be asserted.
$(O)/test_pam: $(O)/tests/test_pam.o $(O)/libkj.a
	$(CC) -rdynamic -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) -lpam $(LIBS)

$(O)/test_envelope: $(O)/tests/test_envelope.o $(O)/libkj.a
	$(CC) -rdynamic -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) -lpam $(LIBS)

# Continuation unit and PAM-level tests (pam_vsyslog interposed, as above).
$(O)/test_authtok: $(O)/tests/test_authtok.o $(O)/libkj.a
	$(CC) -rdynamic -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) -lpam $(LIBS)

# AWS plumbing against moto, signature-checking moto and a fault server.
$(O)/test_aws: $(O)/tests/test_aws.o $(O)/libkj.a
	$(CC) -rdynamic -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) -lpam $(LIBS)

# $(HDRS) covers lib/*.h only; the tests' own headers:
$(O)/tests/test_pam.o $(O)/tests/test_envelope.o $(O)/tests/test_authtok.o $(O)/tests/test_aws.o: \
	tests/pamtest.h tests/check.h
$(O)/tests/unit.o $(O)/tests/test_symbols.o: tests/check.h

# dlopens the module: only pam_sm_* may be visible.
$(O)/test_symbols: $(O)/tests/test_symbols.o
	$(CC) -o $@ $< $(KJ_LDFLAGS) -ldl

# ---- Hardening (issue 6): tests against an in-process fake KMS -----------
# valgrind 3.19 cannot read clang 14's default DWARF 5 (CC=clang builds).
ifneq (,$(findstring clang,$(CC)))
KJ_CFLAGS += -gdwarf-4
endif

# tests/fake_kms.c answers lib/kms.c's requests in place of the network.
FAKE_WRAP   = -Wl,--wrap=kj_http_post,--wrap=kj_http_request
FAKE_MODULE = $(O)/pam_kmsjwt_fake.so
HARNESS     = tests/harness.h tests/pamtest.h tests/fake_kms.h tests/check.h

$(O)/tests/hostile.o $(O)/tests/replay.o $(O)/tests/oom.o $(O)/tests/fake_kms.o: $(HARNESS)

$(FAKE_MODULE): $(O)/pam_kmsjwt.o $(O)/tests/fake_kms.o $(O)/libkj.a pam_kmsjwt.map
	$(CC) -shared -o $@ $(O)/pam_kmsjwt.o $(O)/tests/fake_kms.o $(O)/libkj.a $(KJ_LDFLAGS) $(FAKE_WRAP) \
		-Wl,--version-script=pam_kmsjwt.map -Wl,--no-undefined -lpam $(LIBS)

$(O)/test_hostile $(O)/test_replay: $(O)/test_%: $(O)/tests/%.o $(O)/tests/fake_kms.o $(O)/libkj.a $(FAKE_MODULE)
	$(CC) -rdynamic -o $@ $< $(O)/tests/fake_kms.o $(O)/libkj.a $(KJ_LDFLAGS) $(FAKE_WRAP) -lpam $(LIBS)

# Allocation failures: a module whose every malloc can be made to fail by
# the test program (tests/oom_alloc.c asks tests/oom.c).
OOM_MODULE = $(O)/pam_kmsjwt_oom.so
$(O)/tests/oom.o $(O)/tests/oom_alloc.o: tests/oom_ctl.h

$(OOM_MODULE): $(O)/pam_kmsjwt.o $(O)/tests/fake_kms.o $(O)/tests/oom_alloc.o $(O)/libkj.a pam_kmsjwt.map
	$(CC) -shared -o $@ $(O)/pam_kmsjwt.o $(O)/tests/fake_kms.o $(O)/tests/oom_alloc.o $(O)/libkj.a \
		$(KJ_LDFLAGS) $(FAKE_WRAP) -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=strdup,--wrap=json_loadb \
		-Wl,--version-script=pam_kmsjwt.map -Wl,--no-undefined -lpam $(LIBS)

$(O)/test_oom: $(O)/tests/oom.o $(O)/tests/fake_kms.o $(O)/libkj.a $(OOM_MODULE)
	$(CC) -rdynamic -o $@ $< $(O)/tests/fake_kms.o $(O)/libkj.a $(KJ_LDFLAGS) $(FAKE_WRAP) -lpam $(LIBS)

# ---- Fuzzing: clang libFuzzer with ASan+UBSan (make fuzz) ----------------
# Every source is rebuilt with coverage instrumentation into $(O)/fuzz; the
# targets run FUZZ_TIME seconds each on a copy of the seed corpus
# (fuzz/corpus/NAME). fuzz-short is the CI run.
FUZZ_CC     ?= clang
FUZZ_O       = $(O)/fuzz
FUZZ_TIME   ?= 60
FUZZ_SAN     = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link \
	$(shell pkg-config --cflags jansson libcurl 2>/dev/null)
FUZZ_OBJS    = $(patsubst %.c,$(FUZZ_O)/%.o,$(LIB_SRCS) pam_kmsjwt.c tests/fake_kms.c)
FUZZ_TARGETS = $(FUZZ_O)/fuzz_token $(FUZZ_O)/fuzz_pam

$(FUZZ_O)/%.o: %.c $(HDRS) $(HARNESS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_O)/fuzz_%: $(FUZZ_O)/fuzz/fuzz_%.o $(FUZZ_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_SAN) -o $@ $^ $(FAKE_WRAP) -lpam $(LIBS)

# Keep the instrumented objects between runs.
.SECONDARY: $(FUZZ_OBJS) $(FUZZ_O)/fuzz/fuzz_token.o $(FUZZ_O)/fuzz/fuzz_pam.o

fuzz: $(FUZZ_TARGETS)
	bash fuzz/run.sh $(FUZZ_O) $(FUZZ_TIME)

fuzz-short:
	$(MAKE) fuzz FUZZ_TIME=10

# Source coverage the fuzzers reached: replays the corpora of the last
# `make fuzz` (and the seeds) through a -fcoverage-mapping build.
COV_O       = $(O)/fuzzcov
COV_CFLAGS  = -std=c11 -D_GNU_SOURCE $(WARN) -fPIC -g -O0 -fprofile-instr-generate -fcoverage-mapping \
	-fsanitize=fuzzer-no-link $(shell pkg-config --cflags jansson libcurl 2>/dev/null)
COV_OBJS    = $(patsubst %.c,$(COV_O)/%.o,$(LIB_SRCS) pam_kmsjwt.c tests/fake_kms.c)
.SECONDARY: $(COV_OBJS) $(COV_O)/fuzz/fuzz_token.o $(COV_O)/fuzz/fuzz_pam.o

$(COV_O)/%.o: %.c $(HDRS) $(HARNESS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(COV_CFLAGS) -c -o $@ $<

$(COV_O)/fuzz_%: $(COV_O)/fuzz/fuzz_%.o $(COV_OBJS)
	$(FUZZ_CC) -fsanitize=fuzzer -fprofile-instr-generate -o $@ $^ $(FAKE_WRAP) -lpam $(LIBS)

fuzz-coverage: $(COV_O)/fuzz_token $(COV_O)/fuzz_pam
	@for t in token pam; do \
		LLVM_PROFILE_FILE=$(COV_O)/$$t.profraw $(COV_O)/fuzz_$$t -runs=0 \
			$$(ls -d $(FUZZ_O)/work-$$t/corpus 2>/dev/null) fuzz/corpus/$$t >/dev/null 2>&1; \
		llvm-profdata merge -sparse -o $(COV_O)/$$t.profdata $(COV_O)/$$t.profraw && \
		echo "fuzz_$$t:" && llvm-cov report $(COV_O)/fuzz_$$t -instr-profile=$(COV_O)/$$t.profdata \
			-ignore-filename-regex='(tests|fuzz)/' | sed 's/^/    /'; \
	done

# Regenerates fuzz/corpus/{token,pam}: tokens sealed by the fake KMS.
$(O)/mkcorpus: $(O)/fuzz/mkcorpus.o $(O)/tests/fake_kms.o $(O)/libkj.a
	$(CC) -rdynamic -o $@ $< $(O)/tests/fake_kms.o $(O)/libkj.a $(KJ_LDFLAGS) $(FAKE_WRAP) $(LIBS)

$(O)/fuzz/mkcorpus.o: fuzz/mkcorpus.c $(HDRS) $(HARNESS) | $(O)/lib
	@mkdir -p $(O)/fuzz
	$(CC) $(KJ_CFLAGS) -c -o $@ $<

fuzz-corpus: $(O)/mkcorpus
	$(O)/mkcorpus fuzz/corpus

# One configuration: unit tests, then everything that needs a local KMS.
check-one: all $(TESTS)
	$(O)/test_unit
	$(O)/test_hostile $(FAKE_MODULE)
	$(O)/test_replay $(FAKE_MODULE)
	$(O)/test_oom $(OOM_MODULE)
	O=$(O) SAN=$(SAN) PYTHON=$(PYTHON) bash tests/check_cli.sh
	@if [ -z "$(SAN)" ]; then O=$(O) bash tests/hardening.sh && \
		O=$(O) PYTHON=$(PYTHON) bash tests/replay-pamtester.sh && \
		O=$(O) PYTHON=$(PYTHON) bash tests/valgrind.sh; \
	else $(MAKE) --no-print-directory fuzz-short O=$(O); fi
	O=$(O) SAN=$(SAN) PYTHON=$(PYTHON) bash tests/run-integration.sh
	O=$(O) SAN=$(SAN) PYTHON=$(PYTHON) bash tests/run-aws.sh
	O=$(O) SAN=$(SAN) PYTHON=$(PYTHON) bash tests/run-e2e.sh

check: deps
	$(MAKE) check-one O=build
	$(MAKE) check-one O=build/asan SAN=1
	$(MAKE) check-clang O=build

# clang as well: everything built by clang, the tests that need no local KMS,
# and the valgrind run (`make check-one O=build-clang CC=clang` runs all).
check-clang:
	$(MAKE) --no-print-directory check-fast O=$(O)/clang CC=clang

check-fast: all $(TESTS)
	$(O)/test_unit
	$(O)/test_replay $(FAKE_MODULE)
	$(O)/test_oom $(OOM_MODULE)
	O=$(O) PYTHON=$(PYTHON) bash tests/valgrind.sh

deps:
	@bash tests/deps.sh

$(O)/bench: $(O)/tests/bench.o
	$(CC) -o $@ $< $(KJ_LDFLAGS) -lpam

# Timings, not assertions: not part of check.
bench: deps all $(O)/bench
	O=$(O) PYTHON=$(PYTHON) bash tests/bench.sh

demo: deps all
	O=$(O) PYTHON=$(PYTHON) bash tests/demo.sh

# PAMDIR defaults to the multiarch PAM directory (pkg-config's libdir for
# pam + /security); kmsjwt-askpass is kmsjwt under the name SSH_ASKPASS needs.
install: all
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_kmsjwt.so
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/kmsjwt
	ln -sf kmsjwt $(DESTDIR)$(PREFIX)/bin/kmsjwt-askpass
	install -m 0644 man/kmsjwt.1 $(DESTDIR)$(MANDIR)/man1/kmsjwt.1
	ln -sf kmsjwt.1 $(DESTDIR)$(MANDIR)/man1/kmsjwt-askpass.1
	install -m 0644 man/pam_kmsjwt.8 $(DESTDIR)$(MANDIR)/man8/pam_kmsjwt.8

# Debian packages from packaging/debian (dpkg-buildpackage -us -uc, then
# lintian, which must report no errors) into $(O)/deb.
deb:
	bash packaging/build-deb.sh $(O)/deb

# deb, then (as root) install the packages, log in through pamtester with
# the installed module and CLI, render the installed manuals, purge.
deb-check: deps
	bash packaging/build-deb.sh $(O)/deb --check

# A binary RPM from packaging/pam_kmsjwt.spec with rpmbuild (Debian's rpm
# package; build dependencies are not checked against an RPM database).
rpm:
	bash packaging/build-rpm.sh $(O)/rpm

clean:
	rm -rf build
