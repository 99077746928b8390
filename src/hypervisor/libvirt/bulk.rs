//! The bulk poll: two `virConnectGetAllDomainStats` calls decoded into [`RawDomain`]s,
//! with what one poll remembers for the next (see the module docs of [`super`]).

use std::collections::HashSet;
use std::ffi::c_uint;
use std::sync::Arc;
use std::time::Instant;

use virt::sys;

use super::codes;
use super::events::Conn;
use super::ffi::{self, DomainHandle, StatsList};
use super::handles::Handles;
use super::names::{KnownName, NameCache};
use super::stats::{format_uuid, Decoded, Wanted};
use super::LibvirtHypervisor;
use crate::hypervisor::{HvError, HvResult, RawDomain, StatsGroups};
use crate::model::Uuid;

/// What the last [`Hypervisor::poll`](crate::hypervisor::Hypervisor::poll) cost, for
/// tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PollStats {
    /// `virConnectGetAllDomainStats` calls: 2 (active domains with the groups, inactive
    /// ones with state), 1 when the inactive ones' last call could stand or the poll is
    /// state-only.
    pub bulk_calls: u32,
    /// `virConnectListAllDomains` calls (for the persistent and autostart flags).
    pub list_calls: u32,
    /// Records in the bulk calls made.
    pub records: usize,
    /// Records asked for the costly groups (the active-domains call; 0 for a
    /// state-only poll, which makes one call for every domain).
    pub active_records: usize,
    /// Typed parameters taken from the records (state fields included).
    pub params_taken: usize,
    /// `virDomainGetState` calls for domains that changed state between the bulk calls.
    pub single_calls: u32,
    /// `virDomainGetUUID` calls: records whose name→UUID could not be taken from the
    /// identity cache (see `names.rs`).
    pub uuid_reads: usize,
    /// The inactive domains were taken from the previous call instead of a new one (no
    /// lifecycle event since, see [`INACTIVE_MAX_AGE`]).
    pub inactive_reused: bool,
}

/// How long the persistent and autostart flags are reused: neither announces a change,
/// and both only inform (the autostart warning, the detail pane).
const FLAGS_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(30);

/// Longest time the inactive domains of one call stand in for new calls while lifecycle
/// events are registered and none arrived (a bound on anything libvirt changes about a
/// shut-off domain without an event).
pub const INACTIVE_MAX_AGE: std::time::Duration = std::time::Duration::from_secs(10);

/// Raw UUIDs, hashed by their own first bytes: they are random already, so SipHash
/// would only cost time (three set operations per domain per poll).
type UuidSet = HashSet<[u8; 16], std::hash::BuildHasherDefault<UuidHasher>>;

/// The [`UuidSet`] hasher: the first 8 bytes written, as they are.
#[derive(Default)]
struct UuidHasher(u64);

impl std::hash::Hasher for UuidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // A [u8; 16] hashes as its length, then its bytes: keep the bytes.
        if bytes.len() >= 8 {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[..8]);
            self.0 ^= u64::from_ne_bytes(b);
        }
    }
    fn write_usize(&mut self, _len: usize) {}
}

/// What one poll remembers for the next.
#[derive(Debug, Default)]
pub(super) struct PollMemory {
    /// Raw UUIDs the last poll returned.
    seen: UuidSet,
    transient: HashSet<Uuid>,
    autostart: HashSet<Uuid>,
    flags_at: Option<Instant>,
    /// Which domain a name stands for (see [`names`]).
    names: NameCache,
    /// The last inactive-domains call, while it may stand for the next polls.
    inactive: Option<InactiveList>,
}

/// The records of one inactive-domains call and the identity key they were read under.
#[derive(Debug)]
struct InactiveList {
    key: (u64, u64),
    at: Instant,
    records: Vec<([u8; 16], RawDomain)>,
}

