//! Host boot, the pure part: the once-per-boot gate, each VM's boot action, and the
//! progress [`crate::host::boot`] shows while it carries them out.
//!
//! The policy is described in [`crate::host::boot`]; these functions take plain facts
//! (the boot ids read, the VM's state, its record, whether it has a managed save). No
//! IO, no clock reads.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::autostart::{Progress, StepState};
use crate::model::{HostRebootAction, RecoveryVmState, Uuid};

/// Whether host boot should run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BootGate {
    /// Run; the boot id to record afterwards, when known.
    Run { boot_id: Option<String> },
    /// It already ran in this boot.
    AlreadyRan { boot_id: String },
}

/// Compares the boot id read now with the one in the marker: the same boot again does
/// not run unless `force`.
pub fn gate(boot_id: Option<String>, marker: Option<String>, force: bool) -> BootGate {
    match (boot_id, marker) {
        (Some(b), Some(m)) if b == m && !force => BootGate::AlreadyRan { boot_id: b },
        (b, _) => BootGate::Run { boot_id: b },
    }
}

/// What host boot does with one VM before the ordered start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum BootAction {
    /// Start it now, outside the ordered start (restores its managed save, if any).
    Restore { from_save: bool },
    /// The ordered start starts it.
    Autostart,
    /// Stays off; its managed save, if any, is kept.
    KeepStopped { why: String },
    /// Stays off and forgets its state: destroyed when running, managed save
    /// discarded.
    Destroy { running: bool, has_save: bool },
    /// Nothing to do.
    Nothing { why: String },
}

/// One VM of a host boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootStep {
    /// The domain's UUID.
    pub uuid: Uuid,
    /// The domain's name.
    pub name: String,
    /// What host boot does with it.
    pub action: BootAction,
    /// Its recovery record (index into the file's records) not yet applied.
    pub record: Option<usize>,
}

/// Whether [`decide`] needs to know if the VM has a managed save: it is stopped and
/// `on_host_reboot = destroy`, or it is to be restored outside the ordered start. The
/// runner asks the hypervisor only then.
pub fn save_matters(
    active: bool,
    member: bool,
    on_reboot: HostRebootAction,
    recorded: Option<RecoveryVmState>,
) -> bool {
    !active
        && match on_reboot {
            HostRebootAction::Destroy => true,
            HostRebootAction::KeepStopped => false,
            HostRebootAction::Start => {
                !member && recorded.is_some_and(|r| r != RecoveryVmState::Stopped)
            }
        }
}

/// One VM's boot action and, for the autostart set, why it must not be started.
/// `has_save`: it is stopped and has a managed save (only asked when
/// [`save_matters`] says so).
pub fn decide(
    active: bool,
    member: bool,
    on_reboot: HostRebootAction,
    recorded: Option<RecoveryVmState>,
    has_save: bool,
) -> (BootAction, Option<String>) {
    let has_save = || !active && has_save;
    match on_reboot {
        HostRebootAction::Destroy => {
            let why = "on_host_reboot = destroy".to_string();
            let saved = has_save();
            let action = if active || saved {
                BootAction::Destroy {
                    running: active,
                    has_save: saved,
                }
            } else {
                BootAction::Nothing {
                    why: format!("{why}: stays off"),
                }
            };
            (action, Some(why))
        }
        HostRebootAction::KeepStopped => {
            let why = "on_host_reboot = keep_stopped".to_string();
            let shown = if active {
                format!("{why} (running: started by something else; left as it is)")
            } else {
                why.clone()
            };
            (BootAction::KeepStopped { why: shown }, Some(why))
        }
        HostRebootAction::Start => match recorded {
            Some(RecoveryVmState::Stopped) => {
                let why = "was stopped before the host shut down".to_string();
                let shown = if active {
                    format!("{why} (running now: started by something else; left as it is)")
                } else {
                    format!("{why}: stays stopped")
                };
                (BootAction::Nothing { why: shown }, Some(why))
            }
            Some(_) if active => (
                BootAction::Nothing {
                    why: "already running".into(),
                },
                None,
            ),
            Some(_) if member => (BootAction::Autostart, None),
            Some(_) => (
                BootAction::Restore {
                    from_save: has_save(),
                },
                None,
            ),
            None if member => (BootAction::Autostart, None),
            None => (
                BootAction::Nothing {
                    why: "no recovery record and not in the autostart set".into(),
                },
                None,
            ),
        },
    }
}

impl BootAction {
    /// What it will do, for a plan.
    pub fn describe(&self) -> String {
        match self {
            BootAction::Restore { from_save: true } => {
                "start: resume from its managed save (was running before the host shut down)".into()
            }
            BootAction::Restore { from_save: false } => {
                "start (was running before the host shut down)".into()
            }
            BootAction::Autostart => "started by the ordered start below".into(),
            BootAction::KeepStopped { why } => format!("stays off: {why}"),
            BootAction::Destroy { running, has_save } => {
                let mut what = Vec::new();
                if *running {
                    what.push("destroy it (it runs)");
                }
                if *has_save {
                    what.push("discard its managed save");
                }
                format!("on_host_reboot = destroy: {}", what.join(", "))
            }
            BootAction::Nothing { why } => format!("nothing: {why}"),
        }
    }
}

/// One VM's line of the first phase (before the ordered start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreProgress {
    /// The domain's name.
    pub name: String,
    /// The domain's UUID.
    pub uuid: Uuid,
    /// `pending`, `starting`, `started (restored from its managed save)`, `failed: …`.
    pub text: String,
    /// Nothing more happens to it.
    pub done: bool,
    /// It failed (`text` says why).
    pub failed: bool,
}

/// A host boot at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BootProgress {
    /// The VMs restored, destroyed or discarded before the ordered start.
    pub restore: Vec<RestoreProgress>,
    /// The ordered start, once it runs.
    pub autostart: Option<Progress>,
}

/// What happened to a VM with a record, for its `restore_result`.
pub fn applied_text(s: &BootStep, p: &BootProgress, now: DateTime<Utc>) -> String {
    if let Some(line) = p.restore.iter().find(|l| l.uuid == s.uuid) {
        return line.text.clone();
    }
    if s.action == BootAction::Autostart {
        if let Some(step) = p
            .autostart
            .as_ref()
            .and_then(|a| a.steps.iter().find(|x| x.uuid == s.uuid))
        {
            return match &step.state {
                StepState::Up { .. } => "started by the ordered start".into(),
                other => other.describe(now),
            };
        }
    }
    s.action.describe()
}
