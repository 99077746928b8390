//! [`Vm`]: one VM as vmlife observed it at one poll.
//!
//! What the hypervisor said about the domain (its run state and why, whether it is
//! persistent, libvirt's autostart flag), the [`VmStateSnapshot`] the contract defines
//! (state, counters, addresses), the vmlife lifecycle settings from its metadata, and the
//! details of its XML. The poller builds one per domain per poll; the engine, the host
//! actions, the CLI and the dashboard all read it. It holds no libvirt numbers and no
//! adapter types.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::hypervisor::{DomainDetails, RunState, StateReason, Uuid};
use crate::lifecycle::ttl::{self, TtlStatus};
use crate::metadata::{LifecycleMeta, MetaError};
use crate::model::{VmPersistence, VmStateSnapshot};

/// One VM at one poll: domain facts, snapshot and its lifecycle settings.
#[derive(Debug, Clone)]
pub struct Vm {
    pub uuid: Uuid,
    /// The host it is on: its index in the dashboard's hosts (0 for the first, and for
    /// every one-host consumer).
    pub host: u16,
    /// What identifies it across hosts (UUID + host): its UUID on host 0, `UUID@N` on
    /// host N. The dashboard's selection, marks and activity follow this; commands
    /// act on `uuid` through the host's own connection.
    pub key: Uuid,
    /// The run state; `None` when the poll did not report one.
    pub state: Option<RunState>,
    /// Why it is in that state (a shut-off domain's reason drives the restart policy).
    pub reason: StateReason,
    /// Defined (persistent) rather than transient.
    pub persistent: bool,
    /// libvirt's own autostart flag.
    pub libvirt_autostart: bool,
    pub snapshot: VmStateSnapshot,
    /// The VM's lifecycle settings, or why they are invalid ("invalid policy").
    pub meta: Result<LifecycleMeta, MetaError>,
    /// Unix seconds when this process first saw the VM (stands in for a missing
    /// `created_at_unix`).
    pub first_seen_unix: i64,
    /// From the domain XML; `None` when it could not be read. Shared with the poller's
    /// cache: a poll hands it out without copying disks and addresses.
    pub details: Option<Arc<DomainDetails>>,
    /// Its XML and metadata have not been read yet (the dashboard reads those of the
    /// VMs in view first): `meta` is a placeholder, not its policy. Nothing acts on a
    /// VM while this is set.
    pub pending: bool,
    /// How current its figures are.
    pub freshness: Freshness,
}

impl Vm {
    /// The persistence record, or `None` when the VM's policy is invalid.
    pub fn persistence(&self) -> Option<&VmPersistence> {
        self.meta.as_ref().ok().map(|m| &m.persistence)
    }

    /// TTL status at `now` (unix seconds); `None` when the VM's policy is invalid.
    pub fn ttl(&self, now: i64) -> Option<TtlStatus> {
        self.persistence()
            .map(|p| ttl::status(p, self.first_seen_unix, now))
    }

    /// True when `other` shows the same as this one, whatever the moment each was
    /// taken (a snapshot that only moved its timestamp changes nothing on screen).
    pub fn same_content(&self, other: &Vm) -> bool {
        let time = other.snapshot.snapshot_time;
        self.uuid == other.uuid
            && self.state == other.state
            && self.reason == other.reason
            && self.persistent == other.persistent
            && self.libvirt_autostart == other.libvirt_autostart
            && self.meta == other.meta
            && self.first_seen_unix == other.first_seen_unix
            && self.details == other.details
            && self.pending == other.pending
            && self.freshness.same_kinds(&other.freshness)
            && VmStateSnapshot {
                snapshot_time: time,
                ..self.snapshot.clone()
            } == other.snapshot
    }

    /// The planner's view of this VM.
    pub fn facts(&self) -> crate::lifecycle::VmFacts {
        crate::lifecycle::VmFacts {
            uuid: self.uuid.clone(),
            name: self.snapshot.vm_name.clone(),
            state: self.snapshot.vm_state,
            active: self.state.is_some_and(RunState::is_active),
            meta: self.meta.clone(),
            first_seen_unix: self.first_seen_unix,
        }
    }

    /// Why a stopped (or failed) VM is not running, when libvirt says: `saved` (a
    /// managed save: starting it resumes), `crashed`, `destroyed`, `shut down`,
    /// `failed` (its QEMU died), `migrated`, `snapshot`, `daemon` (stopped while libvirtd
    /// was down). `None` for a running VM or an unknown reason.
    pub fn stop_reason(&self) -> Option<&'static str> {
        use crate::hypervisor::ShutoffReason as R;
        match (self.state, self.reason) {
            (Some(RunState::Crashed), _) => Some("crashed"),
            (Some(RunState::Shutoff), StateReason::Shutoff(r)) => match r {
                R::Saved => Some("saved"),
                R::Crashed => Some("crashed"),
                R::Destroyed => Some("destroyed"),
                R::Shutdown => Some("shut down"),
                R::Failed => Some("failed"),
                R::Migrated => Some("migrated"),
                R::FromSnapshot => Some("snapshot"),
                R::Daemon => Some("daemon"),
                R::Unknown => None,
            },
            _ => None,
        }
    }

    /// The STATE cell: the contract state, with the stop reason when there is one
    /// (`stopped: saved`, `error: crashed`).
    pub fn state_text(&self) -> String {
        match self.stop_reason() {
            Some(why) => format!("{}: {why}", self.snapshot.vm_state),
            None => self.snapshot.vm_state.to_string(),
        }
    }

    /// The policy error message, if any.
    pub fn policy_error(&self) -> Option<String> {
        self.meta.as_ref().err().map(|e| e.to_string())
    }
}

/// How current one figure of a [`Vm`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Age {
    /// Nothing measured: the VM is not running, the driver does not report it, or it
    /// has not been asked for (the VM was never in view).
    #[default]
    None,
    /// Asked for, the answer not in yet (the table shows `…`).
    Pending,
    /// Measured; from this moment on it is older than its cadence allows (the next
    /// poll should have refreshed it), shown as stale.
    Until(DateTime<Utc>),
    /// Measured by this poll, with no cadence to keep (the one-shot commands), or a
    /// fact that needs none (a stopped VM uses no CPU).
    Current,
}

impl Age {
    /// True when the figure is shown as older than its cadence at `now`.
    pub fn is_stale(self, now: DateTime<Utc>) -> bool {
        matches!(self, Age::Until(t) if now >= t)
    }

    /// True while the figure is awaited.
    pub fn is_pending(self) -> bool {
        self == Age::Pending
    }
}

/// How current each figure of a [`Vm`] is (the dashboard asks for them only for the
/// VMs in view, each at its own cadence: see `docs/ARCHITECTURE.md`, "Polling").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Freshness {
    pub cpu: Age,
    pub memory: Age,
    pub disk: Age,
    pub addresses: Age,
}

impl Freshness {
    /// True when each figure is in the same kind of age (the moments a figure goes
    /// stale move with every poll; the clock redraws when one passes).
    pub fn same_kinds(&self, o: &Freshness) -> bool {
        let kind = |a: Age| std::mem::discriminant(&a);
        kind(self.cpu) == kind(o.cpu)
            && kind(self.memory) == kind(o.memory)
            && kind(self.disk) == kind(o.disk)
            && kind(self.addresses) == kind(o.addresses)
    }

    /// True when any figure is stale at `now`.
    pub fn any_stale(&self, now: DateTime<Utc>) -> bool {
        [self.cpu, self.memory, self.disk, self.addresses]
            .iter()
            .any(|a| a.is_stale(now))
    }
}
