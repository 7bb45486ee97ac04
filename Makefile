# LLM Fusion Engine
#
#   make run     install what is missing, build, run on the defaults
#   make test    install what is missing, build, run the whole test suite
#   make bench   build, then run the benchmark suite (bench/run, BENCHMARKS.md)
#
# kodev names its binary after the directory it builds in and reads
# conf/<name>.conf, so the build happens in .build/<flavor>/fusion, whose
# src, assets and cert point back here, against a copy of Debian's Kore
# source with conf/kore-*.patch applied.

KORE_SYSTEM	?= /usr/share/kore
BUILD		:= .build
KORE_COPY	:= $(BUILD)/kore
DEB_PACKAGES	:= build-essential kore libcurl4-openssl-dev libsqlite3-dev \
		   libsodium-dev libssl-dev openssl curl ca-certificates \
		   sqlite3 postgresql libpq-dev procps tzdata chromium fonts-noto-cjk \
		   clang libclang-rt-14-dev \
		   prometheus docker.io debootstrap tinyproxy-bin
SOURCES		:= $(wildcard src/*.c src/*/*.c src/*/*.h) conf/build.conf \
		   conf/fusion.conf conf/routes.conf
# The admin SPA: web/ builds into these fixed names, compiled in by kodev.
UI_ASSETS	:= assets/index.html assets/app.js assets/app.css
UI_SOURCES	:= $(shell find web/src -type f 2>/dev/null) web/index.html \
		   web/package.json web/package-lock.json web/vite.config.ts \
		   web/tailwind.config.js web/postcss.config.js web/tsconfig.json

.PHONY: all run dev test bench fuzz deps node-deps ui clean distclean

all: fusion

# Installs only what is missing: a no-op on a prepared machine. Node.js
# counts as present when node and npm run, wherever they came from.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | \
	    grep -q 'ok installed' || missing="$$missing $$p"; done; \
	command -v node >/dev/null && command -v npm >/dev/null || \
	    missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	    apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# Kore's features, as conf/build.conf's kore_flavor names them: pgsql
# (libpq) for the PostgreSQL store (issue 16).
KORE_FLAVOR	:= CURL=1 TASKS=1 PGSQL=1

KORE_PATCHES	:= $(sort $(wildcard conf/kore-*.patch))
# The list of patches, rewritten only when it changes: a patch removed
# must rebuild the copy too, which the patch files' dates cannot say.
KORE_PATCH_LIST	:= $(BUILD)/kore-patches.list
$(shell mkdir -p $(BUILD); echo $(KORE_PATCHES) | \
    cmp -s - $(KORE_PATCH_LIST) || echo $(KORE_PATCHES) > $(KORE_PATCH_LIST))

$(KORE_COPY)/.patched: $(KORE_PATCHES) $(KORE_PATCH_LIST)
	rm -rf $(KORE_COPY)
	mkdir -p $(BUILD)
	cp -r $(KORE_SYSTEM) $(KORE_COPY)
	for p in $(KORE_PATCHES); do \
	    patch -d $(KORE_COPY) -p1 --fuzz=0 --no-backup-if-mismatch -s < $$p || \
	    exit 1; done
	touch $@

# $(1): flavor (dev or asan), $(2): Kore flavor.
define stage
	mkdir -p $(BUILD)/$(1)/fusion/conf
	ln -sfn ../../../src $(BUILD)/$(1)/fusion/src
	ln -sfn ../../../cert $(BUILD)/$(1)/fusion/cert
	mkdir -p assets && ln -sfn ../../../assets $(BUILD)/$(1)/fusion/assets
	cp conf/build.conf $(BUILD)/$(1)/fusion/conf/build.conf
	# kodev rebuilds a .c only when it changed: a changed header or a
	# newly patched Kore means every object is stale.
	if [ -n "$$(find src/*/*.h $(KORE_COPY)/.patched -newer \
	    $(BUILD)/$(1)/fusion/fusion 2>/dev/null)" ]; then \
	    rm -rf $(BUILD)/$(1)/fusion/.objs; fi
	{ cat conf/fusion.conf; \
	  printf '\ndomain * {\n\tattach\t\tplain\n\n'; \
	  cat conf/routes.conf; printf '}\n'; \
	  printf '\ndomain * {\n\tattach\t\ttls\n'; \
	  printf '\tcertfile\tcert/server.pem\n\tcertkey\t\tcert/key.pem\n\n'; \
	  cat conf/routes.conf; printf '}\n'; \
	} > $(BUILD)/$(1)/fusion/conf/fusion.conf
	cd $(BUILD)/$(1)/fusion && KORE_BUILD_FLAVOR=$(1) \
	    KORE_FLAVOR="$(2)" kodev build
