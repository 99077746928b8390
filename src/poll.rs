//! The poller: one bulk poll of the hypervisor in, one [`Vm`] per domain out.
//!
//! The bulk poll (one or two `virConnectGetAllDomainStats` calls) is the only per-tick
//! cost in the steady state. Domain XML (MACs, disks, the vmlife metadata) is read when a
//! domain is new, when its run state changed, when the caller invalidates it (after
//! writing its metadata) and otherwise at most every `details_max_age`, a bounded number
//! per poll so a large host never pays for all of them at once. Addresses are asked only
//! of active domains, on their own slower cadence.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::hypervisor::{
    DomainDetails, HvErrorKind, HvResult, Hypervisor, PausedReason, RawDomain, RunState,
    ShutoffReason, StateReason, StatsGroups, Uuid,
};
use crate::metadata::{self, LifecycleMeta, MetaError};
use crate::model::{VmState, VmStateSnapshot};

mod vm;
pub use vm::Vm;

/// How often the poller refreshes what does not come with the bulk stats.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Stats groups asked of active domains.
    pub groups: StatsGroups,
    /// Domain XML older than this is re-read (metadata written by another tool shows up
    /// within this time even without events).
    pub details_max_age_ms: i64,
    /// Most domain XML re-reads per poll that are due only to age.
    pub details_budget: usize,
    /// Addresses of active domains older than this are re-asked.
    pub addresses_max_age_ms: i64,
    /// Most address look-ups per poll that are due only to age.
    pub addresses_budget: usize,
}

impl Default for PollerOptions {
    fn default() -> Self {
        Self {
            groups: StatsGroups::ALL,
            // A minute: metadata edited with virsh appears within it; events (when
            // subscribed) make it immediate.
            details_max_age_ms: 60_000,
            details_budget: 32,
            // Leases change rarely; agent and ARP look-ups cost a round trip each.
            addresses_max_age_ms: 30_000,
            addresses_budget: 16,
        }
    }
}

/// What the poller remembers about one domain between polls.
#[derive(Debug)]
struct Tracked {
    first_seen_unix: i64,
    details: Option<Arc<DomainDetails>>,
    details_at_ms: i64,
    details_stale: bool,
    meta: Result<LifecycleMeta, MetaError>,
    addresses: Arc<[String]>,
    addresses_at_ms: Option<i64>,
    /// Last (wall ms, cpu ns) sample for the CPU delta.
    cpu_sample: Option<(i64, u64)>,
    last_state: Option<RunState>,
    /// Unix seconds of a start this process saw happen.
    started_unix: Option<i64>,
    /// The last build that saw this domain (see [`Poller::builds`]).
    seen_in: u64,
}

impl Tracked {
    /// A domain first seen at `now_s`: everything to be read.
    fn new(now_s: i64) -> Tracked {
        Tracked {
            first_seen_unix: now_s,
            details: None,
            details_at_ms: 0,
            details_stale: true,
            meta: Ok(LifecycleMeta::default()),
            addresses: crate::model::no_addresses(),
            addresses_at_ms: None,
            cpu_sample: None,
            last_state: None,
            started_unix: None,
            seen_in: 0,
        }
    }
}

/// Builds snapshots from bulk polls; keep one per connection and call [`Poller::poll`].
pub struct Poller {
    hv: Arc<dyn Hypervisor>,
    options: PollerOptions,
    tracked: HashMap<Uuid, Tracked>,
    /// Domains whose addresses are refreshed every poll (the dashboard's selection).
    focus: Option<Uuid>,
    /// Builds so far: domains not seen in the latest one are forgotten.
    builds: u64,
}

impl Poller {
    pub fn new(hv: Arc<dyn Hypervisor>, options: PollerOptions) -> Self {
        Self {
            hv,
            options,
            tracked: HashMap::new(),
            focus: None,
            builds: 0,
        }
    }

    /// The hypervisor this poller reads.
    pub fn hypervisor(&self) -> &Arc<dyn Hypervisor> {
        &self.hv
    }

    /// Re-read this domain's XML and metadata on the next poll (after writing them).
    pub fn invalidate(&mut self, uuid: &str) {
        if let Some(t) = self.tracked.get_mut(uuid) {
            t.details_stale = true;
            t.addresses_at_ms = None;
        }
    }

    /// Keep this domain's addresses fresh on every poll (the selected VM).
    pub fn set_focus(&mut self, uuid: Option<Uuid>) {
        self.focus = uuid;
    }

