//! TTL arithmetic: when a temporary VM expires and how that reads on screen.
//!
//! Pure functions of (persistence, now). docs/ARCHITECTURE.md: a temporary VM expires at
//! `scheduled_cleanup` when set, else at `created_at_unix + ttl_hours*3600`. A temporary
//! VM without `created_at_unix` counts from the time vmlife first saw it (never
//! "expired on sight").

use crate::model::{PersistenceMode, VmPersistence};

/// Seconds in an hour.
const HOUR: i64 = 3600;

/// Where a VM stands against its TTL at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TtlStatus {
    /// Never expires.
    Permanent,
    /// Temporary, expiring at `expires_at`, `remaining` seconds from now (> 0).
    Live { expires_at: i64, remaining: i64 },
    /// Temporary and past its expiry by `overdue` seconds (>= 0).
    Expired { expires_at: i64, overdue: i64 },
}

impl TtlStatus {
    /// Seconds left (negative once expired); `None` for permanent VMs.
    pub fn remaining_seconds(self) -> Option<i64> {
        match self {
            TtlStatus::Permanent => None,
            TtlStatus::Live { remaining, .. } => Some(remaining),
            TtlStatus::Expired { overdue, .. } => Some(-overdue),
        }
    }

    /// The expiry moment (unix seconds); `None` for permanent VMs.
    pub fn expires_at(self) -> Option<i64> {
        match self {
            TtlStatus::Permanent => None,
            TtlStatus::Live { expires_at, .. } | TtlStatus::Expired { expires_at, .. } => {
                Some(expires_at)
            }
        }
    }

    /// True when the VM is temporary and expires within `within` seconds (or has).
    pub fn expires_within(self, within: i64) -> bool {
        matches!(self.remaining_seconds(), Some(r) if r <= within)
    }

    /// The TTL column: `3h12m`, `expired 5m ago`, `—` for permanent VMs.
    pub fn countdown(self) -> String {
        match self {
            TtlStatus::Permanent => "—".to_string(),
            TtlStatus::Live { remaining, .. } => format_duration(remaining),
            TtlStatus::Expired { overdue, .. } => {
                format!("expired {} ago", format_duration(overdue))
            }
        }
    }
}

/// The moment a temporary VM's TTL ends, in unix seconds; `None` when permanent.
///
/// `first_seen` stands in for a missing `created_at_unix`.
pub fn expires_at(p: &VmPersistence, first_seen: i64) -> Option<i64> {
    if p.mode == PersistenceMode::Permanent {
        return None;
    }
    if let Some(at) = p.scheduled_cleanup {
        return Some(at);
    }
    let created = p.created_at_unix.unwrap_or(first_seen);
    Some(created.saturating_add(ttl_seconds(p.ttl_hours)))
}

/// `ttl_hours` in whole seconds, saturating on absurd values (they come from users).
pub fn ttl_seconds(ttl_hours: f64) -> i64 {
    let secs = (ttl_hours * HOUR as f64).round();
    if secs.is_nan() || secs <= 0.0 {
        0
    } else if secs >= i64::MAX as f64 {
        i64::MAX
    } else {
        secs as i64
    }
}

/// The VM's TTL status at `now` (unix seconds).
pub fn status(p: &VmPersistence, first_seen: i64, now: i64) -> TtlStatus {
    match expires_at(p, first_seen) {
        None => TtlStatus::Permanent,
        Some(expires_at) if expires_at > now => TtlStatus::Live {
            expires_at,
            remaining: expires_at.saturating_sub(now),
        },
        Some(expires_at) => TtlStatus::Expired {
            expires_at,
            overdue: now.saturating_sub(expires_at),
        },
    }
}

/// The new `scheduled_cleanup` after extending a VM's TTL by `hours` at `now`: from its
/// current expiry, or from now when it has already expired (extending an expired VM by
/// an hour gives it an hour).
pub fn extended(p: &VmPersistence, first_seen: i64, now: i64, hours: f64) -> Option<i64> {
    let current = expires_at(p, first_seen)?;
    Some(current.max(now).saturating_add(ttl_seconds(hours)))
}

/// `t + d`, saturating at the ends of chrono's range instead of panicking
/// (`DateTime + TimeDelta overflowed`): a delay or timeout a person wrote may be absurd.
pub fn later(
    t: chrono::DateTime<chrono::Utc>,
    d: chrono::Duration,
) -> chrono::DateTime<chrono::Utc> {
    t.checked_add_signed(d)
        .unwrap_or(if d < chrono::Duration::zero() {
            chrono::DateTime::<chrono::Utc>::MIN_UTC
        } else {
            chrono::DateTime::<chrono::Utc>::MAX_UTC
        })
}

/// A unix time as `2026-11-27 14:00 UTC` (or the raw number when out of range).
pub fn show_unix(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0).map_or_else(
        || at.to_string(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

/// A compact duration for tables: `45s`, `5m`, `3h12m`, `2d4h`.
pub fn format_duration(secs: i64) -> String {
    let s = secs.max(0);
    let (d, h, m) = (s / 86_400, (s % 86_400) / HOUR, (s % HOUR) / 60);
    if d > 0 {
        format!("{d}d{h}h")
    } else if h > 0 {
        format!("{h}h{m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
#[path = "ttl_tests.rs"]
mod tests;
