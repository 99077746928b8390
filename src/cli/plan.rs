//! `vmlife plan [--json] [--at TIME]`: what a cleanup round would do at that moment,
//! changing nothing: one poll, the state store read (not written), the engine's plan.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, TimeZone, Timelike, Utc};
use clap::Args;

use super::{ls, RunError};
use crate::engine::pressure::NOT_CHECKED;
use crate::engine::{
    plan_entries, signals, vm_is_managed, EngineCore, EngineSettings, EngineStore, PlanEntry,
    Pressure, PressureView,
};
use crate::format::escape;
use crate::hypervisor::{RunState, ShutoffReason, StateReason};
use crate::lifecycle::cleanup::{RoundPlan, RoundRequest, VmCleanupLine, VmCleanupState};
use crate::lifecycle::ttl::format_duration;
use crate::poll::Vm;
use crate::session::Session;

/// The flags of `vmlife plan`.
#[derive(Debug, Clone, Default, Args)]
pub struct PlanArgs {
    /// One JSON array: an object per action (`vm_name`, `vm_id`, `action`, `reason`, `at`):
    /// the cleanups, then the next pressure step (`suspend`, `resume`, `kill`).
    #[arg(long)]
    pub json: bool,
    /// Plan for this moment instead of now (RFC 3339, e.g. 2026-01-10T03:00:00Z).
    #[arg(long, value_name = "TIME", value_parser = parse_rfc3339)]
    pub at: Option<DateTime<Utc>>,
}

fn parse_rfc3339(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not an RFC 3339 time (like 2026-01-10T03:00:00Z)"))
}

/// Poll once, read the store, plan, print.
pub fn run(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &PlanArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    // Whole seconds: the JSON reads `2026-01-10T03:00:00Z`, not nanoseconds.
    let at = args.at.unwrap_or(now.with_nanosecond(0).unwrap_or(now));
    let views = ls::poll_once(s, now)?;
    let mut core = EngineCore::for_planning(
        EngineStore::new(state_dir),
        EngineSettings::from_config(&s.config),
        &s.uri,
    )
    .map_err(|e| super::Error::new(format!("state store: {e}")))?;
    // The pressure readings (a remote host's memory too, for skip_on_low_resources).
    let readings = signals::read(s.hv.as_ref(), &views, &core.disk_watch());
    core.set_readings(readings.clone());
    core.refresh();
    let pressure = core.pressure_preview(&views, &readings, at.timestamp());
    let clock = core.clock(at);
    let plan = core.plan(&views, &RoundRequest::default(), clock);
    let limits = super::limits::plan_entries(s, &views, at);
    if args.json {
        let mut entries = plan_entries(&plan, at);
        if let Some(r) = &pressure.plan.next {
            entries.push(PlanEntry {
                vm_name: r.vm_name.clone(),
                vm_id: r.vm_id.clone(),
                action: r.action.as_str().to_string(),
                reason: format!("{}: {}", r.cause, r.reason),
                at,
            });
        }
        entries.extend(limits);
        serde_json::to_writer_pretty(&mut *out, &entries)?;
        writeln!(out)?;
        return Ok(());
    }
    write_text(&core, &plan, &views, at, clock.local_minute, out)?;
    write_pressure(&pressure, out)?;
    super::limits::write_plan(&limits, out)?;
    Ok(())
}

/// The pressure section: the memory state and figures, full disks, the next step.
fn write_pressure(p: &PressureView, out: &mut impl Write) -> std::io::Result<()> {
    writeln!(
        out,
        "
pressure:"
    )?;
    writeln!(out, "  memory         {}", escape(&p.plan.note))?;
    for (vm, target) in &p.disk_full {
        writeln!(out, "  disk full      {} ({})", escape(vm), escape(target))?;
    }
    match &p.plan.next {
        Some(r) => writeln!(
            out,
            "  next           {}{} {} for {}: {}",
            if r.dry_run { "would " } else { "" },
            r.action.as_str(),
            escape(&r.vm_name),
            r.cause,
            escape(&r.reason)
        ),
        None => writeln!(out, "  next           nothing"),
    }
}

