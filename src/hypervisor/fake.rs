//! An in-memory [`Hypervisor`] for tests of the layers above the adapter.
//!
//! It holds domains as plain data, records every call, and can be told to fail. It is
//! not a simulator of libvirt: tests of libvirt behaviour run against the test driver
//! and a private libvirtd instead.
//!
//! **Events.** [`Hypervisor::subscribe`] works: its own actions emit the lifecycle
//! events libvirt would (start → `Started/BOOTED`, destroy → `Stopped/DESTROYED`,
//! shutdown that powers off → `Shutdown/HOST` then `Stopped/SHUTDOWN`, …, see each
//! method), and tests push any other event with [`FakeHypervisor::emit`] (a crash: use
//! [`FakeHypervisor::crash`]; a dropped connection: emit
//! [`DomainEvent::ConnectionLost`] and make polls fail with [`FakeHypervisor::fail_polls`]).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use super::*;

/// One fake domain.
#[derive(Debug, Clone, Default)]
pub struct FakeDomain {
    pub raw: RawDomain,
    pub details: DomainDetails,
    pub addresses: Vec<String>,
    pub metadata: Option<String>,
}

/// A hypervisor made of [`FakeDomain`]s keyed by UUID.
#[derive(Debug, Default)]
pub struct FakeHypervisor {
    inner: Mutex<FakeState>,
    readonly: bool,
}

/// What a fake domain does when asked to shut down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnShutdown {
    /// A running guest powers off at once (shut off, reason shutdown).
    #[default]
    PowerOff,
    /// The call succeeds and the guest keeps running (no OS, ACPI ignored).
    Ignore,
    /// The call fails (a guest without ACPI or agent) and the guest keeps running.
    Fail,
}

#[derive(Debug, Default)]
struct FakeState {
    domains: BTreeMap<Uuid, FakeDomain>,
    calls: Vec<String>,
    fail_poll: Option<HvError>,
    on_shutdown: BTreeMap<Uuid, OnShutdown>,
    /// Paths of the storage volumes that exist.
    volumes: BTreeSet<String>,
    hide_lifecycle_xml: bool,
    /// Subscribed event sinks.
    sinks: Vec<EventSink>,
    /// UUIDs of the domains with a managed save image.
    managed_saves: BTreeSet<Uuid>,
    /// What `node_memory` answers (`None`: an error).
    node_memory: Option<NodeMemory>,
    /// What `disk_errors` answers, per domain.
    disk_errors: BTreeMap<Uuid, Vec<DiskError>>,
    /// What `disk_space` answers, per image path (missing: an error).
    disk_space: BTreeMap<String, DiskSpace>,
    /// The limits' tunables per domain (default: unlimited, no disks).
    tunables: BTreeMap<Uuid, FakeTunables>,
}

/// A fake domain's tunables, and which of them the "driver" refuses.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FakeTunables {
    pub hard_limit_kib: Option<u64>,
    pub cpu: CpuQuota,
    pub disks: Vec<DiskTunable>,
    /// Refused to read and set: `memory`, `cpu`, `disk`.
    pub refuse: BTreeSet<&'static str>,
    /// Refused to set only.
    pub refuse_set: BTreeSet<&'static str>,
}

impl FakeHypervisor {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add or replace a domain.
    pub fn put(&self, d: FakeDomain) {
        self.with(|s| {
            s.domains.insert(d.raw.uuid.clone(), d);
        });
    }

    /// Take a domain away, as if something else undefined it.
    pub fn remove(&self, uuid: &str) {
        self.with(|s| {
            s.domains.remove(uuid);
        });
    }

    /// Change a domain in place.
    pub fn update(&self, uuid: &str, f: impl FnOnce(&mut FakeDomain)) {
        self.with(|s| {
            if let Some(d) = s.domains.get_mut(uuid) {
                f(d);
            }
        });
    }

    /// Make the next polls fail with `e` (`None` to heal).
    pub fn fail_polls(&self, e: Option<HvError>) {
        self.with(|s| s.fail_poll = e);
    }

