//! The cleanup record lifecycle, as edits of [`StoreData`] (run inside
//! [`super::EngineStore::update`], so they see and change the files under the lock).
//!
//! ```text
//! (none) ──claim──▶ in_progress ──Ok──────▶ completed   (the VM is gone)
//!                        │       ──Failed──▶ failed      (attempts+1, error; retried)
//!                        │       ──Refused/DryRun──▶ pending (not an attempt)
//!                        └─ owner died ──▶ failed "interrupted" (VM exists) / completed (gone)
//! ```
//! `in_progress` is written (with a [`Claim`] naming the owner) before the command is
//! submitted, so a crash at any point leaves a record that says what was going on.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::procid::{is_alive, OwnerId};
use super::state_files::{Claim, StoreData, MAX_ALERTS};
use crate::executor::{ExecResult, Outcome};
use crate::lifecycle::ttl::{self, TtlStatus};
use crate::lifecycle::{Actor, Command, Op, VmFacts};
use crate::model::{CleanupMode, CleanupStatus, PersistenceMode, Uuid, VmCleanupSchedule};

/// The moment `unix` as a UTC time (`fallback` when out of range).
pub fn utc(unix: i64, fallback: DateTime<Utc>) -> DateTime<Utc> {
    DateTime::from_timestamp(unix, 0).unwrap_or(fallback)
}

/// True when the VM is temporary with valid policy and past its expiry at `now`.
pub fn is_expired(v: &VmFacts, now: i64) -> bool {
    v.meta.as_ref().is_ok_and(|m| {
        m.persistence.mode == PersistenceMode::Temporary
            && matches!(
                ttl::status(&m.persistence, v.first_seen_unix, now),
                TtlStatus::Expired { .. }
            )
    })
}

/// A fresh `pending` record for a temporary VM; `None` when it is not temporary or its
/// policy is invalid.
pub fn new_record(v: &VmFacts, now: DateTime<Utc>) -> Option<VmCleanupSchedule> {
    let p = &v.meta.as_ref().ok()?.persistence;
    if p.mode != PersistenceMode::Temporary {
        return None;
    }
    let created = p.created_at_unix.unwrap_or(v.first_seen_unix);
    let expires = ttl::expires_at(p, v.first_seen_unix)?;
    Some(VmCleanupSchedule {
        vm_name: v.name.clone(),
        vm_id: v.uuid.clone(),
        mode: CleanupMode::Temporary,
        created_at: utc(created, now),
        scheduled_cleanup_at: utc(expires, now),
        ttl_hours: p.ttl_hours,
        cleanup_status: CleanupStatus::Pending,
        cleanup_attempts: 0,
        last_cleanup_attempt: None,
        cleanup_error: None,
    })
}

/// True when someone alive claims the VM's cleanup.
pub fn claimed_by_live(data: &StoreData, uuid: &str) -> Option<Claim> {
    data.cleanups
        .claims
        .get(uuid)
        .filter(|c| is_alive(&c.owner))
        .cloned()
}

/// UUIDs whose cleanup a live process runs now.
pub fn live_in_progress(data: &StoreData) -> BTreeSet<Uuid> {
    data.cleanups
        .claims
        .iter()
        .filter(|(uuid, c)| {
            is_alive(&c.owner)
                && data
                    .cleanups
                    .records
                    .get(*uuid)
                    .is_some_and(|r| r.cleanup_status == CleanupStatus::InProgress)
        })
        .map(|(uuid, _)| uuid.clone())
        .collect()
}

/// Marks each wanted cleanup `in_progress`, claimed by `owner`; returns the commands it
/// could claim (not those a live process already runs).
pub fn claim(
    data: &mut StoreData,
    wanted: &[(Command, VmFacts)],
    owner: &OwnerId,
    actor: &Actor,
    now: DateTime<Utc>,
) -> Vec<Command> {
    let mut claimed = Vec::new();
    for (cmd, facts) in wanted {
        if !matches!(cmd.op, Op::Cleanup { .. }) {
            continue;
        }
        let uuid = &cmd.vm_id;
        if claimed_by_live(data, uuid).is_some_and(|c| &c.owner != owner) {
            continue;
        }
        let fresh = new_record(facts, now);
        let record = match (data.cleanups.records.remove(uuid), fresh) {
            (Some(mut r), Some(f)) => {
                r.vm_name = f.vm_name;
                r.created_at = f.created_at;
                r.scheduled_cleanup_at = f.scheduled_cleanup_at;
                r.ttl_hours = f.ttl_hours;
                r
            }
            (Some(r), None) => r,
            (None, Some(f)) => f,
            (None, None) => continue,
        };
        let mut record = record;
        record.cleanup_status = CleanupStatus::InProgress;
        data.cleanups.records.insert(uuid.clone(), record);
        data.cleanups.claims.insert(
            uuid.clone(),
            Claim {
                owner: owner.clone(),
                since: now,
                actor: actor.to_string(),
            },
        );
        claimed.push(cmd.clone());
    }
    claimed
}

/// UUIDs whose cleanup the engine (a live one) is retrying now after an earlier failure:
/// the slots a person's named cleanup may use anyway.
pub fn automatic_retries(data: &StoreData) -> BTreeSet<Uuid> {
    let engine = Actor::Engine.to_string();
    data.cleanups
        .claims
        .iter()
        .filter(|(uuid, c)| {
            c.actor == engine
                && is_alive(&c.owner)
                && data.cleanups.records.get(*uuid).is_some_and(|r| {
                    r.cleanup_status == CleanupStatus::InProgress && r.cleanup_attempts > 0
                })
        })
        .map(|(uuid, _)| uuid.clone())
        .collect()
}

