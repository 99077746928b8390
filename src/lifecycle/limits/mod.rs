//! Limits: a running VM's declared size kept by libvirt's own tunables, decided purely
//! (docs/ARCHITECTURE.md §1, "Limits").
//!
//! For each running VM [`reconcile`] compares what the VM should have with what the
//! hypervisor reports, limit by limit ([`LimitRow`]), and lists the calls that would
//! bring the drifting ones in line ([`SetLimit`]):
//! - **memory** (`enforce_memory_limit`): the memtune hard limit at the VM's `<memory>`
//!   plus [`LimitSettings::memory_overhead_kib`] (QEMU's own allocations);
//! - **cpu** (`enforce_cpu_limit`): a whole-VM CFS quota (`global_period` /
//!   `global_quota`) of its vCPU count: `quota = vcpus × period`;
//! - **disk** (`enforce_disk_limit`): per disk, a block threshold at
//!   [`LimitSettings::disk_threshold_percent`] of its capacity; the threshold event is
//!   handled as a disk-full warning, and a disk whose threshold fired is not re-armed
//!   (libvirt clears a threshold when it fires; re-arming it would fire again at once).
//!
//! The rules (each a table test in `reconcile_tests.rs`):
//! - Only managed VMs (a vmlife element, or `manage_all_vms`), with a valid policy,
//!   running; never a VM with a VFIO host device (libvirt sizes its memory lock itself).
//! - A limit its policy does not enforce is reported `off`, never set.
//! - Never lowered: a limit already at or above the VM's need (set by hand) is `kept`;
//!   only an unlimited one or one below the need drifts, and is raised to the need.
//! - A tunable the driver refused (to read or to set) is `refused` with the reason and
//!   planned no call, until the VM's definition changes ([`RefusalMemo`]).
//!
//! Nothing here decides whether the steps run: `[limits] apply` does (report only by
//! default), in the engine and `vmlife limits --apply`.

mod memo;
mod reconcile;

use std::collections::BTreeSet;

use serde::Serialize;

use crate::model::{Uuid, VmLifecyclePolicy};

pub use memo::RefusalMemo;
pub use reconcile::reconcile;

/// `[limits]` in the reconcile's units.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LimitSettings {
    /// Added to `<memory>` for the hard limit, KiB.
    pub memory_overhead_kib: u64,
    /// The CFS period of the whole-VM quota, microseconds.
    pub cpu_period_us: u64,
    /// A disk's block threshold, percent of its capacity (1–100).
    pub disk_threshold_percent: u8,
}

impl Default for LimitSettings {
    fn default() -> Self {
        LimitSettings {
            memory_overhead_kib: 256 * 1024,
            cpu_period_us: 100_000,
            disk_threshold_percent: 90,
        }
    }
}

/// Which limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitKind {
    Memory,
    Cpu,
    Disk,
}

impl LimitKind {
    /// The JSON and table spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LimitKind::Memory => "memory",
            LimitKind::Cpu => "cpu",
            LimitKind::Disk => "disk",
        }
    }

    /// The policy field that turns it on.
    pub fn policy_field(self) -> &'static str {
        match self {
            LimitKind::Memory => "enforce_memory_limit",
            LimitKind::Cpu => "enforce_cpu_limit",
            LimitKind::Disk => "enforce_disk_limit",
        }
    }
}

impl std::fmt::Display for LimitKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the hypervisor answered for one tunable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "status", content = "value")]
pub enum Reading<T> {
    /// Not read (yet).
    Unknown,
    /// The value.
    Read(T),
    /// The driver refused; its message.
    Refused(String),
}

/// The whole-VM CFS bandwidth as read: `None` quota (or ≤ 0) means unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuQuota {
    pub period_us: Option<u64>,
    pub quota_us: Option<i64>,
}

/// One disk as the hypervisor reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DiskTunable {
    /// Target (`vda`).
    pub target: String,
    /// Capacity in bytes; `None` when not known.
    pub capacity_bytes: Option<u64>,
    /// The armed block threshold in bytes; `None` or 0: none.
    pub threshold_bytes: Option<u64>,
}

/// What the hypervisor reports about a VM's tunables.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Tunables {
    /// The memtune hard limit, KiB; `Read(None)`: unlimited.
    pub memory_hard_limit_kib: Reading<Option<u64>>,
    pub cpu: Reading<CpuQuota>,
    pub disks: Reading<Vec<DiskTunable>>,
}

impl Default for Tunables {
    fn default() -> Self {
        Tunables {
            memory_hard_limit_kib: Reading::Unknown,
            cpu: Reading::Unknown,
            disks: Reading::Unknown,
        }
    }
}

/// A VM's declared size: what its limits derive from. Its change (a new definition)
/// forgets the refusals remembered for it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Declared {
    /// `<memory>`, KiB.
    pub memory_kib: Option<u64>,
    pub vcpus: Option<u32>,
    /// The disk targets.
    pub disks: Vec<String>,
}

