//! Domain events and connection upkeep for the libvirt adapter.
//!
//! **Threads.**
//! - One libvirt event-loop thread per process (`vmlife-libvirt-events`), started with
//!   `virEventRegisterDefaultImpl` by [`init_event_loop`] before the first connection is
//!   opened (the remote driver only watches a connection's socket, delivers events and
//!   runs keepalive when an event loop existed when it was opened). It runs
//!   `virEventRunDefaultImpl` forever. Every domain-event and close callback runs on it
//!   (or, for a close, on a thread whose RPC noticed the dead socket); the callbacks
//!   only copy the event and `send` it on tokio unbounded channels, which never blocks.
//! - One monitor thread per adapter (`vmlife-libvirt-monitor`) that sleeps on a channel.
//!   When libvirt reports the connection closed (EOF, keepalive timeout, error) it marks
//!   the link down, emits [`DomainEvent::ConnectionLost`] and reconnects with backoff
//!   (1 s, 2 s, 4 s … at most 30 s); on success it re-registers the event callbacks,
//!   swaps the connection in and emits [`DomainEvent::Reconnected`]. It holds the link
//!   weakly and ends when the adapter is dropped.
//!
//! **Connection.** `Link` holds the current `Conn` behind an `RwLock`; every call
//! clones the `Arc` and works on it without holding the lock, so a reconnect never
//! waits for a slow call. While the link is down, `Link::conn` answers a
//! `Connection` error at once.
//!
//! **Callbacks.** Each connection gets, once the first sink subscribes, one registration
//! per event id (lifecycle, reboot, metadata change, IO error with reason, agent
//! lifecycle) whose opaque pointer owns an `Arc<Fanout>` that is freed by libvirt's
//! `freecb`; the fan-out hands every event to every sink. The close callback's opaque
//! value is a number looked up in a process-wide table instead (drivers that cannot
//! close, such as the test driver, accept the registration but never call its
//! `freecb`, which would leak a box).

use std::ffi::c_int;
use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, OnceLock, RwLock, Weak};
use std::time::{Duration, Instant};

use virt::connect::Connect;

use super::error_kind;
use super::fanout::{lock, Fanout, Signal, CLOSE_TARGETS, NEXT_CLOSE_ID};
use super::ffi::{self, ConnHandle};
use crate::hypervisor::{DomainEvent, EventSink, HvError, HvErrorKind, HvResult};

/// Keepalive: a ping after 5 s without traffic, the connection is declared dead after 3
/// unanswered ones (about 20 s for a silent peer; a dead local daemon is an EOF at once).
const KEEPALIVE_INTERVAL_S: i32 = 5;
const KEEPALIVE_COUNT: u32 = 3;

/// Start libvirt's default event loop and its thread, once per process. Must run before
/// the first `virConnectOpen` whose events or keepalive should work;
/// [`super::LibvirtHypervisor::open`] calls it. Harmless when events are never used: the
/// thread sleeps in `poll(2)`.
pub fn init_event_loop() -> Result<(), String> {
    static LOOP: OnceLock<Result<(), String>> = OnceLock::new();
    LOOP.get_or_init(|| {
        virt::error::clear_error_callback();
        virt::event::event_register_default_impl()
            .map_err(|e| format!("libvirt event loop: {}", e.message()))?;
        std::thread::Builder::new()
            .name("vmlife-libvirt-events".into())
            .spawn(|| loop {
                if virt::event::event_run_default_impl().is_err() {
                    // Only fails on a broken poll(); do not spin.
                    std::thread::sleep(Duration::from_millis(100));
                }
            })
            .map(drop)
            .map_err(|e| format!("libvirt event loop thread: {e}"))
    })
    .clone()
}

/// One open libvirt connection with its registrations; deregisters them and closes the
/// connection when the last user drops it.
pub(crate) struct Conn {
    handle: ConnHandle,
    generation: u64,
    close_id: Option<usize>,
    /// Domain-event callback ids registered on this connection (empty: none).
    event_ids: Mutex<Vec<c_int>>,
}

impl Conn {
    /// Take over `connect`: switch keepalive on (refused harmlessly by drivers without
    /// it) and register the close callback that reports to `signals`.
    fn new(connect: Connect, generation: u64, signals: &Sender<Signal>) -> Conn {
        let handle = ConnHandle::new(connect);
        if let Err(e) = handle.set_keep_alive(KEEPALIVE_INTERVAL_S, KEEPALIVE_COUNT) {
            tracing::debug!("keepalive not enabled: {}", e.message());
        }
        let id = NEXT_CLOSE_ID.fetch_add(1, Ordering::Relaxed);
        lock(&CLOSE_TARGETS).insert(id, (signals.clone(), generation));
        let close_id = match ffi::register_close_callback(&handle, id) {
            Ok(()) => Some(id),
            Err(e) => {
                tracing::warn!("connection close callback: {}", e.message());
                lock(&CLOSE_TARGETS).remove(&id);
                None
            }
        };
        Conn {
            handle,
            generation,
            close_id,
            event_ids: Mutex::new(Vec::new()),
        }
    }

