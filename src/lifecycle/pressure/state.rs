//! The memory-pressure hysteresis: a short hold before entering pressure, a long clear
//! time before leaving it (the kubelet's eviction transition period), so one spike does
//! not suspend a VM and one good reading does not resume them all.
//!
//! ```text
//!  Fine ──over──▶ Entering(since) ──over ≥ hold──▶ Under(since)
//!   ▲                 │ clear                        │ clear   ▲ over
//!   │◀────────────────┘                              ▼         │
//!   └──────────clear ≥ clear_seconds────────── Clearing(since, under_since)
//! ```
//!
//! An [`Signal::Unknown`] reading changes nothing: vmlife neither enters nor leaves
//! pressure on a figure it does not have.

use serde::{Deserialize, Serialize};

use super::{PressureSettings, Signal};

/// Where the host stands on memory pressure. Times are unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum PressureState {
    #[default]
    Fine,
    /// Over a threshold since `since`, not yet for `hold_seconds`.
    Entering { since: i64 },
    /// Under pressure; the signal has been over since `since`.
    Under { since: i64 },
    /// Was under pressure (over since `under_since`); clear since `since`, not yet for
    /// `clear_seconds`. Still counts as pressure: nothing is resumed yet.
    Clearing { since: i64, under_since: i64 },
}

impl PressureState {
    /// The state after a reading at `now`.
    pub fn next(self, signal: &Signal, now: i64, s: &PressureSettings) -> PressureState {
        use PressureState::*;
        let over = match signal {
            Signal::Over(_) => true,
            Signal::Clear(_) => false,
            Signal::Unknown(_) => return self,
        };
        let held = |since: i64, secs: i64| now.saturating_sub(since) >= secs;
        match (self, over) {
            (Fine, true) if s.hold_seconds <= 0 => Under { since: now },
            (Fine, true) => Entering { since: now },
            (Fine, false) => Fine,
            (Entering { since }, true) if held(since, s.hold_seconds) => Under { since },
            (Entering { since }, true) => Entering { since },
            (Entering { .. }, false) => Fine,
            (Under { since }, true) => Under { since },
            (Under { .. }, false) if s.clear_seconds <= 0 => Fine,
            (Under { since }, false) => Clearing {
                since: now,
                under_since: since,
            },
            (Clearing { under_since, .. }, true) => Under { since: under_since },
            (Clearing { since, .. }, false) if held(since, s.clear_seconds) => Fine,
            (c @ Clearing { .. }, false) => c,
        }
    }

    /// Under pressure or clearing from it: no resume yet.
    pub fn is_pressure(self) -> bool {
        matches!(
            self,
            PressureState::Under { .. } | PressureState::Clearing { .. }
        )
    }

    /// For `plan` and the dashboard: `fine`, `entering (over for 4 s of 10 s)`,
    /// `under pressure for 12 s`, `clearing (clear for 40 s of 300 s)`.
    pub fn describe(self, now: i64, s: &PressureSettings) -> String {
        let age = |since: i64| now.saturating_sub(since).max(0);
        match self {
            PressureState::Fine => "fine".into(),
            PressureState::Entering { since } => format!(
                "entering (over for {} s of {} s)",
                age(since),
                s.hold_seconds
            ),
            PressureState::Under { since } => format!("under pressure for {} s", age(since)),
            PressureState::Clearing { since, .. } => format!(
                "clearing (clear for {} s of {} s)",
                age(since),
                s.clear_seconds
            ),
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;
