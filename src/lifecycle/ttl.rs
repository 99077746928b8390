//! TTL arithmetic: when a temporary VM expires and how that reads on screen.
//!
//! Pure functions of (persistence, now). DESIGN.md §1: a temporary VM expires at
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
mod tests {
    use super::*;

    fn temp(created: Option<i64>, ttl_hours: f64, scheduled: Option<i64>) -> VmPersistence {
        VmPersistence {
            mode: PersistenceMode::Temporary,
            created_at_unix: created,
            ttl_hours,
            scheduled_cleanup: scheduled,
            ..VmPersistence::default()
        }
    }

    #[test]
    fn expiry_table() {
        let now = 1_000_000;
        let cases: &[(&str, VmPersistence, i64, TtlStatus)] = &[
            (
                "permanent never expires",
                VmPersistence::default(),
                now,
                TtlStatus::Permanent,
            ),
            (
                "created + ttl",
                temp(Some(now - 3600), 2.0, None),
                now,
                TtlStatus::Live {
                    expires_at: now + 3600,
                    remaining: 3600,
                },
            ),
            (
                "scheduled_cleanup wins over created + ttl",
                temp(Some(now - 3600), 2.0, Some(now + 60)),
                now,
                TtlStatus::Live {
                    expires_at: now + 60,
                    remaining: 60,
                },
            ),
            (
                "expired",
                temp(Some(now - 7200), 1.0, None),
                now,
                TtlStatus::Expired {
                    expires_at: now - 3600,
                    overdue: 3600,
                },
            ),
            (
                "exactly at expiry counts as expired",
                temp(Some(now - 3600), 1.0, None),
                now,
                TtlStatus::Expired {
                    expires_at: now,
                    overdue: 0,
                },
            ),
            (
                "no created_at: counts from first seen, not expired on sight",
                temp(None, 1.0, None),
                now,
                TtlStatus::Live {
                    expires_at: now + 3600,
                    remaining: 3600,
                },
            ),
            (
                "fractional hours",
                temp(Some(now), 0.5, None),
                now,
                TtlStatus::Live {
                    expires_at: now + 1800,
                    remaining: 1800,
                },
            ),
            (
                "zero ttl expires at creation",
                temp(Some(now), 0.0, None),
                now,
                TtlStatus::Expired {
                    expires_at: now,
                    overdue: 0,
                },
            ),
        ];
        for (what, p, first_seen, want) in cases {
            assert_eq!(status(p, *first_seen, now), *want, "{what}");
        }
    }

    #[test]
    fn absurd_ttls_saturate() {
        assert_eq!(ttl_seconds(f64::MAX), i64::MAX);
        assert_eq!(ttl_seconds(-1.0), 0);
        assert_eq!(ttl_seconds(f64::NAN), 0);
        let p = temp(Some(i64::MAX - 5), 1e300, None);
        assert_eq!(expires_at(&p, 0), Some(i64::MAX));
    }

    #[test]
    fn countdown_strings() {
        let now = 1_000_000;
        let s = |p: VmPersistence| status(&p, now, now).countdown();
        assert_eq!(s(VmPersistence::default()), "—");
        assert_eq!(
            s(temp(Some(now), 0.0, Some(now + 3 * 3600 + 12 * 60 + 5))),
            "3h12m"
        );
        assert_eq!(s(temp(Some(now), 0.0, Some(now - 300))), "expired 5m ago");
        assert_eq!(s(temp(Some(now), 0.0, Some(now + 45))), "45s");
        assert_eq!(
            s(temp(Some(now), 0.0, Some(now + 2 * 86_400 + 4 * 3600))),
            "2d4h"
        );
    }

    #[test]
    fn remaining_is_negative_once_expired() {
        let now = 1_000_000;
        let st = status(&temp(Some(now - 7200), 1.0, None), now, now);
        assert_eq!(st.remaining_seconds(), Some(-3600));
        assert!(st.expires_within(3600));
        assert_eq!(
            status(&VmPersistence::default(), now, now).remaining_seconds(),
            None
        );
    }

    #[test]
    fn extend_from_expiry_or_from_now() {
        let now = 1_000_000;
        let live = temp(Some(now), 1.0, None);
        assert_eq!(extended(&live, now, now, 2.0), Some(now + 3 * 3600));
        let expired = temp(Some(now - 7200), 1.0, None);
        assert_eq!(extended(&expired, now, now, 1.0), Some(now + 3600));
        assert_eq!(extended(&VmPersistence::default(), now, now, 1.0), None);
    }
}
