//! The poller: one bulk poll of the hypervisor in, one [`Vm`] per domain out.
//!
//! The bulk poll (one or two `virConnectGetAllDomainStats` calls) is the only per-tick
//! cost in the steady state. Domain XML (MACs, disks, the vmlife metadata) is read when a
//! domain is new, when its run state changed, when the caller invalidates it (after
//! writing its metadata) and otherwise at most every `details_max_age`, a bounded number
//! per poll so a large host never pays for all of them at once. Addresses are asked only
//! of active domains, on their own slower cadence.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::hypervisor::{
    HvErrorKind, HvResult, Hypervisor, PausedReason, RawDomain, RunState, ShutoffReason,
    StateReason, StatsGroups, Uuid,
};
use crate::metadata::{self, MetaError};
use crate::model::VmState;

mod figures;
pub mod procfs;
mod tracked;
mod vm;
pub use figures::Rows;
use tracked::{Asked, Awaited, Tracked};
pub use vm::{Age, Freshness, Vm};

/// How often the poller refreshes what does not come with the bulk stats.
#[derive(Debug, Clone)]
pub struct PollerOptions {
    /// Stats groups asked of active domains (without [`PollerOptions::view`]).
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
    /// The dashboard's way: figures only for the VMs in view (see [`ViewOptions`]);
    /// `None` for the one-shot commands and the engine, which ask `groups` of every
    /// active domain.
    pub view: Option<ViewOptions>,
}

/// How the dashboard polls: the state of every domain (one cheap call), and the figures
/// that reach a guest's QEMU only for the VMs in view ([`Poller::set_view`]), each at its
/// cadence. For a local URI, CPU time and RSS of every running guest come from `/proc`
/// ([`procfs`]) at no cost to the guest.
#[derive(Debug, Clone)]
pub struct ViewOptions {
    /// The refresh: CPU of the VMs in view is asked every poll.
    pub refresh_ms: i64,
    /// Memory (without `/proc`) and disk allocation of the VMs in view, this often.
    pub memory_disk_ms: i64,
    /// Read local guests from `/proc` when the URI allows it.
    pub procfs: bool,
    /// While the selected VM is not on this host (no [`Poller::set_focus`]), the figures
    /// of its VMs in view come every this many refreshes, and are current that long
    /// (1: every refresh; the dashboard's other hosts: 2).
    pub unfocused_every: u32,
}

impl Default for ViewOptions {
    fn default() -> Self {
        Self {
            refresh_ms: 2_000,
            memory_disk_ms: 15_000,
            procfs: true,
            unfocused_every: 1,
        }
    }
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
            view: None,
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
    /// The VMs on screen (with the selected one), in screen order.
    view: Vec<Uuid>,
    /// Local guests' QEMU processes (dashboard, local URI).
    proc: Option<procfs::ProcReader>,
    /// The last poll's records, for [`Poller::fill`] (dashboard only).
    last: Vec<RawDomain>,
    /// Builds so far: domains not seen in the latest one are forgotten.
    builds: u64,
}

impl Poller {
    pub fn new(hv: Arc<dyn Hypervisor>, options: PollerOptions) -> Self {
        let proc = options
            .view
            .as_ref()
            .filter(|v| v.procfs)
            .and_then(|_| procfs::ProcReader::for_uri(hv.uri()));
        Self {
            hv,
            options,
            tracked: HashMap::new(),
            focus: None,
            view: Vec::new(),
            proc,
            last: Vec::new(),
            builds: 0,
        }
    }