/// A failed cleanup attempt, as [`finish`] recorded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The attempt's error.
    pub error: String,
    /// The previous attempt failed with the same error: no new alert.
    pub repeated: bool,
}

/// Records a cleanup's result; returns the failure when the attempt failed.
pub fn finish(data: &mut StoreData, r: &ExecResult, now: DateTime<Utc>) -> Option<Failure> {
    if !matches!(r.cmd.op, Op::Cleanup { .. }) {
        return None;
    }
    let uuid = &r.cmd.vm_id;
    data.cleanups.claims.remove(uuid);
    let record = data.cleanups.records.get_mut(uuid)?;
    let mut failed = None;
    match &r.outcome {
        Outcome::Ok(_) => {
            record.cleanup_status = CleanupStatus::Completed;
            record.cleanup_attempts += 1;
            record.last_cleanup_attempt = Some(now);
            record.cleanup_error = None;
            data.engine.confirmed.remove(uuid);
        }
        Outcome::Failed(e) => {
            let repeated = record.cleanup_attempts > 0 && record.cleanup_error.as_ref() == Some(e);
            record.cleanup_status = CleanupStatus::Failed;
            record.cleanup_attempts += 1;
            record.last_cleanup_attempt = Some(now);
            record.cleanup_error = Some(e.clone());
            failed = Some(Failure {
                error: e.clone(),
                repeated,
            });
        }
        // Not an attempt: nothing was done (no longer due, renamed, replaced; or a dry
        // run). It waits for the next round again.
        Outcome::Refused(_) | Outcome::DryRun(_) => {
            record.cleanup_status = CleanupStatus::Pending;
        }
    }
    failed
}

/// What crash recovery did to one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    /// The VM's UUID.
    pub vm_id: Uuid,
    /// The VM's name in the record.
    pub vm_name: String,
    /// True when the VM was gone (the cleanup had finished): `completed`.
    pub completed: bool,
    /// The record's error when it became `failed`.
    pub error: Option<String>,
}

/// Settles `in_progress` records whose owner is gone (a crash, a kill): `failed`
/// ("interrupted", one more attempt) when the VM still exists, `completed` when it is
/// gone. Also drops claims that name dead owners.
pub fn recover(
    data: &mut StoreData,
    existing: &BTreeSet<Uuid>,
    now: DateTime<Utc>,
) -> Vec<Recovered> {
    let mut out = Vec::new();
    let claims = &mut data.cleanups.claims;
    for (uuid, record) in data.cleanups.records.iter_mut() {
        if record.cleanup_status != CleanupStatus::InProgress {
            continue;
        }
        let owner = claims.get(uuid).map(|c| c.owner.clone());
        if owner.as_ref().is_some_and(is_alive) {
            continue;
        }
        claims.remove(uuid);
        let completed = !existing.contains(uuid);
        let error = if completed {
            record.cleanup_status = CleanupStatus::Completed;
            record.cleanup_error = None;
            None
        } else {
            let who =
                owner.map_or_else(|| "an unknown process".into(), |o| format!("pid {}", o.pid));
            let e = format!(
                "{}: the process running it ({who}) stopped",
                crate::lifecycle::cleanup::INTERRUPTED
            );
            record.cleanup_status = CleanupStatus::Failed;
            record.cleanup_error = Some(e.clone());
            Some(e)
        };
        record.cleanup_attempts += 1;
        record.last_cleanup_attempt = Some(now);
        out.push(Recovered {
            vm_id: uuid.clone(),
            vm_name: record.vm_name.clone(),
            completed,
            error,
        });
    }
    let records = &data.cleanups.records;
    claims.retain(|uuid, c| {
        is_alive(&c.owner)
            && records
                .get(uuid)
                .is_some_and(|r| r.cleanup_status == CleanupStatus::InProgress)
    });
    out
}

/// True when [`recover`] has something to do.
pub fn needs_recovery(data: &StoreData) -> bool {
    data.cleanups.records.iter().any(|(uuid, r)| {
        r.cleanup_status == CleanupStatus::InProgress && claimed_by_live(data, uuid).is_none()
    }) || data.cleanups.claims.values().any(|c| !is_alive(&c.owner))
}

/// Housekeeping at the start of a round: prunes finished records older than
/// `retention_days` whose VM is gone (and alerts older than that, or whose VM is gone),
/// and drops pending records and confirmations of VMs that are gone or no longer
/// expired.
pub fn tidy(data: &mut StoreData, vms: &[VmFacts], now: DateTime<Utc>, retention_days: u32) {
    let now_s = now.timestamp();
    let by_uuid: BTreeMap<&str, &VmFacts> = vms.iter().map(|v| (v.uuid.as_str(), v)).collect();
    let existing: BTreeSet<Uuid> = vms.iter().map(|v| v.uuid.clone()).collect();
    for uuid in
        crate::lifecycle::cleanup::prune(&data.cleanups.records, &existing, now_s, retention_days)
    {
        data.cleanups.records.remove(&uuid);
        data.cleanups.claims.remove(&uuid);
    }
    let still_due = |uuid: &str| by_uuid.get(uuid).is_some_and(|v| is_expired(v, now_s));
    data.cleanups
        .records
        .retain(|uuid, r| r.cleanup_status != CleanupStatus::Pending || still_due(uuid));
    data.engine.confirmed.retain(|uuid, _| still_due(uuid));
    let keep_for = chrono::Duration::days(i64::from(retention_days));
    data.engine.alerts.retain(|a| now - a.time <= keep_for);
    // An alert whose VM is gone (cleaned up, undefined) has no cause left: it clears.
    data.engine.alerts.retain(|a| existing.contains(&a.vm_id));
    let excess = data.engine.alerts.len().saturating_sub(MAX_ALERTS);
    data.engine.alerts.drain(..excess);
}
