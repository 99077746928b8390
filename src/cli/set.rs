//! `vmlife set DOMAIN [...]`: change a VM's lifecycle settings in its metadata.
//!
//! Reads the VM's current vmlife element, applies the flags, and writes the whole
//! element back (LIVE|CONFIG where libvirt allows). A VM whose metadata is invalid is
//! refused unless `--reset` starts it over from the defaults: merging flags into
//! something that could not be read would keep a broken policy half-alive.

use std::io::Write;

use chrono::{DateTime, Utc};
use clap::Args;

use super::{CliError, RunError, Session};
use crate::lifecycle::ttl;
use crate::metadata::{self, LifecycleMeta};
use crate::model::{
    HostRebootAction, HostShutdownAction, PersistenceMode, PressureAction, RestartPolicy,
    StartFailureAction, VmAutoStartConfig,
};

/// The flags of `vmlife set`; each names a contract field.
#[derive(Debug, Clone, Default, Args)]
#[command(allow_negative_numbers = true)]
pub struct SetArgs {
    /// Domain name or UUID.
    pub domain: String,

    /// permanent or temporary. Switching to temporary stamps created_at_unix with now
    /// unless --created-at is given.
    #[arg(long, help_heading = "Persistence")]
    pub mode: Option<PersistenceMode>,
    #[arg(long, value_name = "HOURS", value_parser = parse_hours, help_heading = "Persistence")]
    pub ttl_hours: Option<f64>,
    /// Move the expiry (scheduled_cleanup) HOURS later than now or the current expiry,
    /// whichever is later.
    #[arg(long, value_name = "HOURS", value_parser = parse_hours, help_heading = "Persistence")]
    pub extend_ttl: Option<f64>,
    #[arg(long, value_name = "BOOL", help_heading = "Persistence")]
    pub auto_start: Option<bool>,
    #[arg(long, help_heading = "Persistence")]
    pub restart_policy: Option<RestartPolicy>,
    #[arg(long, value_name = "N", help_heading = "Persistence")]
    pub max_retries: Option<u32>,
    #[arg(long, value_name = "BOOL", help_heading = "Persistence")]
    pub auto_cleanup: Option<bool>,
    #[arg(long, value_name = "BOOL", help_heading = "Persistence")]
    pub force_cleanup: Option<bool>,
    #[arg(long, value_name = "SECONDS", help_heading = "Persistence")]
    pub cleanup_grace_period: Option<u64>,
    /// Unix seconds or RFC 3339.
    #[arg(long, value_name = "TIME", value_parser = parse_time, help_heading = "Persistence")]
    pub created_at: Option<i64>,
    /// Unix seconds or RFC 3339; overrides created_at + ttl_hours as the expiry.
    #[arg(long, value_name = "TIME", value_parser = parse_time, help_heading = "Persistence")]
    pub scheduled_cleanup: Option<i64>,
    /// Remove scheduled_cleanup (expiry is created_at + ttl_hours again).
    #[arg(long, conflicts_with_all = ["scheduled_cleanup", "extend_ttl"], help_heading = "Persistence")]
    pub clear_scheduled_cleanup: bool,

