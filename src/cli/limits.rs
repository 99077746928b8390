//! `vmlife limits [--json] [--apply] [--dry-run] [DOMAIN...]`: each running VM's
//! limits, desired against actual (docs/ARCHITECTURE.md §1, "Limits"), and with
//! `--apply` the drifting ones set now, through the executor (journaled `set_limit`
//! with old and new values, the UUID re-checked). A tunable the driver refuses, to read
//! or to set, is shown once per VM and limit with the reason, and not tried again in
//! this run.

use super::columns::write_columns;
use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use clap::Args;
use serde::Serialize;

use super::RunError;
use crate::engine::limits::{read_refusals, reports};
use crate::engine::PlanEntry;
use crate::executor::{ExecOptions, Executor, Outcome};
use crate::format::escape;
use crate::lifecycle::limits::{
    show_bytes, show_kib, LimitKind, LimitReport, LimitRow, LimitStatus, LimitValue, RefusalMemo,
    VmLimitFacts,
};
use crate::lifecycle::Actor;
use crate::model::Uuid;
use crate::poll::Vm;
use crate::session::{login_name, Error, Session};

/// The flags of `vmlife limits`.
#[derive(Debug, Clone, Default, Args)]
pub struct LimitsArgs {
    /// One JSON array, an object per VM and limit.
    #[arg(long)]
    pub json: bool,
    /// Set the drifting limits now (live), whatever `[limits] apply` says.
    #[arg(long)]
    pub apply: bool,
    /// With --apply: say what would be set, journal it as "would", change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these VMs (names or UUIDs); default: every VM.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

/// One row of `--json`: the reconcile's row and, with `--apply`, what its step did.
#[derive(Debug, Serialize)]
struct RowJson<'a> {
    #[serde(flatten)]
    row: &'a LimitRow,
    /// The journal's result of the `set_limit` step (`ok`, `error: …`, `dry run: would
    /// …`); `null` when nothing was run for it.
    result: Option<String>,
}

/// Reconcile, apply when asked, print.
pub fn run(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &LimitsArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let mut only = BTreeSet::new();
    for d in &args.domains {
        only.insert(s.hv.lookup(d)?.uuid);
    }
    let views: Vec<Vm> = super::ls::poll_once(s, now)?
        .into_iter()
        .filter(|v| only.is_empty() || only.contains(&v.uuid))
        .collect();
    let mut memo = RefusalMemo::new();
    let none = |_: &str| BTreeSet::new();
    let mut results: Vec<(Uuid, LimitKind, Option<String>, String)> = Vec::new();
    let mut failed = 0;
    let mut list = reports(&*s.hv, &views, &s.config, &memo, &none);
    remember_reads(&mut memo, &list);
    if args.apply {
        let exec = executor(s, state_dir, args.dry_run)?;
        let actor = Actor::Cli(login_name());
        for (f, r) in &list {
            for step in &r.steps {
                let res = exec.run_now(step.command(), actor.clone());
                let kind = step.value.kind();
                let target = match &step.value {
                    LimitValue::Disk { target, .. } => Some(target.clone()),
                    _ => None,
                };
                if let Outcome::Failed(e) = &res.outcome {
                    failed += 1;
                    memo.remember(&f.uuid, kind, &f.declared, e);
                }
                if !args.json {
                    writeln!(out, "{}", escape(&res.to_string()))?;
                }
                results.push((f.uuid.clone(), kind, target, res.outcome.journal_result()));
            }
        }
        // Read again: the table shows what is set now, refusals with their reason.
        list = reports(&*s.hv, &views, &s.config, &memo, &none);
        if !args.json && !results.is_empty() {
            writeln!(out)?;
        }
    }
    if args.json {
        let rows: Vec<RowJson<'_>> = list
            .iter()
            .flat_map(|(_, r)| r.rows.iter())
            .map(|row| RowJson {
                row,
                result: results
                    .iter()
                    .find(|(u, k, t, _)| *u == row.vm_id && *k == row.limit && *t == row.target)
                    .map(|(.., res)| res.clone()),
            })
            .collect();
        serde_json::to_writer_pretty(&mut *out, &rows)?;
        writeln!(out)?;
    } else {
        write_table(&list, out)?;
        let drifting = list.iter().any(|(_, r)| !r.steps.is_empty());
        if drifting && !args.apply {
            let how = if s.config.limits.apply {
                "the engine sets them ([limits] apply = true)"
            } else {
                "report only ([limits] apply = false); set them with `vmlife limits --apply`"
            };
            writeln!(out, "\nlimits drift: {how}")?;
        }
    }
    if failed > 0 {
        return Err(Error::new(format!("{failed} limit(s) could not be set")).into());
    }
    Ok(())
}

