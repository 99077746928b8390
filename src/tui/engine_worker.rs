//! The engine link on a thread of its own, off the UI task: the store reads and writes of
//! a snapshot's round, a cleanup plan or a confirmation never hold the dashboard (a slow
//! or hung state directory leaves it answering keys).
//!
//! The runtime sends [`Job`]s in the order its effects were returned (and the results
//! and events the engine records, in the order they came); the thread runs them one at
//! a time in that order and sends what the link answers into the one message channel
//! that `update` reads.

use std::sync::{mpsc, Arc};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc::UnboundedSender;

use super::engine_link::EngineLink;
use super::update::Msg;
use crate::executor::ExecResult;
use crate::hypervisor::DomainEvent;
use crate::lifecycle::cleanup::RoundRequest;
use crate::lifecycle::Command;
use crate::poll::Vm;

/// What the runtime asks of the engine. The VMs are the snapshot the effect was returned
/// on, shared, not copied.
pub enum Job {
    /// A person's command (`Effect::Execute`).
    Execute(Command),
    /// A new snapshot (`Effect::EngineSnapshot`): who runs the engine, its automatic
    /// actions, a fresh plan for the cleanup pane.
    Snapshot(Arc<[Vm]>),
    /// Plan a round for its confirmation popup (`Effect::PrepareCleanup`).
    PrepareCleanup {
        vms: Arc<[Vm]>,
        title: String,
        request: RoundRequest,
    },
    /// Run a confirmed round (`Effect::RunCleanup`).
    RunCleanup {
        vms: Arc<[Vm]>,
        request: RoundRequest,
    },
    /// Record a person's confirmation of parked cleanups, (UUID, name)
    /// (`Effect::ConfirmParked`).
    ConfirmParked {
        vms: Arc<[Vm]>,
        parked: Vec<crate::model::VmRef>,
    },
    /// Acknowledge an alert (`Effect::AckAlert`).
    AckAlert {
        vms: Arc<[Vm]>,
        alert: crate::engine::state_files::Alert,
    },
    /// Read and reconcile one VM's limits for the detail pane (`Effect::ReadLimits`).
    Limits {
        vms: Arc<[Vm]>,
        uuid: crate::model::Uuid,
    },
    /// A domain event, for the restart classification.
    Event(DomainEvent),
    /// An executor's result, recorded by the engine.
    Result(ExecResult),
}

/// How long quitting waits for the jobs still queued (a confirmation just given, a
/// round's claims): a hung state directory must not keep the dashboard from exiting.
/// The store's writes are atomic, so one cut short leaves the last complete file.
const QUIT_WAIT: Duration = Duration::from_secs(5);

/// The thread that owns the [`EngineLink`].
pub struct EngineWorker {
    jobs: mpsc::Sender<(Job, DateTime<Utc>)>,
    /// Closed when the thread ends (the link dropped, the lock released).
    done: mpsc::Receiver<()>,
}

impl EngineWorker {
    /// Move `link` onto its own thread; its answers go to `tx`.
    pub fn spawn(link: EngineLink, tx: UnboundedSender<Msg>) -> std::io::Result<EngineWorker> {
        let (jobs, queue) = mpsc::channel::<(Job, DateTime<Utc>)>();
        let (ended, done) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("engine".into())
            .spawn(move || {
                // Dropped last (after the link): `done` closes once the lock is released.
                let _ended = ended;
                let mut link = link;
                for (job, now) in queue {
                    for m in run(&mut link, job, now) {
                        // The UI is gone (quitting): the jobs left still run, in order.
                        let _ = tx.send(m);
                    }
                }
                // The link drops here: the lock is released.
            })?;
        Ok(EngineWorker { jobs, done })
    }

    /// Queue `job`, seen by the UI at `now`; returns at once.
    pub fn send(&self, job: Job, now: DateTime<Utc>) {
        if self.jobs.send((job, now)).is_err() {
            tracing::error!("the engine thread is gone: a job was dropped");
        }
    }

    /// Take no more jobs and wait (at most `QUIT_WAIT`, 5 s) for those queued to finish and
    /// the engine lock to be released.
    pub fn finish(self) {
        drop(self.jobs);
        if let Err(mpsc::RecvTimeoutError::Timeout) = self.done.recv_timeout(QUIT_WAIT) {
            tracing::warn!("the engine's state store did not answer: quitting without it");
        }
    }
}

/// Run one job on the link: the messages it answers with.
pub fn run(link: &mut EngineLink, job: Job, now: DateTime<Utc>) -> Vec<Msg> {
    match job {
        Job::Execute(cmd) => {
            link.execute(cmd, now);
            Vec::new()
        }
        Job::Snapshot(vms) => link.after_snapshot(&vms, now),
        Job::PrepareCleanup {
            vms,
            title,
            request,
        } => {
            let plan = link.prepare(&vms, &request, now);
            vec![Msg::CleanupPrepared {
                title,
                plan,
                request,
            }]
        }
        Job::RunCleanup { vms, request } => link.run_round(&vms, &request, now),
        Job::ConfirmParked { vms, parked } => link.confirm(&vms, &parked, now),
        Job::AckAlert { vms, alert } => link.acknowledge(&vms, &alert, now),
        Job::Limits { vms, uuid } => link.read_limits(&vms, &uuid).into_iter().collect(),
        Job::Event(e) => {
            link.on_event(&e, now);
            Vec::new()
        }
        Job::Result(r) => {
            link.on_result(&r, now);
            Vec::new()
        }
    }
}
