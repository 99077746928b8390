//! The pure lifecycle core: functions of (facts, policy, now) → statuses and plans.
//!
//! No IO, no clock reads, no tokio, no ratatui, no virt: callers pass `now` in. Everything
//! the dashboard and the CLI show about TTLs and cleanup comes from here.

pub mod command;
pub mod edit;
pub mod status;
pub mod ttl;

pub use command::{Actor, Command, Op};
pub use ttl::TtlStatus;
