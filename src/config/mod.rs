//! The config file: host defaults, cleanup policy, connection, dashboard settings.
//!
//! TOML, found at `--config PATH`, else `$VMLIFE_CONFIG`, else the platform config dir
//! (`~/.config/vmlife/config.toml`). A missing default file means built-in defaults; a
//! missing file that was named explicitly is an error. Sections hold the contract
//! records under their contract field names, so `nickel export --format toml` of a
//! config written against the contract loads as is. Unknown keys are errors: a typo
//! silently ignored is a policy silently not applied.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::model::{VmCleanupPolicy, VmLifecyclePolicy};

mod connections;
mod host;
mod limits;
mod pressure;

pub use crate::keys::{KeyChord, KeyCode};
pub use connections::{
    check_name, is_local_uri, resolve_hosts, uri_host, ConnectionEntry, EngineHome, HostSpec,
};
pub use host::{AfterTimeout, HostAutostartConfig, HostConfig};
pub use limits::LimitsConfig;
pub use pressure::PressureConfig;

/// The default connection when neither `-c`, `LIBVIRT_DEFAULT_URI` nor the config says.
pub const DEFAULT_URI: &str = "qemu:///system";

/// The whole config file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub connection: ConnectionConfig,
    /// `[[connections]]`: the hosts shown at once (`--host NAME` picks some).
    pub connections: Vec<ConnectionEntry>,
    /// Host defaults of the lifecycle policy; each VM's metadata may override fields.
    pub policy: VmLifecyclePolicy,
    /// When and how cleanup rounds run.
    pub cleanup: VmCleanupPolicy,
    /// What a cleanup removes besides the domain.
    pub cleanup_actions: CleanupActions,
    pub dashboard: DashboardConfig,
    /// The lifecycle engine's cadence (`vmlife daemon`).
    pub engine: EngineConfig,
    /// What the engine runs when it raises an alert.
    pub alerts: AlertsConfig,
    /// `[host]`: host shutdown and boot.
    pub host: HostConfig,
    /// `[autostart]`: the ordered start's SSH probe and limits.
    pub autostart: HostAutostartConfig,
    /// `[pressure]`: memory-pressure thresholds and timings, the disk-full resume margin.
    pub pressure: PressureConfig,
    /// `[limits]`: report or apply the VMs' limits, and the figures they derive from.
    pub limits: LimitsConfig,
    /// Dashboard key bindings: `action = ["key", ...]` replaces that action's keys.
    pub keys: BTreeMap<String, Vec<String>>,
}

/// Which hypervisor to talk to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// libvirt URI; `-c` and `LIBVIRT_DEFAULT_URI` take precedence.
    pub uri: Option<String>,
    /// How long opening the connection may take before vmlife says the URI did not
    /// answer; `--connect-timeout` takes precedence. Default 15.
    pub connect_timeout_seconds: Option<u64>,
}

/// Host-wide choices about what a cleanup deletes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleanupActions {
    /// Also delete the VM's storage volumes (off: disks outlive the domain).
    pub remove_storage: bool,
}

/// Dashboard cadence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DashboardConfig {
    /// Seconds between polls: the state of every VM, and the CPU of the running VMs in
    /// view (from `/proc` for a local URI). Not under 1.
    pub refresh_seconds: f64,
    /// Seconds between asks for the memory and disk allocation of the running VMs in
    /// view (each ask wakes that guest's QEMU monitor). A figure older than this (plus a
    /// refresh) is shown as stale.
    pub memory_disk_refresh_seconds: f64,
    /// Seconds between address look-ups of the running VMs in view (the selected one:
    /// every refresh).
    pub address_refresh_seconds: f64,
    /// With several hosts: seconds between full polls (every domain's state) of a host
    /// other than the first while the selected VM is not on it; between them, each
    /// refresh asks only its running count and its VMs in view (the selected VM's host
    /// is fully polled every refresh; any host's domain events poll it fully at once).
    pub host_refresh_seconds: f64,
    /// Hours one press of the extend-TTL key adds.
    pub extend_step_hours: f64,
}

impl Default for DashboardConfig {
    fn default() -> Self {
        // Two seconds: CPU % stays readable while a 500-domain host pays well under 1 %
        // of a core (docs/PERFORMANCE.md).
        Self {
            refresh_seconds: 2.0,
            memory_disk_refresh_seconds: 15.0,
            address_refresh_seconds: 60.0,
            host_refresh_seconds: 60.0,
            extend_step_hours: 1.0,
        }
    }
}