    /// How the domain reacts to `shutdown` (default [`OnShutdown::PowerOff`]).
    pub fn on_shutdown(&self, uuid: &str, how: OnShutdown) {
        self.with(|s| {
            s.on_shutdown.insert(uuid.into(), how);
        });
    }

    /// Add a storage volume at `path` (for [`Hypervisor::delete_volume`]).
    pub fn add_volume(&self, path: &str) {
        self.with(|s| {
            s.volumes.insert(path.to_string());
        });
    }

    /// The storage volumes that exist, sorted.
    pub fn volumes(&self) -> Vec<String> {
        self.with(|s| s.volumes.iter().cloned().collect())
    }

    /// Make `details` leave `lifecycle_xml` empty, as libvirt's XML does when the
    /// namespace is declared on `<metadata>` (then only `metadata()` has it).
    pub fn hide_lifecycle_xml(&self, hide: bool) {
        self.with(|s| s.hide_lifecycle_xml = hide);
    }

    /// True when the domain has a managed save image (set by `managed_save`, consumed by
    /// `start`, removed by `managed_save_remove`).
    pub fn has_saved_image(&self, uuid: &str) -> bool {
        self.with(|s| s.managed_saves.contains(uuid))
    }

    /// What [`Hypervisor::node_memory`] answers from now on (`None`: an error).
    pub fn set_node_memory(&self, m: Option<NodeMemory>) {
        self.with(|s| s.node_memory = m);
    }

    /// Make the domain pause on a full disk `target`, as QEMU does (paused, reason I/O
    /// error; `disk_errors` says no space). Emits no event (a missed one); emit an
    /// [`DomainEvent::IoError`] for the event path.
    pub fn fill_disk(&self, uuid: &str, target: &str) {
        self.update(uuid, |d| {
            set_state(d, RunState::Paused, PausedReason::IoError)
        });
        self.with(|s| {
            s.disk_errors.insert(
                uuid.into(),
                vec![DiskError {
                    target: target.into(),
                    kind: DiskErrorKind::NoSpace,
                }],
            );
        });
    }

    /// What [`Hypervisor::disk_space`] answers for `path` (`None`: an error).
    pub fn set_disk_space(&self, path: &str, space: Option<DiskSpace>) {
        self.with(|s| match space {
            Some(sp) => s.disk_space.insert(path.into(), sp),
            None => s.disk_space.remove(path),
        });
    }

    /// Deliver `event` to every subscribed sink (sinks whose receiver is gone are
    /// forgotten).
    pub fn emit(&self, event: DomainEvent) {
        self.with(|s| s.sinks.retain(|tx| tx.send(event.clone()).is_ok()));
    }

    /// How many sinks are subscribed and still listening.
    pub fn subscribers(&self) -> usize {
        self.with(|s| {
            s.sinks.retain(|tx| !tx.is_closed());
            s.sinks.len()
        })
    }

    /// Make a running domain crash as a killed QEMU does: shut off with reason
    /// `crashed`, and a `Stopped/FAILED` event. Does nothing for an unknown UUID.
    pub fn crash(&self, uuid: &str) {
        self.update(uuid, |d| {
            set_state(d, RunState::Shutoff, ShutoffReason::Crashed)
        });
        self.emit_lifecycle(uuid, LifecycleEvent::Stopped, EventDetail::Failed);
    }

    /// Emit a lifecycle event for a known domain.
    fn emit_lifecycle(&self, uuid: &str, event: LifecycleEvent, detail: EventDetail) {
        let name = self.with(|s| s.domains.get(uuid).map(|d| d.raw.name.clone()));
        if let Some(name) = name {
            self.emit(DomainEvent::Lifecycle {
                uuid: uuid.into(),
                name,
                event,
                detail,
            });
        }
    }

