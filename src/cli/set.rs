//! `vmlife set DOMAIN [...]`: change a VM's lifecycle settings in its metadata.
//!
//! Reads the VM's current vmlife element, applies the flags, and writes the whole
//! element back (LIVE|CONFIG where libvirt allows). A VM whose metadata is invalid is
//! refused unless `--reset` starts it over from the defaults: merging flags into
//! something that could not be read would keep a broken policy half-alive.

use std::io::Write;
use std::path::Path;

use chrono::{DateTime, Utc};
use clap::Args;
use serde_json::{json, Map, Value};

use super::RunError;
use crate::format::escape;
use crate::hypervisor::{StatsGroups, VmRef};
use crate::lifecycle::{ttl, Actor};
use crate::metadata::{self, LifecycleMeta, MetaError};
use crate::model::{
    HostRebootAction, HostShutdownAction, PersistenceMode, PressureAction, RestartPolicy,
    StartFailureAction, VmAutoStartConfig,
};
use crate::session::{login_name, Error, Session};
use crate::store::JournalEntry;

/// The flags of `vmlife set`; each names a contract field.
#[derive(Debug, Clone, Default, PartialEq, Args)]
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

/// Read, change and write one VM's metadata, journaling the change (old and new
/// values) in `state_dir`: a line before the write, and its result after. When the
/// journal cannot be written, nothing is changed.
pub fn run(
    s: &Session,
    state_dir: &Path,
    now: DateTime<Utc>,
    args: &SetArgs,
    out: &mut impl Write,
) -> Result<(), RunError> {
    if changes_nothing(args) {
        return Err(Error {
            message: format!(
                "set {}: nothing to change (give at least one flag; see vmlife set --help)",
                args.domain
            ),
            code: 2,
        }
        .into());
    }
    let target = s.hv.lookup(&args.domain)?;
    if let Some(warning) = ambiguity(s, &args.domain, &target) {
        eprintln!("vmlife: warning: {warning}");
    }
    // `raw` goes into error messages (main escapes them once, as it prints them);
    // `name` into what this function prints itself.
    let raw = &target.name;
    let name = escape(raw);
    let now_s = now.timestamp();
    let before = metadata::parse_or_default(s.hv.metadata(&target.uuid)?.as_deref());
    let mut meta = match (&before, args.reset) {
        (_, true) => LifecycleMeta::default(),
        (Ok(m), false) => m.clone(),
        (Err(e), false) => {
            return Err(Error::new(format!(
                "{raw}: invalid policy ({e}); add --reset to start over from the defaults"
            ))
            .into())
        }
    };
    if let Some(missing) = args.depends_on.iter().find(|d| s.hv.lookup(d).is_err()) {
        return Err(Error::new(format!(
            "--depends-on {:?}: no such domain on {}",
            missing, s.uri
        ))
        .into());
    }
    // Dependencies are kept by name (the ordered start matches names): a UUID given
    // on the command line is stored as its domain's name.
    let resolved;
    let args = if args.depends_on.is_empty() {
        args
    } else {
        let mut a = args.clone();
        a.depends_on = args
            .depends_on
            .iter()
            .map(|d| s.hv.lookup(d).map(|r| r.name))
            .collect::<Result<_, _>>()?;
        resolved = a;
        &resolved
    };
    if args
        .depends_on
        .iter()
        .any(|d| d == &target.name || d == &target.uuid)
    {
        return Err(Error::new(format!("--depends-on: {raw} cannot depend on itself")).into());
    }
    apply(args, &mut meta, now_s, now_s);
    let xml = metadata::to_xml(&meta);
    refuse_bad_change(s, &target.name, &xml, &meta, args, now)?;
    if args.dry_run {
        writeln!(out, "{xml}")?;
        return Ok(());
    }
    if before.as_ref() == Ok(&meta) {
        writeln!(out, "{name}: unchanged (it already has these settings)")?;
        return Ok(());
    }
    let detail = change_detail(&before, &meta);
    let journal = s
        .journal(state_dir)
        .map_err(|e| Error::new(format!("journal: {e}; {raw} was not changed")))?;
    let entry = |result: String| JournalEntry {
        time: Utc::now(),
        actor: Actor::Cli(login_name()).to_string(),
        vm_name: target.name.clone(),
        vm_id: target.uuid.clone(),
        action: "set".into(),
        reason: "vmlife set".into(),
        result,
        detail: Some(detail.clone()),
        host: None,
    };
    journal
        .append(&entry("starting: write metadata".into()))
        .map_err(|e| Error::new(format!("journal: {e}; {raw} was not changed")))?;
    let written = s.hv.set_metadata(&target.uuid, Some(&xml));
    let result = match &written {
        Ok(()) => "ok".to_string(),
        Err(e) => format!("error: {e}"),
    };
    if let Err(e) = journal.append(&entry(result)) {
        eprintln!("vmlife: warning: the result of set {name} was not journaled: {e}");
    }
    written?;
    let status = ttl::status(&meta.persistence, now_s, now_s);
    writeln!(out, "{name}: updated ({})", describe(&meta, status))?;
    if let ttl::TtlStatus::Expired { .. } = status {
        if meta.persistence.auto_cleanup {
            writeln!(
                out,
                "note: {name} is expired; the next cleanup round may remove it"
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

/// True when `args` names no change at all (only the domain, maybe `--dry-run`).
fn changes_nothing(args: &SetArgs) -> bool {
    let bare = SetArgs {
        domain: String::new(),
        dry_run: false,
        ..args.clone()
    };
    bare == SetArgs::default()
}

/// A warning when `arg` could mean two domains: it is the name of one and the UUID of
/// another (libvirt allows a domain named like another's UUID).
fn ambiguity(s: &Session, arg: &str, target: &VmRef) -> Option<String> {
    let all = s.hv.poll(StatsGroups::STATE).ok()?;
    let other = all
        .iter()
        .find(|d| d.uuid != target.uuid && (d.uuid == arg || d.name == arg))?;
    Some(format!(
        "{:?} is both the name of one domain and the UUID of another ({} and {}); \
         acting on {} ({})",
        escape(arg),
        escape(&target.name),
        escape(&other.name),
        escape(&target.name),
        target.uuid
    ))
}

/// The journal's `detail` for a change: each changed field (dotted path) with its old
/// and new value; an invalid old policy is given as its reason.
fn change_detail(before: &Result<LifecycleMeta, MetaError>, after: &LifecycleMeta) -> Value {
    let new = serde_json::to_value(after).unwrap_or(Value::Null);
    match before {
        Err(reason) => json!({ "previous_invalid": reason.to_string(), "new": new }),
        Ok(before) => {
            let old = serde_json::to_value(before).unwrap_or(Value::Null);
            let mut changes = Map::new();
            diff("", &old, &new, &mut changes);
            json!({ "changes": changes })
        }
    }
}

/// Adds `{path: {"old": …, "new": …}}` to `out` for every leaf that differs.
fn diff(path: &str, old: &Value, new: &Value, out: &mut Map<String, Value>) {
    if let (Value::Object(a), Value::Object(b)) = (old, new) {
        let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
        keys.sort();
        keys.dedup();
        for k in keys {
            let sub = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            let none = Value::Null;
            diff(
                &sub,
                a.get(k).unwrap_or(&none),
                b.get(k).unwrap_or(&none),
                out,
            );
        }
    } else if old != new {
        out.insert(path.to_string(), json!({ "old": old, "new": new }));
    }
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
        return Err(Error::new(format!("{name}: not changed: {e}")).into());
    }
    if args.depends_on.is_empty() {
        return Ok(());
    }
    let views = crate::host::inventory(&s.hv, None, now)?;
    let new_deps = crate::lifecycle::autostart::record_deps(&Ok(meta.clone())).to_vec();
    if let Some(cycle) = closed_cycle(name, &new_deps, &views) {
        return Err(Error::new(format!(
            "--depends-on: {name} would be in a dependency cycle: {}; not changed",
            cycle.join(" → ")
        ))
        .into());
    }
    Ok(())
}

/// The dependency cycle through `name` once its `depends_on` is `deps`, if any.
fn closed_cycle(name: &str, deps: &[String], views: &[crate::poll::Vm]) -> Option<Vec<String>> {
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
#[path = "set_tests.rs"]
mod tests;