    /// Register the domain-event callbacks for `fanout` unless already done.
    fn ensure_events(&self, fanout: &Arc<Fanout>) -> Result<(), virt::error::Error> {
        let mut ids = lock(&self.event_ids);
        if ids.is_empty() {
            *ids = ffi::register_domain_events(&self.handle, fanout)?;
        }
        Ok(())
    }
}

impl Deref for Conn {
    type Target = Connect;
    fn deref(&self) -> &Connect {
        &self.handle
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        let ids = std::mem::take(self.event_ids.get_mut().unwrap_or_else(|e| e.into_inner()));
        ffi::deregister_domain_events(&self.handle, &ids);
        if let Some(id) = self.close_id {
            lock(&CLOSE_TARGETS).remove(&id);
            ffi::unregister_close_callback(&self.handle);
        }
        // `handle` closes the connection after this (both registrations held a
        // reference on it, so they had to go first).
    }
}

/// A raw connection for code that needs the virt API (tests, benchmarks); derefs to
/// [`Connect`]. Do not close it.
pub struct Connection(Arc<Conn>);

impl Deref for Connection {
    type Target = Connect;
    fn deref(&self) -> &Connect {
        &self.0
    }
}

/// The current connection and whether it is down.
struct Slot {
    conn: Arc<Conn>,
    /// Why the link is down; `None` while connected.
    down: Option<String>,
}

/// An adapter's replaceable connection, its sinks and its monitor.
pub(crate) struct Link {
    uri: String,
    readonly: bool,
    /// How long a reconnect's open may take.
    connect_timeout: Duration,
    slot: RwLock<Slot>,
    fanout: Arc<Fanout>,
    /// Serialises event registration with connection swaps (never taken by callbacks).
    events_lock: Mutex<()>,
    signals: Sender<Signal>,
    generations: AtomicU64,
}

impl Link {
    /// Wrap an open connection and start its monitor thread.
    pub(crate) fn new(
        connect: Connect,
        uri: &str,
        readonly: bool,
        connect_timeout: Duration,
    ) -> Arc<Link> {
        let (signals, rx) = mpsc::channel();
        let conn = Arc::new(Conn::new(connect, 1, &signals));
        let link = Arc::new(Link {
            uri: uri.to_string(),
            readonly,
            connect_timeout,
            slot: RwLock::new(Slot { conn, down: None }),
            fanout: Arc::new(Fanout::default()),
            events_lock: Mutex::new(()),
            signals,
            generations: AtomicU64::new(1),
        });
        let weak = Arc::downgrade(&link);
        if let Err(e) = std::thread::Builder::new()
            .name("vmlife-libvirt-monitor".into())
            .spawn(move || monitor(weak, rx))
        {
            tracing::warn!("no reconnects for {uri}: monitor thread: {e}");
        }
        link
    }

    fn read_slot(&self) -> std::sync::RwLockReadGuard<'_, Slot> {
        self.slot.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_slot(&self) -> std::sync::RwLockWriteGuard<'_, Slot> {
        self.slot.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The current connection, or a `Connection` error while the link is down.
    pub(crate) fn conn(&self) -> HvResult<Arc<Conn>> {
        let slot = self.read_slot();
        match &slot.down {
            None => Ok(Arc::clone(&slot.conn)),
            Some(why) => Err(HvError::new(
                HvErrorKind::Connection,
                format!("not connected to {}: {why}; reconnecting", self.uri),
            )),
        }
    }

    /// The current connection, even when it is down.
    pub(crate) fn connection(&self) -> Connection {
        Connection(Arc::clone(&self.read_slot().conn))
    }

    /// While lifecycle events are registered on the current connection: its generation
    /// and the number of identity-changing events seen so far. Two equal keys mean no
    /// domain was defined, undefined, renamed, created or stopped in between (as far as
    /// delivered events tell), so a name still stands for the same domain. `None` while
    /// down or without event registrations: then nothing may be assumed.
    pub(crate) fn identity_key(&self) -> Option<(u64, u64)> {
        let slot = self.read_slot();
        if slot.down.is_some() || lock(&slot.conn.event_ids).is_empty() {
            return None;
        }
        Some((
            slot.conn.generation,
            self.fanout.epoch.load(Ordering::SeqCst),
        ))
    }

    /// True while connected.
    pub(crate) fn is_connected(&self) -> bool {
        self.read_slot().down.is_none()
    }

    /// Deliver every event to `sink` from now on (see `Hypervisor::subscribe`).
    pub(crate) fn subscribe(&self, sink: EventSink) -> HvResult<()> {
        let _g = lock(&self.events_lock);
        let (conn, down) = {
            let slot = self.read_slot();
            (Arc::clone(&slot.conn), slot.down.is_some())
        };
        // While down, the reconnect registers for every sink there is.
        if !down {
            conn.ensure_events(&self.fanout).map_err(|e| {
                HvError::new(
                    error_kind(&e),
                    format!("subscribe to events on {}: {}", self.uri, e.message()),
                )
            })?;
        }
        self.fanout.add(sink);
        Ok(())
    }