    /// One poll at `now`: a bulk stats call, then cached or refreshed details.
    pub fn poll(&mut self, now: DateTime<Utc>) -> HvResult<Vec<Vm>> {
        let raws = self.hv.poll(self.options.groups)?;
        Ok(self.build(raws, now))
    }

    /// Turn one bulk poll's records into [`Vm`]s, refreshing details within the budgets.
    pub fn build(&mut self, raws: Vec<RawDomain>, now: DateTime<Utc>) -> Vec<Vm> {
        let now_ms = now.timestamp_millis();
        let now_s = now.timestamp();
        self.builds += 1;
        let build = self.builds;
        let mut distinct = 0usize;
        let mut details_budget = self.options.details_budget;
        let mut address_budget = self.options.addresses_budget;
        let mut views = Vec::with_capacity(raws.len());
        for mut raw in raws {
            let state = raw.state;
            let active = state.is_some_and(RunState::is_active);
            // Look up before inserting: a poll of a known VM allocates no key.
            if !self.tracked.contains_key(&raw.uuid) {
                self.tracked.insert(raw.uuid.clone(), Tracked::new(now_s));
            }
            let Some(t) = self.tracked.get_mut(&raw.uuid) else {
                continue;
            };
            if t.seen_in != build {
                t.seen_in = build;
                distinct += 1;
            }

            // A state change may change the live XML (MACs, disks) and restarts the
            // uptime clock when the domain became active.
            let was_active = t.last_state.map(RunState::is_active);
            if t.last_state.is_some() && t.last_state != state {
                t.details_stale = true;
                t.addresses_at_ms = None;
            }
            if active && was_active == Some(false) {
                t.started_unix = Some(now_s);
            }
            if !active {
                t.started_unix = None;
                t.cpu_sample = None;
                if !t.addresses.is_empty() {
                    t.addresses = crate::model::no_addresses();
                }
            }
            t.last_state = state;

            let aged = now_ms - t.details_at_ms >= self.options.details_max_age_ms;
            if t.details_stale || (aged && details_budget > 0) {
                if !t.details_stale {
                    details_budget -= 1;
                }
                refresh_details(self.hv.as_ref(), &raw.uuid, t, now_ms);
            }

            let focused = self.focus.as_deref() == Some(raw.uuid.as_str());
            let addr_due = match t.addresses_at_ms {
                None => true,
                Some(at) => focused || now_ms - at >= self.options.addresses_max_age_ms,
            };
            if active && addr_due && (t.addresses_at_ms.is_none() || focused || address_budget > 0)
            {
                if t.addresses_at_ms.is_some() && !focused {
                    address_budget -= 1;
                }
                // An address failure is not a poll failure: keep the last ones.
                if let Ok(addrs) = self.hv.addresses(&raw.uuid) {
                    if *t.addresses != *addrs {
                        t.addresses = addrs.into();
                    }
                }
                t.addresses_at_ms = Some(now_ms);
            }

            // The name moves into the snapshot; the rest of `raw` is read by value.
            let name = std::mem::take(&mut raw.name);
            let snapshot = snapshot_of(&raw, name, t, now, now_ms);
            views.push(Vm {
                uuid: raw.uuid,
                state: raw.state,
                reason: raw.reason,
                persistent: raw.persistent,
                libvirt_autostart: raw.libvirt_autostart,
                snapshot,
                meta: t.meta.clone(),
                first_seen_unix: t.first_seen_unix,
                details: t.details.clone(),
            });
        }
        // Forget domains that are gone (a marker, not a set of this poll's UUIDs).
        if self.tracked.len() > distinct {
            self.tracked.retain(|_, t| t.seen_in == build);
        }
        views
    }
}

/// Re-read one domain's XML and metadata into `t`.
fn refresh_details(hv: &dyn Hypervisor, uuid: &str, t: &mut Tracked, now_ms: i64) {
    t.details_stale = false;
    t.details_at_ms = now_ms;
    let d = match hv.details(uuid) {
        Ok(d) => d,
        // XML that does not parse (a name with ESC or BEL, which libvirt accepts in a
        // rename but XML 1.0 cannot carry): the policy is unknown, so the VM is
        // "invalid policy" with that reason, never defaults as if it had no metadata.
        Err(e) if e.kind == HvErrorKind::Other => {
            t.meta = Err(unreadable_xml(&e));
            return;
        }
        // Otherwise keep what we had: the domain may be mid-change, or the connection
        // down; it is retried at the next age-out or state change.
        Err(_) => return,
    };
    t.meta = match (&d.lifecycle_xml, d.lifecycle_present) {
        // The element's namespace is declared on <metadata>: ask libvirt for it.
        (None, true) => match hv.metadata(uuid) {
            Ok(xml) => metadata::parse_or_default(xml.as_deref()),
            Err(e) if e.kind == HvErrorKind::Other => Err(unreadable_xml(&e)),
            Err(_) => return, // keep what we had; retried later
        },
        (xml, _) => metadata::parse_or_default(xml.as_deref()),
    };
    t.details = Some(Arc::new(d));
}