impl LibvirtHypervisor {
    /// Make the next poll re-list the persistent and autostart flags (after a change
    /// vmlife made itself).
    pub(super) fn forget_flags(&self) {
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        memory.flags_at = None;
        // A define or undefine may also give a name to another domain, or add or remove
        // an inactive one.
        memory.names.clear();
        memory.inactive = None;
        drop(memory);
        self.handles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// One [`Hypervisor::poll`](crate::hypervisor::Hypervisor::poll).
    pub(super) fn poll_once(&self, groups: StatsGroups) -> HvResult<Vec<RawDomain>> {
        let conn = self
            .conn()
            .map_err(|e| HvError::new(e.kind, format!("poll on {}: {}", self.uri, e.message)))?;
        let mut cost = PollStats::default();
        let mut memory = self.memory.lock().unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<RawDomain> = Vec::new();
        let mut found = UuidSet::default();

        // Each domain is in exactly one of two calls: active ones with the asked
        // groups, inactive ones with state only (no monitor is woken for them). A
        // state-only poll needs no split: one call covers every domain.
        let state_only = !groups.any();
        let filter = if state_only {
            0
        } else {
            sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_ACTIVE
        };
        let before = self.link.identity_key();
        let list = self.fetch_stats(
            &conn,
            sys::VIR_DOMAIN_STATS_STATE | stats_mask(groups),
            filter,
        )?;
        cost.bulk_calls += 1;
        cost.records += list.len();
        if !state_only {
            cost.active_records = list.len();
        }
        memory
            .names
            .begin(before, self.link.identity_key(), Instant::now());
        let mut handles = self.lock_handles();
        let mut reader = ListReader {
            names: &mut memory.names,
            found: &mut found,
            cost: &mut cost,
            out: &mut out,
            handles: (&conn, &mut handles),
        };
        reader.read(&list, groups, None);
        drop(handles);
        drop(list);

        // Inactive domains change only through lifecycle events (start, define,
        // undefine): while none was delivered since the last inactive call, and that
        // call is younger than INACTIVE_MAX_AGE, its records stand.
        let now_key = self.link.identity_key();
        let reusable =
            |c: &&InactiveList| Some(c.key) == now_key && c.at.elapsed() < INACTIVE_MAX_AGE;
        if state_only {
            // Every domain was in the one call.
        } else if let Some(cached) = memory.inactive.as_ref().filter(reusable) {
            cost.inactive_reused = true;
            for (uuid, raw) in &cached.records {
                if found.insert(*uuid) {
                    out.push(raw.clone());
                }
            }
        } else {
            let list = self.fetch_stats(
                &conn,
                sys::VIR_DOMAIN_STATS_STATE,
                sys::VIR_CONNECT_GET_ALL_DOMAINS_STATS_INACTIVE,
            )?;
            cost.bulk_calls += 1;
            cost.records += list.len();
            let after = self.link.identity_key();
            memory.names.begin(now_key, after, Instant::now());
            let start = out.len();
            let mut ids = Vec::new();
            let mut handles = self.lock_handles();
            let mut reader = ListReader {
                names: &mut memory.names,
                found: &mut found,
                cost: &mut cost,
                out: &mut out,
                handles: (&conn, &mut handles),
            };
            reader.read(&list, StatsGroups::STATE, Some(&mut ids));
            drop(handles);
            // Kept only when no identity event came in during the call.
            memory.inactive = now_key
                .filter(|_| now_key == after)
                .map(|key| InactiveList {
                    key,
                    at: Instant::now(),
                    records: ids.into_iter().zip(out[start..].iter().cloned()).collect(),
                });
        }

        // A domain that started or stopped between the two calls is in neither: read the
        // state of those alone (rare: only around a transition), so no poll loses a VM.
        for uuid in memory.seen.difference(&found).copied().collect::<Vec<_>>() {
            let text = format_uuid(&uuid);
            let Ok(dom) = conn
                .lookup_domain_by_uuid_string(&text)
                .map(DomainHandle::new)
            else {
                continue; // gone for real
            };
            cost.single_calls += 1;
            if let Ok((state, reason)) = ffi::domain_state(&dom) {
                found.insert(uuid);
                out.push(RawDomain {
                    uuid: text.into(),
                    name: dom.name().unwrap_or_default(),
                    state: Some(codes::run_state(state)),
                    reason: codes::state_reason(Some(codes::run_state(state)), reason),
                    persistent: true,
                    ..RawDomain::default()
                });
            }
        }

        // The persistent and libvirt-autostart flags change rarely and announce nothing:
        // re-list them when a domain appears or they are older than FLAGS_MAX_AGE.
        let appeared = found.iter().any(|u| !memory.seen.contains(u));
        let stale = memory
            .flags_at
            .is_none_or(|at| at.elapsed() >= FLAGS_MAX_AGE);
        if !out.is_empty() && (appeared || stale) {
            memory.transient = ffi::list_uuids(&conn, sys::VIR_CONNECT_LIST_DOMAINS_TRANSIENT)
                .map_err(|e| self.conn_error("poll", &e))?;
            memory.autostart = ffi::list_uuids(&conn, sys::VIR_CONNECT_LIST_DOMAINS_AUTOSTART)
                .map_err(|e| self.conn_error("poll", &e))?;
            memory.flags_at = Some(Instant::now());
            cost.list_calls += 2;
        }
        // Both sets are usually empty (few transient or libvirt-autostart domains).
        if !memory.transient.is_empty() || !memory.autostart.is_empty() {
            for raw in &mut out {
                raw.persistent = !memory.transient.contains(&raw.uuid);
                raw.libvirt_autostart = memory.autostart.contains(&raw.uuid);
            }
        }
        // Forget names no longer in use (the cache never outgrows the host).
        memory.names.prune(found.len(), |u| found.contains(u));
        memory.seen = found;

        *self.last_poll.lock().unwrap_or_else(|e| e.into_inner()) = cost;
        Ok(out)
    }
}

/// Decodes the records of one bulk-stats list into [`RawDomain`]s.
struct ListReader<'a> {
    names: &'a mut NameCache,
    /// UUIDs already in `out`: a domain is reported once.
    found: &'a mut UuidSet,
    cost: &'a mut PollStats,
    out: &'a mut Vec<RawDomain>,
    /// The adapter's kept handles, given each listed domain's handle (and the
    /// connection the list came from).
    handles: (&'a Arc<Conn>, &'a mut Handles),
}

