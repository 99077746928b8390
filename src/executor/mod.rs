//! The executor: the only place that runs [`Command`]s against the hypervisor.
//!
//! Commands come from the dashboard (a person), the CLI and the lifecycle engine. Each
//! runs on a blocking thread, because every [`Hypervisor`] call blocks; at most one runs
//! at a time per VM (by UUID), in the order they were submitted, while different VMs
//! run in parallel. Right before a destructive step or a metadata edit the VM is
//! re-checked ([`precondition`]) and journaled as `starting: …`; when that line cannot
//! be written the step is not taken. Every command is journaled once with its result,
//! and the result comes back as an [`ExecResult`].
//!
//! Per-VM serialization is a queue per UUID in one map: the first command for an idle
//! VM starts a worker, later ones join its queue, and the worker runs the queue in FIFO
//! order and removes the VM from the map when the queue is empty. A VM is in the map
//! exactly while it has a command queued or running, which is what [`Executor::busy`]
//! reports, and the map never grows beyond the VMs with work.
//!
//! The engine's ops: [`Op::Cleanup`] is a multi-step procedure that re-checks the VM
//! before each destructive step (see `cleanup.rs`); [`Op::RestartByPolicy`] starts a
//! stopped VM and counts it in `restart_count`; [`Op::ResetRestartCount`] sets the count
//! back to 0. Time comes from a [`Clock`], so tests need not wait out grace periods.

mod cleanup;
pub mod clock;
mod limits;
pub mod precondition;
mod pressure;
mod restart;
mod run;

#[cfg(test)]
mod tests;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, PoisonError};

use chrono::Utc;
use tokio::sync::mpsc::UnboundedSender;

use crate::hypervisor::Hypervisor;
use crate::lifecycle::{Actor, Command, Op};
use crate::model::Uuid;
use crate::store::{Journal, JournalEntry};

pub use cleanup::SHUTDOWN_POLL_INTERVAL;
pub use clock::{Clock, ManualClock, SystemClock};
pub use precondition::Precondition;

/// Journals one destructive step (its description) before it starts: `Err` carries
/// the outcome to report instead when the journal cannot be written, and the step must
/// then not be taken. A destructive step never runs without its journal line.
pub(crate) type Begin<'a> = &'a dyn Fn(&str) -> Result<(), Outcome>;

/// Identifies one submitted command, so the dashboard can match results to requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(pub u64);

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How the executor runs commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExecOptions {
    /// Make no mutating hypervisor call; journal `dry run: would …` instead. Reads
    /// (the re-checks, the metadata an edit starts from) still happen, so a dry run
    /// reports the refusals a real run would meet.
    pub dry_run: bool,
    /// `[engine] manage_all_vms`: the restart policy may reach a VM without a vmlife
    /// element. Off, a restart is refused when the re-read finds no element (it was
    /// removed since the engine planned), and no element is ever added by a restart.
    pub manage_all_vms: bool,
}

/// How one command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; what happened, for the activity pane (`destroyed web-1`).
    Ok(String),
    /// The hypervisor call failed (or the VM could not be re-checked); the error.
    Failed(String),
    /// vmlife decided not to act; why. It called nothing that changes anything, except
    /// in a cleanup stopped by a later step's re-check: the message then ends with
    /// `(already done: …)`.
    Refused(String),
    /// Dry run; what would have been done ([`Op::describe`], or a cleanup's or a
    /// restart's own plan), without the leading "would".
    DryRun(String),
}

impl Outcome {
    /// The journal's `result` field: `ok`, `error: …`, `refused: …`, `dry run: would …`.
    pub fn journal_result(&self) -> String {
        match self {
            Outcome::Ok(_) => "ok".into(),
            Outcome::Failed(e) => format!("error: {e}"),
            Outcome::Refused(why) => format!("refused: {why}"),
            Outcome::DryRun(what) => format!("dry run: would {what}"),
        }
    }

    /// True when the command was carried out.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok(_))
    }
}

