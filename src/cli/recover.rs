//! `vmlife recover [--dry-run] [DOMAIN...]`: bring VMs back to the state their recovery
//! record (`<state_dir>/recovery.json`, written by `host-shutdown`) says: start or
//! re-define them; never stop one. Journaled as `cli:LOGIN`.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use clap::Args;

use super::host::refuse_readonly;
use super::RunError;
use crate::format::escape;
use crate::host::recover::{plan_recover, run_recover};
use crate::host::recovery_file::RecoveryFile;
use crate::lifecycle::Actor;
use crate::session::{host_context as context, login_name, Error, Session};

/// The flags of `vmlife recover`.
#[derive(Debug, Clone, Default, Args)]
pub struct RecoverArgs {
    /// Print what would be done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Only the records of these VMs (names or recorded UUIDs); default: every record.
    #[arg(value_name = "DOMAIN")]
    pub domains: Vec<String>,
}

/// Plan, print, run.
pub fn run(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &RecoverArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    if !args.dry_run {
        refuse_readonly(s, "recover")?;
    }
    let Some(mut file) = RecoveryFile::load(state_dir).map_err(Error::new)? else {
        return Err(Error::new(format!(
            "no recovery records in {} (host-shutdown writes them)",
            RecoveryFile::path(state_dir).display()
        ))
        .into());
    };
    let ctx = context(s, state_dir, Actor::Cli(login_name()))?;
    let views = ctx.inventory(None, now)?;
    let steps = plan_recover(&file, &views, &args.domains).map_err(Error::new)?;
    let head = if args.dry_run {
        "recover (dry run: nothing is changed)"
    } else {
        "recover"
    };
    writeln!(
        out,
        "{head}: {} records from {} (recorded {})",
        steps.len(),
        RecoveryFile::path(state_dir).display(),
        file.recorded_at.format("%Y-%m-%d %H:%M UTC")
    )?;
    for s in &steps {
        writeln!(out, "  {}", escape(&s.describe()))?;
    }
    out.flush()?;
    if args.dry_run {
        return Ok(());
    }
    let mut io_error = None;
    let (results, store_error) = run_recover(&ctx, &mut file, &steps, &mut |step, r| {
        let line = match r {
            Ok(t) => format!("{}: {}", escape(&step.name), escape(&t.to_string())),
            Err(e) => format!("{}: failed: {}", escape(&step.name), escape(&e.to_string())),
        };
        if let Err(e) = writeln!(out, "{line}") {
            io_error.get_or_insert(e);
        }
    });
    if let Some(e) = io_error {
        return Err(e.into());
    }
    if let Some(e) = store_error {
        return Err(Error::new(format!("recover: {e}")).into());
    }
    let failed = results.iter().filter(|r| r.is_err()).count();
    if failed > 0 {
        return Err(Error::new(format!("recover: {failed} VMs could not be recovered")).into());
    }
    Ok(())
}
