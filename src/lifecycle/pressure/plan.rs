//! The next pressure step: at most one [`Reaction`] per call.
//!
//! In this order, the first that applies:
//! 1. **Disk full** (urgent: the guest is stopped on an I/O error, or still writing):
//!    `kill` destroys it; `suspend` pauses it — or keeps the pause QEMU made and records
//!    it as vmlife's, so that it is resumed later; `none` does nothing (the engine
//!    alerts). Ranked temporary first, then the most memory.
//! 2. **Memory pressure**, when the host is under pressure, the signal is still over and
//!    `settle_seconds` have passed since the last memory step: suspend or kill the next
//!    running VM, temporary before permanent, then the most memory. A running VM that
//!    vmlife still has a pause on record for (a person resumed it) is not suspended
//!    again: the person's resume stands until the engine drops the record.
//! 3. **Resumes**, when the host is not under memory pressure: a VM vmlife paused for a
//!    full disk whose file system has room again; then, when pressure has cleared and the
//!    signal is clear, the VMs vmlife paused for memory, latest paused first, one per
//!    settled step.
//!
//! Call [`super::PressureState::next`] with the reading first, then this with the new
//! state and the same signal.

use std::cmp::Reverse;

use serde::Serialize;

use super::{
    Cause, PressureSettings, PressureState, Reaction, ReactionKind, RunState, Signal,
    VmPressureFacts,
};
use crate::lifecycle::restart::is_managed;
use crate::model::{PersistenceMode, PressureAction};

/// Everything the planner looks at.
#[derive(Debug, Clone)]
pub struct PressureInput<'a> {
    pub vms: &'a [VmPressureFacts],
    /// Host default `on_memory_pressure` (`[policy]`).
    pub host_on_memory_pressure: PressureAction,
    /// Host default `on_disk_full` (`[policy]`).
    pub host_on_disk_full: PressureAction,
    /// `[engine] manage_all_vms`: every VM counts as managed.
    pub manage_all_vms: bool,
    /// The memory state after this reading.
    pub state: PressureState,
    /// This reading, judged.
    pub signal: &'a Signal,
    /// When the last memory step (suspend, kill or resume) was taken, unix seconds.
    pub last_memory_step_at: Option<i64>,
    pub settings: &'a PressureSettings,
    pub now: i64,
    /// Plan only: the reaction is marked and yields no command.
    pub dry_run: bool,
}

/// The planner's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PressurePlan {
    /// The one step to take now, if any.
    pub next: Option<Reaction>,
    /// Where things stand, for `plan` and the dashboard: the memory state with its
    /// figures and, when nothing is done, why.
    pub note: String,
}

/// The next step (see the module docs).
pub fn plan(i: &PressureInput) -> PressurePlan {
    let memory = format!(
        "memory {} ({})",
        i.state.describe(i.now, i.settings),
        i.signal.text()
    );
    let eligible: Vec<&VmPressureFacts> = i
        .vms
        .iter()
        .filter(|v| is_managed(v.managed, i.manage_all_vms) && v.policy_valid)
        .collect();
    let found = disk_step(i, &eligible)
        .map(Ok)
        .unwrap_or_else(|| memory_step(i, &eligible));
    match found {
        Ok((vm, action, cause, reason)) => PressurePlan {
            next: Some(Reaction {
                vm_id: vm.uuid.clone(),
                vm_name: vm.name.clone(),
                action,
                cause,
                reason,
                dry_run: i.dry_run,
            }),
            note: memory,
        },
        Err(why) => PressurePlan {
            next: None,
            note: format!("{memory}: {why}"),
        },
    }
}

type Step<'a> = (&'a VmPressureFacts, ReactionKind, Cause, String);

/// Temporary before permanent, then the most memory; name and UUID make it total.
fn rank(v: &VmPressureFacts) -> (bool, Reverse<u64>, &str, &str) {
    (
        v.mode != PersistenceMode::Temporary,
        Reverse(v.memory_kib),
        &v.name,
        &v.uuid,
    )
}

/// `kill` reaches a VM when it says so itself, or when it is temporary.
fn may_kill(v: &VmPressureFacts, own: Option<PressureAction>) -> bool {
    own == Some(PressureAction::Kill) || v.mode == PersistenceMode::Temporary
}

