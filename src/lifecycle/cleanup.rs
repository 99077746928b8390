//! Cleanup rounds, planned: which expired temporary VMs to clean now, and why not the rest.
//!
//! Pure: a function of the VMs' facts, the host's [`VmCleanupPolicy`], the store's
//! records and the clock. The engine runs what this returns; `vmlife plan`, `vmlife
//! cleanup` and the dashboard's cleanup pane show the same [`RoundPlan`].
//!
//! Safety rules held here (and checked by property tests): no command for a permanent
//! VM, a VM with invalid policy, a VM inside its TTL, or one with `auto_cleanup = false`;
//! never more than `cleanup_batch_size` commands, nor more running at once than
//! `max_concurrent_cleanups`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::facts::VmFacts;
use super::ttl::{self, TtlStatus};
use super::{Command, Op};
use crate::model::{
    CleanupStatus, HhMm, PersistenceMode, VmCleanupPolicy, VmCleanupSchedule, VmPersistence,
};

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// True when `minute` (after local midnight) lies in the window `[start, end)`. A window
/// whose end is before its start crosses midnight (22:00–02:00); equal ends mean all day.
pub fn in_window(start: HhMm, end: HhMm, minute: u16) -> bool {
    let (s, e, m) = (start.minutes(), end.minutes(), minute % DAY_MINUTES);
    match s.cmp(&e) {
        std::cmp::Ordering::Equal => true,
        std::cmp::Ordering::Less => s <= m && m < e,
        std::cmp::Ordering::Greater => m >= s || m < e,
    }
}

/// Minutes from `minute` until the window next opens (0 when open now).
pub fn minutes_until_window(start: HhMm, end: HhMm, minute: u16) -> u16 {
    if in_window(start, end, minute) {
        return 0;
    }
    (start.minutes() + DAY_MINUTES - minute % DAY_MINUTES) % DAY_MINUTES
}

/// True when a scheduled round is due: never ran, or `check_interval_minutes` passed.
pub fn round_due(last_round_unix: Option<i64>, now: i64, check_interval_minutes: u32) -> bool {
    match last_round_unix {
        None => true,
        Some(last) => now.saturating_sub(last) >= i64::from(check_interval_minutes) * 60,
    }
}

/// The clock as a round sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    /// Unix seconds.
    pub now: i64,
    /// Minutes after local midnight at `now` (the window is local time, as cron's is).
    pub local_minute: u16,
}

/// Who started a round and what they allow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoundRequest {
    /// A person asked for this round now: it runs whatever the interval, and VMs they
    /// confirmed count as confirmed under `require_confirmation`.
    pub manual: bool,
    /// Run even outside the window (a person's explicit choice).
    pub ignore_window: bool,
    /// Only these VM UUIDs (a cleanup of chosen VMs); `None` is every VM.
    pub only: Option<BTreeSet<String>>,
}

/// What the engine knows besides the VMs.
#[derive(Debug, Clone, Default)]
pub struct RoundInputs {
    /// Cleanup records by VM UUID (the state store).
    pub records: BTreeMap<String, VmCleanupSchedule>,
    /// VM UUIDs whose cleanup is running now.
    pub in_progress: BTreeSet<String>,
    /// VM UUIDs a person confirmed (parked by `require_confirmation`).
    pub confirmed: BTreeSet<String>,
    /// Why the host is short of resources, when it is (`skip_on_low_resources`).
    pub pressure: Option<String>,
    /// Host choice: delete storage volumes with the domain.
    pub remove_storage: bool,
}

/// Where one temporary VM stands in the cleanup lifecycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum VmCleanupState {
    /// Expires later.
    Waiting,
    /// `auto_cleanup = false`: a person cleans it.
    Manual,
    /// Expired and planned in this round.
    Planned,
    /// Expired, waiting for a round (window, interval, batch or concurrency limits).
    Due { why: String },
    /// Expired; `require_confirmation` parks it until a person confirms.
    AwaitingConfirmation,
    /// A cleanup is running now.
    InProgress,
    /// The last attempt failed; it is retried in the next round.
    Failed { attempts: u32, error: String },
}

/// One temporary VM's line in the cleanup pane and `vmlife plan`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmCleanupLine {
    pub vm_name: String,
    pub vm_id: String,
    /// Unix seconds.
    pub expires_at: i64,
    #[serde(flatten)]
    pub state: VmCleanupState,
}

/// The outcome of planning one round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RoundPlan {
    /// `Op::Cleanup` commands to run now, oldest expiry first.
    pub commands: Vec<Command>,
    /// Every temporary VM with valid policy, soonest expiry first.
    pub lines: Vec<VmCleanupLine>,
    /// Why this round cleans nothing although VMs are due (disabled, outside the window,
    /// host under pressure, concurrency full), if so.
    pub held: Option<String>,
    /// Minutes until the window next opens (0 when open).
    pub window_opens_in_minutes: u16,
    /// The round is a dry run: the commands are journaled as "would", not run.
    pub dry_run: bool,
}

/// True when this VM's policy makes it a cleanup candidate once expired.
fn candidate(p: &VmPersistence) -> bool {
    p.mode == PersistenceMode::Temporary
}

