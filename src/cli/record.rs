//! The JSON shape of one VM, shared by `ls --json` and `show --json`.

use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;

use crate::model::{Uuid, VmPersistence, VmStateSnapshot};
use crate::poll::Vm;

/// One VM in `ls --json`: every VmStateSnapshot field under its contract name, plus
/// identity, the persistence record and TTL figures.
#[derive(Debug, Clone, Serialize)]
pub struct VmRecord {
    #[serde(flatten)]
    pub snapshot: VmStateSnapshot,
    pub uuid: Uuid,
    pub uri: String,
    /// Why a stopped VM is not running, when libvirt says (`saved`, `crashed`,
    /// `destroyed`, `shut_down`, `failed`, `migrated`, `snapshot`, `daemon`); `null`
    /// otherwise.
    pub stop_reason: Option<String>,
    /// The host's name (its `[[connections]]` name, else from the URI).
    pub host: String,
    /// `null` when the VM's policy is invalid (see `policy_error`).
    pub persistence: Option<VmPersistence>,
    /// RFC 3339; `null` for permanent VMs.
    pub expires_at: Option<DateTime<Utc>>,
    /// Negative once expired; `null` for permanent VMs.
    pub ttl_remaining_seconds: Option<i64>,
    /// `null`, or why the VM's vmlife metadata is invalid.
    pub policy_error: Option<String>,
    /// What vmlife holds on it for resource pressure (`suspended: memory pressure`,
    /// `paused: disk full (vda)`), from the engine's state store; `null`: nothing.
    pub pressure: Option<String>,
    /// Its limits, desired against actual (the rows of `vmlife limits --json`); only
    /// `ls --json` fills it (`show --json` has its own `limits`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limits: Option<Vec<crate::lifecycle::limits::LimitRow>>,
}

impl VmRecord {
    /// The record of `view` at `now`.
    pub fn new(view: &Vm, uri: &str, host: &str, now: DateTime<Utc>) -> Self {
        let ttl = view.ttl(now.timestamp());
        VmRecord {
            snapshot: view.snapshot.clone(),
            uuid: view.uuid.clone(),
            uri: uri.to_string(),
            stop_reason: view.stop_reason().map(|r| r.replace(' ', "_")),
            host: host.to_string(),
            persistence: view.persistence().cloned(),
            expires_at: ttl
                .and_then(|t| t.expires_at())
                .and_then(|s| Utc.timestamp_opt(s, 0).single()),
            ttl_remaining_seconds: ttl.and_then(|t| t.remaining_seconds()),
            policy_error: view.policy_error(),
            pressure: None,
            limits: None,
        }
    }

    /// With its pressure status from the engine's records.
    pub fn with_pressure(
        mut self,
        records: &crate::engine::state_files::PressureRecords,
        view: &Vm,
    ) -> Self {
        let paused = view.state == Some(crate::hypervisor::RunState::Paused);
        self.pressure = crate::engine::pressure_status(records, &view.uuid, paused);
        self
    }

    /// With the VM's limit rows.
    pub fn with_limits(mut self, rows: Vec<crate::lifecycle::limits::LimitRow>) -> Self {
        self.limits = Some(rows);
        self
    }
}
