//! Host shutdown, the pure part: which VMs, in which order, with which action, and the
//! state of each while [`crate::host::shutdown`] carries it out.
//!
//! The policy and the order are described in [`crate::host::shutdown`]; this module
//! takes plain facts ([`ShutdownVm`]) and the host default policy, and returns a
//! [`ShutdownPlan`]. No IO: the runner reads the VMs, the warnings and the clock.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{autostart, VmFacts};
use crate::model::{HostShutdownAction, RecoveryVmState, Uuid, VmLifecyclePolicy};

/// One VM as host shutdown sees it: plain facts the runner read.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownVm {
    /// Its identity and policy.
    pub facts: VmFacts,
    /// What it is doing now.
    pub state: RecoveryVmState,
    /// Defined, not transient.
    pub persistent: bool,
    /// Its configured memory in MiB, when known.
    pub memory_mb: Option<u64>,
}

/// One VM of a host shutdown.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShutdownStep {
    /// The domain's UUID.
    pub uuid: Uuid,
    /// The domain's name.
    pub name: String,
    /// What it was doing when the plan was made.
    pub state: RecoveryVmState,
    /// The effective `on_host_shutdown`.
    pub action: HostShutdownAction,
    /// Defined, not transient (a transient domain cannot be saved).
    pub persistent: bool,
    /// Steps (indexes) that must be done first: the running VMs that depend on it.
    pub after: Vec<usize>,
    /// Its configured memory in MiB (the recorded size when the image is not readable).
    pub memory_mb: Option<u64>,
    /// Something a person should know (an invalid policy: the host default applies).
    pub note: Option<String>,
}

/// The VMs of a host shutdown, in the order they are handled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ShutdownPlan {
    /// In the order they are handled.
    pub steps: Vec<ShutdownStep>,
    /// Things a person should know (no dependency order).
    pub notes: Vec<String>,
    /// Others that act on the same VMs (libvirt-guests).
    pub warnings: Vec<String>,
}

/// Plans the host shutdown of `vms` (every VM, for the dependency order), restricted
/// to `only` (names or UUIDs) when given, with `host_policy` as the host default. The
/// plan has no warnings: the runner adds them.
pub fn plan(
    vms: &[ShutdownVm],
    host_policy: &VmLifecyclePolicy,
    only: Option<&BTreeSet<String>>,
) -> ShutdownPlan {
    let mut notes = Vec::new();
    let facts: Vec<VmFacts> = vms.iter().map(|v| v.facts.clone()).collect();
    let order = autostart::plan(autostart::select(&facts, None).candidates);
    let start_order: Vec<String> = order
        .steps
        .iter()
        .filter(|s| !s.candidate.external && s.candidate.held_back.is_none())
        .map(|s| s.candidate.name.clone())
        .collect();
    for (name, why) in order.held_back() {
        notes.push(format!(
            "{name}: held back from the dependency order ({why}): stopped without it"
        ));
    }
    // Outside the ordered start first (by name), then the ordered start reversed.
    let mut names: Vec<&str> = vms
        .iter()
        .map(|v| v.facts.name.as_str())
        .filter(|n| !start_order.iter().any(|s| s == n))
        .collect();
    names.extend(start_order.iter().rev().map(String::as_str));
    let mut steps: Vec<ShutdownStep> = names
        .iter()
        .filter_map(|n| vms.iter().find(|v| v.facts.name == *n))
        .filter(|v| {
            only.is_none_or(|o| o.contains(v.facts.uuid.as_str()) || o.contains(&v.facts.name))
        })
        .map(|v| {
            let (policy, note) = match &v.facts.meta {
                Ok(m) => (m.policy.apply(host_policy), None),
                Err(e) => (
                    host_policy.clone(),
                    Some(format!(
                        "invalid policy ({e}): the host default on_host_shutdown = {} applies",
                        host_policy.on_host_shutdown
                    )),
                ),
            };
            ShutdownStep {
                uuid: v.facts.uuid.clone(),
                name: v.facts.name.clone(),
                state: v.state,
                action: policy.on_host_shutdown,
                persistent: v.persistent,
                after: Vec::new(),
                memory_mb: v.memory_mb,
                note,
            }
        })
        .collect();
    {
        let p = &order;
        for i in 0..steps.len() {
            let Some(pos) = p.position(&steps[i].name) else {
                continue;
            };
            let after: Vec<usize> = p
                .dependants(pos)
                .into_iter()
                .filter_map(|d| {
                    steps
                        .iter()
                        .position(|s| s.name == p.steps[d].candidate.name)
                })
                .filter(|&k| steps[k].state != RecoveryVmState::Stopped)
                .collect();
            steps[i].after = after;
        }
    }
    ShutdownPlan {
        steps,
        notes,
        warnings: Vec::new(),
    }
}

