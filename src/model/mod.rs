//! The lifecycle contracts (`assets/vm_lifecycle.ncl`) as Rust types.
//!
//! Field names, enum values and defaults are the project's public vocabulary: they are
//! the same in the metadata, the config file and the JSON output. `tests/contract.rs`
//! reads the contract file and fails when this module drifts from it.
//!
//! Where the contract leaves a value open the Rust type is an `Option`:
//! `created_at_unix` (a temporary VM without it gets the time it was first seen), and the
//! snapshot measurements that can be unknown (first poll, a driver that does not report
//! them) — unknown is `null` in JSON, never a made-up 0.

mod enums;
mod hhmm;
pub mod ranges;
mod uuid;

pub use enums::*;
pub use hhmm::HhMm;
pub use uuid::{Uuid, VmRef};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Per-VM persistence: permanent or temporary, TTL, restart policy, cleanup flags.
/// Lives in the domain metadata (`<vmlife:persistence .../>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmPersistence {
    pub mode: PersistenceMode,
    pub auto_start: bool,
    pub restart_policy: RestartPolicy,
    pub max_retries: u32,
    /// Hours; fractions allowed (0.5 is half an hour).
    pub ttl_hours: f64,
    pub auto_cleanup: bool,
    pub force_cleanup: bool,
    /// Seconds a guest gets to shut down before a cleanup gives up or forces.
    pub cleanup_grace_period: u64,
    /// Unix seconds; required by the contract, absent on VMs vmlife has not stamped yet.
    pub created_at_unix: Option<i64>,
    /// Unix seconds; when set it is the expiry (an extended TTL moves it).
    pub scheduled_cleanup: Option<i64>,
    /// Unix seconds of the last start or stop vmlife saw or made.
    pub last_state_change: Option<i64>,
}

impl Default for VmPersistence {
    fn default() -> Self {
        Self {
            mode: PersistenceMode::Permanent,
            auto_start: false,
            restart_policy: RestartPolicy::Always,
            max_retries: 5,
            ttl_hours: 24.0,
            auto_cleanup: true,
            force_cleanup: false,
            cleanup_grace_period: 60,
            created_at_unix: None,
            scheduled_cleanup: None,
            last_state_change: None,
        }
    }
}

/// Reactions to host events and limit enforcement. Host defaults come from the config
/// file; a VM's metadata may override any field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmLifecyclePolicy {
    pub on_host_reboot: HostRebootAction,
    pub on_host_shutdown: HostShutdownAction,
    pub on_memory_pressure: PressureAction,
    pub on_disk_full: PressureAction,
    pub enforce_memory_limit: bool,
    pub enforce_cpu_limit: bool,
    pub enforce_disk_limit: bool,
}

impl Default for VmLifecyclePolicy {
    fn default() -> Self {
        Self {
            on_host_reboot: HostRebootAction::Start,
            on_host_shutdown: HostShutdownAction::Shutdown,
            on_memory_pressure: PressureAction::None,
            on_disk_full: PressureAction::None,
            enforce_memory_limit: true,
            enforce_cpu_limit: true,
            enforce_disk_limit: false,
        }
    }
}

/// A per-VM override of [`VmLifecyclePolicy`]: the fields its metadata sets.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmLifecyclePolicyOverride {
    pub on_host_reboot: Option<HostRebootAction>,
    pub on_host_shutdown: Option<HostShutdownAction>,
    pub on_memory_pressure: Option<PressureAction>,
    pub on_disk_full: Option<PressureAction>,
    pub enforce_memory_limit: Option<bool>,
    pub enforce_cpu_limit: Option<bool>,
    pub enforce_disk_limit: Option<bool>,
}

impl VmLifecyclePolicyOverride {
    /// The effective policy: each field the VM sets, else the host default.
    pub fn apply(&self, host: &VmLifecyclePolicy) -> VmLifecyclePolicy {
        VmLifecyclePolicy {
            on_host_reboot: self.on_host_reboot.unwrap_or(host.on_host_reboot),
            on_host_shutdown: self.on_host_shutdown.unwrap_or(host.on_host_shutdown),
            on_memory_pressure: self.on_memory_pressure.unwrap_or(host.on_memory_pressure),
            on_disk_full: self.on_disk_full.unwrap_or(host.on_disk_full),
            enforce_memory_limit: self
                .enforce_memory_limit
                .unwrap_or(host.enforce_memory_limit),
            enforce_cpu_limit: self.enforce_cpu_limit.unwrap_or(host.enforce_cpu_limit),
            enforce_disk_limit: self.enforce_disk_limit.unwrap_or(host.enforce_disk_limit),
        }
    }

    /// True when the VM overrides nothing.
    pub fn is_empty(&self) -> bool {
        self == &Self::default()
    }
}