/// One VM as the reconcile sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VmLimitFacts {
    pub uuid: Uuid,
    pub name: String,
    /// Carries a vmlife element, or `manage_all_vms` ([`super::restart::is_managed`]).
    pub managed: bool,
    pub running: bool,
    /// Its vmlife metadata parsed.
    pub policy_valid: bool,
    /// The effective policy (host defaults + the VM's override).
    pub policy: VmLifecyclePolicy,
    /// Has a VFIO (PCI passthrough) host device.
    pub vfio: bool,
    pub declared: Declared,
    pub actual: Tunables,
    /// Disks whose threshold event fired since the definition last changed.
    pub threshold_fired: BTreeSet<String>,
}

/// How a limit stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitStatus {
    /// Actual is the desired value.
    Ok,
    /// Actual is at or above the need (set by hand): left alone.
    Kept,
    /// Unlimited or below the need: a step sets it.
    Drift,
    /// The policy does not enforce it.
    Off,
    /// Not acted on (not managed, not running, invalid policy, VFIO, size unknown).
    Skipped,
    /// The driver refused to read or set it.
    Refused,
    /// The disk's threshold fired (a disk-full warning); not re-armed.
    Reached,
    /// Not read.
    Unknown,
}

impl LimitStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitStatus::Ok => "ok",
            LimitStatus::Kept => "kept",
            LimitStatus::Drift => "drift",
            LimitStatus::Off => "off",
            LimitStatus::Skipped => "skipped",
            LimitStatus::Refused => "refused",
            LimitStatus::Reached => "reached",
            LimitStatus::Unknown => "unknown",
        }
    }
}

impl std::fmt::Display for LimitStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One limit of one VM: desired against actual.
///
/// Units: memory KiB; cpu the quota in µs per `period_us`; disk bytes. `None`: none
/// (unlimited, unset) or not known, as `status` and `reason` say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LimitRow {
    pub vm_id: Uuid,
    pub vm_name: String,
    pub limit: LimitKind,
    /// The disk's target, for `disk`.
    pub target: Option<String>,
    /// The VM's policy enforces it.
    pub enforced: bool,
    pub desired: Option<u64>,
    pub actual: Option<u64>,
    /// The CFS period of `desired` / `actual`, for `cpu`.
    pub period_us: Option<u64>,
    pub status: LimitStatus,
    /// Why, for a person: `hard limit unlimited; want 1.2 GiB (<memory> 1 GiB + 256 MiB)`.
    pub reason: String,
}

impl LimitRow {
    /// True when the limit is not where vmlife would put it (drift or refused).
    pub fn drifts(&self) -> bool {
        matches!(self.status, LimitStatus::Drift | LimitStatus::Refused)
    }
}

/// The value one step sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum LimitValue {
    /// memtune hard limit, KiB.
    Memory { hard_limit_kib: u64 },
    /// Whole-VM CFS bandwidth.
    Cpu { period_us: u64, quota_us: u64 },
    /// Block threshold of one disk, bytes.
    Disk {
        target: String,
        threshold_bytes: u64,
    },
}

impl LimitValue {
    pub fn kind(&self) -> LimitKind {
        match self {
            LimitValue::Memory { .. } => LimitKind::Memory,
            LimitValue::Cpu { .. } => LimitKind::Cpu,
            LimitValue::Disk { .. } => LimitKind::Disk,
        }
    }

    /// `memory hard limit 1.2 GiB`, `cpu quota 200000/100000 µs`, `vda threshold 9.0 GiB`.
    pub fn describe(&self) -> String {
        match self {
            LimitValue::Memory { hard_limit_kib } => {
                format!("memory hard limit {}", show_kib(*hard_limit_kib))
            }
            LimitValue::Cpu {
                period_us,
                quota_us,
            } => format!("cpu quota {quota_us}/{period_us} µs"),
            LimitValue::Disk {
                target,
                threshold_bytes,
            } => format!("{target} block threshold {}", show_bytes(*threshold_bytes)),
        }
    }
}

/// One planned `set_limit` step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SetLimit {
    pub vm_id: Uuid,
    pub vm_name: String,
    pub value: LimitValue,
    /// The value read before (same units), `None`: unlimited or unset.
    pub old: Option<u64>,
    /// Why (the row's reason).
    pub reason: String,
}

impl SetLimit {
    /// The executor's command for it.
    pub fn command(&self) -> super::Command {
        super::Command::new(
            self.vm_id.clone(),
            self.vm_name.clone(),
            super::Op::SetLimit {
                value: self.value.clone(),
                old: self.old,
            },
            self.reason.clone(),
        )
    }
}

/// Everything reconciled for one VM.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LimitReport {
    pub rows: Vec<LimitRow>,
    pub steps: Vec<SetLimit>,
}

/// KiB for a person: `1.2 GiB`, `512 MiB`.
pub fn show_kib(kib: u64) -> String {
    show_bytes(kib.saturating_mul(1024))
}

/// Bytes for a person, binary units with one decimal: `9.0 GiB`, `512 MiB`, `100 B`.
pub fn show_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["KiB", "MiB", "GiB", "TiB", "PiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in UNITS.iter().skip(1) {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    if v.fract() == 0.0 {
        format!("{v:.0} {unit}")
    } else {
        format!("{v:.1} {unit}")
    }
}
