//! [`EngineCore`]: the lifecycle engine as a synchronous state machine.
//!
//! Snapshots and command results go in, commands come out; `now` is always passed in
//! and the only IO is the state store (and reading `/proc/meminfo` through the pressure
//! probe, which tests replace). Whoever polls — the daemon's runner, or later the
//! dashboard while it holds the engine lock — feeds it the same way:
//!
//! ```text
//! loop {
//!     let vms = poller.poll(now)?;
//!     for p in core.on_snapshot(&vms, now) { executor.submit(p.cmd, p.actor) }   // dry-run executor when p.dry_run
//!     for r in finished_results { core.on_result(&r, now) }
//!     for a in core.take_alerts() { run the alert command }
//! }
//! ```
//!
//! One concern per file: `settings` (config and the window's clock), `restart` (observed
//! stops, the stability reset, the first-seen stamp), `rounds` (plans, confirmations,
//! manual and scheduled rounds), `claims` (claiming cleanups, recovering dead owners'
//! claims), `alerts` and `threshold` (the block-threshold disk-full warning).

mod alerts;
mod claims;
mod pressure;
mod restart;
mod rounds;
mod settings;
mod threshold;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::classify::{EngineEvent, EventKind, StopHint};
use super::pressure::{host_pressure, is_local_uri, memory_pressure, Pressure};
use super::procid::Claimant;
use super::records;
use super::state_files::{Alert, EngineStore, StoreData};
use crate::executor::{ExecResult, Outcome};
use crate::lifecycle::cleanup::Clock;
use crate::lifecycle::{Actor, Command, Op, VmFacts};
use crate::model::{Uuid, VmCleanupSchedule};
use crate::poll::Vm;
use crate::store::{Journal, JournalEntry, JournalTail};

pub use pressure::{pressure_status, PressureView};
use restart::Seen;
use rounds::Round;
pub use rounds::{plan_entries, PlanEntry};
pub use settings::{clock_at, EngineSettings, WindowZone};

/// A stop that vmlife asked for (or an event hint) explains a stop seen this long after.
const NOTE_SECONDS: i64 = 15 * 60;
/// A restart count the engine wrote itself overrides a (possibly stale) metadata read
/// for this long; the poller re-reads details at least every minute.
const COUNT_OVERRIDE_SECONDS: i64 = 180;

/// A command the engine wants run, with who asks and whether to run it as a dry run
/// (`dry_run_mode`: use an executor with `ExecOptions { dry_run: true, .. }`).
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    /// What to run.
    pub cmd: Command,
    /// Who asks: [`Actor::Engine`] for the engine's own commands.
    pub actor: Actor,
    /// Run it on a dry-run executor.
    pub dry_run: bool,
}

/// Reads the host's pressure; replaced in tests.
pub type PressureProbe = Box<dyn Fn() -> Pressure + Send>;

/// The lifecycle engine's state machine. See the module docs for how to drive it.
pub struct EngineCore {
    store: EngineStore,
    journal: Arc<Journal>,
    settings: EngineSettings,
    zone: WindowZone,
    uri: String,
    /// A test's probe in place of the readings.
    probe: Option<PressureProbe>,
    pm: pressure::PressureMemory,
    claimant: Claimant,
    data: StoreData,
    pressure: Pressure,
    seen: HashMap<Uuid, Seen>,
    /// UUID → unix seconds when vmlife asked it to stop.
    stop_notes: HashMap<Uuid, i64>,
    /// UUID → what an event said about its stop, and when.
    hints: HashMap<Uuid, (StopHint, i64)>,
    /// Our cleanups running now.
    cleaning: BTreeSet<Uuid>,
    /// Our restarts running now → the restart count they write.
    restarting: HashMap<Uuid, u32>,
    /// Restart counts we wrote ourselves (newer than a metadata read may be) and when.
    counts: HashMap<Uuid, (u32, i64)>,
    resetting: BTreeSet<Uuid>,
    /// VMs whose first-seen `created_at_unix` is being written.
    stamping: BTreeSet<Uuid>,
    round: Option<Round>,
    last_held: Option<String>,
    new_alerts: Vec<Alert>,
    /// Disks whose block threshold fired, per VM: one alert each until the VM stops.
    thresholds: BTreeMap<Uuid, BTreeSet<String>>,
    tail: Option<JournalTail>,
    /// Only the journal lines of this host are this engine's (an engine of one host
    /// among several writing one journal); `None`: every line.
    tail_host: Option<String>,
    last_error: Option<String>,
}