    /// Every call so far, as `name uuid` strings.
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
    }

    /// Set a domain's tunables.
    pub fn set_tunables(&self, uuid: &str, t: FakeTunables) {
        self.with(|s| {
            s.tunables.insert(uuid.into(), t);
        });
    }

    /// A domain's tunables as they are now.
    pub fn tunables(&self, uuid: &str) -> FakeTunables {
        self.with(|s| s.tunables.get(uuid).cloned().unwrap_or_default())
    }

    /// Read (`set` false) or change a tunable `what`: records the call, refuses as told.
    fn tunable<T>(
        &self,
        call: &str,
        uuid: &str,
        what: &'static str,
        set: bool,
        f: impl FnOnce(&mut FakeTunables) -> T,
    ) -> HvResult<T> {
        let readonly = self.readonly;
        self.with(|s| {
            s.calls.push(format!("{call} {uuid}"));
            if !s.domains.contains_key(uuid) {
                return Err(no_domain(uuid));
            }
            if set && readonly {
                return Err(HvError::new(
                    HvErrorKind::ReadOnly,
                    format!("{call}: read-only connection"),
                ));
            }
            let t = s.tunables.entry(uuid.into()).or_default();
            if t.refuse.contains(what) || (set && t.refuse_set.contains(what)) {
                return Err(HvError::new(
                    HvErrorKind::Other,
                    format!("{call} {uuid}: this function is not supported by the fake driver"),
                ));
            }
            Ok(f(t))
        })
    }

    /// Forget the recorded calls.
    pub fn clear_calls(&self) {
        self.with(|s| s.calls.clear());
    }

    fn with<T>(&self, f: impl FnOnce(&mut FakeState) -> T) -> T {
        // A poisoned lock only means another test thread panicked; the data is plain.
        let mut guard = match self.inner.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard)
    }

    fn act(&self, call: &str, uuid: &str, f: impl FnOnce(&mut FakeDomain)) -> HvResult<()> {
        let readonly = self.readonly;
        self.with(|s| {
            s.calls.push(format!("{call} {uuid}"));
            if readonly {
                return Err(HvError::new(
                    HvErrorKind::ReadOnly,
                    format!("{call}: read-only connection"),
                ));
            }
            match s.domains.get_mut(uuid) {
                Some(d) => {
                    f(d);
                    Ok(())
                }
                None => Err(no_domain(uuid)),
            }
        })
    }

    fn read<T>(&self, call: &str, uuid: &str, f: impl FnOnce(&FakeDomain) -> T) -> HvResult<T> {
        self.with(|s| {
            s.calls.push(format!("{call} {uuid}"));
            s.domains.get(uuid).map(f).ok_or_else(|| no_domain(uuid))
        })
    }
}

fn no_domain(uuid: &str) -> HvError {
    HvError::new(
        HvErrorKind::NoDomain,
        format!("no domain with UUID {uuid:?}"),
    )
}

fn set_state(d: &mut FakeDomain, state: RunState, reason: impl Into<StateReason>) {
    d.raw.state = Some(state);
    d.raw.reason = reason.into();
}

impl Hypervisor for FakeHypervisor {
    fn uri(&self) -> &str {
        "fake:///"
    }

    fn is_readonly(&self) -> bool {
        self.readonly
    }

    fn poll(&self, groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        self.with(|s| {
            s.calls.push("poll".into());
            if let Some(e) = &s.fail_poll {
                return Err(e.clone());
            }
            Ok(s.domains
                .values()
                .map(|d| with_groups(&d.raw, groups))
                .collect())
        })
    }

    fn stats_of(&self, uuids: &[Uuid], groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        self.with(|s| {
            let list: Vec<&str> = uuids.iter().map(|u| u.as_str()).collect();
            s.calls
                .push(format!("stats {} {}", groups_label(groups), list.join(",")));
            if let Some(e) = &s.fail_poll {
                return Err(e.clone());
            }
            Ok(uuids
                .iter()
                .filter_map(|u| s.domains.get(u))
                .map(|d| with_groups(&d.raw, groups))
                .collect())
        })
    }

    fn running_count(&self) -> HvResult<usize> {
        self.with(|s| {
            s.calls.push("running_count".into());
            if let Some(e) = &s.fail_poll {
                return Err(e.clone());
            }
            Ok(s.domains
                .values()
                .filter(|d| d.raw.state.is_some_and(RunState::is_active))
                .count())
        })
    }

