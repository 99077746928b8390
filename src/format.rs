//! Cell formatting shared by the CLI's tables and the dashboard.

use crate::lifecycle::ttl::{format_duration, TtlStatus};
use crate::model::{RestartPolicy, VmState};
use crate::poll::Vm;

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
pub fn mode(view: &Vm) -> String {
    view.persistence()
        .map_or_else(|| "INVALID".into(), |p| p.mode.to_string())
}

/// The TTL column.
pub fn ttl(status: Option<TtlStatus>) -> String {
    status.map_or_else(|| "?".into(), TtlStatus::countdown)
}

/// `2/5` (restarts by policy / max_retries); just the count when the policy is `no`.
pub fn restarts(view: &Vm) -> String {
    let count = view.snapshot.restart_count;
    match view.persistence() {
        Some(p) if p.restart_policy != RestartPolicy::No => format!("{count}/{}", p.max_retries),
        _ => count.to_string(),
    }
}

/// `s` with every control character shown visibly (`\n`, `\t`, `\x1b`, `\u{85}`) and
/// backslashes doubled, so a VM name can never move the cursor, ring the bell or forge
/// a line of output. Every line vmlife prints with a name or other hypervisor text in
/// it goes through this (JSON output is escaped by serde; the dashboard's buffer drops
/// control characters itself).
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(|c| c.is_control() || c == '\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