/// A finished command, as it comes back to the dashboard or the CLI.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecResult {
    /// What [`Executor::submit`] returned for it.
    pub job: JobId,
    /// The command as submitted.
    pub cmd: Command,
    /// Who asked.
    pub actor: Actor,
    /// How it ended.
    pub outcome: Outcome,
    /// Set when the journal could not record the result; the result itself still
    /// stands and must still be shown.
    pub journal_error: Option<String>,
}

/// One line for the activity pane: `destroyed web-1`, `destroy web-1 failed: …`,
/// `destroy web-1 refused: …`, `dry run: would destroy web-1`, with a note when the
/// journal write failed.
impl fmt::Display for ExecResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = || action_phrase(&self.cmd.op, &self.cmd.vm_name);
        match &self.outcome {
            Outcome::Ok(msg) => f.write_str(msg)?,
            Outcome::Failed(e) => write!(f, "{} failed: {e}", what())?,
            Outcome::Refused(why) => write!(f, "{} refused: {why}", what())?,
            Outcome::DryRun(_) => write!(f, "dry run: would {}", what())?,
        }
        if let Some(e) = &self.journal_error {
            write!(f, " (not journaled: {e})")?;
        }
        Ok(())
    }
}

/// `destroy web-1`, `extend TTL of web-1 by 2h`: the op as a verb phrase with the VM.
fn action_phrase(op: &Op, vm: &str) -> String {
    match op {
        Op::Start => format!("start {vm}"),
        Op::Shutdown => format!("shut down {vm}"),
        Op::Reboot => format!("reboot {vm}"),
        Op::Destroy => format!("destroy {vm}"),
        Op::Suspend => format!("suspend {vm}"),
        Op::Resume => format!("resume {vm}"),
        Op::ManagedSave => format!("save {vm}"),
        Op::DiscardManagedSave => format!("discard the managed save of {vm}"),
        Op::Undefine => format!("undefine {vm}"),
        Op::ExtendTtl { hours } => format!("extend TTL of {vm} by {hours}h"),
        Op::SetExpiry { at } => format!(
            "set the expiry of {vm} to {}",
            crate::lifecycle::ttl::show_unix(*at)
        ),
        Op::StampCreatedAt { .. } => format!("record when {vm} was first seen"),
        Op::SetMode { mode } => format!("make {vm} {mode}"),
        Op::Cleanup { .. } => format!("clean up {vm}"),
        Op::RestartByPolicy => format!("restart {vm}"),
        Op::ResetRestartCount => format!("reset the restart count of {vm}"),
        Op::Pressure { action, cause } => {
            let verb = match action {
                crate::lifecycle::pressure::ReactionKind::Suspend => "suspend",
                crate::lifecycle::pressure::ReactionKind::Kill => "destroy",
                crate::lifecycle::pressure::ReactionKind::Resume => "resume",
            };
            format!("{verb} {vm} for {cause}")
        }
        Op::SetLimit { value, .. } => format!("set the {} limit of {vm}", value.kind()),
    }
}

/// Runs commands; cheap to clone (clones share the queues, so one VM's commands stay
/// serialized whichever clone submitted them).
#[derive(Clone)]
pub struct Executor {
    shared: Arc<Shared>,
}

impl fmt::Debug for Executor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Executor")
            .field("uri", &self.shared.hv.uri())
            .field("options", &self.shared.options)
            .field("busy", &self.busy())
            .finish()
    }
}

struct Shared {
    hv: Arc<dyn Hypervisor>,
    journal: Arc<Journal>,
    results: UnboundedSender<ExecResult>,
    options: ExecOptions,
    clock: Arc<dyn Clock>,
    next_job: AtomicU64,
    /// Waiting jobs per VM UUID. An entry exists exactly while a worker serves that VM
    /// (its running job is already popped), so "is there an entry" decides whether a
    /// new job joins a queue or starts a worker, under this one lock.
    queues: Mutex<HashMap<Uuid, VecDeque<Job>>>,
}

struct Job {
    id: JobId,
    cmd: Command,
    actor: Actor,
    /// Where the result goes: `run_now`'s waiting caller, or (`None`) the results
    /// channel.
    reply: Option<mpsc::Sender<ExecResult>>,
}

