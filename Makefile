# p11acme: one binary, layered sources (client -> signer -> tokens -> common).
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
SHAREDIR = $(PREFIX)/share/p11acme
UNITDIR ?= $(PREFIX)/lib/systemd/system
# /etc/p11acme is the default --config-dir whatever PREFIX is.
SYSCONFDIR ?= /etc

PKGS    = libp11 libcrypto libcurl libcjson p11-kit-1 libmicrohttpd
CC     ?= cc
VERSION = 0.1.0
CFLAGS ?= -O2 -g
# Sanitizer and coverage builds add their flags through SAN (see check-asan).
SAN    ?=
# The PKCS#11 module directory, as p11-kit-1 says (tokens/open.c).
P11_MODULE_DIR := $(shell pkg-config --variable=p11_module_path p11-kit-1 2>/dev/null)
ALL_CFLAGS = $(CFLAGS) $(SAN) -std=c11 -D_GNU_SOURCE -Wall -Wextra -I. \
             -DP11ACME_VERSION=\"$(VERSION)\" \
             -DP11ACME_MODULE_DIR=\"$(P11_MODULE_DIR)\"
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
BUILD  ?= build

LIB_SRCS  = $(wildcard common/*.c tokens/*.c signer/*.c client/*.c)
LIB_SRCS := $(filter-out client/main.c,$(LIB_SRCS))
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS = $(wildcard tests/unit/*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
HEADERS   = $(wildcard common/*.h tokens/*.h signer/*.h client/*.h tests/unit/*.h)

# Debian 12 packages needed to build, test, demo and benchmark.
DEB_BUILD = build-essential pkg-config libp11-dev libssl-dev libcurl4-openssl-dev \
            libcjson-dev libp11-kit-dev libmicrohttpd-dev
DEB_TEST  = softhsm2 opensc pebble p11-kit p11-kit-modules python3 python3-cryptography \
            openssl curl iproute2 valgrind nginx-light apache2 clang libclang-rt-14-dev time \
            procps psmisc systemd util-linux man-db certbot lego uacme dehydrated \
            openssh-server openssh-client strace \
            swtpm swtpm-tools libtpm2-pkcs11-1 libtpm2-pkcs11-tools python3-tpm2-pkcs11-tools \
            tpm2-tools libtss2-tcti-swtpm0 tpm2-abrmd libtss2-tcti-tabrmd0 dbus libnss3-tools \
            gnutls-bin lacme-accountd universal-ctags
DEB_BENCH = gnuplot-nox hyperfine

.PHONY: all install deps deps-bench check check-asan check-valgrind unit demo bench fuzz clean

all: $(BUILD)/p11acme $(UNIT_BINS)

$(BUILD)/p11acme: $(LIB_OBJS) $(BUILD)/client/main.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)
	ln -sf $(BUILD)/p11acme p11acme 2>/dev/null || true

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB_OBJS) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_OBJS) $(PKG_LIBS)

# Installs whatever Debian packages are missing: apt-get update once, then install.
deps:
	@./scripts/install-deps $(DEB_BUILD) $(DEB_TEST)

deps-bench:
	@./scripts/install-deps $(DEB_BUILD) $(DEB_TEST) $(DEB_BENCH)

check: deps
	$(MAKE) all
	./tests/run.sh

unit: all
	./tests/run.sh unit

check-asan: deps
	$(MAKE) BUILD=build-asan CC=clang CFLAGS="-O1 -g" \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" all
	P11ACME_BUILD=build-asan P11ACME_SANITIZE=1 ./tests/run.sh

check-valgrind: deps
	$(MAKE) all
	P11ACME_VALGRIND=1 ./tests/run.sh valgrind

demo: deps
	$(MAKE) all
	./scripts/demo.sh

bench: deps-bench
	$(MAKE) all
	./tests/bench/run.sh

fuzz: deps
	./tests/fuzz/run.sh $(FUZZ_SECONDS)

install: $(BUILD)/p11acme
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(SHAREDIR)
	install -m 0755 $(BUILD)/p11acme $(DESTDIR)$(BINDIR)/p11acme
	for s in scripts/p11acme-token scripts/p11acme-renew-all; do \
	  [ -f $$s ] && install -m 0755 $$s $(DESTDIR)$(BINDIR)/ || true; done
	for m in man/*.1; do [ -f $$m ] && install -m 0644 $$m $(DESTDIR)$(MANDIR)/man1/ || true; done
	if ls scripts/*.service scripts/*.timer >/dev/null 2>&1; then \
	  install -d $(DESTDIR)$(UNITDIR); \
	  for u in scripts/*.service scripts/*.timer; do \
	    sed 's|/usr/local/bin/|$(BINDIR)/|g' $$u >$(DESTDIR)$(UNITDIR)/$${u#scripts/} && \
	    chmod 0644 $(DESTDIR)$(UNITDIR)/$${u#scripts/} || exit 1; done; fi
	for f in scripts/*.cron; do [ -f $$f ] && install -m 0644 $$f $(DESTDIR)$(SHAREDIR)/ || true; done
	install -m 0644 scripts/p11acme-tpm.conf $(DESTDIR)$(SHAREDIR)/p11acme-tpm.conf
	install -d -m 0700 $(DESTDIR)$(SYSCONFDIR)/p11acme
	install -d $(DESTDIR)$(SYSCONFDIR)/default
	[ -e $(DESTDIR)$(SYSCONFDIR)/default/p11acme ] || \
	  install -m 0600 scripts/p11acme.default $(DESTDIR)$(SYSCONFDIR)/default/p11acme

clean:
	rm -rf build build-asan build-fuzz p11acme
