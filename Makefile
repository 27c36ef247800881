# seshook's entry points. `make run` and `make test` install what is missing (Debian 12 packages,
# through apt, as root or with sudo), configure with CMake, build in Release, then run.

PRESET ?= release
BUILD_DIR := build/$(PRESET)
CONFIG ?= config/seshook.toml

# Everything the build and the tests need, from Debian 12.
DEB_PACKAGES := g++ cmake ninja-build pkg-config ca-certificates curl \
    libboost1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libtomlplusplus-dev \
    libcli11-dev libssl-dev libgtest-dev libgmock-dev openssl libsqlite3-dev sqlite3 \
    zlib1g-dev libsystemd-dev systemd logrotate dpkg-dev prometheus-cpp-dev

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps configure build run test test-sanitize deb fuzz fuzz-ci bench-spool clean

all: build

deps:
	@missing=""; \
	for p in $(DEB_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	    echo "installing:$$missing"; \
	    $(SUDO) apt-get update -q && \
	    $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi

configure: deps
	cmake --preset $(PRESET)

build: configure
	cmake --build --preset $(PRESET)

run: build
	./$(BUILD_DIR)/seshook --config $(CONFIG)

test: build
	ctest --preset $(PRESET)

# The Debian package, from the Release build of the daemon alone (no tests), with CPack:
# build/release/seshook_<version>_amd64.deb. Install it with `sudo apt install ./build/release/...`.
deb: PRESET = release
deb: configure
	cmake --build --preset release --target seshook
	cd build/release && cpack -G DEB

# The whole suite again on the sanitizer build (the debug preset: AddressSanitizer with
# LeakSanitizer, and UndefinedBehaviorSanitizer): any finding fails the test that met it.
test-sanitize: PRESET = debug
test-sanitize: build
	ctest --preset debug -j2

# The libFuzzer targets of fuzz/ (see docs/fuzzing.md), built with clang from Debian. `make fuzz`
# runs one target for FUZZ_SECONDS: `make fuzz FUZZ_TARGET=callback FUZZ_SECONDS=600`. Inputs it
# finds go to build/fuzz/corpus/<target>, crashes to build/fuzz/artifacts; the seeds in
# fuzz/corpus/<target> are only read. It fails when the target crashes, leaks or breaks an
# invariant.
FUZZ_SECONDS ?= 300
FUZZ_TARGET ?= request
FUZZ_DIR := build/fuzz
FUZZ_ARGS ?=

fuzz: DEB_PACKAGES += clang-14 libclang-rt-14-dev
fuzz: PRESET = fuzz
fuzz: configure
	cmake --build --preset fuzz
	mkdir -p $(FUZZ_DIR)/artifacts $(FUZZ_DIR)/corpus/$(FUZZ_TARGET)
	$(FUZZ_DIR)/fuzz/$(FUZZ_TARGET)_fuzzer -max_total_time=$(FUZZ_SECONDS) -max_len=32768 \
	    -timeout=30 -dict=fuzz/http_json.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/ \
	    -print_final_stats=1 $(FUZZ_ARGS) $(FUZZ_DIR)/corpus/$(FUZZ_TARGET) fuzz/corpus/$(FUZZ_TARGET)

# The bounded run of CI: a minute of the request target, half a minute of the body target.
fuzz-ci:
	$(MAKE) fuzz FUZZ_TARGET=request FUZZ_SECONDS=60
	$(MAKE) fuzz FUZZ_TARGET=callback FUZZ_SECONDS=30

# Accepted events per second for spool durability memory, write and fsync, side by side. Knobs
# are the script's (see its header); make passes them on: `make bench-spool ROUNDS=5 DURATION=20`.
# Always a Release build, of the daemon only (no tests). wrk comes from Debian through `deps`.
bench-spool: DEB_PACKAGES += wrk util-linux iproute2
bench-spool: PRESET = release
bench-spool: configure
	cmake --build --preset release --target seshook
	SESHOOK_BIN=build/release/seshook bench/spool_durability.sh

clean:
	rm -rf build
