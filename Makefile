# vmlife — the two commands a new machine needs: `make demo` and `make test`.
# Each installs what a fresh Debian 12 machine lacks (see scripts/install-deps).

CARGO ?= cargo

.PHONY: demo test lint bench perf deps-build deps-test clean

## Open the dashboard on the bundled demo VMs (libvirt's test driver, no hypervisor).
demo: deps-build
	$(CARGO) run --release --quiet -- --demo

## Run every test: unit, screen, adapter (test driver and a private libvirtd), CLI.
test: deps-test
	$(CARGO) test --all-targets --no-fail-fast

## Formatting, lints and the layers (docs/ARCHITECTURE.md), as CI runs them.
lint: deps-build
	scripts/check-layers
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings
	RUSTDOCFLAGS="-D warnings" $(CARGO) doc --no-deps --quiet

## Benchmarks (figures go to docs/PERFORMANCE.md).
bench: deps-build
	$(CARGO) bench --bench poll
	$(CARGO) bench --bench frame

## Whole-process figures (idle CPU, bytes per idle minute, host-wide CPU on a private
## libvirtd with 500 defined / 10 running VMs): about 11 minutes.
perf: deps-test
	$(CARGO) build --release --quiet
	scripts/perf/idle-cpu.sh
	scripts/perf/idle-bytes.sh
	BREAKDOWN=1 scripts/perf/host-cpu.sh
	scripts/perf/daemon-idle-cpu.sh
	scripts/perf/enospc-reaction.sh || test $$? -eq 2  # 2: not root, skipped
	scripts/perf/ls-json.sh
	scripts/perf/rivals.sh  # ~15 min: vmlife, virtui-manager and virsh domstats at 10 and 30 running

deps-build:
	@scripts/install-deps build

deps-test:
	@scripts/install-deps test

clean:
	$(CARGO) clean