    /// Read local guests from `reader` instead of the one the URI names (tests).
    pub fn with_proc_reader(mut self, reader: Option<procfs::ProcReader>) -> Self {
        self.proc = reader;
        self
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

    /// How often the figures of the VMs in view are asked, in ms: the refresh, or
    /// [`ViewOptions::unfocused_every`] refreshes while no VM of this host is selected
    /// (none without a view).
    pub fn figures_every_ms(&self) -> Option<i64> {
        let v = self.options.view.as_ref()?;
        let every = if self.focus.is_some() {
            1
        } else {
            v.unfocused_every.max(1)
        };
        Some(v.refresh_ms.saturating_mul(i64::from(every)))
    }

    /// The VMs in view: the dashboard asks figures of these only.
    pub fn set_view(&mut self, uuids: Vec<Uuid>) {
        self.view = uuids;
    }

    /// One poll at `now`: a bulk stats call, then cached or refreshed details.
    pub fn poll(&mut self, now: DateTime<Utc>) -> HvResult<Vec<Vm>> {
        if self.options.view.is_some() {
            return self.poll_view(now);
        }
        let raws = self.hv.poll(self.options.groups)?;
        Ok(self.build(raws, now))
    }

    /// True when a VM in view has one CPU sample and waits for the second to show a
    /// figure (the dashboard then polls again soon).
    pub fn awaits_cpu(&self) -> bool {
        self.cpu_due_ms().is_some()
    }

    /// When (unix ms) the first VM in view that waits for its second CPU sample can
    /// have its percentage: its first sample plus the shortest window.
    pub fn cpu_due_ms(&self) -> Option<i64> {
        self.view
            .iter()
            .filter_map(|u| self.tracked.get(u))
            .filter(|t| t.last_state.is_some_and(RunState::is_active) && t.cpu.value.is_none())
            .filter_map(|t| {
                t.cpu_sample
                    .map(|(ms, _, _)| ms + tracked::MIN_CPU_WINDOW_MS)
            })
            .min()
    }

    /// Domains whose XML has not been read yet (the dashboard reads those in view with
    /// the poll, the others with [`Poller::fill`]).
    pub fn pending(&self) -> usize {
        self.tracked.values().filter(|t| !t.details_tried).count()
    }

    /// Read the XML of up to `budget` domains not read yet, those in view first, and
    /// return the last poll's VMs with them (no new poll).
    pub fn fill(&mut self, budget: usize, now: DateTime<Utc>) -> Vec<Vm> {
        let now_ms = now.timestamp_millis();
        let in_view: HashSet<&str> = self.view.iter().map(|u| u.as_str()).collect();
        let mut order: Vec<&RawDomain> = self.last.iter().collect();
        // Stable: screen rows first, then the poll's order.
        order.sort_by_key(|r| !in_view.contains(r.uuid.as_str()));
        let mut left = budget;
        for raw in order {
            if left == 0 {
                break;
            }
            if let Some(t) = self.tracked.get_mut(&raw.uuid) {
                if !t.details_tried {
                    refresh_details(self.hv.as_ref(), &raw.uuid, t, now_ms);
                    left -= 1;
                }
            }
        }
        let raws = std::mem::take(&mut self.last);
        let views = self.assemble(&raws, now);
        self.last = raws;
        views
    }

    /// Turn one bulk poll's records into [`Vm`]s, refreshing details within the budgets.
    pub fn build(&mut self, raws: Vec<RawDomain>, now: DateTime<Utc>) -> Vec<Vm> {
        let groups = self.options.groups;
        let asked = Asked {
            cpu: groups.cpu,
            memory: groups.balloon,
            disk: groups.block,
            cadence: None,
            started_unix: None,
            cpu_from_proc: false,
        };
        let asked: Vec<Asked> = vec![asked; raws.len()];
        self.observe(&raws, &asked, now, true);
        self.assemble(&raws, now)
    }

    /// Track one poll's records: states, the counters asked (`asked[i]` for `raws[i]`),
    /// the XML and addresses that are due. `complete`: `raws` are every domain (the
    /// others are gone and forgotten); a light poll's are some.
    fn observe(&mut self, raws: &[RawDomain], asked: &[Asked], now: DateTime<Utc>, complete: bool) {
        let now_ms = now.timestamp_millis();
        let now_s = now.timestamp();
        self.builds += 1;
        let build = self.builds;
        let mut distinct = 0usize;
        let mut details_budget = self.options.details_budget;
        let mut address_budget = self.options.addresses_budget;
        let dashboard = self.options.view.as_ref().map(|v| v.refresh_ms);
        let in_view: HashSet<&str> = self.view.iter().map(|u| u.as_str()).collect();
        for (raw, asked) in raws.iter().zip(asked) {
            let active = raw.state.is_some_and(RunState::is_active);
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
            t.observe_state(raw.state, now_s);
            if active && asked.started_unix.is_some() {
                t.started_unix = asked.started_unix;
            }
            let shown = dashboard.is_none() || in_view.contains(raw.uuid.as_str());

            // The XML: a new domain's at once (the dashboard: only when in view, the
            // others come with `fill`), a changed one's at once, an old one's in budget.
            let aged = now_ms - t.details_at_ms >= self.options.details_max_age_ms;
            let new = !t.details_tried;
            if (new && shown) || (!new && t.details_stale) || (!new && aged && details_budget > 0) {
                if !new && !t.details_stale {
                    details_budget -= 1;
                }
                refresh_details(self.hv.as_ref(), &raw.uuid, t, now_ms);
            }
            t.observe_counters(raw, *asked, now_ms);

            let focused = self.focus.as_deref() == Some(raw.uuid.as_str());
            let addr_due = match t.addresses_at_ms {
                None => true,
                Some(at) => focused || now_ms - at >= self.options.addresses_max_age_ms,
            };
            if active
                && (shown || focused)
                && addr_due
                && (t.addresses_at_ms.is_none() || focused || address_budget > 0)
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
                t.addresses_stale_at_ms = dashboard.map(|refresh| {
                    let every = if focused {
                        refresh
                    } else {
                        self.options.addresses_max_age_ms
                    };
                    now_ms + every + refresh
                });
            }
        }
        // Forget domains that are gone (a marker, not a set of this poll's UUIDs).
        if complete && self.tracked.len() > distinct {
            self.tracked.retain(|_, t| t.seen_in == build);
        }
    }

    /// The [`Vm`]s of `raws` as tracked now.
    fn assemble(&self, raws: &[RawDomain], now: DateTime<Utc>) -> Vec<Vm> {
        let dashboard = self.options.view.is_some();
        let in_view: HashSet<&str> = self.view.iter().map(|u| u.as_str()).collect();
        raws.iter()
            .filter_map(|raw| {
                let t = self.tracked.get(&raw.uuid)?;
                let shown = dashboard && in_view.contains(raw.uuid.as_str());
                let awaited = Awaited {
                    figures: shown
                        || (self.proc.is_some() && raw.state.is_some_and(RunState::is_active)),
                    addresses: shown,
                };
                Some(t.vm(raw, now, awaited))
            })
            .collect()
    }
}

/// Re-read one domain's XML and metadata into `t`.
fn refresh_details(hv: &dyn Hypervisor, uuid: &str, t: &mut Tracked, now_ms: i64) {
    t.details_stale = false;
    t.details_tried = true;
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
#[path = "poll/light_tests.rs"]
mod light_tests;
#[cfg(test)]
#[path = "poll_tests.rs"]
mod tests;
#[cfg(test)]
#[path = "poll/view_tests.rs"]
mod view_tests;
