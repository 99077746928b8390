//! The poll task of one host: polls off the UI task, one poll in flight at a time,
//! every refresh, at once when an action or an event asks, and soon after new rows come
//! into view. A poll that has not answered after [`super::hosts::STALE_AFTER_MS`] is
//! reported (`Msg::PollOverdue`: the host hangs) while the task keeps waiting for it;
//! other hosts' tasks never wait for this one.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use tokio::sync::{mpsc, watch, Notify};

use super::update::Msg;
use super::visible::InView;
use crate::model::Uuid;
use crate::poll::Poller;

/// Domain XML read per step while some is still unread (the first second of a large
/// host): small, so the rows that come into view meanwhile are read next.
const FILL_CHUNK: usize = 32;

/// The wait before the second poll: CPU % needs two samples, and the first screen should
/// not wait a whole refresh for them.
const WARMUP: Duration = Duration::from_millis(500);

/// Past the moment the second CPU sample can make a percentage, so the poll's own clock
/// reading is surely beyond it.
const WARMUP_MARGIN: Duration = Duration::from_millis(25);

/// How long the poll waits after new rows came into view (scrolling, filtering) before
/// it asks for their figures: a held key scrolls many rows, and one poll serves them all.
const SETTLE: Duration = Duration::from_millis(150);

/// How often a light poll asks a host's running count; also how often a host with
/// none of its VMs on screen is asked it, to know that it answers (a hang shows as
/// `STALE` [`super::hosts::STALE_AFTER_MS`] after that).
const LIVENESS: Duration = Duration::from_secs(10);

/// The instant every host's poll schedule and the clock are laid on: polls that wait a
/// refresh (or the liveness wait) end on a point `origin + k × refresh`, so the hosts'
/// polls go out together and their answers are drawn in one frame instead of one frame
/// each (the wakeups, not the work, are most of an idle dashboard's cost).
static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();

/// The schedule's origin (`ORIGIN`), fixed on first use.
pub fn origin() -> Instant {
    *ORIGIN.get_or_init(Instant::now)
}

/// When a wait of `wait` that started at `now` ends on the grid of `step` from
/// `origin`: the grid point nearest to `now + wait`, and never before `now + wait / 2`.
pub fn on_grid(origin: Instant, now: Instant, wait: Duration, step: Duration) -> Instant {
    let target = now + wait;
    let step_ns = step.as_nanos().max(1);
    let since = target.saturating_duration_since(origin).as_nanos();
    let k = (since + step_ns / 2) / step_ns;
    let at = u64::try_from(k.saturating_mul(step_ns))
        .map(|ns| origin + Duration::from_nanos(ns))
        .unwrap_or(target);
    if at < now + wait / 2 {
        at + step
    } else {
        at
    }
}

/// How often a light poll with VMs of its host on screen asks the running count (their
/// stats call says that the host answers; events say what changed).
const RECOUNT: Duration = Duration::from_secs(30);

/// The figures of VMs in view of a host other than the selected VM's come every this
/// many refreshes (the selected VM's host: every refresh). An idle fleet of 20 hosts
/// with VMs of 13 of them on screen made 7 light polls a second at every refresh.
pub const OTHER_HOST_FIGURES: u32 = 2;

/// How often a host is polled.
#[derive(Debug, Clone, Copy)]
pub struct Cadence {
    /// Every refresh (`[dashboard] refresh_seconds`).
    pub refresh: Duration,
    /// While the selected VM is not on the host, its full poll (every domain's state)
    /// comes this often (`host_refresh_seconds`), and at once on its events and
    /// actions; the polls between are light: its running count and its VMs in view
    /// (`None`: every poll is full, host 0).
    pub unfocused: Option<Duration>,
}