impl std::fmt::Debug for EngineCore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineCore")
            .field("dir", &self.store.dir())
            .field("cleaning", &self.cleaning)
            .field("restarting", &self.restarting)
            .finish_non_exhaustive()
    }
}

impl EngineCore {
    /// An engine on `store`, journaling to `journal`, for a connection to `uri` (which
    /// decides whether host pressure can be measured). Reads the store; writes nothing.
    pub fn new(
        store: EngineStore,
        journal: Arc<Journal>,
        settings: EngineSettings,
        uri: &str,
    ) -> io::Result<EngineCore> {
        let tail = journal.path().map(JournalTail::at_end);
        let mut core = EngineCore {
            store,
            journal,
            settings,
            zone: WindowZone::Local,
            uri: uri.to_string(),
            probe: None,
            pm: pressure::PressureMemory::default(),
            claimant: Claimant::new(),
            data: StoreData::default(),
            pressure: Pressure::Unknown("not measured yet".into()),
            seen: HashMap::new(),
            stop_notes: HashMap::new(),
            hints: HashMap::new(),
            cleaning: BTreeSet::new(),
            restarting: HashMap::new(),
            counts: HashMap::new(),
            resetting: BTreeSet::new(),
            stamping: BTreeSet::new(),
            round: None,
            last_held: None,
            new_alerts: Vec::new(),
            thresholds: BTreeMap::new(),
            tail,
            tail_host: None,
            last_error: None,
        };
        core.data = core.store.load()?;
        core.sample_pressure();
        Ok(core)
    }

    /// An engine that only plans (`vmlife plan`): the store is read, never written.
    pub fn for_planning(
        store: EngineStore,
        settings: EngineSettings,
        uri: &str,
    ) -> io::Result<EngineCore> {
        EngineCore::new(store, Arc::new(Journal::in_memory()), settings, uri)
    }

    /// Measure host pressure (`skip_on_low_resources`) with `probe` instead of the
    /// readings.
    pub fn with_pressure_probe(mut self, probe: PressureProbe) -> EngineCore {
        self.probe = Some(probe);
        self.sample_pressure();
        self
    }

    /// Read the cleanup window in `zone` instead of the system's local time.
    pub fn with_window_zone(mut self, zone: WindowZone) -> EngineCore {
        self.zone = zone;
        self
    }

    /// The settings in use.
    pub fn settings(&self) -> &EngineSettings {
        &self.settings
    }

    /// The planner's clock at `now` in this engine's window zone.
    pub fn clock(&self, now: DateTime<Utc>) -> Clock {
        clock_at(now, self.zone)
    }

    /// The store's data as last read or written.
    pub fn data(&self) -> &StoreData {
        &self.data
    }

    /// Cleanup records by VM UUID.
    pub fn records(&self) -> &BTreeMap<Uuid, VmCleanupSchedule> {
        &self.data.cleanups.records
    }

    /// Alerts raised (by this engine or another process), oldest first: the dashboard's
    /// alert list.
    pub fn alerts(&self) -> &[Alert] {
        &self.data.engine.alerts
    }

    /// The host's pressure as last measured.
    pub fn pressure(&self) -> &Pressure {
        &self.pressure
    }

