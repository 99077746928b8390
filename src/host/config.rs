//! The `[host]` and `[autostart]` config sections: host shutdown/boot and the ordered
//! start's probing and limits.
//!
//! ```toml
//! [host]
//! shutdown_timeout_seconds = 120   # ACPI grace per VM (on_host_shutdown = "shutdown")
//! after_timeout = "destroy"        # or "leave": what happens to a VM still running then
//! parallel = 4                     # VMs stopped (or restored) at once
//! # managed_save_dir = "/var/lib/libvirt/qemu/save"   # default: known for qemu:///system
//!
//! [autostart]
//! ssh_port = 22
//! ssh_address_override = { db-1 = "10.0.0.5", app-1 = "127.0.0.1:2222" }
//! ssh_probe_interval_seconds = 2.0
//! max_parallel = 4
//! retry_delay_seconds = 10.0
//! ```

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::config::{int_in, num_in, Config};
use crate::lifecycle::autostart::SequenceSettings;
use crate::model::VmLifecyclePolicy;

/// What host shutdown does with a VM that has not shut down within
/// `shutdown_timeout_seconds`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterTimeout {
    /// Hard power-off, journaled (the host is going down: this is what would happen to
    /// it anyway, only now it is recorded).
    #[default]
    Destroy,
    /// Leave it running; whatever stops the hypervisor next deals with it.
    Leave,
}

impl AfterTimeout {
    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            AfterTimeout::Destroy => "destroy",
            AfterTimeout::Leave => "leave",
        }
    }
}

/// `[host]`: host shutdown and boot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostConfig {
    /// Seconds a guest gets to shut down after the ACPI request (`on_host_shutdown =
    /// "shutdown"`, and the fallback when a managed save fails).
    pub shutdown_timeout_seconds: u64,
    /// What happens to a guest still running after that.
    pub after_timeout: AfterTimeout,
    /// VMs shut down, saved or restored at once.
    pub parallel: u32,
    /// Where the hypervisor keeps managed save images (`NAME.save`), to record their
    /// path and size. Default: `/var/lib/libvirt/qemu/save` for `qemu:///system`,
    /// unknown otherwise (then the recorded size is the VM's memory).
    pub managed_save_dir: Option<PathBuf>,
}

impl Default for HostConfig {
    fn default() -> Self {
        HostConfig {
            shutdown_timeout_seconds: 120,
            after_timeout: AfterTimeout::Destroy,
            parallel: 4,
            managed_save_dir: None,
        }
    }
}

/// `[autostart]`: how the ordered start probes SSH and how much runs at once.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HostAutostartConfig {
    /// The TCP port `wait_for_ssh` probes.
    pub ssh_port: u16,
    /// Per VM (by name): the address to probe instead of the VM's own (lease, agent,
    /// ARP): `"10.0.0.5"` (with `ssh_port`), `"10.0.0.5:2222"`, `"[fd00::5]:22"` or a
    /// host name (`"db-1.lan"`, `"db-1.lan:2222"`).
    pub ssh_address_override: BTreeMap<String, String>,
    /// Seconds between two probes of one VM (at least 0.1); one probe waits at most
    /// this long (and at most 3 s) for the TCP handshake.
    pub ssh_probe_interval_seconds: f64,
    /// VMs between "dependencies up" and "up" at once (delay, start, SSH wait).
    pub max_parallel: u32,
    /// Seconds between a failed start and its retry (`on_start_failure = "retry"`).
    pub retry_delay_seconds: f64,
}

impl Default for HostAutostartConfig {
    fn default() -> Self {
        HostAutostartConfig {
            ssh_port: 22,
            ssh_address_override: BTreeMap::new(),
            ssh_probe_interval_seconds: 2.0,
            max_parallel: 4,
            retry_delay_seconds: 10.0,
        }
    }
}

impl HostAutostartConfig {
    /// The state machine's settings.
    pub fn sequence(&self) -> SequenceSettings {
        SequenceSettings {
            max_parallel: usize::try_from(self.max_parallel.max(1)).unwrap_or(1),
            retry_delay_ms: millis(self.retry_delay_seconds),
            probe_interval_ms: millis(self.ssh_probe_interval_seconds).max(100),
        }
    }
}

fn millis(seconds: f64) -> i64 {
    if seconds.is_finite() && seconds > 0.0 {
        // Bounded: a year of milliseconds fits easily in an i64.
        (seconds.min(31_536_000.0) * 1000.0).round() as i64
    } else {
        0
    }
}

/// Checks serde cannot express, as `config.check()` does for the other sections:
/// `Err` names the key.
pub fn check(host: &HostConfig, autostart: &HostAutostartConfig) -> Result<(), String> {
    let whole: [(&str, u64, std::ops::RangeInclusive<u64>); 4] = [
        (
            "host.shutdown_timeout_seconds",
            host.shutdown_timeout_seconds,
            0..=3600,
        ),
        ("host.parallel", host.parallel.into(), 1..=256),
        ("autostart.ssh_port", autostart.ssh_port.into(), 1..=65_535),
        (
            "autostart.max_parallel",
            autostart.max_parallel.into(),
            1..=256,
        ),
    ];
    for (key, v, range) in whole {
        int_in(key, v, range)?;
    }
    num_in(
        "autostart.ssh_probe_interval_seconds",
        autostart.ssh_probe_interval_seconds,
        0.1..=3600.0,
    )?;
    num_in(
        "autostart.retry_delay_seconds",
        autostart.retry_delay_seconds,
        0.0..=3600.0,
    )?;
    if let Some((vm, _)) = autostart
        .ssh_address_override
        .iter()
        .find(|(_, a)| a.trim().is_empty())
    {
        return Err(format!("autostart.ssh_address_override.{vm} is empty"));
    }
    Ok(())
}

/// Everything the host hooks and the ordered start read from the config.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HostSettings {
    /// `[host]`.
    pub host: HostConfig,
    /// `[autostart]`.
    pub autostart: HostAutostartConfig,
    /// `[policy]`: host defaults of `on_host_shutdown` / `on_host_reboot`.
    pub policy: VmLifecyclePolicy,
}

impl HostSettings {
    /// The settings of a loaded config.
    ///
    /// Until `Config` has `host` and `autostart` fields, those two sections are the
    /// defaults here; with the fields added this becomes
    /// `host: c.host.clone(), autostart: c.autostart.clone()`.
    pub fn from_config(c: &Config) -> HostSettings {
        HostSettings {
            host: c.host.clone(),
            autostart: c.autostart.clone(),
            policy: c.policy.clone(),
        }
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