impl ListReader<'_> {
    /// Read `list` (the fields of `groups` and state), pushing each new domain to
    /// `out` and, when `ids` is given, its raw UUID to `ids` in the same order.
    fn read(&mut self, list: &StatsList, groups: StatsGroups, mut ids: Option<&mut Vec<[u8; 16]>>) {
        self.out.reserve(list.len());
        let wanted = Wanted {
            state: true,
            groups,
        };
        for rec in list.records() {
            let d = Decoded::read(wanted, rec.params());
            let name = rec.name_bytes();
            let state = (d.state, d.reason);
            let known = name.and_then(|n| self.names.get(n, state));
            let (uuid, uuid_text, name_text) = match known {
                Some(k) => (k.uuid, k.uuid_text.clone(), k.name.clone()),
                None => {
                    let Some(uuid) = rec.uuid() else { continue };
                    self.cost.uuid_reads += 1;
                    let text = Uuid::from(format_uuid(&uuid));
                    let name_text = name
                        .map(|b| String::from_utf8_lossy(b).into_owned())
                        .unwrap_or_default();
                    if let Some(n) = name {
                        self.names.learn(
                            n,
                            KnownName {
                                uuid,
                                uuid_text: text.clone(),
                                name: name_text.clone(),
                                state,
                            },
                        );
                    }
                    (uuid, text, name_text)
                }
            };
            if !self.found.insert(uuid) {
                continue;
            }
            self.cost.params_taken += d.taken;
            let mut raw = RawDomain {
                uuid: uuid_text,
                name: name_text,
                persistent: true,
                ..RawDomain::default()
            };
            d.apply_state(&mut raw);
            d.apply_counters(&mut raw);
            let (conn, handles) = &mut self.handles;
            handles.keep_listed(conn, raw.uuid.as_str(), || rec.domain());
            self.out.push(raw);
            if let Some(ids) = ids.as_deref_mut() {
                ids.push(uuid);
            }
        }
    }
}

pub(super) fn stats_mask(g: StatsGroups) -> c_uint {
    let mut m = 0;
    if g.cpu {
        m |= sys::VIR_DOMAIN_STATS_CPU_TOTAL;
    }
    if g.balloon {
        m |= sys::VIR_DOMAIN_STATS_BALLOON;
    }
    if g.block {
        m |= sys::VIR_DOMAIN_STATS_BLOCK;
    }
    if g.vcpu {
        m |= sys::VIR_DOMAIN_STATS_VCPU;
    }
    m
}