    fn lookup(&self, name_or_uuid: &str) -> HvResult<VmRef> {
        self.with(|s| {
            s.domains
                .values()
                .find(|d| d.raw.uuid == name_or_uuid || d.raw.name == name_or_uuid)
                .map(|d| VmRef {
                    uuid: d.raw.uuid.clone(),
                    name: d.raw.name.clone(),
                })
                .ok_or_else(|| {
                    HvError::new(
                        HvErrorKind::NoDomain,
                        format!("no domain named or with UUID {name_or_uuid:?} on fake:///"),
                    )
                })
        })
    }

    /// Fails like the real adapter when the name holds a character XML 1.0 cannot
    /// carry (libvirt writes it raw into the domain XML, which then does not parse).
    fn details(&self, uuid: &str) -> HvResult<DomainDetails> {
        let name = self.with(|s| s.domains.get(uuid).map(|d| d.raw.name.clone()));
        if let Some(name) = name {
            if name
                .chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                self.with(|s| s.calls.push(format!("details {uuid}")));
                return Err(HvError::new(
                    HvErrorKind::Other,
                    format!(
                        "details {uuid}: domain XML: invalid XML: a character XML cannot carry"
                    ),
                ));
            }
        }
        let hide = self.with(|s| s.hide_lifecycle_xml);
        self.read("details", uuid, |d| {
            let mut details = d.details.clone();
            details.lifecycle_present = d.metadata.is_some();
            details.lifecycle_xml = if hide { None } else { d.metadata.clone() };
            details
        })
    }

    fn addresses(&self, uuid: &str) -> HvResult<Vec<String>> {
        self.read("addresses", uuid, |d| d.addresses.clone())
    }

    fn metadata(&self, uuid: &str) -> HvResult<Option<String>> {
        self.read("metadata", uuid, |d| d.metadata.clone())
    }

    /// Emits `MetadataChange` in vmlife's namespace.
    fn set_metadata(&self, uuid: &str, xml: Option<&str>) -> HvResult<()> {
        self.act("set_metadata", uuid, |d| {
            d.metadata = xml.map(str::to_string)
        })?;
        let name = self.with(|s| s.domains.get(uuid).map(|d| d.raw.name.clone()));
        if let Some(name) = name {
            self.emit(DomainEvent::MetadataChange {
                uuid: uuid.into(),
                name,
                namespace: Some(super::domxml::LIFECYCLE_NS.to_string()),
            });
        }
        Ok(())
    }

    /// Emits `Started/BOOTED`.
    fn start(&self, uuid: &str) -> HvResult<()> {
        self.act("start", uuid, |d| {
            set_state(d, RunState::Running, RunningReason::Booted)
        })?;
        self.emit_lifecycle(uuid, LifecycleEvent::Started, EventDetail::Booted);
        self.with(|s| s.managed_saves.remove(uuid));
        Ok(())
    }

    fn shutdown(&self, uuid: &str) -> HvResult<()> {
        let how = self.with(|s| s.on_shutdown.get(uuid).copied().unwrap_or_default());
        if how == OnShutdown::Fail {
            self.with(|s| s.calls.push(format!("shutdown {uuid}")));
            return Err(HvError::new(
                HvErrorKind::Other,
                format!("shutdown {uuid}: the guest does not answer ACPI (fake)"),
            ));
        }
        let mut powered_off = false;
        self.act("shutdown", uuid, |d| {
            if how == OnShutdown::PowerOff && d.raw.state.is_some_and(RunState::is_active) {
                set_state(d, RunState::Shutoff, ShutoffReason::Shutdown);
                powered_off = true;
            }
        })?;
        if powered_off {
            // The host asked (vmlife's call); a guest that shuts itself down is
            // `Shutdown/GUEST`, which a test emits itself.
            self.emit_lifecycle(uuid, LifecycleEvent::Shutdown, EventDetail::Host);
            self.emit_lifecycle(uuid, LifecycleEvent::Stopped, EventDetail::Shutdown);
        }
        Ok(())
    }

    /// Emits `Reboot`.
    fn reboot(&self, uuid: &str) -> HvResult<()> {
        self.act("reboot", uuid, |_| {})?;
        let name = self.with(|s| s.domains.get(uuid).map(|d| d.raw.name.clone()));
        if let Some(name) = name {
            self.emit(DomainEvent::Reboot {
                uuid: uuid.into(),
                name,
            });
        }
        Ok(())
    }

    /// Emits `Stopped/DESTROYED`.
    fn destroy(&self, uuid: &str) -> HvResult<()> {
        self.act("destroy", uuid, |d| {
            set_state(d, RunState::Shutoff, ShutoffReason::Destroyed)
        })?;
        self.emit_lifecycle(uuid, LifecycleEvent::Stopped, EventDetail::Destroyed);
        Ok(())
    }

    /// Emits `Suspended/PAUSED`.
    fn suspend(&self, uuid: &str) -> HvResult<()> {
        self.act("suspend", uuid, |d| {
            set_state(d, RunState::Paused, PausedReason::User)
        })?;
        self.emit_lifecycle(uuid, LifecycleEvent::Suspended, EventDetail::Paused);
        Ok(())
    }

    /// Emits `Resumed/UNPAUSED`.
    fn resume(&self, uuid: &str) -> HvResult<()> {
        self.act("resume", uuid, |d| {
            set_state(d, RunState::Running, RunningReason::Restored)
        })?;
        self.with(|s| s.disk_errors.remove(uuid));
        self.emit_lifecycle(uuid, LifecycleEvent::Resumed, EventDetail::Unpaused);
        Ok(())
    }

    /// Emits `Stopped/SAVED`.
    fn managed_save(&self, uuid: &str) -> HvResult<()> {
        self.act("managed_save", uuid, |d| {
            set_state(d, RunState::Shutoff, ShutoffReason::Saved)
        })?;
        self.emit_lifecycle(uuid, LifecycleEvent::Stopped, EventDetail::Saved);
        self.with(|s| s.managed_saves.insert(uuid.into()));
        Ok(())
    }

    fn domain_xml(&self, uuid: &str) -> HvResult<String> {
        self.read("domain_xml", uuid, |d| {
            format!(
                "<domain type='test'><name>{}</name><uuid>{}</uuid></domain>",
                d.raw.name, d.raw.uuid
            )
        })
    }

    fn has_managed_save(&self, uuid: &str) -> HvResult<bool> {
        self.read("has_managed_save", uuid, |_| ())?;
        Ok(self.has_saved_image(uuid))
    }

    fn managed_save_remove(&self, uuid: &str) -> HvResult<()> {
        self.act("managed_save_remove", uuid, |_| {})?;
        self.with(|s| s.managed_saves.remove(uuid));
        Ok(())
    }

    /// Emits `Undefined/REMOVED`.
    fn undefine(&self, uuid: &str) -> HvResult<()> {
        self.act("undefine", uuid, |_| {})?;
        self.emit_lifecycle(uuid, LifecycleEvent::Undefined, EventDetail::Removed);
        self.with(|s| s.domains.remove(uuid));
        Ok(())
    }

    fn define(&self, _xml: &str) -> HvResult<Uuid> {
        Err(HvError::new(
            HvErrorKind::Other,
            "the fake hypervisor cannot define domains",
        ))
    }

    fn delete_volume(&self, path: &str) -> HvResult<bool> {
        let readonly = self.readonly;
        self.with(|s| {
            s.calls.push(format!("delete_volume {path}"));
            if readonly {
                return Err(HvError::new(
                    HvErrorKind::ReadOnly,
                    "delete_volume: read-only connection",
                ));
            }
            Ok(s.volumes.remove(path))
        })
    }

    fn memory_hard_limit(&self, uuid: &str) -> HvResult<Option<u64>> {
        self.tunable("memory_hard_limit", uuid, "memory", false, |t| {
            t.hard_limit_kib
        })
    }

    fn set_memory_hard_limit(&self, uuid: &str, kib: u64) -> HvResult<()> {
        self.tunable("set_memory_hard_limit", uuid, "memory", true, |t| {
            t.hard_limit_kib = Some(kib);
        })
    }

    fn cpu_quota(&self, uuid: &str) -> HvResult<CpuQuota> {
        self.tunable("cpu_quota", uuid, "cpu", false, |t| t.cpu)
    }

    fn set_cpu_quota(&self, uuid: &str, period_us: u64, quota_us: u64) -> HvResult<()> {
        self.tunable("set_cpu_quota", uuid, "cpu", true, |t| {
            t.cpu = CpuQuota {
                period_us: Some(period_us),
                quota_us: i64::try_from(quota_us).ok(),
            };
        })
    }

    fn disk_tunables(&self, uuid: &str) -> HvResult<Vec<DiskTunable>> {
        self.tunable("disk_tunables", uuid, "disk", false, |t| t.disks.clone())
    }

    fn set_block_threshold(&self, uuid: &str, target: &str, bytes: u64) -> HvResult<()> {
        self.tunable("set_block_threshold", uuid, "disk", true, |t| {
            for d in t.disks.iter_mut().filter(|d| d.target == target) {
                d.threshold_bytes = Some(bytes);
            }
        })
    }

    fn subscribe(&self, sink: EventSink) -> HvResult<()> {
        self.with(|s| {
            s.calls.push("subscribe".into());
            s.sinks.push(sink);
        });
        Ok(())
    }

    fn node_memory(&self) -> HvResult<NodeMemory> {
        self.with(|s| {
            s.calls.push("node_memory".into());
            s.node_memory
                .ok_or_else(|| HvError::new(HvErrorKind::Other, "node memory: not set"))
        })
    }

    fn disk_errors(&self, uuid: &str) -> HvResult<Vec<DiskError>> {
        self.read("disk_errors", uuid, |_| ())?;
        Ok(self.with(|s| s.disk_errors.get(uuid).cloned().unwrap_or_default()))
    }

    fn disk_space(&self, path: &str) -> HvResult<DiskSpace> {
        self.with(|s| {
            s.calls.push(format!("disk_space {path}"));
            s.disk_space.get(path).copied().ok_or_else(|| {
                HvError::new(HvErrorKind::Other, format!("no space known for {path}"))
            })
        })
    }
}

