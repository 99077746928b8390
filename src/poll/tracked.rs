//! What the poller remembers about one domain between polls, and the [`Vm`] it makes of
//! it: the figures with their ages, details, addresses, uptime.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use super::vm::{Age, Freshness, Vm};
use super::{cpu_percent, vm_state};
use crate::hypervisor::{DomainDetails, RawDomain, RunState};
use crate::metadata::{LifecycleMeta, MetaError};
use crate::model::VmStateSnapshot;

/// The shortest wall time a CPU percentage is taken over, ms: a shorter window says
/// little (`/proc` counts 10 ms ticks) and two polls can come close together.
pub(super) const MIN_CPU_WINDOW_MS: i64 = 400;

/// What one poll asked of a domain (and so what a missing answer means).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Asked {
    pub cpu: bool,
    pub memory: bool,
    pub disk: bool,
    /// Figures are kept with the moment they go stale (the dashboard); otherwise every
    /// measured figure is current (one-shot commands, the engine).
    pub cadence: Option<Cadence>,
    /// When the guest's QEMU process started (`/proc`), unix seconds: its uptime.
    pub started_unix: Option<i64>,
    /// The CPU time is the QEMU process's own (`/proc`), not libvirt's counter: the two
    /// differ, so a delta never spans a change of source.
    pub cpu_from_proc: bool,
}

/// How long each figure asked this poll stays current, ms (the next poll's lateness
/// included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Cadence {
    pub cpu_ms: i64,
    pub memory_ms: i64,
    pub disk_ms: i64,
}

/// One figure: its last value, when it goes stale, and whether the hypervisor was asked
/// and had nothing (then it is not awaited).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Slot<T> {
    pub value: Option<T>,
    /// Unix ms from which `value` is stale; `None`: current (no cadence).
    pub stale_at_ms: Option<i64>,
    /// Unix ms of the last poll that asked for it, answered or not.
    pub asked_at_ms: Option<i64>,
    /// The last ask had no answer: the driver does not report it.
    pub missing: bool,
}

impl<T: Copy> Slot<T> {
    /// Take this poll's answer: a value, or none although it was asked.
    fn take(&mut self, v: Option<T>, now_ms: i64, cadence_ms: Option<i64>) {
        self.asked_at_ms = Some(now_ms);
        match v {
            Some(v) => {
                self.value = Some(v);
                self.missing = false;
                self.stale_at_ms = cadence_ms.map(|c| now_ms + c);
            }
            None => self.missing = true,
        }
    }

    fn clear(&mut self) {
        *self = Slot {
            value: None,
            stale_at_ms: None,
            asked_at_ms: None,
            missing: false,
        };
    }

    /// True when a poll at `now_ms` should ask for it again: its value would be stale
    /// by the next poll (`refresh_ms` later), or, without one, it was last asked
    /// `every_ms` ago or never.
    pub fn due(&self, now_ms: i64, every_ms: i64, refresh_ms: i64) -> bool {
        match (self.value.is_some(), self.stale_at_ms) {
            (true, Some(stale)) => stale <= now_ms + refresh_ms,
            _ => self.asked_at_ms.is_none_or(|at| now_ms - at >= every_ms),
        }
    }

    /// The age the view shows; `awaited`: it will be asked by the next poll.
    fn age(&self, awaited: bool) -> Age {
        match (self.value.is_some(), self.stale_at_ms) {
            (true, Some(ms)) => Age::Until(at_ms(ms)),
            (true, None) => Age::Current,
            (false, _) if awaited && !self.missing => Age::Pending,
            (false, _) => Age::None,
        }
    }
}

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

