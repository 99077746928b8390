//! `vmlife show DOMAIN`: one VM's lifecycle records and live snapshot.

use std::io::Write;

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use super::{ls, RunError, VmRecord};
use crate::format::{self, NONE};
use crate::hypervisor::DiskInfo;
use crate::metadata::VmCounters;
use crate::model::{
    VmAutoStartConfig, VmCleanupSchedule, VmLifecyclePolicy, VmLifecyclePolicyOverride,
    VmRecoveryState,
};
use crate::poll::Vm;
use crate::session::Session;

/// `show --json`: the `ls --json` record plus every lifecycle record.
#[derive(Debug, Serialize)]
struct ShowRecord {
    #[serde(flatten)]
    vm: VmRecord,
    /// The effective policy (host default overridden by the VM); `null` when invalid.
    policy: Option<VmLifecyclePolicy>,
    /// The fields the VM's metadata overrides.
    policy_override: Option<VmLifecyclePolicyOverride>,
    autostart: Option<VmAutoStartConfig>,
    counters: Option<VmCounters>,
    cleanup_schedule: Option<VmCleanupSchedule>,
    recovery_state: Option<VmRecoveryState>,
    persistent: bool,
    libvirt_autostart: bool,
    /// The engine's own initiatives (restart policy) reach it: it has a vmlife element,
    /// or `[engine] manage_all_vms` is on. `false`: observed only.
    managed: bool,
    disks: Vec<DiskInfoJson>,
    /// The dependency cycle through this VM (`[a, b, a]`), when it is in one: it is
    /// held back from the ordered start.
    dependency_cycle: Option<Vec<String>>,
    /// Valid but questionable settings ([`crate::metadata::LifecycleMeta::warnings`]).
    warnings: Vec<String>,
    /// Its limits, desired against actual (the rows of `vmlife limits --json`).
    limits: Vec<crate::lifecycle::limits::LimitRow>,
}

#[derive(Debug, Serialize)]
struct DiskInfoJson {
    target: String,
    source: Option<String>,
    device: String,
}

impl From<&DiskInfo> for DiskInfoJson {
    fn from(d: &DiskInfo) -> Self {
        DiskInfoJson {
            target: d.target.clone(),
            source: d.source.clone(),
            device: d.device.clone(),
        }
    }
}

/// Find `domain` (name or UUID) and print it, with its cleanup record from the state
/// store in `dir` (none when the store has none or cannot be read).
pub fn run(
    s: &Session,
    dir: &std::path::Path,
    now: DateTime<Utc>,
    domain: &str,
    json: bool,
    out: &mut impl Write,
) -> Result<(), RunError> {
    let target = s.hv.lookup(domain)?;
    let views = ls::poll_once(s, now)?;
    let cycle = ls::cycles_of(&views).remove(&target.name);
    let Some(view) = views.into_iter().find(|v| v.uuid == target.uuid) else {
        return Err(super::Error::new(format!(
            "domain {domain:?} disappeared while it was being read"
        ))
        .into());
    };
    let mut record = show_record(s, &view, now);
    record.dependency_cycle = cycle;
    // A store that cannot be read is not an error for `show`: the records are optional.
    if let Ok(data) = crate::engine::EngineStore::new(dir).load() {
        record.cleanup_schedule = data.cleanups.records.get(&view.uuid).cloned();
        record.vm = record.vm.with_pressure(&data.engine.pressure, &view);
    }
    if json {
        serde_json::to_writer_pretty(&mut *out, &record)?;
        writeln!(out)?;
    } else {
        write_text(&record, &view, now, out)?;
    }
    Ok(())
}

