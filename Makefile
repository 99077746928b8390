# vmlife — the two commands a new machine needs: `make demo` and `make test`.
# Each installs what a fresh Debian 12 machine lacks (see scripts/install-deps).

CARGO ?= cargo

.PHONY: demo test lint bench deps-build deps-test perf clean

## Open the dashboard on the bundled demo VMs (libvirt's test driver, no hypervisor).
demo: deps-build
	$(CARGO) run --release --quiet -- --demo

## Run every test: unit, screen, adapter (test driver and a private libvirtd), CLI.
test: deps-test
	$(CARGO) test --all-targets --no-fail-fast

## Formatting and lints, as CI runs them.
lint: deps-build
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --all-targets -- -D warnings

## Benchmarks (figures go to docs/PERFORMANCE.md).
bench: deps-build
	$(CARGO) bench --bench poll
	$(CARGO) bench --bench frame

deps-build:
	@scripts/install-deps build

deps-test:
	@scripts/install-deps test

clean:
	$(CARGO) clean
