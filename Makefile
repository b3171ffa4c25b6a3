# ward: top-level build.  `make` builds everything into $(O)/; `make test` installs what is
# missing, builds and runs every test; `make run` starts the main job.
#
# Each part adds its sources by living in its folder (lib/, cli/, server/, tests/unit/, ...):
# nothing here needs editing to add a file.  The pkg-config lists below are the only per-part
# knobs.

PREFIX   ?= /usr/local
DESTDIR  ?=
O        ?= build
CC       ?= cc
VERSION  := 0.1.0

# pkg-config modules each part links against.
LIB_PKGS    := libhs libutf8proc icu-uc icu-i18n libpsl libidn2 libjpeg libpng libwebp nettle
CLI_PKGS    := jansson
SERVER_PKGS := libmicrohttpd jansson sqlite3 libsodium liboath libqrencode libcurl inih libpq
TEST_PKGS   := cmocka

# `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
say = @true
else
Q := @
say = @printf '  %-6s %s\n'
endif

pc = $(shell pkg-config --cflags $(1) 2>/dev/null)
pl = $(shell pkg-config --libs $(1) 2>/dev/null)

WARNFLAGS := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
             -Wformat=2 -Wno-unused-parameter
OPTFLAGS  ?= -O2 -g
SANFLAGS  ?=
CFLAGS_ALL = -std=c17 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 $(OPTFLAGS) $(WARNFLAGS) $(SANFLAGS) \
             -fPIC -fvisibility=hidden -Iinclude -Ilib -DWARD_VERSION=\"$(VERSION)\" \
             -DWARD_DATADIR=\"$(PREFIX)/share/ward\" -DWARD_SYSCONFDIR=\"/etc/ward\" $(EXTRA_CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) $(EXTRA_LDFLAGS)
GIF_LIBS := -lgif