/// Polls off the UI task, one poll in flight at a time, every `refresh`, at once when an
/// action asks for it, and soon after new rows come into view. Between polls, the XML of
/// VMs not read yet is read in chunks (those in view first), each chunk a snapshot.
pub fn spawn_poller(
    host: u16,
    poller: Poller,
    tx: mpsc::UnboundedSender<Msg>,
    mut view: watch::Receiver<InView>,
    mut invalidate: mpsc::UnboundedReceiver<Uuid>,
    poll_now: Arc<Notify>,
    cadence: Cadence,
) {
    let Cadence { refresh, unfocused } = cadence;
    tokio::spawn(async move {
        let mut poller = Some(poller);
        let mut warmups = 0u32;
        // When the last full poll answered, and whether the next poll must be one.
        let mut last_full: Option<Instant> = None;
        // When a light poll last asked the running count.
        let mut last_count: Option<Instant> = None;
        let mut forced = true;
        loop {
            let Some(mut p) = poller.take() else { break };
            let (asked, focused) = {
                let v = view.borrow_and_update();
                let focused = v.focus.is_some();
                p.set_focus(v.focus.clone());
                p.set_view(v.rows.clone());
                (v.rows.iter().cloned().collect::<HashSet<Uuid>>(), focused)
            };
            while let Ok(uuid) = invalidate.try_recv() {
                p.invalidate(&uuid);
            }
            // Another host's, while the selected VM is not on it: a full poll every
            // `unfocused`, light ones (its VMs in view, its running count) between.
            let light = match (unfocused, last_full) {
                (Some(slow), Some(at)) if !focused && !forced => at.elapsed() < slow,
                _ => false,
            };
            forced = false;
            // The stats call of VMs in view already says that the host answers: the
            // count is then only a check on missed events.
            let count_every = if asked.is_empty() { LIVENESS } else { RECOUNT };
            let count = last_count.is_none_or(|at| at.elapsed() >= count_every);
            let started = Instant::now();
            let asked_at = Utc::now();
            let mut job = tokio::task::spawn_blocking(move || {
                let now = Utc::now();
                let result = if light {
                    Answer::Light(p.poll_rows(now, count))
                } else {
                    Answer::Full(p.poll(now))
                };
                (p, result, now)
            });
            let overdue = refresh + Duration::from_millis(super::hosts::STALE_AFTER_MS as u64);
            let joined = tokio::select! {
                j = &mut job => j,
                _ = tokio::time::sleep(overdue) => {
                    let _ = tx.send(Msg::PollOverdue { host, since: asked_at });
                    job.await
                }
            };
            let Ok((mut p, result, at)) = joined else {
                break;
            };
            let rtt_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
            let ok = result.is_ok();
            tracing::debug!(host, rtt_ms, ok, light, in_view = asked.len(), "poll");
            let msg = match result {
                Answer::Full(Ok(vms)) => {
                    last_full = Some(started);
                    Msg::Snapshot {
                        host,
                        vms,
                        at,
                        rtt_ms,
                    }
                }
                Answer::Full(Err(e)) => Msg::PollFailed {
                    host,
                    error: e.message,
                    at,
                },
                Answer::Light(Ok(rows)) => {
                    if rows.counted {
                        last_count = Some(started);
                    }
                    forced = rows.full_due;
                    Msg::Rows {
                        host,
                        vms: rows.vms,
                        at,
                        rtt_ms,
                    }
                }
                // A full poll at once says what is wrong, or finds the host well.
                Answer::Light(Err(_)) => {
                    poller = Some(p);
                    forced = true;
                    continue;
                }
            };
            if tx.send(msg).is_err() {
                break;
            }
            if forced {
                // The light poll saw the host's running set move: a full poll now.
                poller = Some(p);
                continue;
            }
            // The XML not read yet, in chunks, the rows in view first; rows that came
            // into view meanwhile (the first screen's, once it is drawn) are polled
            // first, and the rest read after that poll.
            let mut rows_waiting = false;
            while ok && p.pending() > 0 {
                let rows = view.borrow_and_update().rows.clone();
                if has_new_rows(&rows, &asked) {
                    rows_waiting = true;
                    break;
                }
                p.set_view(rows);
                let Ok((back, vms, at)) = tokio::task::spawn_blocking(move || {
                    let now = Utc::now();
                    let vms = p.fill(FILL_CHUNK, now);
                    (p, vms, now)
                })
                .await
                else {
                    return;
                };
                p = back;
                let msg = Msg::Snapshot {
                    host,
                    vms,
                    at,
                    rtt_ms: None,
                };
                if tx.send(msg).is_err() {
                    return;
                }
            }
            // A CPU figure that needs its second sample comes soon, not a refresh later.
            // The short warm-up waits as they are; a refresh or the liveness wait ends on
            // the shared grid.
            let mut aligned = true;
            let wait = if ok && p.awaits_cpu() && warmups < 3 {
                aligned = false;
                warmups += 1;
                // As soon as the first sample is old enough (it may be the first
                // poll's, from /proc), not a fixed wait after this poll.
                p.cpu_due_ms()
                    .map(|at| (at - Utc::now().timestamp_millis()).max(0))
                    .map_or(WARMUP, |ms| {
                        Duration::from_millis(ms.unsigned_abs()) + WARMUP_MARGIN
                    })
                    .min(WARMUP)
                    .min(refresh)
            } else if light && asked.is_empty() {
                // Nothing of this host on screen: only whether it answers (rows that
                // come into view are polled at once).
                warmups = 0;
                refresh.max(LIVENESS)
            } else if light {
                // Another host's VMs on screen, the selected VM not on it.
                warmups = 0;
                p.figures_every_ms()
                    .and_then(|ms| u64::try_from(ms).ok())
                    .map_or(refresh, Duration::from_millis)
                    .max(refresh)
            } else {
                warmups = 0;
                refresh
            };
            poller = Some(p);
            if rows_waiting {
                settle(&asked).await;
                continue;
            }
            let until = if aligned {
                on_grid(origin(), Instant::now(), wait, refresh)
            } else {
                Instant::now() + wait
            };
            tokio::select! {
                _ = tokio::time::sleep_until(until.into()) => {}
                // An action or an event: the host's whole state.
                _ = poll_now.notified() => forced = true,
                _ = new_rows(&mut view, &asked, focused) => {}
            }
        }
    });
}

