//! `vmlife recover [DOMAIN...]`: bring VMs back to the state their recovery record
//! says (docs/ARCHITECTURE.md §1).
//!
//! For each record (all, or those of the named VMs), in start order (the reverse of
//! the order host shutdown handled them):
//! - the domain is gone: re-define it from the record's config snapshot (journaled as
//!   `define`), unless another domain now has its name;
//! - recorded running or paused and now shut off: start it (a start restores its
//!   managed save when it has one); recorded paused: pause it after the start unless
//!   the restore already left it paused; recorded running but paused now: resume it;
//! - recorded stopped: nothing (a running VM is never stopped by `recover`: it only
//!   brings VMs back).
//!
//! Applies records whether or not host boot applied them already, and marks them.

use std::collections::BTreeSet;

use chrono::Utc;
use serde::Serialize;

use crate::executor::precondition::state_of;
use crate::hypervisor::RunState;
use crate::lifecycle::Op;
use crate::model::{RecoveryVmState, Uuid};
use crate::poll::Vm;
use crate::store::JournalEntry;

use super::recovery_file::RecoveryFile;
use super::HostCtx;

/// What `recover` does for one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RecoverAction {
    /// Re-define the domain from its config snapshot, then bring it to `want`.
    Define { want: RecoveryVmState },
    /// Start it; pause it afterwards when `pause`.
    Start { pause: bool },
    /// Pause it (recorded paused, running now).
    Suspend,
    /// Resume it (recorded running, paused now).
    Resume,
    /// Nothing to do.
    Nothing { why: String },
    /// It cannot be done.
    Refuse { why: String },
}

/// One record's recovery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecoverStep {
    /// Index into the file's records.
    pub record: usize,
    /// The recorded name.
    pub name: String,
    /// The recorded UUID.
    pub uuid: Uuid,
    /// The recorded state.
    pub want: RecoveryVmState,
    /// What `recover` does.
    pub action: RecoverAction,
}

impl RecoverStep {
    /// `web-1 (recorded running): start (restores its managed save when it has one)`.
    pub fn describe(&self) -> String {
        let what = match &self.action {
            RecoverAction::Define { want } => format!(
                "re-define from its config snapshot{}",
                match want {
                    RecoveryVmState::Stopped => String::new(),
                    RecoveryVmState::Running => ", then start it".into(),
                    RecoveryVmState::Paused => ", then start and pause it".into(),
                }
            ),
            RecoverAction::Start { pause: false } => {
                "start (restores its managed save when it has one)".into()
            }
            RecoverAction::Start { pause: true } => {
                "start (restores its managed save when it has one), then pause".into()
            }
            RecoverAction::Suspend => "pause".into(),
            RecoverAction::Resume => "resume".into(),
            RecoverAction::Nothing { why } => format!("nothing: {why}"),
            RecoverAction::Refuse { why } => format!("cannot: {why}"),
        };
        format!("{} (recorded {}): {what}", self.name, self.want)
    }
}

/// Plans the recovery of the records of `domains` (names or recorded UUIDs; all when
/// empty). A name without a record is an error naming it.
pub fn plan_recover(
    file: &RecoveryFile,
    views: &[Vm],
    domains: &[String],
) -> Result<Vec<RecoverStep>, String> {
    let mut unknown: Vec<&str> = Vec::new();
    for d in domains {
        if !file
            .records
            .iter()
            .any(|r| &r.state.vm_name == d || &r.state.vm_id == d)
        {
            unknown.push(d);
        }
    }
    if !unknown.is_empty() {
        return Err(format!(
            "no recovery record for {} in the recovery file",
            unknown.join(", ")
        ));
    }
    let wanted: BTreeSet<&str> = domains.iter().map(String::as_str).collect();
    let mut steps = Vec::new();
    // Start order: the reverse of the order host shutdown handled them.
    for (i, r) in file.records.iter().enumerate().rev() {
        let s = &r.state;
        if !wanted.is_empty()
            && !wanted.contains(s.vm_name.as_str())
            && !wanted.contains(s.vm_id.as_str())
        {
            continue;
        }
        let want = s.state_before_shutdown;
        let action = match views.iter().find(|v| v.uuid == s.vm_id) {
            Some(v) => {
                let state = v.state;
                let active = state.is_some_and(RunState::is_active);
                let paused = matches!(state, Some(RunState::Paused));
                match want {
                    RecoveryVmState::Stopped if active => RecoverAction::Nothing {
                        why:
                            "running, recorded as stopped: left running (recover never stops a VM)"
                                .into(),
                    },
                    RecoveryVmState::Stopped => RecoverAction::Nothing {
                        why: "stopped, as recorded".into(),
                    },
                    _ if !active => RecoverAction::Start {
                        pause: want == RecoveryVmState::Paused,
                    },
                    RecoveryVmState::Paused if !paused => RecoverAction::Suspend,
                    RecoveryVmState::Running if paused => RecoverAction::Resume,
                    _ => RecoverAction::Nothing {
                        why: format!("already {want}"),
                    },
                }
            }
            None => match views.iter().find(|v| v.snapshot.vm_name == s.vm_name) {
                Some(other) => RecoverAction::Refuse {
                    why: format!(
                        "the domain is gone and its name is now used by another domain ({})",
                        other.uuid
                    ),
                },
                None if r.domain_xml().is_some() => RecoverAction::Define { want },
                None => RecoverAction::Refuse {
                    why: "the domain is gone and the record has no config snapshot".into(),
                },
            },
        };
        steps.push(RecoverStep {
            record: i,
            name: s.vm_name.clone(),
            uuid: s.vm_id.clone(),
            want,
            action,
        });
    }
    Ok(steps)
}