#[derive(Debug)]
pub(super) struct Tracked {
    pub first_seen_unix: i64,
    pub details: Option<Arc<DomainDetails>>,
    pub details_at_ms: i64,
    /// Re-read the XML at the next chance (changed state, invalidated).
    pub details_stale: bool,
    /// The XML was tried at least once (a VM not tried yet is `pending`).
    pub details_tried: bool,
    pub meta: Result<LifecycleMeta, MetaError>,
    pub addresses: Arc<[String]>,
    pub addresses_at_ms: Option<i64>,
    /// Unix ms from which the addresses are stale (the dashboard), `None`: current.
    pub addresses_stale_at_ms: Option<i64>,
    /// Last (wall ms, cpu ns, from `/proc`) sample for the CPU delta; the flag says it
    /// was the QEMU process's CPU time, not libvirt's counter.
    pub cpu_sample: Option<(i64, u64, bool)>,
    pub cpu: Slot<f64>,
    /// Host memory of the guest (RSS, else what the balloon holds), MiB.
    pub memory: Slot<u64>,
    pub disk: Slot<f64>,
    pub last_state: Option<RunState>,
    /// Unix seconds of a start this process saw happen.
    pub started_unix: Option<i64>,
    /// The last build that saw this domain (see `Poller::builds`).
    pub seen_in: u64,
}

impl Tracked {
    /// A domain first seen at `now_s`: everything to be read.
    pub fn new(now_s: i64) -> Tracked {
        Tracked {
            first_seen_unix: now_s,
            details: None,
            details_at_ms: 0,
            details_stale: true,
            details_tried: false,
            meta: Ok(LifecycleMeta::default()),
            addresses: crate::model::no_addresses(),
            addresses_at_ms: None,
            addresses_stale_at_ms: None,
            cpu_sample: None,
            cpu: Slot::default(),
            memory: Slot::default(),
            disk: Slot::default(),
            last_state: None,
            started_unix: None,
            seen_in: 0,
        }
    }

    /// Track the run state of this poll: a change asks for the XML and addresses again
    /// and a start restarts the uptime clock; a stopped VM's figures are dropped.
    pub fn observe_state(&mut self, state: Option<RunState>, now_s: i64) {
        let active = state.is_some_and(RunState::is_active);
        let was_active = self.last_state.map(RunState::is_active);
        if self.last_state.is_some() && self.last_state != state {
            self.details_stale = true;
            self.addresses_at_ms = None;
        }
        if active && was_active == Some(false) {
            self.started_unix = Some(now_s);
        }
        if !active {
            self.started_unix = None;
            self.cpu_sample = None;
            self.cpu.clear();
            self.memory.clear();
            self.disk.clear();
            self.addresses_stale_at_ms = None;
            if !self.addresses.is_empty() {
                self.addresses = crate::model::no_addresses();
            }
        }
        self.last_state = state;
    }

    /// The domain's XML is read and shows no disk.
    pub fn diskless(&self) -> bool {
        self.details.as_ref().is_some_and(|d| d.disks.is_empty())
    }

    /// Take the counters of an active domain that this poll asked for.
    pub fn observe_counters(&mut self, raw: &RawDomain, asked: Asked, now_ms: i64) {
        if !raw.state.is_some_and(RunState::is_active) {
            return;
        }
        let cadence = asked.cadence;
        if asked.cpu {
            match raw.cpu_time_ns {
                Some(ns) => {
                    let vcpus = raw
                        .vcpus
                        .or_else(|| self.details.as_ref().and_then(|d| d.vcpus))
                        .unwrap_or(1)
                        .max(1);
                    // A sample of the other counter starts a new delta.
                    let prev = self
                        .cpu_sample
                        .filter(|&(_, _, proc)| proc == asked.cpu_from_proc);
                    // Too soon after the last sample (the first screen's polls, a row
                    // polled as it comes into view): that one stands, and the
                    // percentage comes with a later poll.
                    let too_soon = prev
                        .is_some_and(|(ms, _, _)| (0..MIN_CPU_WINDOW_MS).contains(&(now_ms - ms)));
                    if !too_soon {
                        let pct =
                            prev.and_then(|(ms, prev, _)| cpu_percent(ms, prev, now_ms, ns, vcpus));
                        self.cpu_sample = Some((now_ms, ns, asked.cpu_from_proc));
                        match pct {
                            Some(p) => {
                                self.cpu.take(Some(p), now_ms, cadence.map(|c| c.cpu_ms));
                            }
                            // One sample: the figure comes with the next one.
                            None => {
                                self.cpu.asked_at_ms = Some(now_ms);
                                self.cpu.missing = false;
                            }
                        }
                    }
                }
                None => self.cpu.take(None, now_ms, None),
            }
        }
        if asked.memory {
            let kib = raw.rss_kib.or(raw.balloon_current_kib);
            self.memory
                .take(kib.map(|k| k / 1024), now_ms, cadence.map(|c| c.memory_ms));
        }
        if asked.disk {
            self.disk.take(
                raw.block_allocation_bytes.map(|b| b as f64 / 1e9),
                now_ms,
                cadence.map(|c| c.disk_ms),
            );
        }
    }