/// The policy error of a VM whose domain XML (or metadata) cannot be read.
fn unreadable_xml(e: &crate::hypervisor::HvError) -> MetaError {
    MetaError {
        element: None,
        attribute: None,
        value: None,
        kind: crate::metadata::MetaErrorKind::MalformedXml(format!(
            "the domain XML cannot be read, so its policy is unknown: {e}"
        )),
    }
}

/// The contract's six states from the domain's run state and reason.
pub fn vm_state(state: Option<RunState>, reason: StateReason) -> VmState {
    match state {
        Some(RunState::Running | RunState::Blocked) => VmState::Running,
        Some(RunState::Paused) if reason == StateReason::Paused(PausedReason::StartingUp) => {
            VmState::Starting
        }
        Some(RunState::Paused | RunState::PmSuspended) => VmState::Paused,
        Some(RunState::ShuttingDown) => VmState::Stopping,
        Some(RunState::Shutoff)
            if matches!(
                reason,
                StateReason::Shutoff(ShutoffReason::Crashed | ShutoffReason::Failed)
            ) =>
        {
            VmState::Error
        }
        Some(RunState::Shutoff) => VmState::Stopped,
        Some(RunState::Crashed | RunState::NoState | RunState::Unknown(_)) | None => VmState::Error,
    }
}

/// Build one snapshot, updating the CPU sample in `t`.
fn snapshot_of(
    raw: &RawDomain,
    name: String,
    t: &mut Tracked,
    now: DateTime<Utc>,
    now_ms: i64,
) -> VmStateSnapshot {
    let vm_state = vm_state(raw.state, raw.reason);
    let active = raw.state.is_some_and(RunState::is_active);
    let mut s = VmStateSnapshot::empty(name, now, vm_state);

    if active {
        let vcpus = raw
            .vcpus
            .or_else(|| t.details.as_ref().and_then(|d| d.vcpus))
            .unwrap_or(1)
            .max(1);
        if let Some(cpu_ns) = raw.cpu_time_ns {
            if let Some((prev_ms, prev_ns)) = t.cpu_sample {
                s.cpu_usage_percent = cpu_percent(prev_ms, prev_ns, now_ms, cpu_ns, vcpus);
            }
            t.cpu_sample = Some((now_ms, cpu_ns));
        }
        s.memory_usage_mb = raw
            .balloon_current_kib
            .or_else(|| t.details.as_ref().and_then(|d| d.memory_kib))
            .map(|kib| kib / 1024);
        s.ip_addresses = t.addresses.clone();
    } else {
        s.memory_usage_mb = Some(0);
        s.cpu_usage_percent = Some(0.0);
    }
    s.disk_usage_gb = raw.block_allocation_bytes.map(|b| b as f64 / 1e9);
    if let Some(d) = &t.details {
        s.mac_addresses = d.mac_addresses.clone();
    }

    let meta = t.meta.as_ref().ok();
    s.restart_count = meta.map_or(0, |m| m.state.restart_count);
    s.uptime_seconds = if !active {
        Some(0)
    } else {
        // A start seen by this process, else one vmlife recorded in the metadata.
        let started = t
            .started_unix
            .or_else(|| meta.and_then(|m| m.persistence.last_state_change));
        started.map(|at| now.timestamp().saturating_sub(at).max(0) as u64)
    };
    s
}

/// CPU use between two samples as a share of all the VM's vCPUs (100 = all busy).
/// `None` when the samples do not allow a meaningful figure (clock went back, counter
/// reset after a restart).
pub fn cpu_percent(
    prev_ms: i64,
    prev_ns: u64,
    now_ms: i64,
    now_ns: u64,
    vcpus: u32,
) -> Option<f64> {
    let wall_ns = (now_ms - prev_ms) as f64 * 1e6;
    if wall_ns <= 0.0 || now_ns < prev_ns {
        return None;
    }
    let pct = (now_ns - prev_ns) as f64 / (wall_ns * f64::from(vcpus.max(1))) * 100.0;
    Some(pct.clamp(0.0, 100.0))
}

#[cfg(test)]
#[path = "poll_tests.rs"]
mod tests;
