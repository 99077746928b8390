//! `vmlife host-shutdown` and `vmlife host-boot`: the host's lifecycle hooks (run by
//! `assets/vmlife-host.service` at stop and start), plus what `autostart` and `recover`
//! share with them.
//!
//! Both print the plan, then one line per change of a VM's state, then a summary;
//! `--dry-run` prints the plan only and changes nothing. Commands are journaled as
//! `engine` (the host's event, not a person's action); the reason says `host shutdown`
//! or `host boot`.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use clap::Args;

use super::RunError;
use crate::host::boot::{self, BootGate, BootProgress};
use crate::host::recovery_file::RecoveryFile;
use crate::host::shutdown::{self, ShutdownProgress, StopState};
use crate::host::RunControl;
use crate::lifecycle::Actor;
use crate::session::{host_context as context, Error, Session};

/// The flags of `vmlife host-shutdown`.
#[derive(Debug, Clone, Default, Args)]
pub struct HostShutdownArgs {
    /// Print what would be done to each VM; change nothing, record nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only these VMs (names or UUIDs); default: every VM.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

/// The flags of `vmlife host-boot`.
#[derive(Debug, Clone, Default, Args)]
pub struct HostBootArgs {
    /// Print what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Run even if host boot already ran in this boot.
    #[arg(long)]
    pub force: bool,
    /// Only these VMs (names or UUIDs); default: every VM.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

/// The named VMs as a set of UUIDs (`None` for all); a name that is not a domain is
/// an error.
pub fn only(s: &Session, domains: &[String]) -> Result<Option<BTreeSet<String>>, RunError> {
    if domains.is_empty() {
        return Ok(None);
    }
    let mut set = BTreeSet::new();
    for d in domains {
        set.insert(s.hv.lookup(d)?.uuid.to_string());
    }
    Ok(Some(set))
}

/// Refuses a command that changes VMs on a read-only connection.
pub fn refuse_readonly(s: &Session, what: &str) -> Result<(), RunError> {
    if s.hv.is_readonly() {
        return Err(Error::new(format!(
            "{what} changes VMs and --readonly was given (try --dry-run)"
        ))
        .into());
    }
    Ok(())
}

/// `[  3s] `: seconds since `t0`, for progress lines.
pub fn stamp(t0: DateTime<Utc>, now: DateTime<Utc>) -> String {
    format!("[{:>4}s]", (now - t0).num_seconds().max(0))
}

/// Which steps of a running sequence changed since the last progress report: the CLI
/// prints a line only for those.
#[derive(Debug, Default)]
pub struct ChangeLog {
    shown: Vec<String>,
}

impl ChangeLog {
    /// `stamp name: text` for each step (name, change key, text) whose key differs from
    /// the last call's at the same place.
    pub fn changed<'a>(
        &mut self,
        stamp: &str,
        steps: impl IntoIterator<Item = (&'a str, String, &'a str)>,
    ) -> Vec<String> {
        let mut lines = Vec::new();
        let mut keys = Vec::new();
        for (k, (name, key, text)) in steps.into_iter().enumerate() {
            if self.shown.get(k) != Some(&key) {
                lines.push(format!("{stamp} {name}: {text}"));
            }
            keys.push(key);
        }
        self.shown = keys;
        lines
    }
}

/// Writes progress lines and flushes. The sequence goes on whatever the terminal does:
/// the first write error is kept for the end.
pub fn write_lines(out: &mut impl Write, lines: &[String], error: &mut Option<std::io::Error>) {
    for l in lines {
        // Lines carry VM names: never print their control characters raw.
        if let Err(e) = writeln!(out, "{}", crate::format::escape(l)) {
            error.get_or_insert(e);
        }
    }
    let _ = out.flush();
}

/// Prints warnings and notes on stderr.
pub fn print_notes(warnings: &[String], notes: &[String]) {
    for w in warnings {
        eprintln!("warning: {}", crate::format::escape(w));
    }
    for n in notes {
        eprintln!("note: {}", crate::format::escape(n));
    }
}

/// `vmlife host-shutdown`.
pub fn run_shutdown(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &HostShutdownArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    if !args.dry_run {
        refuse_readonly(s, "host-shutdown")?;
    }
    let ctx = context(s, state_dir, Actor::Engine)?;
    let only = only(s, &args.domains)?;
    let views = ctx.inventory(None, now)?;
    let plan = shutdown::plan_shutdown(&ctx, &views, only.as_ref());
    print_notes(&plan.warnings, &plan.notes);
    let head = if args.dry_run {
        "host shutdown (dry run: nothing is changed or recorded)"
    } else {
        "host shutdown"
    };
    writeln!(
        out,
        "{head}: {} VMs, {} to stop; records in {}",
        plan.steps.len(),
        shutdown::to_act_on(&plan).len(),
        ctx.recovery_path().display()
    )?;
    for line in plan.describe(&ctx.settings.host) {
        writeln!(out, "  {}", crate::format::escape(&line))?;
    }
    out.flush()?;
    if args.dry_run {
        return Ok(());
    }
    let t0 = ctx.clock.now();
    let mut log = ChangeLog::default();
    let mut io_error = None;
    let mut print = |p: &ShutdownProgress| {
        let steps = p
            .steps
            .iter()
            .map(|s| (s.name.as_str(), stop_key(&s.state), s.text.as_str()));
        let lines = log.changed(&stamp(t0, p.at), steps);
        write_lines(out, &lines, &mut io_error);
    };
    let report = shutdown::run_shutdown(&ctx, &plan, &RunControl::new(), &mut print);
    if let Some(e) = io_error {
        return Err(e.into());
    }
    let (mut stopped, mut left, mut failed) = (0, 0, 0);
    for st in &report.progress.steps {
        match st.state {
            StopState::Done { .. } => stopped += 1,
            StopState::Left { .. } => left += 1,
            _ => failed += 1,
        }
    }
    writeln!(
        out,
        "host shutdown: {stopped} stopped or not running, {left} left running, {failed} failed"
    )?;
    if let Some(e) = report.record_error {
        return Err(Error::new(format!("recovery records not saved: {e}")).into());
    }
    if failed > 0 {
        return Err(Error::new(format!("host shutdown: {failed} VMs failed")).into());
    }
    Ok(())
}

fn stop_key(s: &StopState) -> String {
    match s {
        StopState::Waiting { on } => format!("waiting {on:?}"),
        StopState::ShuttingDown { .. } => "shutting down".into(),
        StopState::Saving { .. } => "saving".into(),
        other => other.describe(DateTime::<Utc>::MIN_UTC),
    }
}

/// `vmlife host-boot`.
pub fn run_boot(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &HostBootArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    if !args.dry_run {
        refuse_readonly(s, "host-boot")?;
    }
    let source = Path::new(boot::BOOT_ID_SOURCE);
    let boot_id = match boot::boot_gate(state_dir, source, args.force) {
        BootGate::AlreadyRan { boot_id } => {
            writeln!(
                out,
                "host boot already ran in this boot ({boot_id}); --force runs it again"
            )?;
            return Ok(());
        }
        BootGate::Run { boot_id } => boot_id,
    };
    let ctx = context(s, state_dir, Actor::Engine)?;
    let only = only(s, &args.domains)?;
    let views = ctx.inventory(None, now)?;
    let records = RecoveryFile::load(state_dir).map_err(Error::new)?;
    let plan = boot::plan_boot(&ctx, &views, only.as_ref(), records, boot_id);
    print_notes(&plan.autostart.warnings, &plan.autostart.notes);
    for g in &plan.gone {
        eprintln!("note: {}", crate::format::escape(&g.to_string()));
    }
    let head = if args.dry_run {
        "host boot (dry run: nothing is changed)"
    } else {
        "host boot"
    };
    writeln!(out, "{head}:")?;
    for line in plan.describe(&*ctx.probe) {
        writeln!(out, "  {}", crate::format::escape(&line))?;
    }
    out.flush()?;
    if args.dry_run {
        return match super::autostart::held_back_error(&plan.autostart.held_back_lines()) {
            Some(e) => Err(Error::new(format!("host boot: {e}")).into()),
            None => Ok(()),
        };
    }
    let t0 = ctx.clock.now();
    let (mut restore_log, mut auto_log) = (ChangeLog::default(), ChangeLog::default());
    let mut io_error = None;
    let mut print = |p: &BootProgress| {
        let restore = p
            .restore
            .iter()
            .map(|r| (r.name.as_str(), r.text.clone(), r.text.as_str()));
        let mut lines = restore_log.changed(&stamp(t0, Utc::now()), restore);
        if let Some(a) = &p.autostart {
            let steps = a.steps.iter().map(|s| {
                (
                    s.name.as_str(),
                    crate::host::autostart::state_key(&s.state),
                    s.text.as_str(),
                )
            });
            lines.extend(auto_log.changed(&stamp(t0, a.at), steps));
        }
        write_lines(out, &lines, &mut io_error);
    };
    let report = boot::run_boot(&ctx, plan, &RunControl::new(), &mut print);
    if let Some(e) = io_error {
        return Err(e.into());
    }
    let failed = report.failed();
    if let Some(a) = &report.progress.autostart {
        let (up, f, skipped) = a.tally();
        writeln!(
            out,
            "host boot: ordered autostart: {up} up, {f} failed, {skipped} skipped"
        )?;
    }
    if let Some(e) = super::autostart::held_back_error(&report.held_back) {
        return Err(Error::new(format!("host boot: {e}")).into());
    }
    if let Some(e) = report.store_error {
        return Err(Error::new(format!("host boot: {e}")).into());
    }
    if failed > 0 {
        return Err(Error::new(format!("host boot: {failed} VMs failed")).into());
    }
    Ok(())
}

#[cfg(test)]
#[path = "host_tests.rs"]
mod tests;
