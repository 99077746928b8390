//! `vmlife cleanup [--dry-run] [--yes] [--ignore-window] [DOMAIN...]`: a cleanup round
//! now, honouring the policy (window unless `--ignore-window`, batch, concurrency,
//! confirmation, pressure, dry run).
//!
//! It lists what will happen and asks on the terminal before destroying anything
//! (unless `--yes`; without a terminal and without `--yes` it refuses). Under
//! `require_confirmation` the answer (or `--yes`) confirms those VMs. Each cleanup is
//! claimed `in_progress` in the state store first, so a daemon running beside it never
//! runs the same cleanup at the same moment (and vice versa: one the daemon runs is
//! skipped here). Commands run through the executor, journaled as `cli:LOGIN`.

use std::collections::BTreeSet;
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::sync::{mpsc, Arc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Args;

use super::RunError;
use crate::engine::alert::run_alert_command;
use crate::engine::runner::journal_alert_failure;
use crate::engine::{EngineCore, EngineSettings, EngineStore};
use crate::executor::{ExecOptions, ExecResult, Executor, Outcome};
use crate::format::escape;
use crate::lifecycle::cleanup::{RoundPlan, RoundRequest, VmCleanupState};
use crate::lifecycle::Actor;
use crate::model::{Uuid, VmRef};
use crate::session::{login_name, Error, Session};
use crate::store::Journal;

/// The flags of `vmlife cleanup`.
#[derive(Debug, Clone, Default, Args)]
pub struct CleanupArgs {
    /// Say what would be done, journal it as "would", change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Do not ask; confirms the listed VMs under require_confirmation.
    #[arg(long, short = 'y')]
    pub yes: bool,
    /// Run even outside the cleanup window.
    #[arg(long)]
    pub ignore_window: bool,
    /// Only these VMs (names or UUIDs); default: every VM that is due.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

/// Plan, ask, claim, run, record.
pub fn run(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &CleanupArgs,
    input: &mut dyn BufRead,
    stdin_is_terminal: bool,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let mut only = BTreeSet::new();
    for d in &args.domains {
        only.insert(s.hv.lookup(d)?.uuid);
    }
    let views = super::ls::poll_once(s, now)?;
    let journal = Arc::new(
        s.journal(state_dir)
            .map_err(|e| Error::new(format!("state dir {}: {e}", state_dir.display())))?,
    );
    let settings = EngineSettings::from_config(&s.config);
    let mut core = EngineCore::new(
        EngineStore::new(state_dir),
        journal.clone(),
        settings,
        &s.uri,
    )
    .map_err(|e| Error::new(format!("state store: {e}")))?;
    let dry_run = args.dry_run || s.config.cleanup.dry_run_mode;
    let request = RoundRequest {
        manual: true,
        ignore_window: args.ignore_window,
        only: (!only.is_empty()).then_some(only.clone()),
    };
    let clock = core.clock(now);
    let first = core.plan(&views, &request, clock);
    // Under require_confirmation, this run asks about the parked VMs too.
    let awaiting: Vec<VmRef> = first
        .lines
        .iter()
        .filter(|l| l.state == VmCleanupState::AwaitingConfirmation)
        .filter(|l| request.only.as_ref().is_none_or(|o| o.contains(&l.vm_id)))
        .map(|l| VmRef::new(l.vm_id.clone(), l.vm_name.clone()))
        .collect();
    let awaiting_ids: BTreeSet<Uuid> = awaiting.iter().map(|v| v.uuid.clone()).collect();
    let plan = core.plan_confirming(&views, &request, clock, &awaiting_ids);

    if plan.commands.is_empty() {
        return nothing_to_do(&plan, &only, out);
    }
    let verb = if dry_run {
        "would clean up"
    } else {
        "will clean up"
    };
    writeln!(out, "{verb} {}:", plan.commands.len())?;
    for c in &plan.commands {
        writeln!(
            out,
            "  {} ({}): {}; {}",
            escape(&c.vm_name),
            escape(&c.vm_id),
            escape(&c.reason),
            escape(&c.op.describe())
        )?;
    }
    out.flush()?;
    let actor = Actor::Cli(login_name());

    if dry_run {
        // Nothing is claimed or recorded: a dry run changes nothing but the journal.
        let exec = executor(s, &journal, true);
        let mut failed = 0;
        for c in &plan.commands {
            let r = exec.run_now(c.clone(), actor.clone());
            failed += usize::from(matches!(r.outcome, Outcome::Failed(_)));
            writeln!(out, "{}", escape(&r.to_string()))?;
        }
        return finish(failed, plan.commands.len());
    }

    if !args.yes {
        if !stdin_is_terminal {
            return Err(Error::new(
                "refusing to clean up without confirmation: stdin is not a terminal; pass --yes",
            )
            .into());
        }
        eprint!(
            "Clean up {} VM(s)? Running ones are shut down{}, then undefined. [y/N] ",
            plan.commands.len(),
            if plan
                .commands
                .iter()
                .any(|c| matches!(c.op, crate::lifecycle::Op::Cleanup { force: true, .. }))
            {
                " (destroyed if they do not stop)"
            } else {
                ""
            }
        );
        let mut answer = String::new();
        input.read_line(&mut answer)?;
        if !matches!(answer.trim().to_lowercase().as_str(), "y" | "yes") {
            return Err(Error::new("cancelled; nothing was cleaned up").into());
        }
    }
    let confirming: Vec<VmRef> = awaiting
        .into_iter()
        .filter(|v| plan.commands.iter().any(|c| c.vm_id == v.uuid))
        .collect();
    if !confirming.is_empty() {
        core.confirm(&confirming, &actor, false, now)
            .map_err(|e| Error::new(format!("state store: {e}")))?;
    }

    // Exactly what was shown, claimed in the store before anything runs.
    let shown: BTreeSet<Uuid> = plan.commands.iter().map(|c| c.vm_id.clone()).collect();
    let claim_request = RoundRequest {
        only: Some(shown),
        ..request
    };
    let (_, planned) = core
        .manual_round(&views, &claim_request, &actor, now)
        .map_err(|e| Error::new(format!("state store: {e}")))?;
    for c in &plan.commands {
        if !planned.iter().any(|p| p.cmd.vm_id == c.vm_id) {
            let who = core.data().cleanups.claims.get(&c.vm_id).map_or_else(
                || "it is no longer due".to_string(),
                |cl| {
                    format!(
                        "a cleanup of it is running ({}, pid {})",
                        cl.actor, cl.owner.pid
                    )
                },
            );
            writeln!(out, "skipped {}: {}", escape(&c.vm_name), escape(&who))?;
        }
    }
    if planned.is_empty() {
        return Err(Error::new("nothing was cleaned up").into());
    }
    let grace = planned
        .iter()
        .filter_map(|p| match p.cmd.op {
            crate::lifecycle::Op::Cleanup { grace_seconds, .. } => Some(grace_seconds),
            _ => None,
        })
        .max()
        .unwrap_or(0);
    writeln!(
        out,
        "cleaning up {} VM(s) (a running guest gets up to {grace}s to shut down)…",
        planned.len()
    )?;
    out.flush()?;

    let exec = executor(s, &journal, false);
    let (tx, rx) = mpsc::channel::<ExecResult>();
    let total = planned.len();
    let mut failed = 0;
    std::thread::scope(|scope| -> Result<(), RunError> {
        for p in planned {
            let exec = exec.clone();
            let tx = tx.clone();
            scope.spawn(move || {
                let _ = tx.send(exec.run_now(p.cmd, p.actor));
            });
        }
        drop(tx);
        for r in rx {
            core.on_result(&r, Utc::now());
            failed += usize::from(!r.outcome.is_ok());
            writeln!(out, "{}", escape(&r.to_string()))?;
            out.flush()?;
        }
        Ok(())
    })?;
    for alert in core.take_alerts() {
        if s.config.alerts.command.is_empty() {
            break;
        }
        let timeout = Duration::from_secs(s.config.alerts.timeout_seconds.max(1));
        if let Err(e) = run_alert_command(&s.config.alerts.command, timeout, &alert, &s.uri) {
            eprintln!("vmlife: warning: alert command: {e}");
            journal_alert_failure(&journal, &alert, &e);
        }
    }
    finish(failed, total)
}

fn executor(s: &Session, journal: &Arc<Journal>, dry_run: bool) -> Executor {
    // Results come back from run_now; the channel is never read.
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    Executor::with_options(
        s.hv.clone(),
        journal.clone(),
        tx,
        ExecOptions {
            dry_run,
            manage_all_vms: s.config.engine.manage_all_vms,
        },
    )
}

fn finish(failed: usize, total: usize) -> Result<(), RunError> {
    if failed == 0 {
        Ok(())
    } else {
        Err(Error::new(format!("{failed} of {total} cleanup(s) did not succeed")).into())
    }
}

/// Says why nothing is cleaned up; an error when named VMs could not be.
fn nothing_to_do(
    plan: &RoundPlan,
    only: &BTreeSet<Uuid>,
    out: &mut impl Write,
) -> Result<(), RunError> {
    if let Some(held) = &plan.held {
        writeln!(
            out,
            "nothing to clean up now: {}",
            escape(&held.to_string())
        )?;
    } else {
        writeln!(out, "nothing to clean up")?;
    }
    if only.is_empty() {
        return Ok(());
    }
    for l in plan.lines.iter().filter(|l| only.contains(&l.vm_id)) {
        let why = match &l.state {
            VmCleanupState::Waiting => "not expired yet".to_string(),
            VmCleanupState::Manual => "auto_cleanup = false".to_string(),
            VmCleanupState::InProgress => "a cleanup of it is running".to_string(),
            VmCleanupState::Due { why } => why.clone(),
            VmCleanupState::Failed { error, .. } => format!("held; last attempt failed: {error}"),
            other => format!("{other:?}"),
        };
        writeln!(out, "  {}: {}", escape(&l.vm_name), escape(&why))?;
    }
    let temporary: BTreeSet<&Uuid> = plan.lines.iter().map(|l| &l.vm_id).collect();
    if only.iter().any(|u| !temporary.contains(u)) {
        writeln!(
            out,
            "  (permanent VMs and VMs with an invalid policy are never cleaned up)"
        )?;
    }
    Err(Error::new("none of the named VMs can be cleaned up now").into())
}

/// Whether stdin is a terminal (the prompt needs one).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
