//! The adapter's identity cache: which domain a name stands for, between polls.
//!
//! A bulk-stats record carries a domain object, and the only way to its UUID is
//! `virDomainGetUUID`, which on libvirt 9.0 formats the UUID for a debug line on every
//! call whether logging is on or not: a fifth of a 1000-domain poll. `virDomainGetName`
//! does not. So the poll reads names, and reads a UUID only for a name it cannot vouch
//! for.
//!
//! A name can pass to another domain only through an undefine, define, rename, or the
//! start or stop of a transient domain: each is a lifecycle event. The cache is
//! therefore used only while lifecycle events are registered on the connection, and is
//! emptied whenever the identity key ([`super::events::Link::identity_key`]: connection
//! generation and count of such events) moves, or moved while a list was fetched (that
//! list may predate the event), and in any case every [`NAMES_MAX_AGE`]. On top of that
//! an entry holds only while the record's state and reason are the ones it was learnt
//! with, so a domain that changes state is always read again.
//!
//! What is left: a name reused between two polls whose event has not been delivered by
//! the time the second poll's records are read, with the same state and reason, shows
//! under the old UUID for that one poll. Every action goes by UUID, and destructive ones
//! re-read that UUID's domain and check its name first (`executor::precondition`), so
//! nothing done through that row can reach another domain.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::hypervisor::Uuid;

/// Longest time an entry is trusted even while no event says otherwise: every name is
/// read again at least this often, so a stalled event stream cannot keep a wrong name
/// for long.
pub(crate) const NAMES_MAX_AGE: Duration = Duration::from_secs(30);

/// `state.state` and `state.reason` of a record.
pub(crate) type StateKey = (Option<i32>, Option<i32>);

/// One domain as the cache knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct KnownName {
    pub uuid: [u8; 16],
    pub uuid_text: Uuid,
    pub name: String,
    pub state: StateKey,
}

/// Name → domain, valid under one identity key.
#[derive(Debug, Default)]
pub(crate) struct NameCache {
    names: HashMap<Box<[u8]>, KnownName>,
    /// The key the entries were learnt under; `None`: the cache is off.
    key: Option<(u64, u64)>,
    /// When the cache was last emptied (entries are no older than this).
    since: Option<Instant>,
}

impl NameCache {
    /// Start reading one list of records, fetched between reading the identity key
    /// `before` and `after`. Entries learnt under another key are dropped. When an
    /// event came in during the call (`before != after`) the list may predate it: the
    /// cache is emptied and learns nothing from this list.
    /// Entries are also dropped once the oldest is [`NAMES_MAX_AGE`] old at `now`.
    pub(crate) fn begin(
        &mut self,
        before: Option<(u64, u64)>,
        after: Option<(u64, u64)>,
        now: Instant,
    ) {
        let key = if before == after { after } else { None };
        let expired = self
            .since
            .is_none_or(|since| now.saturating_duration_since(since) >= NAMES_MAX_AGE);
        if key.is_none() || key != self.key || expired {
            self.names.clear();
            self.key = key;
            self.since = Some(now);
        }
    }

    /// The domain `name` stood for, if nothing since says otherwise.
    pub(crate) fn get(&self, name: &[u8], state: StateKey) -> Option<&KnownName> {
        self.names.get(name).filter(|k| k.state == state)
    }

    /// Remember what `name` stands for now (nothing while the cache is off).
    pub(crate) fn learn(&mut self, name: &[u8], known: KnownName) {
        if self.key.is_some() {
            self.names.insert(name.into(), known);
        }
    }

    /// Forget every entry (after vmlife defined or undefined a domain itself).
    pub(crate) fn clear(&mut self) {
        self.names.clear();
        self.key = None;
    }

    /// Forget domains `keep` says are gone, once the cache holds more than the host.
    pub(crate) fn prune(&mut self, live: usize, keep: impl Fn(&[u8; 16]) -> bool) {
        if self.names.len() > live {
            self.names.retain(|_, k| keep(&k.uuid));
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.names.len()
    }
}

#[cfg(test)]
#[path = "names_tests.rs"]
mod tests;