impl Executor {
    /// An executor with default options (not dry run). Results of [`Executor::submit`]
    /// are sent on `results`; a closed channel only loses the notification, the journal
    /// still has every result.
    pub fn new(
        hv: Arc<dyn Hypervisor>,
        journal: Arc<Journal>,
        results: UnboundedSender<ExecResult>,
    ) -> Executor {
        Executor::with_options(hv, journal, results, ExecOptions::default())
    }

    /// An executor with `options`.
    pub fn with_options(
        hv: Arc<dyn Hypervisor>,
        journal: Arc<Journal>,
        results: UnboundedSender<ExecResult>,
        options: ExecOptions,
    ) -> Executor {
        Executor::with_clock(hv, journal, results, options, Arc::new(SystemClock::new()))
    }

    /// An executor with `options` that reads time from `clock` and waits with it (the
    /// cleanup's grace period); tests pass a [`ManualClock`].
    pub fn with_clock(
        hv: Arc<dyn Hypervisor>,
        journal: Arc<Journal>,
        results: UnboundedSender<ExecResult>,
        options: ExecOptions,
        clock: Arc<dyn Clock>,
    ) -> Executor {
        Executor {
            shared: Arc::new(Shared {
                hv,
                journal,
                results,
                options,
                clock,
                next_job: AtomicU64::new(1),
                queues: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The options this executor runs with.
    pub fn options(&self) -> ExecOptions {
        self.shared.options
    }

    /// Queues `cmd` and returns at once; its [`ExecResult`] arrives on the results
    /// channel.
    ///
    /// Meant to be called inside a tokio runtime (the dashboard's UI task): the work
    /// then runs on the runtime's blocking pool. Outside a runtime it runs on a plain
    /// thread instead, so a caller without one is not an error.
    pub fn submit(&self, cmd: Command, actor: Actor) -> JobId {
        let id = self.shared.next_id();
        let uuid = cmd.vm_id.clone();
        let job = Job {
            id,
            cmd,
            actor,
            reply: None,
        };
        if self.shared.enqueue(job) {
            Shared::spawn_worker(&self.shared, uuid);
        }
        id
    }

    /// Runs `cmd` and waits for its result: the CLI's entry point. Same re-checks, same
    /// journaling, same per-VM order as [`Executor::submit`] (it waits behind commands
    /// already queued for the VM); the result is returned, not sent on the channel.
    ///
    /// Blocks the calling thread: from async code use `submit`, or call this inside
    /// `spawn_blocking`.
    pub fn run_now(&self, cmd: Command, actor: Actor) -> ExecResult {
        let id = self.shared.next_id();
        let (tx, rx) = mpsc::channel();
        let uuid = cmd.vm_id.clone();
        let job = Job {
            id,
            cmd: cmd.clone(),
            actor: actor.clone(),
            reply: Some(tx),
        };
        if self.shared.enqueue(job) {
            // The VM is idle: run here rather than on another thread, and hand anything
            // queued meanwhile to a worker once ours is done.
            Shared::drain(&self.shared, &uuid, Some(id));
        }
        rx.recv().unwrap_or_else(|_| ExecResult {
            job: id,
            cmd,
            actor,
            outcome: Outcome::Failed("internal error: the executor lost the command".into()),
            journal_error: None,
        })
    }

    /// UUIDs of the VMs with a command queued or running, sorted.
    pub fn busy(&self) -> Vec<Uuid> {
        let mut uuids: Vec<Uuid> = lock(&self.shared.queues).keys().cloned().collect();
        uuids.sort();
        uuids
    }

    /// True when the VM has a command queued or running.
    pub fn is_busy(&self, uuid: &str) -> bool {
        lock(&self.shared.queues).contains_key(uuid)
    }
}

impl Shared {
    fn next_id(&self) -> JobId {
        JobId(self.next_job.fetch_add(1, Ordering::Relaxed))
    }

    /// Queues `job` behind its VM's; true when no worker serves the VM yet, so the
    /// caller must start (or be) one.
    fn enqueue(&self, job: Job) -> bool {
        let mut queues = lock(&self.queues);
        match queues.get_mut(&job.cmd.vm_id) {
            Some(queue) => {
                queue.push_back(job);
                false
            }
            None => {
                queues.insert(job.cmd.vm_id.clone(), VecDeque::from([job]));
                true
            }
        }
    }

    /// Starts a worker for `uuid` on the blocking pool, or a thread outside a runtime.
    fn spawn_worker(this: &Arc<Shared>, uuid: Uuid) {
        let shared = Arc::clone(this);
        let vm = uuid.clone();
        let work = move || Shared::drain(&shared, &vm, None);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            // Detached: the result travels on the channel, not the join handle. (A
            // runtime already shutting down drops the task; the process is exiting.)
            drop(rt.spawn_blocking(work));
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("vmlife-exec".into())
            .spawn(work);
        if let Err(e) = spawned {
            // Out of threads: run here (blocking the caller) rather than leave the VM
            // busy forever with its commands never run.
            tracing::warn!("executor: cannot start a thread ({e}); running inline");
            Shared::drain(this, &uuid, None);
        }
    }

    /// Runs the VM's queue in order, then removes the VM from the map. With `until`,
    /// returns after that job and leaves the rest to a new worker.
    fn drain(this: &Arc<Shared>, uuid: &str, until: Option<JobId>) {
        loop {
            let job = {
                let mut queues = lock(&this.queues);
                match queues.get_mut(uuid).and_then(VecDeque::pop_front) {
                    Some(job) => job,
                    None => {
                        queues.remove(uuid);
                        return;
                    }
                }
            };
            let id = job.id;
            this.run_job(job);
            if until == Some(id) {
                let mut queues = lock(&this.queues);
                if queues.get(uuid).is_some_and(|q| !q.is_empty()) {
                    drop(queues);
                    Shared::spawn_worker(this, uuid.into());
                } else {
                    queues.remove(uuid);
                }
                return;
            }
        }
    }

    /// Journals `step` of `job` as `starting: …` ([`Begin`]).
    fn begin(&self, job: &Job, step: &str) -> Result<(), Outcome> {
        let entry = JournalEntry::for_command(
            Utc::now(),
            &job.actor,
            &job.cmd,
            format!("starting: {step}"),
            None,
        );
        self.journal.append(&entry).map_err(|e| {
            tracing::error!(
                "journal write failed before {} {}: {e}; not started",
                entry.action,
                entry.vm_name
            );
            Outcome::Failed(format!("not started: the journal cannot be written ({e})"))
        })
    }

    /// Runs one job, journals it, and delivers its result.
    fn run_job(&self, job: Job) {
        let hv = &*self.hv;
        let begin = |step: &str| self.begin(&job, step);
        // A panic in an adapter must not leave the worker dead with the VM busy and
        // its queued commands never run. (The dashboard's panic hook ends the whole
        // process before this unwinds: the "starting" line is then the last one, and
        // the cleanup record is recovered as interrupted.)
        let (outcome, detail) = catch_unwind(AssertUnwindSafe(|| {
            run::perform(hv, &job.cmd, &job.actor, self.options, &*self.clock, &begin)
        }))
        .unwrap_or_else(|_| {
            (
                Outcome::Failed("internal error: the command panicked".into()),
                None,
            )
        });
        let entry = JournalEntry::for_command(
            Utc::now(),
            &job.actor,
            &job.cmd,
            outcome.journal_result(),
            detail,
        );
        let journal_error = self.journal.append(&entry).err().map(|e| {
            tracing::error!(
                "journal write failed for {} {}: {e}",
                entry.action,
                entry.vm_name
            );
            e.to_string()
        });
        let result = ExecResult {
            job: job.id,
            cmd: job.cmd,
            actor: job.actor,
            outcome,
            journal_error,
        };
        // A gone receiver (dashboard closed, CLI returned) loses only the notification.
        match job.reply {
            Some(reply) => drop(reply.send(result)),
            None => drop(self.results.send(result)),
        }
    }
}

/// Locks `m`, ignoring poison: the map stays consistent under every operation (each
/// is a single insert, push, pop or remove), so a panicking holder leaves it usable.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