/// A poll's answer: full, or light (see [`Cadence::unfocused`]).
enum Answer {
    Full(crate::hypervisor::HvResult<Vec<crate::poll::Vm>>),
    Light(crate::hypervisor::HvResult<crate::poll::Rows>),
}

impl Answer {
    fn is_ok(&self) -> bool {
        match self {
            Answer::Full(r) => r.is_ok(),
            Answer::Light(r) => r.is_ok(),
        }
    }
}

/// Resolves once rows not in `asked` have come into view, and stayed a moment.
/// Also once the selected VM comes onto this host (`focused` says whether it was).
async fn new_rows(view: &mut watch::Receiver<InView>, asked: &HashSet<Uuid>, focused: bool) {
    loop {
        if view.changed().await.is_err() {
            // The dashboard is gone: the poll loop ends with the next send.
            std::future::pending::<()>().await;
        }
        let fresh = {
            let v = view.borrow();
            has_new_rows(&v.rows, asked) || (!focused && v.focus.is_some())
        };
        if fresh {
            settle(asked).await;
            return;
        }
    }
}

/// Some of `rows` were not asked by the last poll.
fn has_new_rows(rows: &[Uuid], asked: &HashSet<Uuid>) -> bool {
    rows.iter().any(|u| !asked.contains(u))
}

/// The wait before new rows are polled: none for the first rows in view (nothing asked
/// yet), [`SETTLE`] for later ones, so scrolling settles first.
async fn settle(asked: &HashSet<Uuid>) {
    if !asked.is_empty() {
        tokio::time::sleep(SETTLE).await;
    }
}

#[cfg(test)]
#[path = "poll_task_tests.rs"]
mod tests;