/// The lifecycle engine's cadence and thresholds (`[engine]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EngineConfig {
    /// Seconds between the engine's polls (state only: cheap).
    pub poll_seconds: u64,
    /// Seconds a VM must run without stopping before its restart streak ends and
    /// `restart_count` goes back to 0.
    pub restart_stable_seconds: u64,
    /// The host is "under pressure" (`skip_on_low_resources`) when available memory is
    /// below this share of the total, in percent.
    pub low_memory_percent: f64,
    /// On SIGTERM, seconds the daemon waits for running commands before it exits (an
    /// unfinished cleanup is retried at the next start).
    pub stop_timeout_seconds: u64,
    /// The engine's own initiatives (the restart policy) reach every VM, not only those
    /// that carry a vmlife element (docs/ARCHITECTURE.md). Host shutdown/boot reach
    /// every VM either way.
    pub manage_all_vms: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            poll_seconds: 5,
            restart_stable_seconds: 300,
            low_memory_percent: 5.0,
            stop_timeout_seconds: 20,
            manage_all_vms: false,
        }
    }
}

/// The alert hook (`[alerts]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AlertsConfig {
    /// A program and its arguments, run (no shell) for every alert with `VMLIFE_VM_NAME`,
    /// `VMLIFE_VM_ID`, `VMLIFE_ACTION`, `VMLIFE_ERROR` and `VMLIFE_URI` in its
    /// environment. Empty: no command.
    pub command: Vec<String>,
    /// Seconds the command may run before it is killed.
    pub timeout_seconds: u64,
}

impl Default for AlertsConfig {
    fn default() -> Self {
        Self {
            command: Vec::new(),
            timeout_seconds: 30,
        }
    }
}

/// A config that could not be read, naming the file and, for TOML errors, the line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    pub path: PathBuf,
    pub message: String,
}

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "config file {}: {}", self.path.display(), self.message)
    }
}

impl std::error::Error for ConfigError {}

/// Where the config file is looked for when nothing names one.
pub fn default_path() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "vmlife").map(|d| d.config_dir().join("config.toml"))
}

/// Where the state store lives when `--state-dir` does not say: `/var/lib/vmlife` for
/// root (the system service's, so `vmlife plan` as root sees the daemon's records), else
/// the user's state dir (`~/.local/state/vmlife`).
pub fn default_state_dir() -> Option<PathBuf> {
    if running_as_root() {
        return Some(PathBuf::from(SYSTEM_STATE_DIR));
    }
    directories::ProjectDirs::from("", "", "vmlife")
        .map(|d| d.state_dir().unwrap_or(d.data_local_dir()).to_path_buf())
}

/// The system service's state store.
pub const SYSTEM_STATE_DIR: &str = "/var/lib/vmlife";

/// True for an effective uid of 0 (`/proc/self` belongs to the effective user).
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

impl Config {
    /// Load `explicit` (from `--config` or `VMLIFE_CONFIG`), else the default file if it
    /// exists, else the built-in defaults.
    pub fn load(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
        match explicit {
            Some(p) => Ok((Self::load_file(p)?, Some(p.to_path_buf()))),
            None => match default_path() {
                Some(p) if p.exists() => Ok((Self::load_file(&p)?, Some(p))),
                _ => Ok((Config::default(), None)),
            },
        }
    }

