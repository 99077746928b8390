//! Resource pressure: memory pressure and full disks, decided purely (docs/ARCHITECTURE.md,
//! "Resource pressure").
//!
//! Three parts, each a function of plain data (no IO, no clock: `now` is unix seconds,
//! passed in):
//! - [`signal`]: parse `/proc/meminfo` and `/proc/pressure/memory` text, and judge a
//!   reading against the thresholds ([`Signal`]); a disk's free space against the resume
//!   margin ([`signal::has_room`]).
//! - [`state`]: the memory hysteresis, kubelet-like: [`PressureState::Fine`] →
//!   `Entering` (the signal is over a threshold, not yet for `hold_seconds`) → `Under` →
//!   `Clearing` (the signal is clear, not yet for `clear_seconds`) → `Fine`.
//! - [`mod@plan`]: the next step, at most one [`Reaction`] (suspend, kill or resume one VM)
//!   per call, ranked: temporary before permanent, then the VM holding the most memory.
//!
//! The rules the planner keeps (each a property test in `tests.rs`):
//! - Only managed VMs are touched (they carry a vmlife element, or `manage_all_vms`),
//!   and never one whose vmlife policy is invalid.
//! - A host default of `kill` never kills a permanent VM; only the VM's own metadata
//!   `kill` does. (Such a VM is left alone for that cause: the host default does not
//!   reach it, and it is not suspended instead.)
//! - Resumes reach only VMs that vmlife paused for that cause: memory ones once pressure
//!   has cleared, latest paused first, one per step; disk ones once their disk's file
//!   system has room again.
//! - Dry run plans the same step, marked `dry_run`, and yields no [`Command`].

pub mod plan;
pub mod signal;
pub mod state;

use serde::{Deserialize, Serialize};

use super::command::{Command, Op};
use crate::model::{PersistenceMode, PressureAction, Uuid};

pub use plan::{plan, PressureInput, PressurePlan};
pub use signal::{MemInfo, Psi, PsiLine, Signal};
pub use state::PressureState;

/// Thresholds and timings: the `[pressure]` config section in the planner's units.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PressureSettings {
    /// Memory pressure when available memory is below this share of the total (percent).
    pub memory_available_percent: f64,
    /// Memory pressure when PSI `some avg10` is above this (percent); `None`: not used.
    pub psi_some_avg10_percent: Option<f64>,
    /// Memory pressure when PSI `full avg10` is above this (percent); `None`: not used.
    pub psi_full_avg10_percent: Option<f64>,
    /// Seconds the signal must stay over a threshold before the host is under pressure.
    pub hold_seconds: i64,
    /// Seconds the signal must stay clear before the host leaves pressure.
    pub clear_seconds: i64,
    /// Seconds between two memory steps (suspend, kill, resume), so each is measured.
    pub settle_seconds: i64,
    /// A disk-full VM is resumed only when its file system has this share free (percent)…
    pub disk_resume_free_percent: f64,
    /// …and at least this many MiB free.
    pub disk_resume_free_mib: u64,
}

impl Default for PressureSettings {
    fn default() -> Self {
        PressureSettings {
            memory_available_percent: 5.0,
            psi_some_avg10_percent: None,
            psi_full_avg10_percent: None,
            hold_seconds: 10,
            clear_seconds: 300,
            settle_seconds: 10,
            disk_resume_free_percent: 5.0,
            disk_resume_free_mib: 256,
        }
    }
}

/// What a reaction answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    MemoryPressure,
    DiskFull,
}

impl Cause {
    /// The journal's spelling: `memory pressure`, `disk full`.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::MemoryPressure => "memory pressure",
            Cause::DiskFull => "disk full",
        }
    }
}

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A VM's run state, as far as pressure cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Paused,
    ShutOff,
    /// Starting, stopping, crashed, pmsuspended, unknown: not acted on.
    Other,
}

/// vmlife paused this VM: for what, and when (unix seconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PausedBy {
    pub cause: Cause,
    pub at: i64,
    /// Pause order: breaks ties between pauses of the same second.
    pub seq: u64,
}

/// A disk of the VM found no space (an `enospc` I/O error).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DiskFull {
    /// The disk's target (`vda`).
    pub target: String,
    /// Its file system (or pool) has room again above the resume margin.
    pub room_again: bool,
}

/// One VM as the pressure planner sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmPressureFacts {
    pub uuid: Uuid,
    pub name: String,
    /// Carries a vmlife element (see [`super::restart::is_managed`]).
    pub managed: bool,
    pub mode: PersistenceMode,
    /// Memory it holds, KiB.
    pub memory_kib: u64,
    pub run: RunState,
    /// Its vmlife metadata parsed (an invalid policy is never acted on).
    pub policy_valid: bool,
    /// The VM's own `on_memory_pressure`; `None`: the host default.
    pub on_memory_pressure: Option<PressureAction>,
    /// The VM's own `on_disk_full`; `None`: the host default.
    pub on_disk_full: Option<PressureAction>,
    /// vmlife paused it, for this cause.
    pub paused_by: Option<PausedBy>,
    /// A disk of it is full (cleared by the engine once the VM runs again).
    pub disk_full: Option<DiskFull>,
}

/// What a reaction does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactionKind {
    /// Pause the VM (or keep it paused, when QEMU paused it for a full disk) and record
    /// the cause, so that it is resumed later.
    Suspend,
    /// Destroy it (never restarted by the restart policy).
    Kill,
    /// Resume a VM vmlife paused for this cause.
    Resume,
}

impl ReactionKind {
    /// The `plan --json` spelling (`action`).
    pub fn as_str(self) -> &'static str {
        match self {
            ReactionKind::Suspend => "suspend",
            ReactionKind::Kill => "kill",
            ReactionKind::Resume => "resume",
        }
    }
}

/// One planned reaction to pressure.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reaction {
    pub vm_id: Uuid,
    pub vm_name: String,
    pub action: ReactionKind,
    pub cause: Cause,
    /// Why, naming the figures: `available 3.1 % < 5 % for 12 s`.
    pub reason: String,
    /// Planned under dry run: shown and journaled as "would", never run.
    pub dry_run: bool,
}

impl Reaction {
    /// The executor's command for it; `None` under dry run (no mutating call).
    pub fn command(&self) -> Option<Command> {
        if self.dry_run {
            return None;
        }
        Some(self.command_even_in_dry_run())
    }

    /// The executor's command for it, also under dry run (for a dry-run executor, which
    /// journals "would" and makes no mutating call).
    pub fn command_even_in_dry_run(&self) -> Command {
        let op = Op::Pressure {
            action: self.action,
            cause: self.cause,
        };
        Command::new(
            self.vm_id.clone(),
            self.vm_name.clone(),
            op,
            format!("{}: {}", self.cause, self.reason),
        )
    }
}

#[cfg(test)]
mod tests;
