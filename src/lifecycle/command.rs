//! Commands: the side effects the lifecycle plans and people ask for, as plain data.
//!
//! A [`Command`] names its VM by UUID (and the name the planner or the person saw, so the
//! executor can refuse when the UUID now carries another name). The executor is the only
//! place that runs them.

use serde::{Deserialize, Serialize};

use super::pressure::{Cause, ReactionKind};
use crate::model::{PersistenceMode, Uuid};

/// What to do to one VM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    Start,
    /// Ask the guest to shut down (ACPI); does not wait.
    Shutdown,
    Reboot,
    /// Hard stop.
    Destroy,
    Suspend,
    Resume,
    ManagedSave,
    /// Discard the managed save image, so the next start boots afresh (the saved
    /// memory is lost).
    DiscardManagedSave,
    /// Undefine with managed save, snapshot metadata and NVRAM.
    Undefine,
    /// Move the expiry `hours` later (from now when already expired).
    ExtendTtl {
        hours: f64,
    },
    /// Write `created_at_unix = at` into a temporary VM's metadata that lacks it (the
    /// moment vmlife first saw it), so every vmlife counts its TTL from the same start.
    StampCreatedAt {
        at: i64,
    },
    /// Set a temporary VM's expiry (`scheduled_cleanup`) to `at`, unix seconds.
    SetExpiry {
        at: i64,
    },
    /// Make the VM permanent or temporary (temporary stamps `created_at_unix` = now).
    SetMode {
        mode: PersistenceMode,
    },
    /// Clean up an expired temporary VM: ask it to shut down and wait `grace_seconds`;
    /// destroy it if still running only when `force`; then undefine it (with managed
    /// save, snapshot metadata, NVRAM) and, with `remove_storage`, delete its volumes.
    /// Every destructive step re-checks that the VM is still due.
    Cleanup {
        force: bool,
        grace_seconds: u64,
        remove_storage: bool,
    },
    /// Start a VM that stopped, as its restart policy says, and count it in
    /// `restart_count` (metadata).
    RestartByPolicy,
    /// The VM ran stably: set `restart_count` back to 0.
    ResetRestartCount,
    /// A reaction to resource pressure (`on_memory_pressure`, `on_disk_full`): suspend
    /// (a VM already paused stays paused), kill (destroy; re-checked: the VM is
    /// temporary or its own policy says `kill`) or resume; journaled with its cause.
    Pressure {
        action: ReactionKind,
        cause: Cause,
    },
    /// Set one limit of a running VM to `value`, live ([`super::limits`]); `old` is the
    /// value read when it was planned, for the journal.
    SetLimit {
        value: super::limits::LimitValue,
        old: Option<u64>,
    },
}

impl Op {
    /// The journal's name for the action.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Start => "start",
            Op::Shutdown => "shutdown",
            Op::Reboot => "reboot",
            Op::Destroy => "destroy",
            Op::Suspend => "suspend",
            Op::Resume => "resume",
            Op::ManagedSave => "managed_save",
            Op::DiscardManagedSave => "discard_managed_save",
            Op::Undefine => "undefine",
            Op::ExtendTtl { .. } => "extend_ttl",
            Op::SetExpiry { .. } => "set_expiry",
            Op::StampCreatedAt { .. } => "stamp_created_at",
            Op::SetMode { .. } => "set_mode",
            Op::Cleanup { .. } => "cleanup",
            Op::RestartByPolicy => "restart",
            Op::ResetRestartCount => "reset_restart_count",
            Op::Pressure { action, .. } => match action {
                ReactionKind::Suspend => "suspend",
                ReactionKind::Kill => "destroy",
                ReactionKind::Resume => "resume",
            },
            Op::SetLimit { .. } => "set_limit",
        }
    }

    /// True for the steps that stop a guest or remove it: the executor re-checks the VM
    /// right before them.
    pub fn is_destructive(&self) -> bool {
        matches!(
            self,
            Op::Shutdown
                | Op::Reboot
                | Op::Destroy
                | Op::ManagedSave
                | Op::DiscardManagedSave
                | Op::Undefine
                | Op::Cleanup { .. }
                | Op::Pressure {
                    action: ReactionKind::Kill,
                    ..
                }
        )
    }

    /// A short human description: `destroy (hard stop)`, `extend TTL by 1h`.
    pub fn describe(&self) -> String {
        match self {
            Op::Start => "start".into(),
            Op::Shutdown => "graceful shutdown (ACPI)".into(),
            Op::Reboot => "reboot".into(),
            Op::Destroy => "destroy (hard power-off)".into(),
            Op::Suspend => "suspend (pause vCPUs)".into(),
            Op::Resume => "resume".into(),
            Op::ManagedSave => "managed save (memory to disk, then stop)".into(),
            Op::DiscardManagedSave => {
                "discard the managed save (the next start boots afresh)".into()
            }
            Op::Undefine => "undefine (remove the domain definition)".into(),
            Op::ExtendTtl { hours } => format!("extend TTL by {hours}h"),
            Op::SetExpiry { at } => format!("expire at {}", super::ttl::show_unix(*at)),
            Op::StampCreatedAt { at } => {
                format!(
                    "record created_at_unix = {} (first seen)",
                    super::ttl::show_unix(*at)
                )
            }
            Op::SetMode { mode } => format!("make {mode}"),
            Op::Cleanup {
                force: true,
                grace_seconds,
                ..
            } => {
                format!("clean up (shut down, {grace_seconds}s grace, then destroy and undefine)")
            }
            Op::Cleanup {
                force: false,
                grace_seconds,
                ..
            } => {
                format!("clean up (shut down, {grace_seconds}s grace, then undefine)")
            }
            Op::RestartByPolicy => "restart (restart policy)".into(),
            Op::ResetRestartCount => "reset restart count (ran stably)".into(),
            Op::Pressure { action, cause } => match action {
                ReactionKind::Suspend => format!("suspend (pause vCPUs) for {cause}"),
                ReactionKind::Kill => format!("destroy (hard power-off) for {cause}"),
                ReactionKind::Resume => format!("resume after {cause}"),
            },
            Op::SetLimit { value, .. } => format!("set {}", value.describe()),
        }
    }
}

/// Who asked: the journal's `actor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "user", rename_all = "snake_case")]
pub enum Actor {
    /// The lifecycle engine, on its own.
    Engine,
    /// A person at the dashboard (their login name).
    Dashboard(String),
    /// A person at the command line (their login name).
    Cli(String),
}

impl std::fmt::Display for Actor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Actor::Engine => f.write_str("engine"),
            Actor::Dashboard(u) => write!(f, "dashboard:{u}"),
            Actor::Cli(u) => write!(f, "cli:{u}"),
        }
    }
}

/// One planned or requested side effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    /// The VM's UUID: what the executor acts on.
    pub vm_id: Uuid,
    /// The name the planner or person saw; a UUID that now has another name is refused.
    pub vm_name: String,
    pub op: Op,
    /// Why, for the journal and the screen.
    pub reason: String,
}

impl Command {
    pub fn new(
        vm_id: impl Into<Uuid>,
        vm_name: impl Into<String>,
        op: Op,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            vm_id: vm_id.into(),
            vm_name: vm_name.into(),
            op,
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
#[path = "command_tests.rs"]
mod tests;
