//! Domain handles kept between calls, so the calls a poll leads to (the domain XML, the
//! addresses, the limits' three tunables, the dashboard's stats of the VMs in view, an
//! action) look each domain up once instead of once per call (a look-up by UUID is also
//! a round trip on a remote URI).
//!
//! A libvirt domain handle is only the domain's UUID, name and id on a connection: every
//! driver resolves a call on it by the UUID, as a fresh `virDomainLookupByUUIDString`
//! would. Each lookup and each `virDomainFree` costs libvirt 9.0 a formatted UUID for a
//! debug line (about 7,000 instructions) and the test driver a second one for its hash
//! table, so `vmlife ls` at 1000 domains spent about 100 M instructions (3 % of its CPU)
//! looking up and freeing the same handles again.
//!
//! What differs from a fresh lookup: a domain that is gone fails at its call rather than
//! at the lookup (the same `NoDomain` kind, the message naming the call), and the name a
//! handle carries is the one it had when looked up (used only in error messages;
//! [`Hypervisor::lookup`](crate::hypervisor::Hypervisor::lookup), which resolves names,
//! never uses this cache). A domain undefined and defined again with the same UUID is
//! reached through its old handle, as by a fresh lookup. Each poll keeps only the
//! handles of the domains it returned (a failed poll, none), a define or undefine by
//! vmlife drops them all, and so does a new connection: the cache holds at most one
//! handle per domain the last poll saw, plus those asked about since.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::events::Conn;
use super::ffi::DomainHandle;

/// UUID → handle, for one connection.
#[derive(Default)]
pub(super) struct Handles {
    /// The connection the handles belong to (a `Weak`, so its address cannot be reused
    /// by a later connection while this is held).
    conn: Weak<Conn>,
    map: HashMap<String, Arc<DomainHandle>>,
}

impl Handles {
    /// The handle of `uuid` on `conn`, if one was kept.
    pub(super) fn get(&mut self, conn: &Arc<Conn>, uuid: &str) -> Option<Arc<DomainHandle>> {
        self.bind(conn);
        self.map.get(uuid).cloned()
    }

    /// Hold the handles of `conn`: those of another connection are forgotten.
    fn bind(&mut self, conn: &Arc<Conn>) {
        if !std::ptr::eq(self.conn.as_ptr(), Arc::as_ptr(conn)) {
            self.clear();
            self.conn = Arc::downgrade(conn);
        }
    }

    /// Keep `handle` of `uuid`, looked up on `conn`.
    pub(super) fn put(&mut self, conn: &Arc<Conn>, uuid: &str, handle: Arc<DomainHandle>) {
        if std::ptr::eq(self.conn.as_ptr(), Arc::as_ptr(conn)) {
            self.map.insert(uuid.to_string(), handle);
        }
    }

    /// Keep the handle `make` gives for `uuid` on `conn` unless one is kept already
    /// (a poll's listed domains: their handles come with the list, no lookup).
    pub(super) fn keep_listed(
        &mut self,
        conn: &Arc<Conn>,
        uuid: &str,
        make: impl FnOnce() -> Option<DomainHandle>,
    ) {
        self.bind(conn);
        if !self.map.contains_key(uuid) {
            if let Some(h) = make() {
                self.map.insert(uuid.to_string(), Arc::new(h));
            }
        }
    }

    /// Forget every handle.
    pub(super) fn clear(&mut self) {
        self.map.clear();
    }

    /// Keep only the handles of the UUIDs for which `keep` is true.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.map.retain(|u, _| keep(u));
    }

    #[cfg(test)]
    pub(super) fn has(&self, uuid: &str) -> bool {
        self.map.contains_key(uuid)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.map.len()
    }
}

#[cfg(test)]
#[path = "handles_tests.rs"]
mod tests;
