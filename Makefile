# The README's two commands, and a few more. The build itself is Meson + Ninja.
BUILD ?= build
DATA ?= data
LISTEN ?= 127.0.0.1:5000

.PHONY: all deps build run test test-unit test-scenario test-libvirt fuzz clean

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD) -Dwerror=true $(MESON_EXTRA)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

run: build
	$(BUILD)/hearthd --dev --listen $(LISTEN) --data $(abspath $(DATA))

test: build
	@./scripts/install-deps.sh guests
	@./tests/run-all.sh $(BUILD)

test-unit: build
	meson test -C $(BUILD) --print-errorlogs

test-scenario: build
	HEARTH_BUILD=$(abspath $(BUILD)) ./tests/scenario/run.sh

# The libvirt driver alone: its unit test and its scenarios, on libvirt's test driver and
# on two real hypervisors with real guests (all are in 'make test' too).
test-libvirt: build
	@./scripts/install-deps.sh guests
	$(BUILD)/tests/unit/test_libvirt
	HEARTH_BUILD=$(abspath $(BUILD)) ./tests/scenario/run.sh 96-libvirt.sh 99-libvirt-guests.sh

# libFuzzer targets (clang, ASan+UBSan) for FUZZ_SECONDS each; CI runs a short pass.
FUZZ_SECONDS ?= 60
fuzz:
	@./scripts/install-deps.sh fuzz
	./tests/fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD)