/// `plan`'s `set_limit` actions: what the engine would set now, when `[limits] apply`
/// is on (none when it reports only).
pub fn plan_entries(s: &Session, views: &[Vm], at: DateTime<Utc>) -> Vec<PlanEntry> {
    if !s.config.limits.apply {
        return Vec::new();
    }
    let none = |_: &str| BTreeSet::new();
    reports(&*s.hv, views, &s.config, &RefusalMemo::new(), &none)
        .iter()
        .flat_map(|(_, r)| r.steps.iter())
        .map(|step| PlanEntry {
            vm_name: step.vm_name.clone(),
            vm_id: step.vm_id.clone(),
            action: "set_limit".into(),
            reason: format!("{}: {}", step.value.describe(), step.reason),
            at,
        })
        .collect()
}

/// `plan`'s text: the limits the engine would set.
pub fn write_plan(entries: &[PlanEntry], out: &mut impl Write) -> std::io::Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    writeln!(
        out,
        "
would set {} limit(s) ([limits] apply = true):",
        entries.len()
    )?;
    for e in entries {
        writeln!(out, "  {}  {}", escape(&e.vm_name), escape(&e.reason))?;
    }
    Ok(())
}

/// Refused reads go to the memo, so the same run does not try to set them.
fn remember_reads(memo: &mut RefusalMemo, list: &[(VmLimitFacts, LimitReport)]) {
    for (f, _) in list {
        for (kind, msg) in read_refusals(f) {
            memo.remember(&f.uuid, kind, &f.declared, &msg);
        }
    }
}

fn executor(s: &Session, state_dir: &Path, dry_run: bool) -> Result<Executor, RunError> {
    let journal = s
        .journal(state_dir)
        .map_err(|e| Error::new(format!("state dir {}: {e}", state_dir.display())))?;
    // Results come back from run_now; the channel is never read.
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    Ok(Executor::with_options(
        s.hv.clone(),
        Arc::new(journal),
        tx,
        ExecOptions {
            dry_run,
            manage_all_vms: s.config.engine.manage_all_vms,
        },
    ))
}

/// A row's value for a person, in the limit's unit.
pub fn show_value(limit: LimitKind, v: Option<u64>, period_us: Option<u64>) -> String {
    match (limit, v) {
        (LimitKind::Memory, Some(kib)) => show_kib(kib),
        (LimitKind::Memory | LimitKind::Cpu, None) => "unlimited".into(),
        (LimitKind::Cpu, Some(q)) => match period_us {
            Some(p) if p > 0 => format!("{:.2} CPU", q as f64 / p as f64),
            _ => format!("{q} µs"),
        },
        (LimitKind::Disk, Some(b)) => show_bytes(b),
        (LimitKind::Disk, None) => "none".into(),
    }
}

const HEADERS: [&str; 6] = ["NAME", "LIMIT", "DESIRED", "ACTUAL", "STATUS", "REASON"];

/// The table: a line per VM and limit.
fn write_table(list: &[(VmLimitFacts, LimitReport)], out: &mut impl Write) -> std::io::Result<()> {
    // A VM left alone as a whole (not managed, not running, …) takes one line.
    let shown = list.iter().flat_map(|(_, r)| {
        let whole = r.rows.iter().all(|x| x.status == LimitStatus::Skipped)
            && r.rows.windows(2).all(|w| w[0].reason == w[1].reason);
        let n = if whole { 1 } else { r.rows.len() };
        r.rows.iter().take(n).map(move |x| (x, whole))
    });
    let rows: Vec<[String; 6]> = shown
        .map(|(r, whole)| {
            let limit = match &r.target {
                _ if whole => "all".to_string(),
                Some(t) => format!("{} {}", r.limit, escape(t)),
                None => r.limit.to_string(),
            };
            let desired = if r.desired.is_some() {
                show_value(r.limit, r.desired, r.period_us)
            } else {
                "—".into()
            };
            let actual = match r.status {
                LimitStatus::Skipped | LimitStatus::Unknown | LimitStatus::Refused
                    if r.actual.is_none() =>
                {
                    "—".into()
                }
                _ => show_value(r.limit, r.actual, r.period_us),
            };
            [
                escape(&r.vm_name).into_owned(),
                limit,
                desired,
                actual,
                r.status.to_string(),
                escape(&r.reason).into_owned(),
            ]
        })
        .collect();
    write_columns(out, HEADERS, &rows)
}