    #[arg(long, help_heading = "Policy (overrides the host default)")]
    pub on_host_reboot: Option<HostRebootAction>,
    #[arg(long, help_heading = "Policy (overrides the host default)")]
    pub on_host_shutdown: Option<HostShutdownAction>,
    #[arg(long, help_heading = "Policy (overrides the host default)")]
    pub on_memory_pressure: Option<PressureAction>,
    #[arg(long, help_heading = "Policy (overrides the host default)")]
    pub on_disk_full: Option<PressureAction>,
    #[arg(
        long,
        value_name = "BOOL",
        help_heading = "Policy (overrides the host default)"
    )]
    pub enforce_memory_limit: Option<bool>,
    #[arg(
        long,
        value_name = "BOOL",
        help_heading = "Policy (overrides the host default)"
    )]
    pub enforce_cpu_limit: Option<bool>,
    #[arg(
        long,
        value_name = "BOOL",
        help_heading = "Policy (overrides the host default)"
    )]
    pub enforce_disk_limit: Option<bool>,
    /// Drop every policy override (the host defaults apply).
    #[arg(long, help_heading = "Policy (overrides the host default)")]
    pub clear_policy: bool,

    /// Enable or disable ordered autostart (creates the autostart record if absent).
    #[arg(long = "autostart", value_name = "BOOL", help_heading = "Autostart")]
    pub autostart_enabled: Option<bool>,
    #[arg(
        long,
        value_name = "N",
        allow_hyphen_values = true,
        help_heading = "Autostart"
    )]
    pub start_order: Option<i64>,
    #[arg(long, value_name = "SECONDS", help_heading = "Autostart")]
    pub start_delay_seconds: Option<u64>,
    #[arg(long, value_name = "BOOL", help_heading = "Autostart")]
    pub wait_for_ssh: Option<bool>,
    #[arg(long, value_name = "SECONDS", help_heading = "Autostart")]
    pub ssh_timeout_seconds: Option<u64>,
    #[arg(long, help_heading = "Autostart")]
    pub on_start_failure: Option<StartFailureAction>,
    #[arg(long, value_name = "N", help_heading = "Autostart")]
    pub max_start_retries: Option<u32>,
    /// A VM that must be up first; repeat for several. Replaces the list.
    #[arg(long, value_name = "DOMAIN", help_heading = "Autostart")]
    pub depends_on: Vec<String>,
    /// Empty the depends_on list.
    #[arg(long, conflicts_with = "depends_on", help_heading = "Autostart")]
    pub clear_depends_on: bool,
    /// Remove the autostart record.
    #[arg(long, conflicts_with_all = ["autostart_enabled", "start_order", "start_delay_seconds", "wait_for_ssh", "ssh_timeout_seconds", "on_start_failure", "max_start_retries", "depends_on"], help_heading = "Autostart")]
    pub no_autostart: bool,

    /// Set restart_count back to 0.
    #[arg(long, help_heading = "Counters")]
    pub reset_restart_count: bool,

    /// Start from the defaults instead of the VM's current settings (repairs an invalid
    /// policy).
    #[arg(long)]
    pub reset: bool,
    /// Print the metadata that would be written and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

fn parse_hours(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(h) if h.is_finite() && h >= 0.0 => Ok(h),
        _ => Err(format!("{s:?} is not a number of hours (0 or more)")),
    }
}

fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .map_err(|_| format!("{s:?} is neither unix seconds nor an RFC 3339 time"))
}

/// Apply `args` to `meta` at `now`. Pure: the testable heart of `set`.
pub fn apply(args: &SetArgs, meta: &mut LifecycleMeta, first_seen: i64, now: i64) {
    let p = &mut meta.persistence;
    let was_temporary = p.mode == PersistenceMode::Temporary;
    if let Some(m) = args.mode {
        p.mode = m;
    }
    if p.mode == PersistenceMode::Temporary && (!was_temporary || p.created_at_unix.is_none()) {
        p.created_at_unix = Some(args.created_at.unwrap_or(now));
    }
    if let Some(v) = args.created_at {
        p.created_at_unix = Some(v);
    }
    if let Some(v) = args.ttl_hours {
        p.ttl_hours = v;
    }
    if let Some(v) = args.auto_start {
        p.auto_start = v;
    }
    if let Some(v) = args.restart_policy {
        p.restart_policy = v;
    }
    if let Some(v) = args.max_retries {
        p.max_retries = v;
    }
    if let Some(v) = args.auto_cleanup {
        p.auto_cleanup = v;
    }
    if let Some(v) = args.force_cleanup {
        p.force_cleanup = v;
    }
    if let Some(v) = args.cleanup_grace_period {
        p.cleanup_grace_period = v;
    }
    if let Some(v) = args.scheduled_cleanup {
        p.scheduled_cleanup = Some(v);
    }
    if args.clear_scheduled_cleanup {
        p.scheduled_cleanup = None;
    }
    if let Some(h) = args.extend_ttl {
        if let Some(at) = ttl::extended(p, first_seen, now, h) {
            p.scheduled_cleanup = Some(at);
        }
    }

    let o = &mut meta.policy;
    if args.clear_policy {
        *o = Default::default();
    }
    o.on_host_reboot = args.on_host_reboot.or(o.on_host_reboot);
    o.on_host_shutdown = args.on_host_shutdown.or(o.on_host_shutdown);
    o.on_memory_pressure = args.on_memory_pressure.or(o.on_memory_pressure);
    o.on_disk_full = args.on_disk_full.or(o.on_disk_full);
    o.enforce_memory_limit = args.enforce_memory_limit.or(o.enforce_memory_limit);
    o.enforce_cpu_limit = args.enforce_cpu_limit.or(o.enforce_cpu_limit);
    o.enforce_disk_limit = args.enforce_disk_limit.or(o.enforce_disk_limit);

    if args.no_autostart {
        meta.autostart = None;
    } else if touches_autostart(args) {
        let a = meta
            .autostart
            .get_or_insert_with(VmAutoStartConfig::default);
        if let Some(v) = args.autostart_enabled {
            a.enabled = v;
        }
        if let Some(v) = args.start_order {
            a.start_order = v;
        }
        if let Some(v) = args.start_delay_seconds {
            a.start_delay_seconds = v;
        }
        if let Some(v) = args.wait_for_ssh {
            a.wait_for_ssh = v;
        }
        if let Some(v) = args.ssh_timeout_seconds {
            a.ssh_timeout_seconds = v;
        }
        if let Some(v) = args.on_start_failure {
            a.on_start_failure = v;
        }
        if let Some(v) = args.max_start_retries {
            a.max_start_retries = v;
        }
        if !args.depends_on.is_empty() {
            a.depends_on = args.depends_on.clone();
        }
        if args.clear_depends_on {
            a.depends_on.clear();
        }
    }
    if args.reset_restart_count {
        meta.state.restart_count = 0;
    }
}

