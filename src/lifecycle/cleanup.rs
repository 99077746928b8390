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
//!
//! Failing cleanups back off ([`retry_at`]): a failed VM is retried in a later round,
//! after `check_interval_minutes` doubled per failed attempt (capped at
//! [`MAX_BACKOFF_SECONDS`]), and VMs that never failed go first, so failing ones never
//! starve fresh ones. VMs a person names in a manual request skip the backoff and the
//! slots that failing automatic retries hold.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::facts::VmFacts;
use super::ttl::{self, TtlStatus};
use super::{Command, Op};
use crate::model::{
    CleanupStatus, HhMm, PersistenceMode, Uuid, VmCleanupPolicy, VmCleanupSchedule, VmPersistence,
};

/// Minutes in a day.
const DAY_MINUTES: u16 = 24 * 60;

/// The longest wait between automatic retries of a failing cleanup: a day, so a VM that
/// keeps failing is still tried (and its alert still stands) daily.
pub const MAX_BACKOFF_SECONDS: i64 = 24 * 3600;

/// How the error of an attempt that was cut short by its process's death begins (crash
/// recovery): such a VM is retried at once, not backed off.
pub const INTERRUPTED: &str = "interrupted";

/// Unix seconds from which a failed cleanup may be retried automatically: the last
/// attempt plus `check_interval_minutes` × 2^(attempts − 1), capped at
/// [`MAX_BACKOFF_SECONDS`], less half an interval so that the retry falls on the round
/// that is due then, not on the one after. `None` when the record is not failed, or was
/// only interrupted (retried at once).
pub fn retry_at(record: &VmCleanupSchedule, check_interval_minutes: u32) -> Option<i64> {
    if record.cleanup_status != CleanupStatus::Failed
        || record
            .cleanup_error
            .as_deref()
            .is_some_and(|e| e.starts_with(INTERRUPTED))
    {
        return None;
    }
    let last = record.last_cleanup_attempt?.timestamp();
    let interval = i64::from(check_interval_minutes.max(1)) * 60;
    let doublings = record.cleanup_attempts.saturating_sub(1).min(30);
    let backoff = interval
        .saturating_mul(1i64 << doublings)
        .min(MAX_BACKOFF_SECONDS.max(interval));
    Some(last.saturating_add(backoff - interval / 2))
}

/// True when the VM's last cleanup attempt failed (it goes after VMs that never failed).
fn has_failed(record: Option<&VmCleanupSchedule>) -> bool {
    record.is_some_and(|r| r.cleanup_status == CleanupStatus::Failed)
}

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

/// Seconds until a round due in `due_in` seconds can clean anything up: then, or,
/// when rounds run only in the window and it is closed then, when it next opens.
pub fn round_runs_in(
    start: HhMm,
    end: HhMm,
    window_only: bool,
    local_minute: u16,
    due_in: i64,
) -> i64 {
    let due_in = due_in.max(0);
    if !window_only {
        return due_in;
    }
    let then =
        (i64::from(local_minute % DAY_MINUTES) + due_in / 60).rem_euclid(i64::from(DAY_MINUTES));
    let then = u16::try_from(then).unwrap_or(0);
    due_in + i64::from(minutes_until_window(start, end, then)) * 60
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
    /// Only these VM UUIDs (a cleanup of chosen VMs); `None` is every VM. With `manual`,
    /// these are VMs a person named: they skip the failure backoff and the concurrency
    /// slots that failing automatic retries hold.
    pub only: Option<BTreeSet<Uuid>>,
}

/// What the engine knows besides the VMs.
#[derive(Debug, Clone, Default)]
pub struct RoundInputs {
    /// Cleanup records by VM UUID (the state store).
    pub records: BTreeMap<Uuid, VmCleanupSchedule>,
    /// VM UUIDs whose cleanup is running now.
    pub in_progress: BTreeSet<Uuid>,
    /// Of `in_progress`, the engine's automatic retries of VMs whose cleanup failed before.
    pub retrying: BTreeSet<Uuid>,
    /// VM UUIDs a person confirmed (parked by `require_confirmation`).
    pub confirmed: BTreeSet<Uuid>,
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
    pub vm_id: Uuid,
    /// Unix seconds.
    pub expires_at: i64,
    #[serde(flatten)]
    pub state: VmCleanupState,
    /// A failed VM backing off: unix seconds from which it is retried automatically.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<i64>,
    /// Its last cleanup failed: how often, and why. Kept while it is planned again or
    /// awaits confirmation, so the line never reads as a first attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_failure: Option<LastFailure>,
}

/// A cleanup that failed, as its record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastFailure {
    pub attempts: u32,
    pub error: String,
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
    /// The limit that makes due VMs wait (`max_concurrent_cleanups` or
    /// `cleanup_batch_size`, with its figures), when one does.
    pub limited: Option<String>,
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
    // Never-failed VMs first, then the oldest expiry: failing VMs cannot starve the rest.
    temp.sort_by(|a, b| {
        let failed = |v: &VmFacts| has_failed(inputs.records.get(&v.uuid));
        failed(a.0)
            .cmp(&failed(b.0))
            .then_with(|| a.2.cmp(&b.2))
            .then_with(|| a.0.name.cmp(&b.0.name))
    });

    // VMs a person named run beside the engine's failing retries, not behind them.
    let named = request.manual && request.only.is_some();
    let running = inputs.in_progress.len() as u64;
    let counted = if named {
        running - inputs.in_progress.intersection(&inputs.retrying).count() as u64
    } else {
        running
    };
    let max = u64::from(policy.max_concurrent_cleanups);
    let batch = u64::from(policy.cleanup_batch_size);
    let slots = max.saturating_sub(counted);
    let mut budget = slots.min(batch);
    let limit = if slots < batch {
        format!(
            "max_concurrent_cleanups = {} at once ({counted} already running)",
            policy.max_concurrent_cleanups
        )
    } else {
        format!("batch of {} full (cleanup_batch_size)", batch)
    };
    let mut limited = None;
    let mut commands = Vec::new();
    let mut lines = Vec::with_capacity(temp.len());
    for (v, p, expires_at, st) in temp {
        let record = inputs.records.get(&v.uuid);
        let wanted = request
            .only
            .as_ref()
            .is_none_or(|only| only.contains(&v.uuid));
        let retry = record
            .and_then(|r| retry_at(r, policy.check_interval_minutes))
            .filter(|&at| at > clock.now);
        let backing_off = retry.is_some() && !named;
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
        } else if backing_off {
            due_or_failed(record, "backing off after a failure".into())
        } else if budget == 0 {
            limited = Some(limit.clone());
            due_or_failed(record, limit.clone())
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
            retry_at: retry.filter(|_| backing_off),
            last_failure: record
                .filter(|r| r.cleanup_status == CleanupStatus::Failed)
                .filter(|_| !matches!(state, VmCleanupState::Failed { .. }))
                .map(|r| LastFailure {
                    attempts: r.cleanup_attempts,
                    error: r.cleanup_error.clone().unwrap_or_default(),
                }),
            state,
        });
    }
    // The pane reads soonest expiry first, whatever order the budget went in.
    lines.sort_by(|a, b| {
        a.expires_at
            .cmp(&b.expires_at)
            .then_with(|| a.vm_name.cmp(&b.vm_name))
    });
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
        limited,
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
    records: &BTreeMap<Uuid, VmCleanupSchedule>,
    existing: &BTreeSet<Uuid>,
    now: i64,
    retention_days: u32,
) -> Vec<Uuid> {
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