/// A running fake domain with counters.
/// `raw` as a poll asking `groups` reports it: counters of the other groups, and of an
/// inactive domain, left out.
fn with_groups(raw: &RawDomain, groups: StatsGroups) -> RawDomain {
    let mut r = raw.clone();
    let active = r.state.is_some_and(RunState::is_active);
    if !groups.cpu || !active {
        r.cpu_time_ns = None;
    }
    if !groups.vcpu || !active {
        r.vcpus = None;
    }
    if !groups.balloon || !active {
        r.balloon_current_kib = None;
        r.balloon_max_kib = None;
        r.rss_kib = None;
    }
    if !groups.block || !active {
        r.block_allocation_bytes = None;
    }
    r
}

/// `cpu+balloon+block+vcpu`, `state` when none: the groups of a recorded stats call.
pub fn groups_label(g: StatsGroups) -> String {
    let names: Vec<&str> = [
        (g.cpu, "cpu"),
        (g.balloon, "balloon"),
        (g.block, "block"),
        (g.vcpu, "vcpu"),
    ]
    .into_iter()
    .filter_map(|(on, n)| on.then_some(n))
    .collect();
    if names.is_empty() {
        "state".into()
    } else {
        names.join("+")
    }
}

pub fn running(uuid: &str, name: &str) -> FakeDomain {
    FakeDomain {
        raw: RawDomain {
            uuid: uuid.into(),
            name: name.into(),
            state: Some(RunState::Running),
            reason: StateReason::Running(RunningReason::Booted),
            persistent: true,
            cpu_time_ns: Some(0),
            vcpus: Some(1),
            balloon_current_kib: Some(1024 * 1024),
            ..RawDomain::default()
        },
        ..FakeDomain::default()
    }
}

#[cfg(test)]
#[path = "fake_tests.rs"]
mod event_tests;
