# Thin wrapper over meson: the real build description is meson.build.
BUILD ?= build
MESON_OPTS ?=
ifeq ($(SAN),1)
BUILD := build-san
MESON_OPTS += -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
endif

.PHONY: all deps configure test demo bench fuzz fuzz-smoke clean

all: configure
	ninja -C $(BUILD)

deps:
	@bash scripts/deps.sh

configure: deps
	@[ -f $(BUILD)/build.ninja ] || meson setup $(BUILD) $(MESON_OPTS) >/dev/null

test: all
	@bash scripts/run-tests.sh $(BUILD)

demo: all
	@bash scripts/demo.sh $(BUILD)

bench: all
	@bash bench/run.sh $(BUILD)

fuzz: deps
	@[ -f build-fuzz/build.ninja ] || CC=clang meson setup build-fuzz -Dfuzz=true -Dc_args=-fsanitize=fuzzer-no-link -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
	ninja -C build-fuzz

fuzz-smoke: fuzz
	@bash fuzz/smoke.sh build-fuzz $${FUZZ_SECONDS:-30}

clean:
	rm -rf build build-san build-fuzz
