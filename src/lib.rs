//! vmlife: a terminal dashboard and lifecycle engine for libvirt/KVM hosts.
//!
//! Module map, lower layers first. `docs/ARCHITECTURE.md` explains the layers, where
//! data lives, the rules that keep VMs safe and the thread model.
//! - [`model`]: the lifecycle contracts as Rust types (`assets/vm_lifecycle.ncl`).
//! - [`metadata`]: the per-VM `<vmlife:lifecycle>` element in domain metadata.
//! - [`lifecycle`]: pure policy functions of (facts, policy, now): TTLs, cleanup rounds,
//!   restart decisions, autostart order, and the commands they plan.
//! - [`hypervisor`]: the trait vmlife needs from libvirt, and the libvirt adapter with
//!   domain events (the only user of the `virt` crate, and the only `unsafe` code).
//! - [`poll`]: turns bulk polls into [`model::VmStateSnapshot`]s (CPU deltas, uptime,
//!   cached domain details).
//! - [`executor`]: runs commands on blocking threads, one at a time per VM, re-checking
//!   the VM right before each destructive step, and journals each.
//! - [`store`]: the state directory: atomic writes and the JSON-lines journal.
//! - [`keys`]: the dashboard's action spec table (names, labels, default keys, modes,
//!   mutating, asks first, hints) and the key syntax of `[keys]`; pure data.
//! - [`config`]: the TOML config file (host defaults, cleanup policy, connections).
//! - [`engine`]: the lifecycle engine: a state machine that applies the restart policy
//!   and runs cleanup rounds, its state files and lock, and the daemon's runner.
//! - [`host`]: host shutdown and boot hooks, the ordered autostart runner, recovery
//!   records (`recovery.json`) and `vmlife recover`.
//! - [`demo`]: the bundled demo VMs on libvirt's test driver.
//! - [`format`](mod@format): how values read in tables (`4.0G`, `3h12m`, `—`), for CLI and dashboard.
//! - [`session`]: the wiring both front ends share and neither owns: config +
//!   connection + state directory, who is acting, the error they report.
//! - [`tui`]: the dashboard (state, update, view, keymap, runtime).
//! - [`cli`]: command-line parsing and the scriptable commands.
//!
//! `main.rs` dispatches: no subcommand opens the dashboard, a subcommand runs it;
//! `tui` and `cli` never import each other (`scripts/check-layers` holds the layers).

pub mod cli;
pub mod config;
pub mod demo;
pub mod engine;
pub mod executor;
pub mod format;
pub mod host;
pub mod hypervisor;
pub mod keys;
pub mod lifecycle;
pub mod metadata;
pub mod model;
pub mod poll;
pub mod session;
pub mod store;
pub mod tui;
