//! The libvirt adapter: [`Hypervisor`] over the `virt` crate (0.5).
//!
//! - **Poll** ([`Hypervisor::poll`]): two `virConnectGetAllDomainStats` calls that
//!   together return each domain once: active domains with the state and the asked
//!   costly groups, inactive ones with state only, so no QEMU monitor is woken for a
//!   shut-off domain and no record is fetched twice. Both pass `NOWAIT` (a domain busy
//!   with a destroy or managed save would otherwise stall the poll for seconds) and never
//!   `ENFORCE_STATS` (groups a driver lacks come back `None`). A domain that changed
//!   state between the two calls is read alone. The persistent and libvirt-autostart
//!   flags come from two `virConnectListAllDomains` calls (`TRANSIENT`, `AUTOSTART`),
//!   repeated only when a domain appears or every 30 s, since neither flag announces a
//!   change. Names and UUIDs are read from the records' domain objects, which costs no
//!   round trip.
//! - **Metadata**: [`Hypervisor::metadata`] returns the element in its namespaced form
//!   (`<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1">…`), the same shape as
//!   [`DomainDetails::lifecycle_xml`]; [`Hypervisor::set_metadata`] accepts either that
//!   form or libvirt's un-namespaced API form (see [`super::domxml`]).
//! - **Errors** name the action, the domain's UUID and name, and libvirt's message:
//!   `destroy 3f2a…(web-1): Requested operation is not valid: domain is not running`.
//!
//! - **Events and reconnects** ([`Hypervisor::subscribe`], see [`events`]): one libvirt
//!   event-loop thread per process forwards domain events into tokio channels; a
//!   monitor thread per adapter notices a dropped connection (close callback, keepalive)
//!   and reconnects with backoff. While disconnected every call fails at once with a
//!   `Connection` error.
//!
//! The small `unsafe` part lives in `ffi`. Connection and domain references are
//! released without virt's `Drop`, which panics when a free fails.

mod bulk;
mod codes;
mod errors;
pub mod events;
mod fanout;
mod ffi;
mod handles;
mod limits;
mod listed;
mod names;
mod node;
mod open;
mod stats;

use std::ffi::c_uint;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use open::DEFAULT_CONNECT_TIMEOUT;

use virt::connect::Connect;
use virt::domain::Domain;
use virt::sys;

use self::bulk::PollMemory;
pub use self::bulk::{PollStats, INACTIVE_MAX_AGE};
pub(crate) use self::errors::error_kind;
use self::errors::{action_error, dom_name, is_unsupported_flag, raw_code};
pub use self::events::{init_event_loop, Connection};
use self::events::{Conn, Link};
use self::ffi::{DomainHandle, StatsList};
pub use self::listed::ListedStats;
use super::domxml::{self, LIFECYCLE_NS, LIFECYCLE_PREFIX};
use super::*;

/// A libvirt connection. Send + Sync; every call blocks.
///
/// The connection is replaced when it drops and comes back (see [`events`]); every call
/// uses the current one.
pub struct LibvirtHypervisor {
    link: Arc<Link>,
    uri: String,
    readonly: bool,
    last_poll: Mutex<PollStats>,
    memory: Mutex<PollMemory>,
    last_listed: Mutex<ListedStats>,
    /// Domain handles of the domains the last poll saw (see `handles.rs`).
    handles: Mutex<handles::Handles>,
}

impl std::fmt::Debug for LibvirtHypervisor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LibvirtHypervisor")
            .field("uri", &self.uri)
            .field("readonly", &self.readonly)
            .finish_non_exhaustive()
    }
}

/// Flags asked of `virDomainUndefineFlags`, most complete first; the next is tried only
/// when the driver rejects a flag (the test driver knows neither NVRAM nor
/// CHECKPOINTS_METADATA). Dropping NVRAM is safe: a driver that has NVRAM for the
/// domain refuses to undefine it without the flag, it never deletes it silently.
const UNDEFINE_LADDER: [c_uint; 3] = [
    sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | sys::VIR_DOMAIN_UNDEFINE_NVRAM
        | sys::VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA,
    sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE
        | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA
        | sys::VIR_DOMAIN_UNDEFINE_NVRAM,
    sys::VIR_DOMAIN_UNDEFINE_MANAGED_SAVE | sys::VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA,
];

