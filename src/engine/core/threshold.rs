//! The block-threshold event (`VIR_DOMAIN_EVENT_ID_BLOCK_THRESHOLD`) as a disk-full
//! warning: a disk's allocation crossed the threshold vmlife armed (`enforce_disk_limit`,
//! docs/ARCHITECTURE.md §1, "Limits"). One alert — journaled with the VM, the disk and
//! the threshold — per disk and episode: libvirt disarms a threshold when it fires, and
//! the episode lasts until the VM is shut off or gone (a stopped VM's thresholds are
//! gone with it), so a re-armed threshold firing again meanwhile raises no second alert.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::EngineCore;
use crate::hypervisor::RunState;
use crate::lifecycle::limits::show_bytes;
use crate::poll::Vm;

impl EngineCore {
    /// A disk of `uuid` crossed its block threshold (`threshold` bytes, by `excess`):
    /// an alert the first time in the episode, nothing after.
    pub fn on_block_threshold(
        &mut self,
        uuid: &str,
        name: &str,
        dev: &str,
        threshold: u64,
        excess: u64,
        now: DateTime<Utc>,
    ) {
        let disks = self.thresholds.entry(uuid.into()).or_default();
        if !disks.insert(dev.to_string()) {
            return;
        }
        let error = format!(
            "{dev} crossed its block threshold of {} (by {}): the disk is nearly full",
            show_bytes(threshold),
            show_bytes(excess)
        );
        let detail = json!({ "disk": dev, "threshold_bytes": threshold, "excess_bytes": excess });
        self.raise_alert_with(name, uuid, "disk_threshold", &error, now, Some(detail));
    }

    /// The disks of `uuid` whose block threshold fired in this episode.
    pub fn threshold_fired(&self, uuid: &str) -> BTreeSet<String> {
        self.thresholds.get(uuid).cloned().unwrap_or_default()
    }

    /// Ends the episodes of VMs gone or shut off.
    pub(super) fn prune_thresholds(&mut self, vms: &[Vm]) {
        self.thresholds.retain(|u, _| {
            vms.iter()
                .any(|v| v.uuid == *u && v.state != Some(RunState::Shutoff))
        });
    }
}