fn write_text(
    core: &EngineCore,
    plan: &RoundPlan,
    views: &[Vm],
    at: DateTime<Utc>,
    local_minute: u16,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let policy = &core.settings().cleanup;
    writeln!(
        out,
        "cleanup round at {} (local time {:02}:{:02})",
        at.format("%Y-%m-%d %H:%M:%S UTC"),
        local_minute / 60,
        local_minute % 60
    )?;
    let window = format!(
        "{}–{}",
        policy.cleanup_window_start, policy.cleanup_window_end
    );
    let open = if plan.window_opens_in_minutes == 0 {
        "open now".to_string()
    } else {
        format!(
            "opens in {}",
            format_duration(i64::from(plan.window_opens_in_minutes) * 60)
        )
    };
    let only = if policy.cleanup_in_window_only {
        ""
    } else {
        " (not enforced: cleanup_in_window_only = false)"
    };
    writeln!(out, "  window         {window}, {open}{only}")?;
    let last = core.data().engine.last_round_at;
    let next = match core.next_round_at() {
        None => "due now".to_string(),
        Some(n) if n <= at.timestamp() => "due now".to_string(),
        Some(n) => format!("in {}", format_duration(n - at.timestamp())),
    };
    // A round that falls outside the window cleans nothing up: when the real one is.
    let due_in = core
        .next_round_at()
        .map_or(0, |n| (n - at.timestamp()).max(0));
    let runs_in = crate::lifecycle::cleanup::round_runs_in(
        policy.cleanup_window_start,
        policy.cleanup_window_end,
        policy.cleanup_in_window_only,
        local_minute,
        due_in,
    );
    let next = if runs_in > due_in + 60 {
        format!(
            "{next} (outside the window: the cleanup runs when it opens, {} local, in {})",
            policy.cleanup_window_start,
            format_duration(runs_in)
        )
    } else {
        next
    };
    writeln!(
        out,
        "  interval       every {}m; last round {}; next {next}",
        policy.check_interval_minutes,
        last.map_or_else(
            || "never".into(),
            |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
        ),
    )?;
    let pressure = match core.pressure() {
        Pressure::NotChecked => NOT_CHECKED.to_string(),
        p => p.to_string(),
    };
    writeln!(out, "  host pressure  {pressure}")?;
    writeln!(out, "  managed        {}", managed_text(core, views))?;
    if !policy.cleanup_enabled {
        writeln!(
            out,
            "  cleanup        disabled (cleanup.cleanup_enabled = false)"
        )?;
    }
    if plan.dry_run {
        writeln!(
            out,
            "  dry run        yes (dry_run_mode): actions are journaled as \"would\", not run"
        )?;
    }
    if policy.require_confirmation {
        writeln!(
            out,
            "  confirmation   required: a person confirms each cleanup (`vmlife cleanup`)"
        )?;
    }
    if let Some(held) = &plan.held {
        writeln!(out, "  held           {held}")?;
    }
    if let Some(limit) = &plan.limited {
        let waiting = plan
            .lines
            .iter()
            .filter(|l| matches!(&l.state, VmCleanupState::Due { why } if why == limit))
            .count()
            + plan
                .lines
                .iter()
                .filter(|l| {
                    matches!(l.state, VmCleanupState::Failed { .. }) && l.retry_at.is_none()
                })
                .count();
        writeln!(out, "  limit          {limit}: {waiting} due VM(s) wait")?;
    }

    writeln!(out)?;
    if plan.commands.is_empty() {
        writeln!(out, "would clean up nothing")?;
    } else {
        writeln!(out, "would clean up {}:", plan.commands.len())?;
        for c in &plan.commands {
            writeln!(
                out,
                "  {}  {}  {}: {}",
                escape(&c.vm_name),
                escape(&c.vm_id),
                escape(&c.reason),
                c.op.describe()
            )?;
        }
    }
    if !plan.lines.is_empty() {
        writeln!(out, "\ntemporary VMs:")?;
        let width = plan
            .lines
            .iter()
            .map(|l| escape(&l.vm_name).chars().count())
            .max()
            .unwrap_or(0);
        for l in &plan.lines {
            let expires = Utc.timestamp_opt(l.expires_at, 0).single().map_or_else(
                || l.expires_at.to_string(),
                |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
            );
            writeln!(
                out,
                "  {:<width$}  expires {expires}  {}",
                escape(&l.vm_name),
                escape(&state_text(l, at.timestamp()))
            )?;
        }
    }
    let crashed: Vec<&Vm> = views
        .iter()
        .filter(|v| {
            v.state == Some(RunState::Crashed)
                || (v.state == Some(RunState::Shutoff)
                    && matches!(
                        v.reason,
                        StateReason::Shutoff(ShutoffReason::Crashed | ShutoffReason::Failed)
                    ))
        })
        .collect();
    if !crashed.is_empty() {
        writeln!(
            out,
            "\nstopped after a crash (the engine restarts only stops it sees happen):"
        )?;
        let all = core.settings().manage_all_vms;
        for v in crashed {
            let note = if vm_is_managed(v, all) {
                ""
            } else {
                " (not managed by vmlife: observed only)"
            };
            writeln!(out, "  {}{note}", escape(&v.snapshot.vm_name))?;
        }
    }
    write_warnings(views, out)
}

