# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
WERROR    ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=
# ASan+UBSan tree (CMakePresets.json, preset `asan`): `make test` runs the unit
# and integration tests on it too.
ASAN_DIR  := build-asan
# libFuzzer tree (clang), `make fuzz`: FUZZ_SECONDS per target (docs/fuzzing.md).
FUZZ_DIR  := build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := fuzz_protocol fuzz_ws_frame fuzz_jwt fuzz_http

.PHONY: all deps build asan run test unit integration e2e format clean fuzz

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWITCHBOARD_WERROR=$(WERROR) $(CMAKE_ARGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR)

run: build
	$(BUILD_DIR)/switchboard --dev $(ARGS)

$(ASAN_DIR)/build.ninja:
	cmake --preset asan -DSWITCHBOARD_WERROR=OFF $(CMAKE_ARGS)  # sanitizer builds trip GCC false-positive warnings; -Werror is for the release build

# Only what the sanitizer runs need: the server and the unit test binaries.
asan: deps $(ASAN_DIR)/build.ninja
	cmake --build $(ASAN_DIR) --target switchboard unit-tests

test: build asan
	bash scripts/test.sh $(BUILD_DIR) $(ASAN_DIR)

$(FUZZ_DIR)/build.ninja:
	cmake -S . -B $(FUZZ_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
	  -DSWITCHBOARD_FUZZ=ON -DSWITCHBOARD_TESTS=OFF -DSWITCHBOARD_WERROR=$(WERROR) $(CMAKE_ARGS)

# Builds the fuzzers and runs each for FUZZ_SECONDS. The seed corpus in
# fuzz/corpus/<target> is only read; new inputs go to $(FUZZ_DIR)/corpus-<target>,
# crashes to $(FUZZ_DIR)/artifacts-<target>/.
fuzz: deps $(FUZZ_DIR)/build.ninja
	cmake --build $(FUZZ_DIR) --target $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_DIR)/corpus-$$t $(FUZZ_DIR)/artifacts-$$t; \
	  echo "== $$t for $(FUZZ_SECONDS) s"; \
	  $(FUZZ_DIR)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -max_len=70000 -print_final_stats=1 \
	    -dict=fuzz/$${t#fuzz_}.dict -artifact_prefix=$(FUZZ_DIR)/artifacts-$$t/ \
	    $(FUZZ_DIR)/corpus-$$t fuzz/corpus/$$t || exit 1; \
	done

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure

format:
	cmake --build $(BUILD_DIR) --target format

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(FUZZ_DIR)