    /// This domain as a [`Vm`] of a poll at `now`. `awaited` says which missing figures
    /// the next poll asks for (they show as pending).
    pub fn vm(&self, raw: &RawDomain, now: DateTime<Utc>, awaited: Awaited) -> Vm {
        let active = raw.state.is_some_and(RunState::is_active);
        let mut s = VmStateSnapshot::empty(raw.name.clone(), now, vm_state(raw.state, raw.reason));
        let mut freshness = Freshness::default();
        if active {
            s.cpu_usage_percent = self.cpu.value;
            freshness.cpu = self.cpu.age(awaited.figures);
            s.memory_usage_mb = self.memory.value;
            freshness.memory = self.memory.age(awaited.figures);
            if s.memory_usage_mb.is_none() && freshness.memory == Age::None {
                // Never measured: what the domain is configured with.
                s.memory_usage_mb = self
                    .details
                    .as_ref()
                    .and_then(|d| d.memory_kib)
                    .map(|kib| kib / 1024);
            }
            // A VM whose XML shows no disk has no DISK figure (and is not asked for one).
            if !self.diskless() {
                s.disk_usage_gb = self.disk.value;
                freshness.disk = self.disk.age(awaited.figures);
            }
            s.ip_addresses = self.addresses.clone();
            freshness.addresses = match (self.addresses_at_ms, self.addresses_stale_at_ms) {
                (Some(_), Some(ms)) => Age::Until(at_ms(ms)),
                (Some(_), None) => Age::Current,
                (None, _) if awaited.addresses => Age::Pending,
                (None, _) => Age::None,
            };
        } else {
            s.memory_usage_mb = Some(0);
            s.cpu_usage_percent = Some(0.0);
            freshness.cpu = Age::Current;
            freshness.memory = Age::Current;
        }
        if let Some(d) = &self.details {
            s.mac_addresses = d.mac_addresses.clone();
        }
        let meta = self.meta.as_ref().ok();
        s.restart_count = meta.map_or(0, |m| m.state.restart_count);
        s.uptime_seconds = if !active {
            Some(0)
        } else {
            // A start seen by this process, else one vmlife recorded in the metadata.
            let started = self
                .started_unix
                .or_else(|| meta.and_then(|m| m.persistence.last_state_change));
            started.map(|at| now.timestamp().saturating_sub(at).max(0) as u64)
        };
        Vm {
            uuid: raw.uuid.clone(),
            host: 0,
            key: raw.uuid.clone(),
            state: raw.state,
            reason: raw.reason,
            persistent: raw.persistent,
            libvirt_autostart: raw.libvirt_autostart,
            snapshot: s,
            meta: self.meta.clone(),
            first_seen_unix: self.first_seen_unix,
            details: self.details.clone(),
            pending: !self.details_tried,
            freshness,
        }
    }
}

/// Which figures of a VM without them the next poll asks for.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Awaited {
    pub figures: bool,
    pub addresses: bool,
}