/// Where one VM is in a host shutdown. Plain data for a progress pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StopState {
    /// Waiting for the VMs that depend on it (`on`), or for a free slot (`on` empty).
    Waiting { on: Vec<String> },
    /// Resuming a paused guest so it can shut down.
    Resuming,
    /// Asked to shut down; waiting up to `timeout_seconds`.
    ShuttingDown {
        since: DateTime<Utc>,
        timeout_seconds: u64,
    },
    /// A managed save is in flight.
    Saving { since: DateTime<Utc> },
    /// A destroy is in flight.
    Destroying,
    /// Stopped (or was not running): how.
    Done { result: String },
    /// Still running, as `after_timeout = "leave"` says.
    Left { result: String },
    /// It failed; why.
    Failed { why: String },
    /// Not handled (cancelled).
    Skipped { why: String },
}

impl StopState {
    /// Nothing more happens to it.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            StopState::Done { .. }
                | StopState::Left { .. }
                | StopState::Failed { .. }
                | StopState::Skipped { .. }
        )
    }

    /// A short text at `now`: `shutting down (12/120 s)`, `saved (managed save)`.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let secs = |since: &DateTime<Utc>| (now - *since).num_seconds().max(0);
        match self {
            StopState::Waiting { on } if on.is_empty() => "waiting for a free slot".into(),
            StopState::Waiting { on } => format!("waiting for {} to stop first", on.join(", ")),
            StopState::Resuming => "resuming (paused guests cannot shut down)".into(),
            StopState::ShuttingDown {
                since,
                timeout_seconds,
            } => format!("shutting down ({}/{timeout_seconds} s)", secs(since)),
            StopState::Saving { since } => format!("saving memory ({} s)", secs(since)),
            StopState::Destroying => "destroying".into(),
            StopState::Done { result } | StopState::Left { result } => result.clone(),
            StopState::Failed { why } => format!("failed: {why}"),
            StopState::Skipped { why } => format!("skipped: {why}"),
        }
    }
}

/// One VM's line of a host shutdown's progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StopProgress {
    /// The domain's name.
    pub name: String,
    /// The domain's UUID.
    pub uuid: Uuid,
    /// Where it is.
    pub state: StopState,
    /// [`StopState::describe`] at the progress time.
    pub text: String,
}

/// A host shutdown at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShutdownProgress {
    /// When.
    pub at: DateTime<Utc>,
    /// In the order of the plan.
    pub steps: Vec<StopProgress>,
    /// Every VM is done.
    pub done: bool,
}

/// The progress of `plan` with `states` (one per step) at `now`.
pub fn progress(plan: &ShutdownPlan, states: &[StopState], now: DateTime<Utc>) -> ShutdownProgress {
    ShutdownProgress {
        at: now,
        steps: plan
            .steps
            .iter()
            .zip(states)
            .map(|(s, st)| StopProgress {
                name: s.name.clone(),
                uuid: s.uuid.clone(),
                state: st.clone(),
                text: st.describe(now),
            })
            .collect(),
        done: states.iter().all(StopState::is_terminal),
    }
}

/// The names of `plan`'s VMs that its run would act on (running or paused).
pub fn to_act_on(plan: &ShutdownPlan) -> BTreeSet<&str> {
    plan.steps
        .iter()
        .filter(|s| s.state != RecoveryVmState::Stopped)
        .map(|s| s.name.as_str())
        .collect()
}