fn touches_autostart(a: &SetArgs) -> bool {
    a.autostart_enabled.is_some()
        || a.start_order.is_some()
        || a.start_delay_seconds.is_some()
        || a.wait_for_ssh.is_some()
        || a.ssh_timeout_seconds.is_some()
        || a.on_start_failure.is_some()
        || a.max_start_retries.is_some()
        || !a.depends_on.is_empty()
        || a.clear_depends_on
}

/// Read, change and write one VM's metadata.
pub fn run(
    s: &Session,
    now: DateTime<Utc>,
    args: &SetArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let target = s.hv.lookup(&args.domain)?;
    let now_s = now.timestamp();
    let mut meta = if args.reset {
        LifecycleMeta::default()
    } else {
        match s.hv.metadata(&target.uuid)? {
            None => LifecycleMeta::default(),
            Some(xml) => metadata::parse(&xml).map_err(|e| {
                CliError::new(format!(
                    "{}: invalid policy ({e}); add --reset to start over from the defaults",
                    target.name
                ))
            })?,
        }
    };
    if let Some(missing) = args.depends_on.iter().find(|d| s.hv.lookup(d).is_err()) {
        return Err(CliError::new(format!(
            "--depends-on {missing:?}: no such domain on {}",
            s.uri
        ))
        .into());
    }
    if args
        .depends_on
        .iter()
        .any(|d| d == &target.name || d == &target.uuid)
    {
        return Err(CliError::new(format!(
            "--depends-on: {} cannot depend on itself",
            target.name
        ))
        .into());
    }
    apply(args, &mut meta, now_s, now_s);
    let xml = metadata::to_xml(&meta);
    refuse_bad_change(s, &target.name, &xml, &meta, args, now)?;
    if args.dry_run {
        writeln!(out, "{xml}")?;
        return Ok(());
    }
    s.hv.set_metadata(&target.uuid, Some(&xml))?;
    let status = ttl::status(&meta.persistence, now_s, now_s);
    writeln!(
        out,
        "{}: updated ({})",
        target.name,
        describe(&meta, status)
    )?;
    if let ttl::TtlStatus::Expired { .. } = status {
        if meta.persistence.auto_cleanup {
            writeln!(
                out,
                "note: {} is expired; the next cleanup round may remove it",
                target.name
            )?;
        }
    }
    if s.demo {
        writeln!(
            out,
            "note: the demo keeps changes only while this process runs"
        )?;
    }
    Ok(())
}

/// Refuses what `set` must not write: a value outside its documented range (it would
/// read back as an invalid policy) and a `--depends-on` that closes a dependency cycle
/// (`db-1 → app-1 → db-1`). Nothing is written then.
fn refuse_bad_change(
    s: &Session,
    name: &str,
    xml: &str,
    meta: &LifecycleMeta,
    args: &SetArgs,
    now: DateTime<Utc>,
) -> Result<(), RunError> {
    if let Err(e) = metadata::parse(xml) {
        return Err(CliError::new(format!("{name}: not changed: {e}")).into());
    }
    if args.depends_on.is_empty() {
        return Ok(());
    }
    let views = crate::host::inventory(&s.hv, None, now)?;
    let new_deps = crate::lifecycle::autostart::record_deps(&Ok(meta.clone())).to_vec();
    if let Some(cycle) = closed_cycle(name, &new_deps, &views) {
        return Err(CliError::new(format!(
            "--depends-on: {name} would be in a dependency cycle: {}; not changed",
            cycle.join(" → ")
        ))
        .into());
    }
    Ok(())
}