/// Plan one round at `clock`.
pub fn plan_round(
    vms: &[VmFacts],
    policy: &VmCleanupPolicy,
    inputs: &RoundInputs,
    request: &RoundRequest,
    clock: Clock,
) -> RoundPlan {
    let open = in_window(
        policy.cleanup_window_start,
        policy.cleanup_window_end,
        clock.local_minute,
    );
    let held = if !policy.cleanup_enabled {
        Some("cleanup is disabled (cleanup.cleanup_enabled = false)".to_string())
    } else if policy.cleanup_in_window_only && !open && !request.ignore_window {
        Some(format!(
            "outside the cleanup window {}–{}",
            policy.cleanup_window_start, policy.cleanup_window_end
        ))
    } else if policy.skip_on_low_resources && inputs.pressure.is_some() {
        Some(format!(
            "host under pressure: {}",
            inputs.pressure.as_deref().unwrap_or_default()
        ))
    } else {
        None
    };

    // Temporary VMs with valid policy, with their expiry.
    let mut temp: Vec<(&VmFacts, &VmPersistence, i64, TtlStatus)> = vms
        .iter()
        .filter_map(|v| {
            let p = &v.meta.as_ref().ok()?.persistence;
            if !candidate(p) {
                return None;
            }
            let st = ttl::status(p, v.first_seen_unix, clock.now);
            let at = st.expires_at()?;
            Some((v, p, at, st))
        })
        .collect();
    temp.sort_by(|a, b| a.2.cmp(&b.2).then_with(|| a.0.name.cmp(&b.0.name)));

    let running = inputs.in_progress.len() as u64;
    let slots = u64::from(policy.max_concurrent_cleanups).saturating_sub(running);
    let mut budget = slots.min(u64::from(policy.cleanup_batch_size));
    let mut commands = Vec::new();
    let mut lines = Vec::with_capacity(temp.len());
    for (v, p, expires_at, st) in temp {
        let record = inputs.records.get(&v.uuid);
        let wanted = request
            .only
            .as_ref()
            .is_none_or(|only| only.contains(&v.uuid));
        let state = if !matches!(st, TtlStatus::Expired { .. }) {
            VmCleanupState::Waiting
        } else if !p.auto_cleanup {
            VmCleanupState::Manual
        } else if inputs.in_progress.contains(&v.uuid) {
            VmCleanupState::InProgress
        } else if policy.require_confirmation && !inputs.confirmed.contains(&v.uuid) {
            VmCleanupState::AwaitingConfirmation
        } else if let Some(why) = held.as_ref().filter(|_| wanted) {
            due_or_failed(record, why.clone())
        } else if !wanted {
            due_or_failed(record, "not part of this cleanup".into())
        } else if budget == 0 {
            let why = if slots == 0 {
                format!(
                    "{} cleanups already running (max_concurrent_cleanups)",
                    running
                )
            } else {
                format!(
                    "batch of {} full (cleanup_batch_size)",
                    policy.cleanup_batch_size
                )
            };
            due_or_failed(record, why)
        } else {
            budget -= 1;
            commands.push(Command::new(
                v.uuid.clone(),
                v.name.clone(),
                Op::Cleanup {
                    force: p.force_cleanup,
                    grace_seconds: p.cleanup_grace_period,
                    remove_storage: inputs.remove_storage,
                },
                expiry_reason(p, expires_at, clock.now),
            ));
            VmCleanupState::Planned
        };
        lines.push(VmCleanupLine {
            vm_name: v.name.clone(),
            vm_id: v.uuid.clone(),
            expires_at,
            state,
        });
    }
    let held = held.filter(|_| {
        lines.iter().any(|l| {
            matches!(
                l.state,
                VmCleanupState::Due { .. } | VmCleanupState::Failed { .. }
            )
        })
    });
    RoundPlan {
        commands,
        lines,
        held,
        window_opens_in_minutes: minutes_until_window(
            policy.cleanup_window_start,
            policy.cleanup_window_end,
            clock.local_minute,
        ),
        dry_run: policy.dry_run_mode,
    }
}

/// Due, or failed with its record's error (it is retried when the round allows).
fn due_or_failed(record: Option<&VmCleanupSchedule>, why: String) -> VmCleanupState {
    match record {
        Some(r) if r.cleanup_status == CleanupStatus::Failed => VmCleanupState::Failed {
            attempts: r.cleanup_attempts,
            error: r.cleanup_error.clone().unwrap_or_default(),
        },
        _ => VmCleanupState::Due { why },
    }
}

/// `expired 2h ago (ttl_hours = 24, created 2026-11-26T10:00:00Z)`.
fn expiry_reason(p: &VmPersistence, expires_at: i64, now: i64) -> String {
    let ago = super::ttl::format_duration(now.saturating_sub(expires_at));
    match p.scheduled_cleanup {
        Some(_) => format!("expired {ago} ago (scheduled_cleanup)"),
        None => format!("expired {ago} ago (ttl_hours = {})", p.ttl_hours),
    }
}

/// Records to drop at `now`: finished (completed or failed) longer ago than
/// `retention_days`, whose VM is gone. A failed record of a VM that still exists is
/// kept: it is still being retried.
pub fn prune(
    records: &BTreeMap<String, VmCleanupSchedule>,
    existing: &BTreeSet<String>,
    now: i64,
    retention_days: u32,
) -> Vec<String> {
    let keep_for = i64::from(retention_days) * 86_400;
    records
        .iter()
        .filter(|(uuid, r)| {
            let finished = matches!(
                r.cleanup_status,
                CleanupStatus::Completed | CleanupStatus::Failed
            );
            let at = r
                .last_cleanup_attempt
                .map_or(r.created_at.timestamp(), |t| t.timestamp());
            finished && !existing.contains(*uuid) && now.saturating_sub(at) > keep_for
        })
        .map(|(uuid, _)| uuid.clone())
        .collect()
}

#[cfg(test)]
#[path = "cleanup_tests.rs"]
mod tests;
