//! The lifecycle engine: runs what [`crate::lifecycle`] plans, on its own.
//!
//! - [`EngineCore`] ([`core`]): a synchronous state machine. Snapshots
//!   ([`EngineCore::on_snapshot`]) and command results ([`EngineCore::on_result`]) go
//!   in; commands ([`Planned`]) come out. It classifies observed stops and applies the
//!   restart policy, resets restart streaks after a stable run, runs scheduled cleanup
//!   rounds (interval, window, batch, concurrency, confirmation, dry run, pressure),
//!   keeps the cleanup records and raises alerts. `now` is passed in; its only IO is the
//!   state store. [`EngineCore::plan`] is the plan `vmlife plan`, `vmlife cleanup` and
//!   the dashboard show.
//! - [`state_files`]: `cleanups.json` and `engine.json` in the state directory; [`records`]:
//!   the cleanup record lifecycle and crash recovery.
//! - [`lock`]: one engine per host (`engine.lock`), and [`engine_owner`].
//! - [`managed`]: which VMs the engine acts on by itself.
//! - [`mod@limits`]: a polled VM and its tunables into the pure limits reconcile;
//!   [`limits_worker`]: the engine applies it when `[limits] apply = true`.
//! - [`classify`]: why a VM stopped (shut-off reason, events, vmlife's own stops).
//! - [`pressure`]: host memory pressure for `skip_on_low_resources`; [`signals`]: the
//!   readings (host memory, disk errors, free space) of the pressure reactions, which
//!   [`EngineCore::on_snapshot`] runs through [`crate::lifecycle::pressure`].
//! - [`alert`]: the `[alerts] command` hook.
//! - [`runner`]: the daemon's async loop around an [`EngineCore`].

pub mod alert;
pub mod classify;
pub mod core;
pub mod limits;
pub mod limits_worker;
pub mod lock;
pub mod managed;
pub mod pressure;
pub mod procid;
pub mod records;
pub mod runner;
pub mod signals;
pub mod state_files;

#[cfg(test)]
mod tests;

pub use self::core::{
    clock_at, plan_entries, pressure_status, EngineCore, EngineSettings, PlanEntry, Planned,
    PressureProbe, PressureView, WindowZone,
};
pub use classify::{classify_stop, EngineEvent, EventKind, StoppedDetail};
pub use lock::{engine_owner, EngineLock, LockError, Owner, Role};
pub use managed::{has_vmlife_element, vm_is_managed};
pub use pressure::{host_pressure, Pressure};
pub use state_files::{Alert, EngineStore, StoreData};