fn show_record(s: &Session, view: &Vm, now: DateTime<Utc>) -> ShowRecord {
    let meta = view.meta.as_ref().ok();
    ShowRecord {
        vm: VmRecord::new(view, &s.uri, &s.host, now),
        policy: meta.map(|m| m.policy.apply(&s.config.policy)),
        policy_override: meta.map(|m| m.policy.clone()),
        autostart: meta.and_then(|m| m.autostart.clone()).map(|mut a| {
            a.vm_name = view.snapshot.vm_name.clone();
            a
        }),
        counters: meta.map(|m| m.state.clone()),
        // Kept in the state store by the engine; none yet.
        cleanup_schedule: None,
        recovery_state: None,
        persistent: view.persistent,
        libvirt_autostart: view.libvirt_autostart,
        managed: crate::engine::vm_is_managed(view, s.config.engine.manage_all_vms),
        disks: view
            .details
            .iter()
            .flat_map(|d| d.disks.iter().map(DiskInfoJson::from))
            .collect(),
        dependency_cycle: None,
        warnings: meta.map(|m| m.warnings()).unwrap_or_default(),
        limits: crate::engine::limits::reports(
            &*s.hv,
            std::slice::from_ref(view),
            &s.config,
            &crate::lifecycle::limits::RefusalMemo::new(),
            &|_| std::collections::BTreeSet::new(),
        )
        .into_iter()
        .flat_map(|(_, r)| r.rows)
        .collect(),
    }
}

/// A unix time as RFC 3339; `—` when unset, and the raw number when chrono cannot
/// represent it (`unix 99999999999999 (out of range)`), so a wild value shows as such
/// instead of passing for "not set".
fn unix(at: Option<i64>) -> String {
    match at {
        None => NONE.into(),
        Some(s) => Utc
            .timestamp_opt(s, 0)
            .single()
            .map_or_else(|| format!("unix {s} (out of range)"), |t| t.to_rfc3339()),
    }
}

