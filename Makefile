# setpoint front door. `make run` and `make test` do everything on a fresh Debian 12 machine.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

DEBS := build-essential cmake ninja-build pkg-config \
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev \
  libsqlite3-dev sqlite3 libssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev libcli11-dev libexpat1-dev \
  libexpected-dev libgtest-dev libgmock-dev googletest libbenchmark-dev libgoogle-perftools-dev \
  python3 python3-kubernetes python3-yaml curl etcd-server memcached \
  libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
  prometheus clang-format

.PHONY: deps build run test unit e2e bench clean format format-check

# Installs only what is missing, so a second run is quick and needs no network.
deps:
	@missing=$$(for p in $(DEBS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing: $$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi
	@command -v kubectl >/dev/null || { \
	  echo "installing kubectl (Debian's kubernetes-client)"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kubernetes-client || \
	  echo "warning: no kubectl available; kubectl end-to-end tests will be skipped"; }

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/setpoint server

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

e2e: build
	cd $(BUILD) && ctest --output-on-failure -L e2e

test: format-check build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900
	@echo "== the API end-to-end suites again, with the watch cache lagging the store by 10 ms =="
	cd $(BUILD) && SETPOINT_TEST_CACHE_DELAY_MS=10 ctest --output-on-failure -j $(JOBS) --timeout 900 -R 'e2e_(python_client|bad_input|cli|crash)'

bench: build
	BUILD=$(BUILD) bash bench/run.sh

# Every C++ file the project tracks, in the format .clang-format fixes (Debian's clang-format 14).
SOURCES = { git ls-files -z --cached --others --exclude-standard -- '*.cc' '*.h' 2>/dev/null || \
  find src include tests bench examples \( -name '*.cc' -o -name '*.h' \) -print0; }
format: deps
	$(SOURCES) | xargs -0 clang-format -i

format-check: deps
	@$(SOURCES) | xargs -0 clang-format --dry-run --Werror || \
	  { echo "the files above are not formatted as .clang-format says: run 'make format'"; exit 1; }

clean:
	rm -rf $(BUILD)
