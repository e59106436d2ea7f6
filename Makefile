# The two commands: `make run` and `make test`. Both install what is missing first.
BUILD_DIR ?= build
WERROR    ?= $(if $(CI),ON,OFF)
CMAKE_ARGS ?=

.PHONY: all deps build run test unit integration e2e format clean

all: build

deps:
	@bash scripts/install-deps.sh

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release -DSWITCHBOARD_WERROR=$(WERROR) $(CMAKE_ARGS)

build: deps $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR)

run: build
	$(BUILD_DIR)/switchboard --dev $(ARGS)

test: build
	bash scripts/test.sh $(BUILD_DIR)

unit: build
	ctest --test-dir $(BUILD_DIR) --output-on-failure

format:
	cmake --build $(BUILD_DIR) --target format

clean:
	rm -rf $(BUILD_DIR)