impl LibvirtHypervisor {
    /// Open `uri` (read-only when asked). Switches off libvirt's stderr error printing
    /// first (it would corrupt the dashboard) and starts libvirt's event loop (once per
    /// process; see [`init_event_loop`]). A failure is a `Connection` error whose
    /// message names the URI.
    pub fn open(uri: &str, readonly: bool) -> HvResult<Self> {
        Self::open_with_timeout(uri, readonly, DEFAULT_CONNECT_TIMEOUT)
    }

    /// Like [`LibvirtHypervisor::open`], giving up when `uri` has not answered within
    /// `timeout` (see `open.rs`); reconnects use the same timeout.
    pub fn open_with_timeout(uri: &str, readonly: bool, timeout: Duration) -> HvResult<Self> {
        virt::error::clear_error_callback();
        if let Err(e) = init_event_loop() {
            // Calls still work; events, keepalive and close detection do not.
            tracing::warn!("{e}");
        }
        // libxml2 prints "I/O warning : failed to load external entity" on stderr for
        // a missing test-driver node file, past libvirt's error callback: check first.
        if let Some(path) = test_driver_file(uri) {
            if let Err(e) = std::fs::metadata(path) {
                return Err(HvError::new(
                    HvErrorKind::Connection,
                    format!("cannot connect to {uri}: {path}: {e}"),
                ));
            }
        }
        let opened = if is_in_process_uri(uri) {
            open_here(uri, readonly)
        } else {
            open::open_connect(uri, readonly, timeout)
        };
        match opened {
            Ok(conn) => Ok(Self::with_link(
                Link::new(conn, uri, readonly, timeout),
                uri,
                readonly,
            )),
            Err(e) => Err(HvError::new(
                HvErrorKind::Connection,
                format!("cannot connect to {uri}: {e}"),
            )),
        }
    }

    /// Wrap an already open connection (its reference is taken over and closed on drop).
    /// `readonly` should say how it was opened; reconnects reopen `uri` the same way.
    /// Events and close detection need [`init_event_loop`] to have run before `conn`
    /// was opened.
    pub fn from_connect(conn: Connect, uri: &str, readonly: bool) -> Self {
        Self::with_link(
            Link::new(conn, uri, readonly, DEFAULT_CONNECT_TIMEOUT),
            uri,
            readonly,
        )
    }

    fn with_link(link: Arc<Link>, uri: &str, readonly: bool) -> Self {
        Self {
            link,
            uri: uri.to_string(),
            readonly,
            last_poll: Mutex::new(PollStats::default()),
            memory: Mutex::new(PollMemory::default()),
            last_listed: Mutex::new(ListedStats::default()),
            handles: Mutex::new(handles::Handles::default()),
        }
    }

    /// The current underlying connection, for code that needs the raw virt API (tests,
    /// benchmarks). Do not close it. While the link is down this is the dead one, whose
    /// calls fail.
    pub fn connection(&self) -> Connection {
        self.link.connection()
    }

    /// True unless the connection dropped and has not come back yet.
    pub fn is_connected(&self) -> bool {
        self.link.is_connected()
    }

    /// The current connection, or a `Connection` error saying it is down.
    fn conn(&self) -> HvResult<Arc<Conn>> {
        self.link.conn()
    }

