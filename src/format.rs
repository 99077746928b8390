//! Cell formatting shared by the CLI's tables and the dashboard.

use crate::lifecycle::ttl::{format_duration, TtlStatus};
use crate::model::{RestartPolicy, VmState};
use crate::poll::VmView;

/// Shown where a value is unknown or does not apply.
pub const NONE: &str = "—";

/// `4.0G`, `512M` from MiB.
pub fn mem_mb(mb: Option<u64>) -> String {
    match mb {
        None => NONE.into(),
        Some(mb) if mb >= 1024 => format!("{:.1}G", mb as f64 / 1024.0),
        Some(mb) => format!("{mb}M"),
    }
}

/// `12.3G` from GB.
pub fn disk_gb(gb: Option<f64>) -> String {
    gb.map_or_else(|| NONE.into(), |g| format!("{g:.1}G"))
}

/// `12%`.
pub fn cpu(pct: Option<f64>) -> String {
    pct.map_or_else(|| NONE.into(), |p| format!("{p:.0}%"))
}

/// Uptime of a running VM; `?` when unknown, `—` when not running.
pub fn uptime(state: VmState, secs: Option<u64>) -> String {
    match (state, secs) {
        (VmState::Stopped | VmState::Error, _) => NONE.into(),
        (_, None) => "?".into(),
        (_, Some(s)) => format_duration(i64::try_from(s).unwrap_or(i64::MAX)),
    }
}

/// `temporary`, `permanent` or `INVALID` (policy error).
pub fn mode(view: &VmView) -> String {
    view.persistence()
        .map_or_else(|| "INVALID".into(), |p| p.mode.to_string())
}

/// The TTL column.
pub fn ttl(status: Option<TtlStatus>) -> String {
    status.map_or_else(|| "?".into(), TtlStatus::countdown)
}

/// `2/5` (restarts by policy / max_retries); just the count when the policy is `no`.
pub fn restarts(view: &VmView) -> String {
    let count = view.snapshot.restart_count;
    match view.persistence() {
        Some(p) if p.restart_policy != RestartPolicy::No => format!("{count}/{}", p.max_retries),
        _ => count.to_string(),
    }
}