    /// Read and check one file.
    pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
        let err = |message: String| ConfigError {
            path: path.to_path_buf(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        Self::parse(&text).map_err(err)
    }

    /// Parse and check config text; the error says where.
    pub fn parse(text: &str) -> Result<Config, String> {
        let config: Config = toml::from_str(text).map_err(|e| one_line(&e.to_string()))?;
        config.check()?;
        Ok(config)
    }

    /// Checks serde cannot express: every number in its documented range (README,
    /// "Ranges"), so no later arithmetic on it can overflow, and non-empty strings.
    fn check(&self) -> Result<(), String> {
        self.check_ranges()?;
        if self
            .alerts
            .command
            .first()
            .is_some_and(|p| p.trim().is_empty())
        {
            return Err("alerts.command: the program (first element) is empty".into());
        }
        crate::keys::resolve(&self.keys)?;
        host::check(&self.host, &self.autostart)?;
        pressure::check(&self.pressure)?;
        limits::check(&self.limits)?;
        if let Some(uri) = &self.connection.uri {
            if uri.trim().is_empty() {
                return Err("connection.uri is empty".into());
            }
        }
        if let Some(t) = self.connection.connect_timeout_seconds {
            int_in("connection.connect_timeout_seconds", t, 1..=3600)?;
        }
        connections::check(&self.connections)?;
        Ok(())
    }
}

impl Config {
    /// The sections' numbers against their ranges; `Err` names the key. One line per
    /// key: a new key adds its line here and in the README table.
    fn check_ranges(&self) -> Result<(), String> {
        let (c, d, e) = (&self.cleanup, &self.dashboard, &self.engine);
        let whole: [(&str, u64, RangeInclusive<u64>); 8] = [
            (
                "cleanup.check_interval_minutes",
                c.check_interval_minutes.into(),
                1..=10_080,
            ),
            (
                "cleanup.max_concurrent_cleanups",
                c.max_concurrent_cleanups.into(),
                1..=100,
            ),
            (
                "cleanup.cleanup_batch_size",
                c.cleanup_batch_size.into(),
                1..=10_000,
            ),
            ("cleanup.retention_days", c.retention_days.into(), 0..=3650),
            ("engine.poll_seconds", e.poll_seconds, 1..=3600),
            (
                "engine.restart_stable_seconds",
                e.restart_stable_seconds,
                0..=604_800,
            ),
            (
                "engine.stop_timeout_seconds",
                e.stop_timeout_seconds,
                0..=3600,
            ),
            (
                "alerts.timeout_seconds",
                self.alerts.timeout_seconds,
                1..=3600,
            ),
        ];
        for (key, v, range) in whole {
            int_in(key, v, range)?;
        }
        num_in("dashboard.refresh_seconds", d.refresh_seconds, 1.0..=3600.0)?;
        num_in(
            "dashboard.memory_disk_refresh_seconds",
            d.memory_disk_refresh_seconds,
            1.0..=3600.0,
        )?;
        num_in(
            "dashboard.address_refresh_seconds",
            d.address_refresh_seconds,
            1.0..=86400.0,
        )?;
        num_in(
            "dashboard.host_refresh_seconds",
            d.host_refresh_seconds,
            1.0..=3600.0,
        )?;
        let step = d.extend_step_hours;
        if !(step > 0.0 && step <= crate::model::ranges::TTL_HOURS_MAX) {
            return Err(format!(
                "dashboard.extend_step_hours must be more than 0 and at most 8760, not {step:?}"
            ));
        }
        let low = e.low_memory_percent;
        if !(low.is_finite() && (0.0..100.0).contains(&low)) {
            return Err(format!(
                "engine.low_memory_percent must be from 0 to under 100, not {low:?}"
            ));
        }
        Ok(())
    }
}

/// A whole number key against its range: `KEY must be from MIN to MAX, not V`.
pub(crate) fn int_in(key: &str, v: u64, range: RangeInclusive<u64>) -> Result<(), String> {
    if range.contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{key} must be from {} to {}, not {v}",
            range.start(),
            range.end()
        ))
    }
}

/// A number key against its range (NaN and infinities are outside every range).
pub(crate) fn num_in(key: &str, v: f64, range: RangeInclusive<f64>) -> Result<(), String> {
    if range.contains(&v) {
        Ok(())
    } else {
        Err(format!(
            "{key} must be from {:?} to {:?}, not {v:?}",
            range.start(),
            range.end()
        ))
    }
}

/// toml's messages span several lines (a source excerpt with a caret); keep the first
/// line (it has the line and column) and the explanation, joined on one line.
fn one_line(msg: &str) -> String {
    let lines: Vec<&str> = msg
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let head = lines.first().copied().unwrap_or("invalid TOML");
    let tail = lines.last().copied().unwrap_or_default();
    if lines.len() > 1 && tail != head {
        format!("{head}: {tail}")
    } else {
        head.to_string()
    }
}

/// The connection URI by precedence: `-c`, `LIBVIRT_DEFAULT_URI`, config, default.
pub fn resolve_uri(flag: Option<&str>, env: Option<&str>, config: &Config) -> String {
    flag.or(env.filter(|e| !e.is_empty()))
        .or(config.connection.uri.as_deref())
        .unwrap_or(DEFAULT_URI)
        .to_string()
}

#[cfg(test)]
mod tests;