fn disk_step<'a>(i: &PressureInput, vms: &[&'a VmPressureFacts]) -> Option<Step<'a>> {
    let memory_calm = !i.state.is_pressure();
    let mut steps: Vec<(u8, Step<'a>)> = vms
        .iter()
        .filter_map(|&v| {
            let disk = v.disk_full.as_ref()?;
            let what = v.on_disk_full.unwrap_or(i.host_on_disk_full);
            let full = format!("no space on {}", disk.target);
            let paused_for = v.paused_by.map(|p| p.cause);
            let step = match (what, v.run) {
                (PressureAction::Kill, RunState::Running | RunState::Paused)
                    if may_kill(v, v.on_disk_full) =>
                {
                    (
                        0,
                        ReactionKind::Kill,
                        format!("{full}; on_disk_full = kill"),
                    )
                }
                (PressureAction::Suspend, RunState::Running)
                    if !disk.room_again && paused_for.is_none() =>
                {
                    (0, ReactionKind::Suspend, full)
                }
                (PressureAction::Suspend, RunState::Paused) if paused_for.is_none() => (
                    0,
                    ReactionKind::Suspend,
                    format!("{full}; kept paused until it has room"),
                ),
                (PressureAction::Suspend, RunState::Paused)
                    if paused_for == Some(Cause::DiskFull) && disk.room_again && memory_calm =>
                {
                    (
                        1,
                        ReactionKind::Resume,
                        format!("{} has room again", disk.target),
                    )
                }
                _ => return None,
            };
            Some((step.0, (v, step.1, Cause::DiskFull, step.2)))
        })
        .collect();
    steps.sort_by(|a, b| (a.0, rank(a.1 .0)).cmp(&(b.0, rank(b.1 .0))));
    steps.into_iter().next().map(|(_, s)| s)
}

fn memory_step<'a>(i: &PressureInput, vms: &[&'a VmPressureFacts]) -> Result<Step<'a>, String> {
    let settling = i
        .last_memory_step_at
        .map(|t| i.now.saturating_sub(t))
        .filter(|&age| age < i.settings.settle_seconds);
    match (i.state, i.signal) {
        (PressureState::Under { since }, Signal::Over(figures)) => {
            if let Some(age) = settling {
                return Err(settle_note(age, i.settings));
            }
            let over_for = i.now.saturating_sub(since).max(0);
            let reason = format!("{figures} for {over_for} s");
            vms.iter()
                .filter(|v| v.run == RunState::Running && v.paused_by.is_none())
                .filter_map(|&v| {
                    let own = v.on_memory_pressure;
                    match own.unwrap_or(i.host_on_memory_pressure) {
                        PressureAction::Suspend => Some((v, ReactionKind::Suspend)),
                        PressureAction::Kill if may_kill(v, own) => Some((v, ReactionKind::Kill)),
                        _ => None,
                    }
                })
                .min_by(|a, b| rank(a.0).cmp(&rank(b.0)))
                .map(|(v, kind)| (v, kind, Cause::MemoryPressure, reason))
                .ok_or_else(|| "no running VM left that may be suspended or killed".into())
        }
        (PressureState::Fine, Signal::Clear(figures)) => {
            let Some(v) = vms
                .iter()
                .copied()
                .filter(|v| v.run == RunState::Paused)
                .filter_map(|v| {
                    let p = v.paused_by?;
                    (p.cause == Cause::MemoryPressure).then_some((v, (p.at, p.seq)))
                })
                .min_by(|a, b| (Reverse(a.1), rank(a.0)).cmp(&(Reverse(b.1), rank(b.0))))
                .map(|(v, _)| v)
            else {
                return Err("nothing to do".into());
            };
            if let Some(age) = settling {
                return Err(settle_note(age, i.settings));
            }
            Ok((
                v,
                ReactionKind::Resume,
                Cause::MemoryPressure,
                format!("memory pressure cleared: {figures}"),
            ))
        }
        (PressureState::Under { .. }, _) => Err("no current figure: waiting".into()),
        (PressureState::Clearing { .. }, _) => {
            Err("nothing is resumed until it has cleared".into())
        }
        _ => Err("nothing to do".into()),
    }
}

fn settle_note(age: i64, s: &PressureSettings) -> String {
    format!(
        "settling ({} s of {} s since the last step)",
        age.max(0),
        s.settle_seconds
    )
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