endef

# npm ci when node_modules is missing or older than the lockfile.
web/node_modules/.installed: web/package.json web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# One build writes all three files (a grouped target).
$(UI_ASSETS) &: web/node_modules/.installed $(UI_SOURCES)
	rm -f $(UI_ASSETS)
	cd web && npm run --silent build

ui: $(UI_ASSETS)

fusion: $(KORE_COPY)/.patched $(SOURCES) $(UI_ASSETS)
	$(call stage,dev,$(KORE_FLAVOR))
	cp $(BUILD)/dev/fusion/fusion $@.tmp && mv -f $@.tmp $@

fusion-asan: $(KORE_COPY)/.patched $(SOURCES) $(UI_ASSETS)
	$(call stage,asan,$(KORE_FLAVOR) SANITIZE=address$(,)undefined)
	cp $(BUILD)/asan/fusion/fusion $@.tmp && mv -f $@.tmp $@

, := ,

run: deps fusion
	./fusion -f

# kodev run: rebuilds and runs in the foreground without privsep.
dev: deps $(KORE_COPY)/.patched $(UI_ASSETS)
	$(call stage,dev,$(KORE_FLAVOR))
	cd $(BUILD)/dev/fusion && DB_PATH=$(CURDIR)/fusion.db kodev run

node-deps: deps
	cd tests && npm ci --no-audit --no-fund --loglevel=error

test: deps node-deps web/node_modules/.installed fusion fusion-asan \
    tests/unit/run
	tests/run

# Not part of `make test`: about 5 minutes of load on loopback against
# nginx and the Portkey gateway (bench/run installs what it lacks).
# BENCH_ARGS passes options, e.g. BENCH_ARGS="--duration 5 --only proxy,fusion".
bench: deps fusion
	bench/run $(BENCH_ARGS)

# The pure parts and what they stand on; nothing here needs Kore running.
UNIT_SOURCES	:= src/core/validate.c src/core/secrets.c \
		   src/store/sqlite.c src/store/migrations.c \
		   src/store/rollup.c src/store/rollup_read.c \
		   src/store/rollup_running.c \
		   src/store/retention.c src/store/keycheck.c \
		   $(filter-out src/formats/kore_glue.c src/formats/kore_hooks.c,\
		   $(wildcard src/formats/*.c)) \
		   src/dataplane/router.c src/dataplane/failover.c \
		   src/dataplane/strategy.c src/dataplane/counters.c \
		   src/dataplane/health.c src/dataplane/price.c
# The Kore files the translators need (kore_json, kore_buf).
UNIT_KORE	:= $(KORE_COPY)/src/json.c $(KORE_COPY)/src/buf.c

tests/unit/run: $(KORE_COPY)/.patched tests/unit/*.c tests/unit/*.h \
    $(UNIT_SOURCES) src/*/*.h
	$(CC) -std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror -g \
	    -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -Isrc -I$(KORE_COPY)/include -I$(KORE_COPY)/include/kore \
	    -o $@ tests/unit/*.c $(UNIT_SOURCES) $(UNIT_KORE) \
	    -lsqlite3 -lsodium -lm

# Every libFuzzer harness in tests/fuzz for FUZZ_SECONDS each (tests/run
# gives them 15 s); FUZZ=name runs one.
FUZZ_SECONDS	?= 600
fuzz: deps $(KORE_COPY)/.patched
	FUZZ_SECONDS=$(FUZZ_SECONDS) tests/fuzz/run $(FUZZ)

clean:
	rm -rf $(BUILD) fusion fusion-asan tests/unit/run $(UI_ASSETS)

distclean: clean
	rm -rf tests/node_modules web/node_modules
