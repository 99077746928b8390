//! The pure lifecycle core: functions of (facts, policy, now) → statuses and plans.
//!
//! No IO, no clock reads, no tokio, no ratatui, no virt: callers pass `now` in. Everything
//! the dashboard and the CLI show about TTLs and cleanup comes from here.
//! - [`ttl`]: expiry arithmetic and countdown text.
//! - [`cleanup`]: cleanup rounds (window, batch, concurrency, confirmation, dry run).
//! - [`restart`]: restart policy decisions and the stability reset.
//! - [`command`]: the commands plans and people produce; [`edit`]: metadata edits.
//! - [`autostart`]: ordered autostart: the dependency graph, the order, the step state
//!   machine.
//! - [`host_shutdown`], [`host_boot`]: host shutdown and boot plans (order, actions, the
//!   once-per-boot gate) and their progress data; [`crate::host`] runs them.
//! - [`limits`]: a running VM's declared size against its tunables (memtune, CPU
//!   quota, block thresholds): drift and the set-limit steps.
//! - [`pressure`]: memory pressure and full disks: the kernel's figures parsed, the
//!   hysteresis, and the next suspend, kill or resume.

pub mod autostart;
pub mod cleanup;
pub mod command;
pub mod edit;
pub mod facts;
pub mod host_boot;
pub mod host_shutdown;
pub mod limits;
pub mod pressure;
pub mod restart;
pub mod status;
pub mod ttl;

pub use command::{Actor, Command, Op};
pub use facts::VmFacts;
pub use ttl::TtlStatus;