/// One temporary VM's cleanup: when, status, attempts, last error. Kept in the state store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmCleanupSchedule {
    pub vm_name: String,
    pub vm_id: Uuid,
    #[serde(default)]
    pub mode: CleanupMode,
    pub created_at: DateTime<Utc>,
    pub scheduled_cleanup_at: DateTime<Utc>,
    pub ttl_hours: f64,
    #[serde(default)]
    pub cleanup_status: CleanupStatus,
    #[serde(default)]
    pub cleanup_attempts: u32,
    #[serde(default)]
    pub last_cleanup_attempt: Option<DateTime<Utc>>,
    #[serde(default)]
    pub cleanup_error: Option<String>,
}

/// What a VM was doing before a host shutdown, with its saved memory and config.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VmRecoveryState {
    pub vm_name: String,
    pub vm_id: Uuid,
    pub state_before_shutdown: RecoveryVmState,
    pub creation_timestamp: DateTime<Utc>,
    pub last_checkpoint: DateTime<Utc>,
    #[serde(default)]
    pub memory_snapshot: Option<String>,
    #[serde(default)]
    pub memory_size_mb: Option<u64>,
    /// The domain XML at the checkpoint (the contract's `Dyn`).
    pub config_snapshot: serde_json::Value,
}

/// Ordered start of one VM. Lives in the domain metadata (`<vmlife:autostart>`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmAutoStartConfig {
    /// The domain's name; taken from the domain, not stored in its metadata.
    pub vm_name: String,
    pub enabled: bool,
    pub start_order: i64,
    pub start_delay_seconds: u64,
    pub wait_for_ssh: bool,
    pub ssh_timeout_seconds: u64,
    pub on_start_failure: StartFailureAction,
    pub max_start_retries: u32,
    /// Names of the VMs that must be up first.
    pub depends_on: Vec<String>,
}

impl Default for VmAutoStartConfig {
    fn default() -> Self {
        Self {
            vm_name: String::new(),
            enabled: true,
            start_order: 0,
            start_delay_seconds: 0,
            wait_for_ssh: true,
            ssh_timeout_seconds: 300,
            on_start_failure: StartFailureAction::Retry,
            max_start_retries: 3,
            depends_on: Vec::new(),
        }
    }
}

/// When and how cleanup rounds run. Host-wide, from the config file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct VmCleanupPolicy {
    pub cleanup_enabled: bool,
    pub check_interval_minutes: u32,
    pub cleanup_window_start: HhMm,
    pub cleanup_window_end: HhMm,
    pub cleanup_in_window_only: bool,
    pub max_concurrent_cleanups: u32,
    pub cleanup_batch_size: u32,
    pub require_confirmation: bool,
    pub dry_run_mode: bool,
    pub skip_on_low_resources: bool,
    pub log_cleanup_operations: bool,
    pub alert_on_cleanup_failure: bool,
    pub retention_days: u32,
}

impl Default for VmCleanupPolicy {
    fn default() -> Self {
        Self {
            cleanup_enabled: true,
            check_interval_minutes: 60,
            cleanup_window_start: HhMm::new(2, 0),
            cleanup_window_end: HhMm::new(6, 0),
            cleanup_in_window_only: true,
            max_concurrent_cleanups: 3,
            cleanup_batch_size: 10,
            require_confirmation: false,
            dry_run_mode: false,
            skip_on_low_resources: true,
            log_cleanup_operations: true,
            alert_on_cleanup_failure: true,
            retention_days: 7,
        }
    }
}

/// An empty address list, shared (no allocation per snapshot).
pub fn no_addresses() -> Arc<[String]> {
    static EMPTY: std::sync::OnceLock<Arc<[String]>> = std::sync::OnceLock::new();
    Arc::clone(EMPTY.get_or_init(|| Arc::from([])))
}

/// One live observation of a VM. Built by the poller; exported by `ls --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VmStateSnapshot {
    pub vm_name: String,
    pub snapshot_time: DateTime<Utc>,
    pub vm_state: VmState,
    /// Share of the whole VM's vCPUs: 100 means every vCPU busy. `None` until two polls.
    pub cpu_usage_percent: Option<f64>,
    /// Memory the guest holds (balloon current); `None` when the driver does not say.
    pub memory_usage_mb: Option<u64>,
    /// Host storage the VM's disks occupy (sum of block allocation), in GB (10^9 bytes).
    pub disk_usage_gb: Option<f64>,
    /// Shared with the poller's cache (a poll hands them out without copying).
    pub ip_addresses: Arc<[String]>,
    pub mac_addresses: Arc<[String]>,
    /// Seconds since the tracked moment the VM last started; `None` when unknown.
    pub uptime_seconds: Option<u64>,
    pub restart_count: u32,
}

impl VmStateSnapshot {
    /// An observation with nothing measured yet.
    pub fn empty(vm_name: impl Into<String>, at: DateTime<Utc>, vm_state: VmState) -> Self {
        Self {
            vm_name: vm_name.into(),
            snapshot_time: at,
            vm_state,
            cpu_usage_percent: None,
            memory_usage_mb: None,
            disk_usage_gb: None,
            ip_addresses: no_addresses(),
            mac_addresses: no_addresses(),
            uptime_seconds: None,
            restart_count: 0,
        }
    }
}