fn write_text(
    r: &ShowRecord,
    view: &Vm,
    now: DateTime<Utc>,
    out: &mut impl Write,
) -> std::io::Result<()> {
    let s = &r.vm.snapshot;
    // Values come from the hypervisor and the metadata: escaped, so a name or an
    // error with control characters cannot forge output.
    let kv = |out: &mut dyn Write, k: &str, v: &dyn std::fmt::Display| {
        writeln!(out, "  {k:<22} {}", format::escape(&v.to_string()))
    };
    writeln!(
        out,
        "{} ({})",
        format::escape(&s.vm_name),
        format::escape(&r.vm.uuid)
    )?;
    kv(out, "uri", &r.vm.uri)?;
    if let Some(err) = &r.vm.policy_error {
        writeln!(
            out,
            "\n  INVALID POLICY (never acted on automatically): {}",
            format::escape(err)
        )?;
    }
    if let Some(c) = &r.dependency_cycle {
        writeln!(
            out,
            "\n  IN A DEPENDENCY CYCLE (held back from the ordered start): {}",
            format::escape(&c.join(" → "))
        )?;
    }
    for w in &r.warnings {
        writeln!(out, "  warning: {}", format::escape(w))?;
    }
    writeln!(out, "\nsnapshot at {}", s.snapshot_time.to_rfc3339())?;
    kv(out, "vm_state", &s.vm_state)?;
    kv(out, "cpu_usage_percent", &format::cpu(s.cpu_usage_percent))?;
    kv(out, "memory_usage_mb", &format::mem_mb(s.memory_usage_mb))?;
    kv(out, "disk_usage_gb", &format::disk_gb(s.disk_usage_gb))?;
    kv(out, "ip_addresses", &list(&s.ip_addresses))?;
    kv(out, "mac_addresses", &list(&s.mac_addresses))?;
    kv(
        out,
        "uptime_seconds",
        &format::uptime(s.vm_state, s.uptime_seconds),
    )?;
    kv(out, "restart_count", &format::restarts(view))?;
    kv(out, "persistent", &r.persistent)?;
    kv(out, "libvirt autostart", &r.libvirt_autostart)?;
    let managed = if r.managed {
        "yes (the engine's restart policy applies)"
    } else {
        "no: not managed by vmlife, observed only (no vmlife element; [engine] manage_all_vms = false)"
    };
    kv(out, "managed", &managed)?;
    for l in &r.limits {
        let what = match &l.target {
            Some(t) => format!("limit {} {t}", l.limit),
            None => format!("limit {}", l.limit),
        };
        kv(
            out,
            &what,
            &format!("{}: {}", l.status, format::escape(&l.reason)),
        )?;
    }
    for d in &r.disks {
        kv(
            out,
            &format!("disk {}", d.target),
            &d.source.as_deref().unwrap_or(NONE),
        )?;
    }
    if let Some(p) = &r.vm.persistence {
        writeln!(out, "\npersistence")?;
        kv(out, "mode", &p.mode)?;
        kv(out, "ttl", &format::ttl(view.ttl(now.timestamp())))?;
        let expires = view.ttl(now.timestamp()).and_then(|t| t.expires_at());
        kv(out, "expires_at", &unix(expires))?;
        kv(out, "ttl_hours", &p.ttl_hours)?;
        kv(out, "auto_start", &p.auto_start)?;
        kv(out, "restart_policy", &p.restart_policy)?;
        kv(out, "max_retries", &p.max_retries)?;
        kv(out, "auto_cleanup", &p.auto_cleanup)?;
        kv(out, "force_cleanup", &p.force_cleanup)?;
        kv(
            out,
            "cleanup_grace_period",
            &format!("{}s", p.cleanup_grace_period),
        )?;
        kv(out, "created_at_unix", &unix(p.created_at_unix))?;
        kv(out, "scheduled_cleanup", &unix(p.scheduled_cleanup))?;
        kv(out, "last_state_change", &unix(p.last_state_change))?;
    }
    if let Some(p) = &r.policy {
        writeln!(
            out,
            "\npolicy (host default, overridden by the VM where marked *)"
        )?;
        let o = r.policy_override.clone().unwrap_or_default();
        let mark = |set: bool| if set { " *" } else { "" };
        kv(
            out,
            "on_host_reboot",
            &format!("{}{}", p.on_host_reboot, mark(o.on_host_reboot.is_some())),
        )?;
        kv(
            out,
            "on_host_shutdown",
            &format!(
                "{}{}",
                p.on_host_shutdown,
                mark(o.on_host_shutdown.is_some())
            ),
        )?;
        kv(
            out,
            "on_memory_pressure",
            &format!(
                "{}{}",
                p.on_memory_pressure,
                mark(o.on_memory_pressure.is_some())
            ),
        )?;
        kv(
            out,
            "on_disk_full",
            &format!("{}{}", p.on_disk_full, mark(o.on_disk_full.is_some())),
        )?;
        kv(
            out,
            "enforce_memory_limit",
            &format!(
                "{}{}",
                p.enforce_memory_limit,
                mark(o.enforce_memory_limit.is_some())
            ),
        )?;
        kv(
            out,
            "enforce_cpu_limit",
            &format!(
                "{}{}",
                p.enforce_cpu_limit,
                mark(o.enforce_cpu_limit.is_some())
            ),
        )?;
        kv(
            out,
            "enforce_disk_limit",
            &format!(
                "{}{}",
                p.enforce_disk_limit,
                mark(o.enforce_disk_limit.is_some())
            ),
        )?;
    }
    match &r.autostart {
        Some(a) => {
            writeln!(out, "\nautostart")?;
            kv(out, "enabled", &a.enabled)?;
            kv(out, "start_order", &a.start_order)?;
            kv(out, "start_delay_seconds", &a.start_delay_seconds)?;
            kv(out, "wait_for_ssh", &a.wait_for_ssh)?;
            kv(out, "ssh_timeout_seconds", &a.ssh_timeout_seconds)?;
            kv(out, "on_start_failure", &a.on_start_failure)?;
            kv(out, "max_start_retries", &a.max_start_retries)?;
            kv(out, "depends_on", &list(&a.depends_on))?;
        }
        None if r.vm.persistence.is_some() => writeln!(out, "\nautostart: not configured")?,
        None => {}
    }
    match &r.cleanup_schedule {
        Some(c) => {
            writeln!(out, "\ncleanup schedule")?;
            kv(out, "cleanup_status", &c.cleanup_status)?;
            kv(
                out,
                "scheduled_cleanup_at",
                &c.scheduled_cleanup_at.to_rfc3339(),
            )?;
            kv(out, "cleanup_attempts", &c.cleanup_attempts)?;
            kv(
                out,
                "last_cleanup_attempt",
                &c.last_cleanup_attempt
                    .map_or_else(|| NONE.into(), |t| t.to_rfc3339()),
            )?;
            kv(
                out,
                "cleanup_error",
                &c.cleanup_error.as_deref().unwrap_or(NONE),
            )?;
        }
        None => writeln!(out, "\ncleanup schedule: none recorded")?,
    }
    writeln!(out, "recovery state: none recorded")?;
    Ok(())
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        NONE.into()
    } else {
        items.join(", ")
    }
}

#[cfg(test)]
#[path = "show_tests.rs"]
mod tests;