/// Valid but questionable settings, one line per VM and warning.
fn write_warnings(views: &[Vm], out: &mut impl Write) -> std::io::Result<()> {
    let lines: Vec<String> = views
        .iter()
        .filter_map(|v| Some((v, v.meta.as_ref().ok()?.warnings())))
        .flat_map(|(v, ws)| {
            ws.into_iter()
                .map(move |w| format!("  {}: {}", escape(&v.snapshot.vm_name), escape(&w)))
        })
        .collect();
    if !lines.is_empty() {
        writeln!(out, "\nwarnings:")?;
        for l in lines {
            writeln!(out, "{l}")?;
        }
    }
    Ok(())
}

/// Which VMs the engine's own initiatives (the restart policy) reach.
fn managed_text(core: &EngineCore, views: &[Vm]) -> String {
    if core.settings().manage_all_vms {
        return "every VM ([engine] manage_all_vms = true)".into();
    }
    let observed: Vec<String> = views
        .iter()
        .filter(|v| !vm_is_managed(v, false))
        .map(|v| escape(&v.snapshot.vm_name).into_owned())
        .collect();
    let managed = views.len() - observed.len();
    let mut text = format!(
        "{managed} of {} VMs (those with a vmlife element; [engine] manage_all_vms = false)",
        views.len()
    );
    if !observed.is_empty() {
        text.push_str(&format!(
            "\n                 observed only, never restarted: {}",
            observed.join(", ")
        ));
    }
    text
}

/// One temporary VM's state in words; a VM whose last cleanup failed says so first.
fn state_text(line: &VmCleanupLine, now: i64) -> String {
    let text = base_state_text(line, now);
    match &line.last_failure {
        Some(f) => format!("failed ({} attempts): {}; now {text}", f.attempts, f.error),
        None => text,
    }
}

fn base_state_text(line: &VmCleanupLine, now: i64) -> String {
    let expires_at = line.expires_at;
    match &line.state {
        VmCleanupState::Waiting => {
            format!("waiting ({} left)", format_duration(expires_at - now))
        }
        VmCleanupState::Manual => "expired; manual (auto_cleanup = false)".into(),
        VmCleanupState::Planned => "planned in this round".into(),
        VmCleanupState::Due { why } => format!("due, waiting: {why}"),
        VmCleanupState::AwaitingConfirmation => "awaiting confirmation".into(),
        VmCleanupState::InProgress => "cleanup in progress".into(),
        VmCleanupState::Failed { attempts, error } => match line.retry_at {
            Some(t) => format!(
                "failed ({attempts} attempts), backing off until {}: {error}",
                Utc.timestamp_opt(t, 0).single().map_or_else(
                    || t.to_string(),
                    |t| t.format("%Y-%m-%d %H:%M UTC").to_string()
                )
            ),
            None => format!("failed ({attempts} attempts), retried next round: {error}"),
        },
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