    /// After a call failed with a connection error: if the connection is dead but no
    /// close callback said so (the event loop was not running when it was opened),
    /// start the reconnect as the callback would.
    pub(crate) fn check_alive(&self) {
        let conn = {
            let slot = self.read_slot();
            if slot.down.is_some() {
                return;
            }
            Arc::clone(&slot.conn)
        };
        if !matches!(conn.is_alive(), Ok(true)) {
            let _ = self.signals.send(Signal::Closed {
                generation: conn.generation,
                reason: "the connection is dead".into(),
            });
        }
    }

    /// Mark connection `generation` down; false when that is old news.
    fn mark_down(&self, generation: u64, reason: &str) -> bool {
        let mut slot = self.write_slot();
        if slot.conn.generation != generation || slot.down.is_some() {
            return false;
        }
        slot.down = Some(format!("connection lost: {reason}"));
        true
    }

    /// Remember the last failed attempt in the error message calls get meanwhile.
    fn note_attempt(&self, reason: &str, error: &str) {
        if let Some(down) = &mut self.write_slot().down {
            *down = format!("connection lost: {reason}; last attempt: {error}");
        }
    }

    /// One reconnect attempt: open, register, swap in, announce.
    fn reconnect(&self) -> Result<(), String> {
        // With a timeout: a host that accepts and never answers must not block the
        // monitor (and with it every later attempt) forever.
        let connect = super::open::open_connect(&self.uri, self.readonly, self.connect_timeout)?;
        let generation = self.generations.fetch_add(1, Ordering::Relaxed) + 1;
        let conn = Arc::new(Conn::new(connect, generation, &self.signals));
        let old = {
            let _g = lock(&self.events_lock);
            if !self.fanout.is_empty() {
                conn.ensure_events(&self.fanout)
                    .map_err(|e| format!("re-register events: {}", e.message()))?;
            }
            let mut slot = self.write_slot();
            slot.down = None;
            std::mem::replace(&mut slot.conn, conn)
        };
        // The dead connection is released here, outside the locks (a call that still
        // holds it releases it when it returns).
        drop(old);
        self.fanout.emit(DomainEvent::Reconnected);
        Ok(())
    }
}

/// The reconnect delays: 1 s, doubling, at most 30 s.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    next: Duration,
}

impl Backoff {
    pub(crate) const FIRST: Duration = Duration::from_secs(1);
    pub(crate) const MAX: Duration = Duration::from_secs(30);

    /// The delay before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let d = self.next;
        self.next = (d * 2).min(Self::MAX);
        d
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self { next: Self::FIRST }
    }
}

/// The outcome of one reconnect attempt.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    Connected,
    Failed(String),
    /// The adapter is gone: stop trying.
    Stop,
}

/// Try `attempt` after each backoff delay until it connects or stops, or `wait`
/// (sleeping the delay) returns false. Returns true when connected.
pub(crate) fn retry_with_backoff(
    backoff: &mut Backoff,
    mut wait: impl FnMut(Duration) -> bool,
    mut attempt: impl FnMut() -> Attempt,
    mut failed: impl FnMut(&str),
) -> bool {
    loop {
        if !wait(backoff.next_delay()) {
            return false;
        }
        match attempt() {
            Attempt::Connected => return true,
            Attempt::Stop => return false,
            Attempt::Failed(e) => failed(&e),
        }
    }
}

/// Sleep `d` on the monitor channel; false when the channel closed (adapter dropped).
/// Close signals arriving meanwhile are about the dead connection: ignored.
fn sleep_on(rx: &Receiver<Signal>, d: Duration) -> bool {
    let until = Instant::now() + d;
    loop {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return true;
        }
        match rx.recv_timeout(left) {
            Ok(_) => continue,
            Err(RecvTimeoutError::Timeout) => return true,
            Err(RecvTimeoutError::Disconnected) => return false,
        }
    }
}

/// The monitor thread: wait for a close, then reconnect with backoff.
fn monitor(link: Weak<Link>, rx: Receiver<Signal>) {
    while let Ok(Signal::Closed { generation, reason }) = rx.recv() {
        let Some(l) = link.upgrade() else { return };
        if !l.mark_down(generation, &reason) {
            continue;
        }
        tracing::warn!("connection to {} lost: {reason}; reconnecting", l.uri);
        l.fanout.emit(DomainEvent::ConnectionLost {
            reason: reason.clone(),
        });
        drop(l);
        let mut backoff = Backoff::default();
        let ok = retry_with_backoff(
            &mut backoff,
            |d| sleep_on(&rx, d),
            || match link.upgrade() {
                None => Attempt::Stop,
                Some(l) => match l.reconnect() {
                    Ok(()) => Attempt::Connected,
                    Err(e) => {
                        l.note_attempt(&reason, &e);
                        Attempt::Failed(e)
                    }
                },
            },
            |e| tracing::debug!("reconnect failed: {e}"),
        );
        if !ok {
            return;
        }
    }
}

#[cfg(test)]
#[path = "events_tests.rs"]
mod tests;