    /// What the last [`Hypervisor::poll`] cost.
    pub fn last_poll_stats(&self) -> PollStats {
        *self.last_poll.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The raw bulk call `poll` makes, without decoding, for benchmarks: returns the
    /// number of records of one `virConnectGetAllDomainStats(stats, flags)`.
    pub fn raw_bulk_stats(&self, stats: u32, flags: u32) -> HvResult<usize> {
        let conn = self.conn()?;
        StatsList::fetch(&conn, stats, flags)
            .map(|l| l.len())
            .map_err(|e| self.conn_error("bulk stats", &e))
    }

    /// One bulk stats call with `NOWAIT`: a domain busy with another job (a destroy, a
    /// managed save) reports what it can at once instead of stalling the whole poll for
    /// seconds (measured on libvirt 9.0). Drivers that reject the flag get the call
    /// without it.
    fn fetch_stats(&self, conn: &Connect, mask: c_uint, filter: c_uint) -> HvResult<StatsList> {
        let nowait = sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_NOWAIT;
        match StatsList::fetch(conn, mask, filter | nowait) {
            Err(e) if is_unsupported_flag(&e) => StatsList::fetch(conn, mask, filter),
            other => other,
        }
        .map_err(|e| self.conn_error("poll", &e))
    }

    fn conn_error(&self, what: &str, e: &virt::error::Error) -> HvError {
        HvError::new(
            error_kind(e),
            format!("{what} on {}: {}", self.uri, e.message()),
        )
    }

    /// The domain `uuid` for `action`: the handle kept since the last poll, else looked
    /// up by UUID (and kept).
    fn domain(&self, action: &str, uuid: &str) -> HvResult<Arc<DomainHandle>> {
        let conn = self
            .conn()
            .map_err(|e| HvError::new(e.kind, format!("{action} {uuid}: {}", e.message)))?;
        if let Some(h) = self.lock_handles().get(&conn, uuid) {
            return Ok(h);
        }
        let dom = conn
            .lookup_domain_by_uuid_string(uuid)
            .map(|d| Arc::new(DomainHandle::new(d)))
            .map_err(|e| {
                let kind = match error_kind(&e) {
                    // A malformed UUID cannot name a domain either.
                    HvErrorKind::Other if raw_code(&e) == sys::VIR_ERR_INVALID_ARG => {
                        HvErrorKind::NoDomain
                    }
                    k => k,
                };
                HvError::new(kind, format!("{action} {uuid}: {}", e.message()))
            })?;
        self.lock_handles().put(&conn, uuid, Arc::clone(&dom));
        Ok(dom)
    }

    fn lock_handles(&self) -> std::sync::MutexGuard<'_, handles::Handles> {
        self.handles.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Run `f` on the domain `uuid`; errors say `action uuid(name): message`.
    fn with_domain<T>(
        &self,
        action: &str,
        uuid: &str,
        f: impl FnOnce(&Domain) -> Result<T, virt::error::Error>,
    ) -> HvResult<T> {
        let dom = self.domain(action, uuid)?;
        f(&dom).map_err(|e| action_error(action, uuid, &dom, &e))
    }
}

/// True for a URI libvirt serves inside this process (the test driver: `test:///default`
/// or `test:///abs/path.xml`), with no daemon at the other end.
pub fn is_in_process_uri(uri: &str) -> bool {
    uri.strip_prefix("test://")
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Open an in-process URI on the calling thread. It only reads a local file, so there is
/// nothing to time out; and on the timeout's own thread, the driver's state (every
/// domain definition) would be allocated in that thread's malloc arena, which costs more
/// to grow and to free from another thread (1000 domains: about 7 % of `vmlife ls`'s CPU).
fn open_here(uri: &str, readonly: bool) -> Result<Connect, String> {
    let opened = if readonly {
        Connect::open_read_only(Some(uri))
    } else {
        Connect::open(Some(uri))
    };
    opened.map_err(|e| e.message().to_string())
}

/// The node file of an in-process test-driver URI (`test:///abs/path.xml`), if it is one.
fn test_driver_file(uri: &str) -> Option<&str> {
    let path = uri.strip_prefix("test://")?;
    let path = path.split(['?', '#']).next().unwrap_or_default();
    (path.starts_with('/') && path != "/default").then_some(path)
}

impl Hypervisor for LibvirtHypervisor {
    fn uri(&self) -> &str {
        &self.uri
    }

    fn is_readonly(&self) -> bool {
        self.readonly
    }

    fn poll(&self, groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        let result = self.poll_once(groups);
        match &result {
            Ok(list) => {
                // Keep the handles of the domains that are still there.
                let seen: std::collections::HashSet<&str> =
                    list.iter().map(|d| d.uuid.as_str()).collect();
                self.lock_handles().retain(|u| seen.contains(u));
            }
            Err(e) => {
                self.lock_handles().clear();
                if e.kind == HvErrorKind::Connection {
                    // Covers connections whose close callback cannot fire.
                    self.link.check_alive();
                }
            }
        }
        result
    }

    fn stats_of(&self, uuids: &[Uuid], groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        self.stats_listed(uuids, groups)
    }

    fn running_count(&self) -> HvResult<usize> {
        self.count_running()
    }

    fn lookup(&self, name_or_uuid: &str) -> HvResult<VmRef> {
        let conn = self.conn()?;
        let by_uuid = conn.lookup_domain_by_uuid_string(name_or_uuid);
        let dom = match by_uuid {
            Ok(d) => DomainHandle::new(d),
            Err(_) => match conn.lookup_domain_by_name(name_or_uuid) {
                Ok(d) => DomainHandle::new(d),
                Err(e) => {
                    let kind = error_kind(&e);
                    let message = if kind == HvErrorKind::NoDomain || kind == HvErrorKind::Other {
                        format!(
                            "no domain named or with UUID \"{name_or_uuid}\" on {}",
                            self.uri
                        )
                    } else {
                        format!("lookup \"{name_or_uuid}\" on {}: {}", self.uri, e.message())
                    };
                    let kind = if kind == HvErrorKind::Other {
                        HvErrorKind::NoDomain
                    } else {
                        kind
                    };
                    return Err(HvError::new(kind, message));
                }
            },
        };
        let uuid = dom
            .uuid_string()
            .map_err(|e| action_error("lookup", name_or_uuid, &dom, &e))?;
        Ok(VmRef {
            uuid: uuid.into(),
            name: dom_name(&dom),
        })
    }

    fn details(&self, uuid: &str) -> HvResult<DomainDetails> {
        let dom = self.domain("details", uuid)?;
        let xml = dom
            .xml_desc(0)
            .map_err(|e| action_error("details", uuid, &dom, &e))?;
        domxml::parse(&xml).map_err(|e| {
            HvError::new(
                HvErrorKind::Other,
                format!("details {uuid}({}): domain XML: {e}", dom_name(&dom)),
            )
        })
    }

    fn addresses(&self, uuid: &str) -> HvResult<Vec<String>> {
        let dom = self.domain("addresses", uuid)?;
        for source in [
            sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE,
            sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT,
            sys::VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP,
        ] {
            match ffi::interface_addresses(&dom, source) {
                Ok(addrs) if !addrs.is_empty() => return Ok(addrs),
                Ok(_) => {}
                Err(e) => match error_kind(&e) {
                    // The domain or the connection is gone: say so.
                    HvErrorKind::NoDomain | HvErrorKind::Connection => {
                        return Err(action_error("addresses", uuid, &dom, &e))
                    }
                    // No agent, not running, no ARP entry, unsupported: next source.
                    _ => {}
                },
            }
        }
        Ok(Vec::new())
    }

    fn metadata(&self, uuid: &str) -> HvResult<Option<String>> {
        let dom = self.domain("read metadata", uuid)?;
        match dom.metadata(
            sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
            Some(LIFECYCLE_NS),
            sys::VIR_DOMAIN_AFFECT_CURRENT,
        ) {
            Ok(xml) => domxml::metadata_namespaced_form(&xml, LIFECYCLE_PREFIX, LIFECYCLE_NS)
                .map(Some)
                .map_err(|e| {
                    HvError::new(
                        HvErrorKind::Other,
                        format!("read metadata {uuid}({}): {e}", dom_name(&dom)),
                    )
                }),
            Err(e) if raw_code(&e) == sys::VIR_ERR_NO_DOMAIN_METADATA => Ok(None),
            Err(e) => Err(action_error("read metadata", uuid, &dom, &e)),
        }
    }

    fn set_metadata(&self, uuid: &str, xml: Option<&str>) -> HvResult<()> {
        let action = if xml.is_some() {
            "write metadata"
        } else {
            "remove metadata"
        };
        let dom = self.domain(action, uuid)?;
        let api_xml = match xml {
            Some(x) => Some(domxml::metadata_api_form(x, LIFECYCLE_NS).map_err(|e| {
                HvError::new(
                    HvErrorKind::Other,
                    format!("{action} {uuid}({}): {e}", dom_name(&dom)),
                )
            })?),
            None => None,
        };
        let active = dom
            .is_active()
            .map_err(|e| action_error(action, uuid, &dom, &e))?;
        let persistent = dom
            .is_persistent()
            .map_err(|e| action_error(action, uuid, &dom, &e))?;
        let flags = match (active, persistent) {
            (true, true) => sys::VIR_DOMAIN_AFFECT_LIVE | sys::VIR_DOMAIN_AFFECT_CONFIG,
            (false, _) => sys::VIR_DOMAIN_AFFECT_CONFIG,
            (true, false) => sys::VIR_DOMAIN_AFFECT_LIVE,
        };
        let key = api_xml.as_ref().map(|_| LIFECYCLE_PREFIX);
        dom.set_metadata(
            sys::VIR_DOMAIN_METADATA_ELEMENT as i32,
            api_xml.as_deref(),
            key,
            Some(LIFECYCLE_NS),
            flags,
        )
        .map_err(|e| action_error(action, uuid, &dom, &e))
    }

    fn start(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("start", uuid, |d| d.create().map(drop))
    }

    fn shutdown(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("shutdown", uuid, Domain::shutdown)
    }

    fn reboot(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("reboot", uuid, |d| d.reboot(0))
    }

    fn destroy(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("destroy", uuid, Domain::destroy)
    }

    fn suspend(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("suspend", uuid, Domain::suspend)
    }

    fn resume(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("resume", uuid, Domain::resume)
    }

    fn managed_save(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("managed save", uuid, |d| d.managed_save(0))
    }

    fn domain_xml(&self, uuid: &str) -> HvResult<String> {
        self.with_domain("domain XML", uuid, |d| {
            d.xml_desc(sys::VIR_DOMAIN_XML_INACTIVE)
        })
    }

    fn has_managed_save(&self, uuid: &str) -> HvResult<bool> {
        self.with_domain("managed save check", uuid, |d| d.has_managed_save(0))
    }

    fn managed_save_remove(&self, uuid: &str) -> HvResult<()> {
        self.with_domain("discard managed save", uuid, |d| d.managed_save_remove(0))
    }

    fn undefine(&self, uuid: &str) -> HvResult<()> {
        // A running domain becomes transient: the next poll re-lists the flags.
        self.forget_flags();
        self.with_domain("undefine", uuid, |d| {
            let mut last = None;
            for flags in UNDEFINE_LADDER {
                match d.undefine_flags(flags) {
                    Ok(()) => return Ok(()),
                    Err(e) if is_unsupported_flag(&e) => last = Some(e),
                    Err(e) => return Err(e),
                }
            }
            match last {
                Some(e) => Err(e),
                None => Ok(()),
            }
        })
    }

    fn define(&self, xml: &str) -> HvResult<Uuid> {
        // Defining over a transient domain makes it persistent.
        self.forget_flags();
        let dom = self
            .conn()?
            .define_domain_xml(xml)
            .map(DomainHandle::new)
            .map_err(|e| {
                HvError::new(
                    error_kind(&e),
                    format!("define on {}: {}", self.uri, e.message()),
                )
            })?;
        dom.uuid_string()
            .map(Uuid::from)
            .map_err(|e| action_error("define", "?", &dom, &e))
    }

    fn delete_volume(&self, path: &str) -> HvResult<bool> {
        let fail = |e: &virt::error::Error| {
            HvError::new(
                error_kind(e),
                format!("delete volume {path} on {}: {}", self.uri, e.message()),
            )
        };
        // virt's StorageVol is dropped normally: its Drop panics only when freeing a
        // valid reference fails, which libvirt does not do.
        let vol = match self.conn()?.lookup_storage_vol_by_path(path) {
            Ok(vol) => vol,
            Err(e) if raw_code(&e) == sys::VIR_ERR_NO_STORAGE_VOL => return Ok(false),
            Err(e) => return Err(fail(&e)),
        };
        vol.delete(0).map_err(|e| fail(&e))?;
        Ok(true)
    }

    fn memory_hard_limit(&self, uuid: &str) -> HvResult<Option<u64>> {
        self.get_hard_limit(uuid)
    }

    fn set_memory_hard_limit(&self, uuid: &str, kib: u64) -> HvResult<()> {
        self.put_hard_limit(uuid, kib)
    }

    fn cpu_quota(&self, uuid: &str) -> HvResult<CpuQuota> {
        self.get_cpu_quota(uuid)
    }

    fn set_cpu_quota(&self, uuid: &str, period_us: u64, quota_us: u64) -> HvResult<()> {
        self.put_cpu_quota(uuid, period_us, quota_us)
    }

    fn disk_tunables(&self, uuid: &str) -> HvResult<Vec<DiskTunable>> {
        self.get_disks(uuid)
    }

    fn set_block_threshold(&self, uuid: &str, target: &str, bytes: u64) -> HvResult<()> {
        self.put_block_threshold(uuid, target, bytes)
    }

    fn subscribe(&self, sink: EventSink) -> HvResult<()> {
        self.link.subscribe(sink)
    }

    fn node_memory(&self) -> HvResult<NodeMemory> {
        self.read_node_memory()
    }

    fn disk_errors(&self, uuid: &str) -> HvResult<Vec<DiskError>> {
        self.read_disk_errors(uuid)
    }

    fn disk_space(&self, path: &str) -> HvResult<DiskSpace> {
        self.read_disk_space(path)
    }
}

#[cfg(test)]
mod tests;