/// Runs the steps one by one, marks each record, and saves the file. Returns each
/// step's result (`Err` for a failure or a refusal).
pub fn run_recover(
    ctx: &HostCtx,
    file: &mut RecoveryFile,
    steps: &[RecoverStep],
    on_result: &mut dyn FnMut(&RecoverStep, &Result<String, String>),
) -> (Vec<Result<String, String>>, Option<String>) {
    let mut results = Vec::new();
    for s in steps {
        let r = recover_one(ctx, file, s);
        on_result(s, &r);
        if !matches!(
            s.action,
            RecoverAction::Nothing { .. } | RecoverAction::Refuse { .. }
        ) {
            let rec = &mut file.records[s.record];
            rec.restored_at = Some(ctx.clock.now());
            rec.restore_result = Some(match &r {
                Ok(t) => format!("recover: {t}"),
                Err(e) => format!("recover failed: {e}"),
            });
        }
        results.push(r);
    }
    let store_error = file.save(&ctx.state_dir).err();
    (results, store_error)
}

fn recover_one(ctx: &HostCtx, file: &RecoveryFile, s: &RecoverStep) -> Result<String, String> {
    let reason = format!("recover: recorded {}", s.want);
    match &s.action {
        RecoverAction::Nothing { why } => Ok(why.clone()),
        RecoverAction::Refuse { why } => Err(why.clone()),
        RecoverAction::Suspend => exec(ctx, s, Op::Suspend, &reason).map(|_| "paused".into()),
        RecoverAction::Resume => exec(ctx, s, Op::Resume, &reason).map(|_| "resumed".into()),
        RecoverAction::Start { pause } => start(ctx, s, &s.uuid, *pause, &reason),
        RecoverAction::Define { want } => {
            let xml = file.records[s.record]
                .domain_xml()
                .ok_or_else(|| "the record has no config snapshot".to_string())?;
            let defined = ctx.hv.define(xml);
            let entry = JournalEntry {
                time: Utc::now(),
                actor: ctx.actor.to_string(),
                vm_name: s.name.clone(),
                vm_id: defined
                    .as_ref()
                    .map_or_else(|_| s.uuid.clone(), Clone::clone),
                action: "define".into(),
                reason: "recover: the domain was gone; re-defined from its config snapshot".into(),
                result: match &defined {
                    Ok(_) => "ok".into(),
                    Err(e) => format!("error: {e}"),
                },
                detail: None,
                host: None,
            };
            let journal_note = ctx
                .journal
                .append(&entry)
                .err()
                .map(|e| format!(" (not journaled: {e})"))
                .unwrap_or_default();
            let uuid = defined.map_err(|e| format!("define failed: {e}{journal_note}"))?;
            match want {
                RecoveryVmState::Stopped => Ok(format!("re-defined{journal_note}")),
                w => start(ctx, s, &uuid, *w == RecoveryVmState::Paused, &reason)
                    .map(|t| format!("re-defined, {t}{journal_note}")),
            }
        }
    }
}

fn exec(ctx: &HostCtx, s: &RecoverStep, op: Op, reason: &str) -> Result<(), String> {
    let r = ctx.run(&s.uuid, &s.name, op, reason);
    if r.outcome.is_ok() {
        Ok(())
    } else {
        Err(r.to_string())
    }
}

fn start(
    ctx: &HostCtx,
    s: &RecoverStep,
    uuid: &str,
    pause: bool,
    reason: &str,
) -> Result<String, String> {
    let r = ctx.run(uuid, &s.name, Op::Start, reason);
    if !r.outcome.is_ok() {
        return Err(r.to_string());
    }
    if !pause {
        return Ok("started".into());
    }
    // A VM saved while paused is restored paused.
    if let Ok(Some(d)) = state_of(&*ctx.hv, uuid) {
        if d.state == Some(RunState::Paused) {
            return Ok("started (restored paused)".into());
        }
    }
    let r = ctx.run(uuid, &s.name, Op::Suspend, reason);
    if r.outcome.is_ok() {
        Ok("started and paused".into())
    } else {
        Err(format!("started, but {r}"))
    }
}
