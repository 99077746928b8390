//! Is the host short of resources (`skip_on_low_resources`)?
//!
//! One reading serves both: `/proc/meminfo` parsed by
//! [`crate::lifecycle::pressure::signal`] for a local URI, the hypervisor's node memory
//! (`virNodeGetMemoryStats`) for a remote one (see [`super::signals`]). Without a
//! reading the answer is [`Pressure::Unknown`], which does not hold rounds back.

use std::fmt;

pub use crate::hypervisor::is_local_uri;
use crate::lifecycle::pressure::{signal, MemInfo};

/// What the engine knows about the host's resources.
#[derive(Debug, Clone, PartialEq)]
pub enum Pressure {
    /// Enough; the figure, for `vmlife plan`.
    Fine(String),
    /// Short; why (holds cleanup rounds back).
    Under(String),
    /// Not known (remote URI, unreadable `/proc/meminfo`); why.
    Unknown(String),
    /// Not looked at: `skip_on_low_resources = false` (shown as unknown, with
    /// [`NOT_CHECKED`] as the reason).
    NotChecked,
}

/// Why [`Pressure::NotChecked`] knows nothing: what `vmlife plan` shows for it.
pub const NOT_CHECKED: &str = "not checked (skip_on_low_resources = false)";

impl Pressure {
    /// The planner's `pressure` input: `Some(why)` only when under pressure.
    pub fn as_hold(&self) -> Option<String> {
        match self {
            Pressure::Under(why) => Some(why.clone()),
            _ => None,
        }
    }
}

impl fmt::Display for Pressure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pressure::Fine(s) => write!(f, "fine ({s})"),
            Pressure::Under(s) => write!(f, "under pressure ({s})"),
            Pressure::Unknown(s) => write!(f, "unknown ({s})"),
            Pressure::NotChecked => write!(f, "unknown ({NOT_CHECKED})"),
        }
    }
}

/// The host's memory pressure for a connection to `uri` (`skip_on_low_resources`):
/// available memory below `low_percent` of the total is pressure. Reads `/proc/meminfo`
/// for a local URI; a remote one is unknown here — the engine judges it from the
/// hypervisor's node memory ([`super::signals`]) instead.
pub fn host_pressure(uri: &str, low_percent: f64) -> Pressure {
    if !is_local_uri(uri) {
        return Pressure::Unknown(format!(
            "{uri} is not on this host; its free memory is not known"
        ));
    }
    match read_local_meminfo() {
        Ok(m) => memory_pressure(&m, low_percent),
        Err(e) => Pressure::Unknown(e),
    }
}

/// This machine's memory from `/proc/meminfo`; `Err` says why there is no figure.
pub fn read_local_meminfo() -> Result<MemInfo, String> {
    let text = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| format!("cannot read /proc/meminfo: {e}"))?;
    signal::parse_meminfo(&text).ok_or_else(|| MEMINFO_INCOMPLETE.to_string())
}

const MEMINFO_INCOMPLETE: &str = "/proc/meminfo lacks MemTotal or MemAvailable";

/// Pressure from `/proc/meminfo` text (`MemTotal`, `MemAvailable`, in kB), parsed by
/// [`signal::parse_meminfo`] like the pressure reactions' signal.
pub fn meminfo_pressure(meminfo: &str, low_percent: f64) -> Pressure {
    match signal::parse_meminfo(meminfo) {
        Some(m) => memory_pressure(&m, low_percent),
        None => Pressure::Unknown(MEMINFO_INCOMPLETE.into()),
    }
}

/// Pressure from a memory reading (local `/proc/meminfo` or a remote node's stats).
pub fn memory_pressure(m: &MemInfo, low_percent: f64) -> Pressure {
    let pct = m.available_percent();
    let gib = m.total_kib as f64 / (1024.0 * 1024.0);
    let text = format!("{pct:.1} % of {gib:.1} GiB memory available");
    if pct < low_percent {
        Pressure::Under(format!("{text}, below {low_percent} %"))
    } else {
        Pressure::Fine(text)
    }
}

#[cfg(test)]
#[path = "pressure_tests.rs"]
mod tests;
