//! `vmlife autostart [--dry-run] [DOMAIN...]`: the ordered start now.
//!
//! Prints the order with each VM's waits (dependencies, start delay, SSH probe), then
//! (unless `--dry-run`) runs it: one line per change of a VM's state, then a summary.
//! A VM in a dependency cycle, with a missing dependency or an invalid policy is held
//! back (and so are the VMs that depend on it); the others start, and the exit code is
//! non-zero. Starts are journaled as `cli:LOGIN`.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use clap::Args;

use super::host::{only, print_notes, refuse_readonly, stamp, write_lines, ChangeLog};
use super::RunError;
use crate::host::autostart::{prepare, run_sequence, state_key};
use crate::host::RunControl;
use crate::lifecycle::autostart::Progress;
use crate::lifecycle::Actor;
use crate::session::{host_context as context, login_name, Error, Session};

/// The flags of `vmlife autostart`.
#[derive(Debug, Clone, Default, Args)]
pub struct AutostartArgs {
    /// Print the order and the waits; start nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these VMs (names or UUIDs); a dependency outside the list counts as up
    /// when it already runs, and is never started.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

/// Plan, print, run.
pub fn run(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &AutostartArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    if !args.dry_run {
        refuse_readonly(s, "autostart")?;
    }
    let ctx = context(s, state_dir, Actor::Cli(login_name()))?;
    let only = only(s, &args.domains)?;
    let views = ctx.inventory(None, now)?;
    let prepared = prepare(&ctx, &views, only.as_ref(), &Default::default());
    print_notes(&prepared.warnings, &prepared.notes);
    let plan = prepared.plan.clone();
    let held_back =
        held_back_error(&prepared.held_back_lines()).map(|e| Error::new(format!("autostart: {e}")));
    if plan.steps.is_empty() {
        writeln!(out, "nothing to start: no VM has autostart enabled")?;
        return Ok(());
    }
    let head = if args.dry_run {
        "ordered autostart (dry run: nothing is started)"
    } else {
        "ordered autostart"
    };
    writeln!(
        out,
        "{head}: {} VMs, {} to start",
        plan.steps.len(),
        plan.to_start().len()
    )?;
    for line in prepared.describe(&*ctx.probe) {
        writeln!(out, "  {}", crate::format::escape(&line))?;
    }
    out.flush()?;
    if args.dry_run {
        return held_back.map_or(Ok(()), |e| Err(e.into()));
    }
    let t0 = ctx.clock.now();
    let mut log = ChangeLog::default();
    let mut io_error = None;
    let mut print = |p: &Progress| {
        let steps = p
            .steps
            .iter()
            .map(|s| (s.name.as_str(), state_key(&s.state), s.text.as_str()));
        let lines = log.changed(&stamp(t0, p.at), steps);
        write_lines(out, &lines, &mut io_error);
    };
    let last = run_sequence(
        &ctx,
        plan,
        "ordered autostart",
        &RunControl::new(),
        &mut print,
    );
    if let Some(e) = io_error {
        return Err(e.into());
    }
    let (up, failed, skipped) = last.tally();
    writeln!(
        out,
        "autostart: {up} up, {failed} failed, {skipped} skipped"
    )?;
    if failed > 0 {
        // Raw names: main escapes the error message once when it prints it.
        let names: Vec<&str> = last
            .steps
            .iter()
            .filter(|s| {
                matches!(
                    s.state,
                    crate::lifecycle::autostart::StepState::Failed { .. }
                )
            })
            .map(|s| s.name.as_str())
            .collect();
        return Err(Error::new(format!("autostart: {} did not come up", names.join(", "))).into());
    }
    held_back.map_or(Ok(()), |e| Err(e.into()))
}

/// The error of a run that held VMs back (the others went on): one line naming each
/// with why. `None` when none was.
pub fn held_back_error(lines: &[String]) -> Option<String> {
    (!lines.is_empty()).then(|| {
        format!(
            "{} VM{} held back: {}",
            lines.len(),
            if lines.len() == 1 { "" } else { "s" },
            lines
                .iter()
                .map(|l| l.replacen(": held back: ", " (", 1) + ")")
                .collect::<Vec<_>>()
                .join("; ")
        )
    })
}
