//! Where libvirt's callbacks deliver: the domain-event fan-out and the close-callback
//! table. It imports neither `ffi` nor `events`: the FFI callbacks hand events and
//! closes to it and the connection upkeep reads them, so the dependency goes one way
//! (`events` → `ffi` → `fanout`).

use std::collections::BTreeMap;
use std::ffi::c_int;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Mutex, MutexGuard};

use crate::hypervisor::{DomainEvent, EventSink};

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every value behind these locks stays consistent between statements.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The sinks of one adapter; every event goes to each of them.
#[derive(Default)]
pub(super) struct Fanout {
    pub(super) sinks: Mutex<Vec<EventSink>>,
    /// Bumped by every event that can change which domain a name stands for (a
    /// definition, an undefinition, a start or stop of a transient domain, a rename) and
    /// by connection loss; see [`Link::identity_key`].
    pub(super) epoch: AtomicU64,
}

impl Fanout {
    /// Give `event` to every sink; forget sinks whose receiver is gone. Never blocks
    /// (beyond a short lock) and never panics: callable from a libvirt callback.
    pub(crate) fn emit(&self, event: DomainEvent) {
        if matches!(
            event,
            DomainEvent::Lifecycle { .. }
                | DomainEvent::ConnectionLost { .. }
                | DomainEvent::Reconnected
        ) {
            // Before the sinks hear of it: whoever saw the event sees the new epoch.
            self.epoch.fetch_add(1, Ordering::SeqCst);
        }
        lock(&self.sinks).retain(|s| s.send(event.clone()).is_ok());
    }

    pub(crate) fn add(&self, sink: EventSink) {
        lock(&self.sinks).push(sink);
    }

    /// True when no live sink is left (closed ones are forgotten).
    pub(super) fn is_empty(&self) -> bool {
        let mut sinks = lock(&self.sinks);
        sinks.retain(|s| !s.is_closed());
        sinks.is_empty()
    }
}

/// What the close callback tells the monitor thread.
#[derive(Debug)]
pub(super) enum Signal {
    /// Connection `generation` closed, for `reason`.
    Closed { generation: u64, reason: String },
}

/// Close-callback targets: opaque number → (monitor channel, connection generation).
pub(super) static CLOSE_TARGETS: Mutex<BTreeMap<usize, (Sender<Signal>, u64)>> =
    Mutex::new(BTreeMap::new());
pub(super) static NEXT_CLOSE_ID: AtomicUsize = AtomicUsize::new(1);

/// libvirt's `virConnectCloseReason` in words.
pub(super) fn close_reason(reason: c_int) -> String {
    match reason {
        0 => "connection error".into(),
        1 => "end of file (the daemon closed the connection or exited)".into(),
        2 => "keepalive timeout (no answer from the daemon)".into(),
        3 => "closed by the client".into(),
        n => format!("closed (reason {n})"),
    }
}

/// Called by the close callback (on libvirt's threads): hand the news to the monitor.
/// Takes only the short table lock, never one held around a libvirt call.
pub(super) fn connection_closed(id: usize, reason: c_int) {
    let target = lock(&CLOSE_TARGETS).get(&id).cloned();
    if let Some((tx, generation)) = target {
        let _ = tx.send(Signal::Closed {
            generation,
            reason: close_reason(reason),
        });
    }
}

#[cfg(test)]
#[path = "fanout_tests.rs"]
mod tests;