    /// The last store error (a failed write skips the cleanups it was for), if any.
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Commands of this engine still running (cleanups, restarts, resets, pressure
    /// reactions).
    pub fn in_flight(&self) -> usize {
        self.cleaning.len() + self.restarting.len() + self.resetting.len() + self.pm.busy.len()
    }

    /// Unix seconds when the next scheduled round is due (`None`: now).
    pub fn next_round_at(&self) -> Option<i64> {
        let last = self.data.engine.last_round_at?.timestamp();
        Some(last + i64::from(self.settings.cleanup.check_interval_minutes) * 60)
    }

    /// Alerts raised since the last call, for the alert command.
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.new_alerts)
    }

    /// Re-reads the store and re-measures pressure (what `on_snapshot` does first).
    pub fn refresh(&mut self) {
        match self.store.load() {
            Ok(d) => self.data = d,
            Err(e) => self.fail(format!("reading the state store: {e}")),
        }
        self.sample_pressure();
    }

    /// `skip_on_low_resources`: a test's probe; else the readings' memory (local
    /// `/proc/meminfo` or a remote node's stats); else `/proc/meminfo` for a local URI.
    fn sample_pressure(&mut self) {
        let low = self.settings.low_memory_percent;
        self.pressure = if !self.settings.cleanup.skip_on_low_resources {
            Pressure::NotChecked
        } else if let Some(probe) = &self.probe {
            probe()
        } else {
            match self.pm.readings.as_ref().and_then(|r| r.memory.as_ref()) {
                Some(Ok(m)) => memory_pressure(m, low),
                Some(Err(e)) if !is_local_uri(&self.uri) => Pressure::Unknown(e.clone()),
                _ => host_pressure(&self.uri, low),
            }
        };
    }

    fn fail(&mut self, msg: String) {
        tracing::error!("{msg}");
        self.last_error = Some(msg);
    }

    /// A domain event: remembered to classify the stop the next snapshot shows.
    pub fn on_event(&mut self, event: &EngineEvent, now: DateTime<Utc>) {
        match event.kind {
            EventKind::Started => {
                self.hints.remove(&event.uuid);
            }
            kind => {
                if let Some(h) = kind.stop_hint() {
                    // A crash beats an earlier shutdown hint; a guest shutdown is kept
                    // when the stopped event only says "shutdown".
                    self.hints.insert(event.uuid.clone(), (h, now.timestamp()));
                }
            }
        }
    }

    /// vmlife (a person through the dashboard or CLI, host shutdown) asked this VM to
    /// stop at `now`: its coming stop is `ByVmlife`, never restarted.
    pub fn note_stop_request(&mut self, uuid: &str, now: DateTime<Utc>) {
        self.stop_notes.insert(uuid.into(), now.timestamp());
    }

    /// One snapshot of every VM at `now`: restart decisions for observed stops, the
    /// stability reset, crash recovery of abandoned cleanups, and the scheduled cleanup
    /// round when it is due. Returns the commands to submit.
    pub fn on_snapshot(&mut self, vms: &[Vm], now: DateTime<Utc>) -> Vec<Planned> {
        self.refresh();
        self.read_journal_tail();
        let mut out = Vec::new();
        let now_s = now.timestamp();
        for v in vms {
            self.observe(v, now_s, now, &mut out);
        }
        let present: BTreeSet<&str> = vms.iter().map(|v| v.uuid.as_str()).collect();
        self.seen.retain(|u, _| present.contains(u.as_str()));
        self.prune_thresholds(vms);
        self.stop_notes.retain(|_, t| now_s - *t <= NOTE_SECONDS);
        self.hints.retain(|_, (_, t)| now_s - *t <= NOTE_SECONDS);
        self.counts
            .retain(|_, (_, t)| now_s - *t <= COUNT_OVERRIDE_SECONDS);

        let facts: Vec<VmFacts> = vms.iter().map(Vm::facts).collect();
        self.recover(&facts, now);
        self.cleanup_round(&facts, now, &mut out);
        self.pressure_step(vms, now, &mut out);
        out
    }

    /// A command's result (any actor's: a person's stop is remembered as vmlife's).
    pub fn on_result(&mut self, r: &ExecResult, now: DateTime<Utc>) {
        let uuid = r.cmd.vm_id.clone();
        let name = r.cmd.vm_name.clone();
        match &r.cmd.op {
            Op::StampCreatedAt { .. } => {
                self.stamping.remove(&uuid);
                if !r.outcome.is_ok() {
                    tracing::warn!("first-seen stamp: {r}");
                }
            }
            Op::Cleanup { .. } => {
                self.cleaning.remove(&uuid);
                if self.settings.cleanup.log_cleanup_operations {
                    tracing::info!("cleanup: {r}");
                }
                match self.store.update(|d| records::finish(d, r, now)) {
                    Ok((failed, data)) => {
                        self.data = data;
                        // One alert per VM and error: the same error again raises none.
                        if let Some(f) = failed.filter(|f| !f.repeated) {
                            if self.settings.cleanup.alert_on_cleanup_failure {
                                self.raise_alert(&name, &uuid, "cleanup", &f.error, now);
                            }
                        }
                    }
                    Err(e) => self.fail(format!("recording the cleanup of {name}: {e}")),
                }
            }
            Op::RestartByPolicy => {
                let count = self.restarting.remove(&uuid);
                match &r.outcome {
                    Outcome::Ok(_) => {
                        tracing::info!("restart policy: {r}");
                        if let Some(n) = count {
                            self.counts.insert(uuid, (n, now.timestamp()));
                        }
                    }
                    Outcome::Failed(e) => self.raise_alert(
                        &name,
                        &uuid,
                        "restart",
                        &format!("restart failed: {e}"),
                        now,
                    ),
                    Outcome::Refused(_) | Outcome::DryRun(_) => {
                        tracing::info!("restart policy: {r}")
                    }
                }
            }
            Op::ResetRestartCount => {
                self.resetting.remove(&uuid);
                if r.outcome.is_ok() {
                    tracing::info!("restart streak of {name} ended: ran stably");
                    self.counts.insert(uuid, (0, now.timestamp()));
                }
            }
            Op::Pressure { action, cause } => self.pressure_result(r, *action, *cause, now),
            Op::Shutdown | Op::Destroy | Op::ManagedSave | Op::Undefine if r.outcome.is_ok() => {
                self.note_stop_request(&uuid, now);
            }
            _ => {}
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn journal_line(
        &self,
        time: DateTime<Utc>,
        actor: &Actor,
        vm_name: &str,
        vm_id: &str,
        action: &str,
        reason: &str,
        result: String,
        detail: Option<serde_json::Value>,
    ) {
        let entry = JournalEntry {
            time,
            actor: actor.to_string(),
            vm_name: vm_name.to_string(),
            vm_id: vm_id.into(),
            action: action.to_string(),
            reason: reason.to_string(),
            result,
            detail,
            host: None,
        };
        if let Err(e) = self.journal.append(&entry) {
            tracing::error!("journal write failed for {action} {vm_name}: {e}");
        }
    }

    /// Read only `host`'s lines of the journal (the stops others made):
    /// the engine of one host of a dashboard that writes every host's lines to one
    /// journal, where the same UUID may be another host's VM.
    pub fn for_host_lines(mut self, host: &str) -> EngineCore {
        self.tail_host = Some(host.to_string());
        self
    }

    /// Stops that other processes made through vmlife (the dashboard beside the daemon)
    /// are in the journal: note them so those stops are not taken for crashes.
    fn read_journal_tail(&mut self) {
        let Some(tail) = self.tail.as_mut() else {
            return;
        };
        for e in tail.read_new() {
            if self.tail_host.is_some() && e.host != self.tail_host {
                continue;
            }
            let stops = matches!(
                e.action.as_str(),
                "shutdown" | "destroy" | "managed_save" | "undefine" | "cleanup"
            );
            if stops && e.result == "ok" && e.actor != Actor::Engine.to_string() {
                self.stop_notes.insert(e.vm_id, e.time.timestamp());
            }
        }
    }
}