/// The dependency cycle through `name` once its `depends_on` is `deps`, if any.
fn closed_cycle(name: &str, deps: &[String], views: &[crate::poll::VmView]) -> Option<Vec<String>> {
    use crate::lifecycle::autostart::{dependency_cycles, record_deps};
    let graph = views.iter().map(|v| {
        let n = v.snapshot.vm_name.as_str();
        (
            n,
            if n == name {
                deps
            } else {
                record_deps(&v.meta)
            },
        )
    });
    dependency_cycles(graph).remove(name)
}

fn describe(meta: &LifecycleMeta, status: ttl::TtlStatus) -> String {
    match meta.persistence.mode {
        PersistenceMode::Permanent => "permanent".into(),
        PersistenceMode::Temporary => format!("temporary, ttl {}", status.countdown()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> SetArgs {
        SetArgs {
            domain: "vm".into(),
            ..SetArgs::default()
        }
    }

    #[test]
    fn switching_to_temporary_stamps_created_at() {
        let mut m = LifecycleMeta::default();
        apply(
            &SetArgs {
                mode: Some(PersistenceMode::Temporary),
                ..args()
            },
            &mut m,
            0,
            500,
        );
        assert_eq!(m.persistence.created_at_unix, Some(500));
        // Given explicitly, it wins.
        let mut m = LifecycleMeta::default();
        apply(
            &SetArgs {
                mode: Some(PersistenceMode::Temporary),
                created_at: Some(7),
                ..args()
            },
            &mut m,
            0,
            500,
        );
        assert_eq!(m.persistence.created_at_unix, Some(7));
        // Already temporary with a stamp: unchanged.
        let mut m = LifecycleMeta::default();
        m.persistence.mode = PersistenceMode::Temporary;
        m.persistence.created_at_unix = Some(3);
        apply(
            &SetArgs {
                ttl_hours: Some(2.0),
                ..args()
            },
            &mut m,
            0,
            500,
        );
        assert_eq!(m.persistence.created_at_unix, Some(3));
        assert_eq!(m.persistence.ttl_hours, 2.0);
    }

    #[test]
    fn extend_moves_scheduled_cleanup() {
        let mut m = LifecycleMeta::default();
        m.persistence.mode = PersistenceMode::Temporary;
        m.persistence.created_at_unix = Some(0);
        m.persistence.ttl_hours = 1.0;
        apply(
            &SetArgs {
                extend_ttl: Some(2.0),
                ..args()
            },
            &mut m,
            0,
            100,
        );
        assert_eq!(m.persistence.scheduled_cleanup, Some(3 * 3600));
    }

    #[test]
    fn autostart_created_only_when_touched() {
        let mut m = LifecycleMeta::default();
        apply(&args(), &mut m, 0, 0);
        assert_eq!(m, LifecycleMeta::default());
        apply(
            &SetArgs {
                depends_on: vec!["db".into()],
                start_order: Some(-3),
                ..args()
            },
            &mut m,
            0,
            0,
        );
        let a = m.autostart.clone().unwrap();
        assert_eq!(
            (a.depends_on, a.start_order, a.enabled),
            (vec!["db".to_string()], -3, true)
        );
        apply(
            &SetArgs {
                no_autostart: true,
                ..args()
            },
            &mut m,
            0,
            0,
        );
        assert!(m.autostart.is_none());
    }

    #[test]
    fn policy_overrides_and_clear() {
        let mut m = LifecycleMeta::default();
        apply(
            &SetArgs {
                on_host_shutdown: Some(HostShutdownAction::SaveState),
                ..args()
            },
            &mut m,
            0,
            0,
        );
        assert_eq!(
            m.policy.on_host_shutdown,
            Some(HostShutdownAction::SaveState)
        );
        apply(
            &SetArgs {
                clear_policy: true,
                ..args()
            },
            &mut m,
            0,
            0,
        );
        assert!(m.policy.is_empty());
    }

    #[test]
    fn value_parsers() {
        assert_eq!(parse_hours("1.5"), Ok(1.5));
        assert!(parse_hours("-1").is_err());
        assert!(parse_hours("inf").is_err());
        assert!(parse_hours("NaN").is_err());
        assert_eq!(parse_time("100"), Ok(100));
        assert_eq!(parse_time("1970-01-01T00:01:40Z"), Ok(100));
        assert!(parse_time("tomorrow").is_err());
    }
}