LIB_SRC    := $(wildcard lib/*.c)
CLI_SRC    := $(wildcard cli/*.c)
SERVER_SRC := $(filter-out server/main.c,$(wildcard server/*.c))
UNIT_SRC   := $(wildcard tests/unit/test_*.c)

LIB_OBJ    := $(LIB_SRC:%.c=$(O)/%.o)
CLI_OBJ    := $(CLI_SRC:%.c=$(O)/%.o)
SERVER_OBJ := $(SERVER_SRC:%.c=$(O)/%.o)
UNIT_BIN   := $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)

LIB_LIBS    := $(call pl,$(LIB_PKGS)) $(GIF_LIBS) -lm -lpthread
SERVER_LIBS := $(call pl,$(SERVER_PKGS))

WARDD := $(if $(wildcard server/main.c),$(O)/wardd)
SRVLIB := $(if $(SERVER_SRC),$(O)/libwardsrv.a)

.PHONY: all clean install uninstall test test-quick run bench fuzz-long format check-format deps
all: $(O)/libward.a $(O)/libward.so $(O)/ward $(WARDD) $(UNIT_BIN) $(O)/ward.pc

$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(call pc,$(LIB_PKGS)) $(FILE_CFLAGS) -MMD -MP -c $< -o $@

# PDQ must stay bit-identical to the reference: no fused multiply-adds.
$(O)/lib/pdq.o: FILE_CFLAGS := -ffp-contract=off

$(O)/cli/%.o: cli/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(call pc,$(CLI_PKGS) $(SERVER_PKGS)) -Iserver -MMD -MP -c $< -o $@

$(O)/server/%.o: server/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(call pc,$(SERVER_PKGS)) -Iserver -MMD -MP -c $< -o $@

$(O)/libward.a: $(LIB_OBJ)
	@rm -f $@
	$(say) AR $@
	$(Q)ar rcs $@ $^

$(O)/libward.so: $(LIB_OBJ) lib/libward.map
	$(say) LD $@
	$(Q)$(CC) -shared -Wl,-soname,libward.so.0 -Wl,--version-script=lib/libward.map \
	    $(LDFLAGS_ALL) -o $@ $(LIB_OBJ) $(LIB_LIBS)

$(O)/libwardsrv.a: $(SERVER_OBJ)
	@rm -f $@
	$(say) AR $@
	$(Q)ar rcs $@ $^

# The stores' migrations: server/schema/*.schema (one file per module, format in its README)
# become $(O)/gen/schema.[ch], C arrays for SQLite and PostgreSQL compiled into libwardsrv.
# `make schema` only generates them (tests/fuzz/run.sh builds server/ on its own).
SCHEMA_SRC := $(sort $(wildcard server/schema/*.schema))
CFLAGS_ALL += -I$(O)/gen
.PHONY: schema
schema: $(O)/gen/schema.h
$(O)/gen/schema.c $(O)/gen/schema.h &: $(SCHEMA_SRC) scripts/schema.awk
	@mkdir -p $(@D)
	$(say) GEN $(@D)/schema.c
	$(Q)awk -v out=$(@D) -f scripts/schema.awk $(SCHEMA_SRC)
	$(Q)mv $(@D)/schema.c.tmp $(@D)/schema.c && mv $(@D)/schema.h.tmp $(@D)/schema.h
$(O)/gen/schema.o: $(O)/gen/schema.c
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(call pc,$(SERVER_PKGS)) -Iserver -MMD -MP -c $< -o $@
$(SERVER_OBJ): | $(O)/gen/schema.h
$(O)/libwardsrv.a: $(O)/gen/schema.o

$(O)/ward: $(CLI_OBJ) $(SRVLIB) $(O)/libward.a
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $(CLI_OBJ) $(SRVLIB) $(O)/libward.a $(LIB_LIBS) \
	    $(call pl,$(CLI_PKGS)) $(if $(SRVLIB),$(SERVER_LIBS))

$(O)/wardd: $(O)/server/main.o $(SRVLIB) $(O)/libward.a
	$(say) LD $@
	$(Q)$(CC) $(LDFLAGS_ALL) -o $@ $^ $(SERVER_LIBS) $(LIB_LIBS)

# Unit tests link the static library so they can reach internal (lib/*_int.h) functions.
$(O)/tests/%: tests/unit/%.c $(O)/libward.a $(SRVLIB)
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(call pc,$(LIB_PKGS) $(TEST_PKGS) $(SERVER_PKGS)) -Iserver -o $@ $< \
	    $(SRVLIB) $(O)/libward.a $(LDFLAGS_ALL) $(call pl,$(TEST_PKGS)) $(if $(SRVLIB),$(SERVER_LIBS)) $(LIB_LIBS) \
	    $(call pl,$(CLI_PKGS))

$(O)/ward.pc: ward.pc.in
	@mkdir -p $(@D)
	sed -e 's|@PREFIX@|$(PREFIX)|g' -e 's|@VERSION@|$(VERSION)|g' \
	    -e 's|@REQUIRES@|$(LIB_PKGS)|g' $< > $@

-include $(shell find $(O) -name '*.d' 2>/dev/null)

# The web interface: web/ copied to $(O)/web with the taxonomy and the guided response beside
# it as JSON (the one source of both stays libward and guidance/response.txt); wardd finds
# $(O)/web beside itself.
WEB_SRC := $(wildcard web/*)
ifneq ($(WEB_SRC),)
all: $(O)/web/.built
$(O)/web/.built: $(WEB_SRC) $(O)/ward guidance/response.txt
	@mkdir -p $(@D)
	$(say) WEB $(@D)
	$(Q)cp $(WEB_SRC) $(@D)/
	$(Q){ echo '['; $(O)/ward areas --json | sed '$$!s/$$/,/'; echo ']'; } > $(@D)/areas.json
	$(Q)$(O)/ward guide --json --file guidance/response.txt > $(@D)/guide.json
	$(Q)touch $@
endif

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/lib \
	    $(DESTDIR)$(PREFIX)/include/ward $(DESTDIR)$(PREFIX)/lib/pkgconfig \
	    $(DESTDIR)$(PREFIX)/share/ward/rules $(DESTDIR)$(PREFIX)/share/man/man1 \
	    $(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8
	install -m 755 $(O)/ward $(DESTDIR)$(PREFIX)/bin/ward
	$(if $(WARDD),install -m 755 $(O)/wardd $(DESTDIR)$(PREFIX)/sbin/wardd)
	install -m 644 $(O)/libward.a $(DESTDIR)$(PREFIX)/lib/libward.a
	install -m 755 $(O)/libward.so $(DESTDIR)$(PREFIX)/lib/libward.so.0
	ln -sf libward.so.0 $(DESTDIR)$(PREFIX)/lib/libward.so
	install -m 644 include/ward/*.h $(DESTDIR)$(PREFIX)/include/ward/
	install -m 644 $(O)/ward.pc $(DESTDIR)$(PREFIX)/lib/pkgconfig/ward.pc
	install -m 644 rules/*.rules $(DESTDIR)$(PREFIX)/share/ward/rules/
	install -d $(DESTDIR)$(PREFIX)/share/ward/guidance
	install -m 644 guidance/response.txt $(DESTDIR)$(PREFIX)/share/ward/guidance/
	$(if $(WARDD),install -d $(DESTDIR)$(PREFIX)/lib/systemd/system $(DESTDIR)$(PREFIX)/share/doc/ward)
	$(if $(WARDD),sed 's|/usr/local|$(PREFIX)|g' dist/wardd.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/wardd.service)
	$(if $(WARDD),install -m 644 dist/wardd.conf $(DESTDIR)$(PREFIX)/share/doc/ward/wardd.conf)
	for m in docs/*.[158]; do s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done
	if [ -f $(O)/web/.built ]; then install -d $(DESTDIR)$(PREFIX)/share/ward/web && cp $(O)/web/* $(DESTDIR)$(PREFIX)/share/ward/web/; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/systemd/system/wardd.service
	rm -rf $(DESTDIR)$(PREFIX)/share/doc/ward
	rm -f $(DESTDIR)$(PREFIX)/bin/ward $(DESTDIR)$(PREFIX)/sbin/wardd \
	    $(DESTDIR)$(PREFIX)/lib/libward.* $(DESTDIR)$(PREFIX)/lib/pkgconfig/ward.pc
	rm -rf $(DESTDIR)$(PREFIX)/include/ward $(DESTDIR)$(PREFIX)/share/ward

deps:
	scripts/deps.sh

# ---- c-icap service module (icap/): build/icap/srv_ward.so, only when icap/ has sources and
# libicapapi (Debian libicapapi-dev, c-icap-config) is installed.  libward is linked in statically.
ICAP_SRC := $(wildcard icap/*.c)
ICAP_CFLAGS := $(shell c-icap-config --cflags 2>/dev/null | tr ' ' '\n' | grep -E '^-(I|D)' | tr '\n' ' ')
ICAP_SO := $(if $(and $(ICAP_SRC),$(ICAP_CFLAGS)),$(O)/icap/srv_ward.so)
all: $(ICAP_SO)

$(O)/icap/%.o: icap/%.c
	@mkdir -p $(@D)
	$(say) CC $<
	$(Q)$(CC) $(CFLAGS_ALL) $(ICAP_CFLAGS) $(call pc,libcurl) -MMD -MP -c $< -o $@

$(O)/icap/srv_ward.so: $(patsubst icap/%.c,$(O)/icap/%.o,$(ICAP_SRC)) $(O)/libward.a
	$(say) LD $@
	$(Q)$(CC) -shared $(LDFLAGS_ALL) -o $@ $(filter %.o,$^) $(O)/libward.a $(LIB_LIBS) \
	    $(call pl,libcurl) -licapapi -lpthread -lm
-include $(wildcard $(O)/icap/*.d)
# ---- end of the c-icap block

# The contract: install what is missing, build, run every test (also under ASan+UBSan, and a
# short fuzzing run).  Output ends with "N passed, N failed".
test: deps
	$(MAKE) all
	tests/run.sh

# Without installing packages or the sanitizer pass: for the edit-compile-test loop.
test-quick: all
	WARD_TEST_QUICK=1 tests/run.sh

run: deps all
	scripts/run.sh

bench: all
	bench/run.sh

fuzz-long: deps
	WARD_FUZZ_SECONDS=$${WARD_FUZZ_SECONDS:-600} tests/fuzz/run.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(O)

# `make print-VAR` prints a variable (the fuzz runner reads the pkg-config lists this way).
print-%:
	@echo $($*)
