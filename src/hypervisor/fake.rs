//! An in-memory [`Hypervisor`] for tests of the layers above the adapter.
//!
//! It holds domains as plain data, records every call, and can be told to fail. It is
//! not a simulator of libvirt: tests of libvirt behaviour run against the test driver
//! and a private libvirtd instead.

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
            s.on_shutdown.insert(uuid.to_string(), how);
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

    /// Every call so far, as `name uuid` strings.
    pub fn calls(&self) -> Vec<String> {
        self.with(|s| s.calls.clone())
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

fn set_state(d: &mut FakeDomain, state: RunState, reason: i32) {
    d.raw.state = Some(state);
    d.raw.reason = reason;
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
                .map(|d| {
                    let mut r = d.raw.clone();
                    if !groups.any() || !r.state.is_some_and(RunState::is_active) {
                        r.cpu_time_ns = None;
                        r.vcpus = None;
                        r.balloon_current_kib = None;
                        r.balloon_max_kib = None;
                        r.block_allocation_bytes = None;
                    }
                    r
                })
                .collect())
        })
    }

    fn lookup(&self, name_or_uuid: &str) -> HvResult<DomainRef> {
        self.with(|s| {
            s.domains
                .values()
                .find(|d| d.raw.uuid == name_or_uuid || d.raw.name == name_or_uuid)
                .map(|d| DomainRef {
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

    fn details(&self, uuid: &str) -> HvResult<DomainDetails> {
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

    fn set_metadata(&self, uuid: &str, xml: Option<&str>) -> HvResult<()> {
        self.act("set_metadata", uuid, |d| {
            d.metadata = xml.map(str::to_string)
        })
    }

    fn start(&self, uuid: &str) -> HvResult<()> {
        self.act("start", uuid, |d| set_state(d, RunState::Running, 1))
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
        self.act("shutdown", uuid, |d| {
            if how == OnShutdown::PowerOff && d.raw.state.is_some_and(RunState::is_active) {
                set_state(d, RunState::Shutoff, shutoff_reason::SHUTDOWN);
            }
        })
    }

    fn reboot(&self, uuid: &str) -> HvResult<()> {
        self.act("reboot", uuid, |_| {})
    }

    fn destroy(&self, uuid: &str) -> HvResult<()> {
        self.act("destroy", uuid, |d| {
            set_state(d, RunState::Shutoff, shutoff_reason::DESTROYED)
        })
    }

    fn suspend(&self, uuid: &str) -> HvResult<()> {
        self.act("suspend", uuid, |d| set_state(d, RunState::Paused, 1))
    }

    fn resume(&self, uuid: &str) -> HvResult<()> {
        self.act("resume", uuid, |d| set_state(d, RunState::Running, 3))
    }

    fn managed_save(&self, uuid: &str) -> HvResult<()> {
        self.act("managed_save", uuid, |d| {
            set_state(d, RunState::Shutoff, shutoff_reason::SAVED)
        })
    }

    fn undefine(&self, uuid: &str) -> HvResult<()> {
        self.act("undefine", uuid, |_| {})?;
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
}

/// A running fake domain with counters.
pub fn running(uuid: &str, name: &str) -> FakeDomain {
    FakeDomain {
        raw: RawDomain {
            uuid: uuid.into(),
            name: name.into(),
            state: Some(RunState::Running),
            reason: 1,
            persistent: true,
            cpu_time_ns: Some(0),
            vcpus: Some(1),
            balloon_current_kib: Some(1024 * 1024),
            ..RawDomain::default()
        },
        ..FakeDomain::default()
    }
}
