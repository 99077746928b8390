//! The `[pressure]` config section: when the host counts as under memory pressure, how
//! long that must last, and when a VM paused for a full disk may run again
//! (docs/ARCHITECTURE.md, "Resource pressure"). What each VM does about it is its
//! `on_memory_pressure` / `on_disk_full` (`[policy]` holds the host defaults).
//!
//! ```toml
//! [pressure]
//! memory_available_percent = 5     # under pressure below 5 % of memory available
//! # psi_some_avg10_percent = 20    # …or memory PSI "some" avg10 above 20 % (off)
//! # psi_full_avg10_percent = 10    # …or memory PSI "full" avg10 above 10 % (off)
//! hold_seconds = 10                # over a threshold this long before acting
//! clear_seconds = 300              # clear this long before resuming
//! settle_seconds = 10              # between two memory steps (one VM each)
//! disk_resume_free_percent = 5     # resume a disk-full VM when its file system has
//! disk_resume_free_mib = 256       #   this share and this much free
//! ```
//!
//! The defaults follow the kubelet's node-pressure eviction: a hold of one housekeeping
//! interval (10 s), a 5-minute transition period before the condition clears, one VM
//! per step. PSI is off by default: a busy host can show short stalls without being
//! short of memory; systemd-oomd, the anchor for PSI, acts on `full` avg10 above 60 %
//! for 30 s, for scale.

use serde::{Deserialize, Serialize};

use super::{int_in, num_in};
use crate::lifecycle::pressure::PressureSettings;

/// `[pressure]`: thresholds and timings of the pressure reactions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PressureConfig {
    /// Under memory pressure when available memory (`MemAvailable`, or the remote
    /// host's free memory) is below this share of the total, percent (0–100; 0: never
    /// by this figure).
    pub memory_available_percent: f64,
    /// Also under pressure when `/proc/pressure/memory` `some avg10` is above this,
    /// percent (0–100). Unset: not looked at.
    pub psi_some_avg10_percent: Option<f64>,
    /// Also under pressure when `/proc/pressure/memory` `full avg10` is above this,
    /// percent (0–100). Unset: not looked at.
    pub psi_full_avg10_percent: Option<f64>,
    /// Seconds a threshold must stay crossed before the host is under pressure (0–3600).
    pub hold_seconds: u64,
    /// Seconds every figure must stay clear before the host leaves pressure and paused
    /// VMs are resumed (0–86400).
    pub clear_seconds: u64,
    /// Seconds between two memory steps, so the host is measured after each (0–3600).
    pub settle_seconds: u64,
    /// A VM paused for a full disk is resumed when the disk's file system (or pool) has
    /// at least this share free, percent (0–99)…
    pub disk_resume_free_percent: f64,
    /// …and at least this many MiB free (0–1048576).
    pub disk_resume_free_mib: u64,
}

impl Default for PressureConfig {
    fn default() -> Self {
        let s = PressureSettings::default();
        PressureConfig {
            memory_available_percent: s.memory_available_percent,
            psi_some_avg10_percent: s.psi_some_avg10_percent,
            psi_full_avg10_percent: s.psi_full_avg10_percent,
            hold_seconds: secs(s.hold_seconds),
            clear_seconds: secs(s.clear_seconds),
            settle_seconds: secs(s.settle_seconds),
            disk_resume_free_percent: s.disk_resume_free_percent,
            disk_resume_free_mib: s.disk_resume_free_mib,
        }
    }
}

fn secs(s: i64) -> u64 {
    u64::try_from(s).unwrap_or(0)
}

/// Seconds for the planner; the ranges keep them far below `i64::MAX`.
fn signed(s: u64) -> i64 {
    i64::try_from(s).unwrap_or(i64::MAX)
}

impl PressureConfig {
    /// The planner's settings.
    pub fn settings(&self) -> PressureSettings {
        PressureSettings {
            memory_available_percent: self.memory_available_percent,
            psi_some_avg10_percent: self.psi_some_avg10_percent,
            psi_full_avg10_percent: self.psi_full_avg10_percent,
            hold_seconds: signed(self.hold_seconds),
            clear_seconds: signed(self.clear_seconds),
            settle_seconds: signed(self.settle_seconds),
            disk_resume_free_percent: self.disk_resume_free_percent,
            disk_resume_free_mib: self.disk_resume_free_mib,
        }
    }
}

/// Checks serde cannot express: every number in its range; `Err` names the key.
pub fn check(p: &PressureConfig) -> Result<(), String> {
    let whole: [(&str, u64, std::ops::RangeInclusive<u64>); 4] = [
        ("pressure.hold_seconds", p.hold_seconds, 0..=3600),
        ("pressure.clear_seconds", p.clear_seconds, 0..=86_400),
        ("pressure.settle_seconds", p.settle_seconds, 0..=3600),
        (
            "pressure.disk_resume_free_mib",
            p.disk_resume_free_mib,
            0..=1_048_576,
        ),
    ];
    for (key, v, range) in whole {
        int_in(key, v, range)?;
    }
    num_in(
        "pressure.memory_available_percent",
        p.memory_available_percent,
        0.0..=100.0,
    )?;
    num_in(
        "pressure.disk_resume_free_percent",
        p.disk_resume_free_percent,
        0.0..=99.0,
    )?;
    let psi = [
        ("pressure.psi_some_avg10_percent", p.psi_some_avg10_percent),
        ("pressure.psi_full_avg10_percent", p.psi_full_avg10_percent),
    ];
    for (key, v) in psi {
        if let Some(v) = v {
            num_in(key, v, 0.0..=100.0)?;
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "pressure_tests.rs"]
mod tests;
