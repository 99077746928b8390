//! Is the host short of resources (`skip_on_low_resources`)?
//!
//! The [`crate::hypervisor::Hypervisor`] trait has no free-memory call, so the engine
//! reads `/proc/meminfo` itself — only when the connection is to this host (a local
//! URI), since a remote hypervisor's memory is not this machine's. For a remote URI the
//! answer is [`Pressure::Unknown`], which does not hold rounds back.

use std::fmt;

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

/// True when `uri` names a hypervisor on this machine: no host part, and no transport
/// other than a unix socket (`qemu:///system`, `qemu:///session`,
/// `qemu+unix:///session?socket=…`, `test:///default`).
pub fn is_local_uri(uri: &str) -> bool {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return false;
    };
    let transport = scheme.split_once('+').map(|(_, t)| t);
    let host = rest.split(['/', '?']).next().unwrap_or_default();
    host.is_empty() && matches!(transport, None | Some("unix"))
}

/// The host's memory pressure for a connection to `uri`: available memory below
/// `low_percent` of the total is pressure.
pub fn host_pressure(uri: &str, low_percent: f64) -> Pressure {
    if !is_local_uri(uri) {
        return Pressure::Unknown(format!(
            "{uri} is not on this host; its free memory is not known"
        ));
    }
    match std::fs::read_to_string("/proc/meminfo") {
        Ok(text) => meminfo_pressure(&text, low_percent),
        Err(e) => Pressure::Unknown(format!("cannot read /proc/meminfo: {e}")),
    }
}

/// Pressure from `/proc/meminfo` text (`MemTotal`, `MemAvailable`, in kB).
pub fn meminfo_pressure(meminfo: &str, low_percent: f64) -> Pressure {
    let field = |name: &str| {
        meminfo.lines().find_map(|l| {
            let rest = l.strip_prefix(name)?.strip_prefix(':')?;
            rest.split_whitespace().next()?.parse::<u64>().ok()
        })
    };
    let (Some(total), Some(avail)) = (field("MemTotal"), field("MemAvailable")) else {
        return Pressure::Unknown("/proc/meminfo lacks MemTotal or MemAvailable".into());
    };
    if total == 0 {
        return Pressure::Unknown("/proc/meminfo says MemTotal is 0".into());
    }
    let pct = avail as f64 * 100.0 / total as f64;
    let gib = total as f64 / (1024.0 * 1024.0);
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
