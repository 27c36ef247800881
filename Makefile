# seshook's entry points. `make run` and `make test` install what is missing (Debian 12 packages,
# through apt, as root or with sudo), configure with CMake, build in Release, then run.

PRESET ?= release
BUILD_DIR := build/$(PRESET)
CONFIG ?= config/seshook.toml

# Everything the build and the tests need, from Debian 12.
DEB_PACKAGES := g++ cmake ninja-build pkg-config ca-certificates curl \
    libboost1.81-dev nlohmann-json3-dev libspdlog-dev libfmt-dev libtomlplusplus-dev \
    libcli11-dev libssl-dev libgtest-dev libgmock-dev openssl libsqlite3-dev sqlite3 \
    zlib1g-dev

SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all deps configure build run test bench-spool clean

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
