//! The `[limits]` config section: whether vmlife sets a running VM's tunables to its
//! declared size, and the figures it derives them with (docs/ARCHITECTURE.md §1,
//! "Limits"). Which limits a VM gets is its `enforce_memory_limit`,
//! `enforce_cpu_limit`, `enforce_disk_limit` (`[policy]` holds the host defaults).
//!
//! ```toml
//! [limits]
//! apply = false                 # report only: never change a running VM's limits
//! memory_overhead_mib = 256     # memtune hard limit = <memory> + this
//! cpu_period_us = 100000        # whole-VM quota = vCPUs × this, per this period
//! disk_threshold_percent = 90   # block threshold at this share of each disk
//! ```

use serde::{Deserialize, Serialize};

use super::int_in;
use crate::lifecycle::limits::LimitSettings;

/// `[limits]`: report or apply, and the figures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitsConfig {
    /// Set drifting limits of running managed VMs (the engine, and `vmlife limits`
    /// without `--apply`). Off: report only, so installing vmlife never changes a
    /// running VM's limits unasked.
    pub apply: bool,
    /// MiB added to `<memory>` for the memtune hard limit (QEMU's own memory), 0–65536.
    pub memory_overhead_mib: u64,
    /// The CFS period of the whole-VM CPU quota, µs (1000–1000000, the kernel's range).
    pub cpu_period_us: u64,
    /// A disk's block threshold as a share of its capacity, percent (1–100).
    pub disk_threshold_percent: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        let s = LimitSettings::default();
        LimitsConfig {
            apply: false,
            memory_overhead_mib: s.memory_overhead_kib / 1024,
            cpu_period_us: s.cpu_period_us,
            disk_threshold_percent: u64::from(s.disk_threshold_percent),
        }
    }
}

impl LimitsConfig {
    /// The reconcile's settings (the ranges keep every figure in its type).
    pub fn settings(&self) -> LimitSettings {
        LimitSettings {
            memory_overhead_kib: self.memory_overhead_mib.saturating_mul(1024),
            cpu_period_us: self.cpu_period_us,
            disk_threshold_percent: u8::try_from(self.disk_threshold_percent.min(100))
                .unwrap_or(100),
        }
    }
}

/// Checks serde cannot express: every number in its range; `Err` names the key.
pub fn check(l: &LimitsConfig) -> Result<(), String> {
    int_in(
        "limits.memory_overhead_mib",
        l.memory_overhead_mib,
        0..=65_536,
    )?;
    int_in("limits.cpu_period_us", l.cpu_period_us, 1000..=1_000_000)?;
    int_in(
        "limits.disk_threshold_percent",
        l.disk_threshold_percent,
        1..=100,
    )?;
    Ok(())
}

#[cfg(test)]
#[path = "limits_tests.rs"]
mod tests;
