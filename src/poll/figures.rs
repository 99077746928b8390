//! The dashboard's poll ([`Poller::poll`] with [`super::ViewOptions`]): the state of
//! every domain in one cheap call, then the figures each VM in view needs now, at most
//! two `virDomainListGetStats` calls, and for a local URI the guests' QEMU processes
//! from `/proc` instead of the CPU and balloon groups.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::tracked::{Asked, Cadence, Tracked};
use super::{Poller, Vm};
use crate::hypervisor::{HvResult, RawDomain, RunState, StatsGroups, Uuid};

/// What a light poll found ([`Poller::poll_rows`]).
#[derive(Debug, Default)]
pub struct Rows {
    /// The VMs in view of this host with their new figures (none in view: empty).
    pub vms: Vec<Vm>,
    /// The host's running domains are not those of the last full poll (their count
    /// moved, a VM in view changed state or is gone): a full poll is due.
    pub full_due: bool,
    /// The running count was asked (when told to, or when no stats call went out).
    pub counted: bool,
}

/// What [`Poller::figures`] asked and found.
#[derive(Debug, Default)]
struct Figures {
    /// What was asked of each VM (`asked[i]` for `raws[i]`).
    asked: Vec<Asked>,
    /// A VM asked changed state or is gone (a light poll's).
    moved: bool,
    /// The error of a stats call that failed.
    failed: Option<crate::hypervisor::HvError>,
    /// A stats call went out.
    called: bool,
}

impl Poller {
    /// One dashboard poll at `now`.
    pub(super) fn poll_view(&mut self, now: DateTime<Utc>) -> HvResult<Vec<Vm>> {
        let Some(opts) = self.options.view.clone() else {
            return Ok(Vec::new());
        };
        let mut raws = self.hv.poll(StatsGroups::STATE)?;
        // A failed stats call is not a failed poll: the figures keep their last values
        // and go stale.
        let asked = self.figures(&opts, &mut raws, now, false).asked;
        if let Some(p) = self.proc.as_mut() {
            let running: HashSet<&str> = raws
                .iter()
                .filter(|r| r.state.is_some_and(RunState::is_active))
                .map(|r| r.uuid.as_str())
                .collect();
            p.retain(|u| running.contains(u.as_str()));
        }
        self.observe(&raws, &asked, now, true);
        let views = self.assemble(&raws, now);
        self.last = raws;
        Ok(views)
    }

    /// A light poll at `now`, between full ones (the dashboard's hosts other than the
    /// first, while the selected VM is not on them): one `virConnectNumOfDomains` round
    /// trip (the host answers; its running count), and the figures of its VMs in view,
    /// their state with them. The other domains keep the last full poll's records;
    /// their changes come as events, which ask for a full poll.
    ///
    /// `count`: ask the running count even when VMs are in view (whose stats call
    /// already says that the host answers); with none in view it is always asked.
    pub fn poll_rows(&mut self, now: DateTime<Utc>, count: bool) -> HvResult<Rows> {
        let Some(opts) = self.options.view.clone() else {
            return Ok(Rows::default());
        };
        let in_view: HashSet<&str> = self.view.iter().map(|u| u.as_str()).collect();
        let mut raws: Vec<RawDomain> = self
            .last
            .iter()
            .filter(|r| in_view.contains(r.uuid.as_str()))
            .cloned()
            .collect();
        let figures = if raws.is_empty() {
            Figures::default()
        } else {
            self.figures(&opts, &mut raws, now, true)
        };
        if let Some(e) = figures.failed {
            return Err(e);
        }
        let mut full_due = figures.moved;
        // The count when asked, or when no stats call went out (nothing in view that
        // runs): some round trip must say that the host answers.
        let counted = count || !figures.called;
        if counted {
            let known = self
                .last
                .iter()
                .filter(|r| r.state.is_some_and(RunState::is_active))
                .count();
            full_due |= self.hv.running_count()? != known;
        }
        if raws.is_empty() {
            return Ok(Rows {
                vms: Vec::new(),
                full_due,
                counted,
            });
        }
        self.observe(&raws, &figures.asked, now, false);
        let mut fresh: HashMap<&str, &RawDomain> =
            raws.iter().map(|r| (r.uuid.as_str(), r)).collect();
        for r in self.last.iter_mut() {
            if let Some(n) = fresh.remove(r.uuid.as_str()) {
                *r = n.clone();
            }
        }
        Ok(Rows {
            vms: self.assemble(&raws, now),
            full_due,
            counted,
        })
    }

