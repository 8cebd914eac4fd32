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
PYTHON   ?= python3

WARN     = -Wall -Wextra -Wformat=2 -Wshadow -Wconversion -Werror
HARDEN   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIC
CFLAGS  ?= -O2 -g
KJ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) $(HARDEN) $(CFLAGS) \
	$(shell pkg-config --cflags jansson libcurl 2>/dev/null)
KJ_LDFLAGS = -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS     = -ljansson -lcrypto -ldl -lpthread

ifeq ($(SAN),1)
KJ_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all -U_FORTIFY_SOURCE -O1
KJ_LDFLAGS += -fsanitize=address,undefined
endif

LIB_SRCS = $(wildcard lib/*.c)
LIB_OBJS = $(patsubst lib/%.c,$(O)/lib/%.o,$(LIB_SRCS))
HDRS     = $(wildcard lib/*.h)

MODULE   = $(O)/pam_kmsjwt.so
CLI      = $(O)/kmsjwt
TESTS    = $(O)/test_unit $(O)/test_pam

.PHONY: all check check-one demo install clean deps

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
		-Wl,--version-script=pam_kmsjwt.map -Wl,--no-undefined -lpam $(LIBS)

$(CLI): $(O)/kmsjwt.o $(O)/libkj.a
	$(CC) -o $@ $(O)/kmsjwt.o $(O)/libkj.a $(KJ_LDFLAGS) -pie $(LIBS)

$(O)/test_unit: $(O)/tests/unit.o $(O)/libkj.a
	$(CC) -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) $(LIBS)

# -rdynamic: the test defines pam_vsyslog/pam_syslog, and the module's calls
# bind to them, so each refusal's log line can be asserted.
$(O)/test_pam: $(O)/tests/test_pam.o $(O)/libkj.a
	$(CC) -rdynamic -o $@ $< $(O)/libkj.a $(KJ_LDFLAGS) -lpam $(LIBS)

# One configuration: unit tests, then everything that needs a local KMS.
check-one: all $(TESTS)
	$(O)/test_unit
	O=$(O) SAN=$(SAN) PYTHON=$(PYTHON) bash tests/run-integration.sh

check: deps
	$(MAKE) check-one O=build
	$(MAKE) check-one O=build/asan SAN=1

deps:
	@bash tests/deps.sh

demo: deps all
	O=$(O) PYTHON=$(PYTHON) bash tests/demo.sh

install: all
	install -d $(DESTDIR)$(PAMDIR) $(DESTDIR)$(PREFIX)/bin
	install -m 0644 $(MODULE) $(DESTDIR)$(PAMDIR)/pam_kmsjwt.so
	install -m 0755 $(CLI) $(DESTDIR)$(PREFIX)/bin/kmsjwt

clean:
	rm -rf build