    /// Ask the figures the VMs in view among `raws` need now and put them in `raws`
    /// ([`Figures`]). A light poll (`light`) takes the state of the stats call (its
    /// `raws` are the last full poll's); a full one keeps its own state call's.
    fn figures(
        &mut self,
        opts: &super::ViewOptions,
        raws: &mut [RawDomain],
        now: DateTime<Utc>,
        light: bool,
    ) -> Figures {
        let now_ms = now.timestamp_millis();
        let in_view: HashSet<Uuid> = self.view.iter().cloned().collect();
        // Each figure stays current for its cadence plus one refresh (the next poll's
        // lateness); the refresh of another host's VMs is longer (`unfocused_every`).
        let refresh_ms = self.figures_every_ms().unwrap_or(opts.refresh_ms);
        let cadence = Cadence {
            cpu_ms: 2 * refresh_ms,
            memory_ms: opts.memory_disk_ms + refresh_ms,
            disk_ms: opts.memory_disk_ms + refresh_ms,
        };
        let proc_cadence = Cadence {
            memory_ms: cadence.cpu_ms,
            ..cadence
        };

        let mut asked = vec![Asked::default(); raws.len()];
        // VMs in view that need libvirt: (index, groups).
        let mut want: Vec<(usize, StatsGroups)> = Vec::new();
        for (i, raw) in raws.iter_mut().enumerate() {
            if !raw.state.is_some_and(RunState::is_active) {
                continue;
            }
            let sample = self
                .proc
                .as_mut()
                .and_then(|p| p.read(&raw.uuid, &raw.name, now_ms));
            if let Some(s) = sample {
                raw.cpu_time_ns = Some(s.cpu_ns);
                raw.rss_kib = Some(s.rss_kib);
                asked[i] = Asked {
                    cpu: true,
                    memory: true,
                    disk: false,
                    cadence: Some(proc_cadence),
                    started_unix: s.started_unix,
                    cpu_from_proc: true,
                };
            }
            if !in_view.contains(&raw.uuid) {
                continue;
            }
            let t = self.tracked.get(&raw.uuid);
            // A state change clears the figures: a VM seen for the first time, or
            // (re)started, is due for all of them.
            let restarted = t.is_some_and(|t| t.last_state != raw.state);
            let due = |slot_due: Option<bool>| restarted || slot_due.unwrap_or(true);
            let mut g = StatsGroups::STATE;
            if sample.is_none() {
                g.cpu = true;
                g.balloon =
                    due(t.map(|t| t.memory.due(now_ms, opts.memory_disk_ms, opts.refresh_ms)));
            }
            // A VM whose XML shows no disk has no DISK figure: its QEMU is not asked
            // (unless a batch with a VM that has one asks the group of both).
            let diskless = t.is_some_and(Tracked::diskless);
            g.block = !diskless
                && due(t.map(|t| t.disk.due(now_ms, opts.memory_disk_ms, opts.refresh_ms)));
            if g.any() {
                want.push((i, g));
            }
            asked[i].cadence = Some(if sample.is_some() {
                proc_cadence
            } else {
                cadence
            });
        }

        // At most two calls: the VMs due for a slow group (with every group any of them
        // needs), and those that need only the CPU counter.
        let (slow, cpu_only): (Vec<_>, Vec<_>) =
            want.iter().partition(|(_, g)| g.balloon || g.block);
        let mut got: HashMap<Uuid, RawDomain> = HashMap::new();
        let mut moved = false;
        let mut failed = None;
        let mut called = false;
        for batch in [slow, cpu_only] {
            if batch.is_empty() {
                continue;
            }
            let groups = batch
                .iter()
                .fold(StatsGroups::STATE, |acc, (_, g)| acc.union(*g));
            let uuids: Vec<Uuid> = batch.iter().map(|(i, _)| raws[*i].uuid.clone()).collect();
            // A failed stats call is not a failed poll: the figures keep their last
            // values and go stale.
            called = true;
            match self.hv.stats_of(&uuids, groups) {
                Ok(records) => {
                    for (i, _) in &batch {
                        let a = &mut asked[*i];
                        a.cpu |= groups.cpu;
                        a.memory |= groups.balloon;
                        a.disk |= groups.block;
                    }
                    // A VM asked and not answered is gone.
                    moved |= light && records.len() < uuids.len();
                    got.extend(records.into_iter().map(|r| (r.uuid.clone(), r)));
                }
                Err(e) => {
                    tracing::debug!("stats of the VMs in view: {e}");
                    failed.get_or_insert(e);
                }
            }
        }
        for raw in raws.iter_mut() {
            let Some(r) = got.remove(&raw.uuid) else {
                continue;
            };
            // A full poll's state call stands; a light poll has only this one.
            if light && (raw.state != r.state || raw.reason != r.reason) {
                moved = true;
                raw.state = r.state;
                raw.reason = r.reason;
            }
            // The counters are of the same moment.
            if raw.cpu_time_ns.is_none() {
                raw.cpu_time_ns = r.cpu_time_ns;
            }
            raw.vcpus = r.vcpus;
            raw.balloon_current_kib = r.balloon_current_kib;
            raw.balloon_max_kib = r.balloon_max_kib;
            if raw.rss_kib.is_none() {
                raw.rss_kib = r.rss_kib;
            }
            raw.block_allocation_bytes = r.block_allocation_bytes;
        }
        Figures {
            asked,
            moved,
            failed,
            called,
        }
    }
}
