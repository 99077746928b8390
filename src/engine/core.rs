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

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, Local, Offset, Timelike, Utc};
use serde_json::json;

use super::classify::{classify_stop, EngineEvent, EventKind, StopHint};
use super::pressure::{host_pressure, Pressure};
use super::procid::Claimant;
use super::records::{self, Recovered};
use super::store::{Alert, Confirmation, EngineStore, StoreData, MAX_ALERTS};
use crate::config::Config;
use crate::executor::{ExecResult, Outcome};
use crate::hypervisor::RunState;
use crate::lifecycle::cleanup::{
    plan_round, round_due, Clock, RoundInputs, RoundPlan, RoundRequest,
};
use crate::lifecycle::restart::{on_stop, streak_over, RestartDecision};
use crate::lifecycle::{Actor, Command, Op, VmFacts};
use crate::metadata::{LifecycleMeta, MetaError};
use crate::model::{PersistenceMode, VmCleanupPolicy, VmCleanupSchedule};
use crate::poll::VmView;
use crate::store::{Journal, JournalEntry};

/// A stop that vmlife asked for (or an event hint) explains a stop seen this long after.
const NOTE_SECONDS: i64 = 15 * 60;
/// A restart count the engine wrote itself overrides a (possibly stale) metadata read
/// for this long; the poller re-reads details at least every minute.
const COUNT_OVERRIDE_SECONDS: i64 = 180;

/// What the engine needs from the config.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineSettings {
    /// `[cleanup]`.
    pub cleanup: VmCleanupPolicy,
    /// `[cleanup_actions] remove_storage`.
    pub remove_storage: bool,
    /// `[engine] restart_stable_seconds`.
    pub restart_stable_seconds: u64,
    /// `[engine] low_memory_percent`.
    pub low_memory_percent: f64,
    /// `[engine] manage_all_vms`: the restart policy reaches VMs without a vmlife element.
    pub manage_all_vms: bool,
}

impl EngineSettings {
    /// The settings in `config`.
    pub fn from_config(config: &Config) -> EngineSettings {
        EngineSettings {
            cleanup: config.cleanup.clone(),
            remove_storage: config.cleanup_actions.remove_storage,
            restart_stable_seconds: config.engine.restart_stable_seconds,
            low_memory_percent: config.engine.low_memory_percent,
            manage_all_vms: config.engine.manage_all_vms,
        }
    }
}

impl Default for EngineSettings {
    fn default() -> Self {
        EngineSettings::from_config(&Config::default())
    }
}

/// The time zone of the cleanup window (local time, as cron's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WindowZone {
    /// The system's local time zone.
    #[default]
    Local,
    /// A fixed offset east of UTC, in seconds (tests).
    Fixed(i32),
}

/// The planner's clock at `now`: unix seconds and minutes after local midnight.
pub fn clock_at(now: DateTime<Utc>, zone: WindowZone) -> Clock {
    let (h, m) = match zone {
        WindowZone::Local => {
            let t = now.with_timezone(&Local);
            (t.hour(), t.minute())
        }
        WindowZone::Fixed(secs) => {
            let off = FixedOffset::east_opt(secs).unwrap_or_else(|| Utc.fix());
            let t = now.with_timezone(&off);
            (t.hour(), t.minute())
        }
    };
    Clock {
        now: now.timestamp(),
        local_minute: (h * 60 + m) as u16,
    }
}

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

/// One action of a plan, as `vmlife plan --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanEntry {
    /// The VM's name as planned.
    pub vm_name: String,
    /// The VM's UUID: what the command acts on.
    pub vm_id: String,
    /// The op's journal name: `cleanup`.
    pub action: String,
    /// Why (`expired 2h ago (ttl_hours = 24)`).
    pub reason: String,
    /// The moment planned for.
    pub at: DateTime<Utc>,
}

/// The actions of `plan`, planned for `at`.
pub fn plan_entries(plan: &RoundPlan, at: DateTime<Utc>) -> Vec<PlanEntry> {
    plan.commands
        .iter()
        .map(|c| PlanEntry {
            vm_name: c.vm_name.clone(),
            vm_id: c.vm_id.clone(),
            action: c.op.name().to_string(),
            reason: c.reason.clone(),
            at,
        })
        .collect()
}

/// Reads the host's pressure; replaced in tests.
pub type PressureProbe = Box<dyn Fn() -> Pressure + Send>;

/// What the engine remembers about one VM between snapshots.
#[derive(Debug, Clone, Copy)]
struct Seen {
    active: bool,
    /// Unix seconds of the start this engine observed (or its first sight of it running).
    running_since: Option<i64>,
}

/// A cleanup round in progress: it may launch up to `budget` more cleanups as
/// concurrency slots free up; each VM at most once per round.
#[derive(Debug, Clone)]
struct Round {
    budget: u32,
    tried: BTreeSet<String>,
}

/// The lifecycle engine's state machine. See the module docs for how to drive it.
pub struct EngineCore {
    store: EngineStore,
    journal: Arc<Journal>,
    settings: EngineSettings,
    zone: WindowZone,
    probe: PressureProbe,
    claimant: Claimant,
    data: StoreData,
    pressure: Pressure,
    seen: HashMap<String, Seen>,
    /// UUID → unix seconds when vmlife asked it to stop.
    stop_notes: HashMap<String, i64>,
    /// UUID → what an event said about its stop, and when.
    hints: HashMap<String, (StopHint, i64)>,
    /// Our cleanups running now.
    cleaning: BTreeSet<String>,
    /// Our restarts running now → the restart count they write.
    restarting: HashMap<String, u32>,
    /// Restart counts we wrote ourselves (newer than a metadata read may be) and when.
    counts: HashMap<String, (u32, i64)>,
    resetting: BTreeSet<String>,
    /// VMs whose first-seen `created_at_unix` is being written.
    stamping: BTreeSet<String>,
    round: Option<Round>,
    last_held: Option<String>,
    new_alerts: Vec<Alert>,
    tail: Option<JournalTail>,
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
        let uri = uri.to_string();
        let low = settings.low_memory_percent;
        let tail = journal.path().map(JournalTail::at_end);
        let mut core = EngineCore {
            store,
            journal,
            settings,
            zone: WindowZone::Local,
            probe: Box::new(move || host_pressure(&uri, low)),
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
            tail,
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

    /// Measure host pressure with `probe` instead of `/proc/meminfo`.
    pub fn with_pressure_probe(mut self, probe: PressureProbe) -> EngineCore {
        self.probe = probe;
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
    pub fn records(&self) -> &BTreeMap<String, VmCleanupSchedule> {
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

    /// Commands of this engine still running (cleanups, restarts, resets).
    pub fn in_flight(&self) -> usize {
        self.cleaning.len() + self.restarting.len() + self.resetting.len()
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

    fn sample_pressure(&mut self) {
        self.pressure = if self.settings.cleanup.skip_on_low_resources {
            (self.probe)()
        } else {
            Pressure::Unknown("not checked (skip_on_low_resources = false)".into())
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
        self.stop_notes.insert(uuid.to_string(), now.timestamp());
    }

    /// The cleanup plan at `clock` for `request`, from the store as last read: the
    /// function `vmlife plan`, `vmlife cleanup` and the dashboard's cleanup pane share.
    pub fn plan(&self, vms: &[VmView], request: &RoundRequest, clock: Clock) -> RoundPlan {
        let facts: Vec<VmFacts> = vms.iter().map(VmView::facts).collect();
        self.plan_facts(
            &facts,
            request,
            clock,
            &self.settings.cleanup,
            &BTreeSet::new(),
        )
    }

    /// [`EngineCore::plan`], counting `also_confirmed` as confirmed (a person is being
    /// asked about them right now).
    pub fn plan_confirming(
        &self,
        vms: &[VmView],
        request: &RoundRequest,
        clock: Clock,
        also_confirmed: &BTreeSet<String>,
    ) -> RoundPlan {
        let facts: Vec<VmFacts> = vms.iter().map(VmView::facts).collect();
        self.plan_facts(
            &facts,
            request,
            clock,
            &self.settings.cleanup,
            also_confirmed,
        )
    }

    fn plan_facts(
        &self,
        facts: &[VmFacts],
        request: &RoundRequest,
        clock: Clock,
        policy: &VmCleanupPolicy,
        also_confirmed: &BTreeSet<String>,
    ) -> RoundPlan {
        let mut in_progress = records::live_in_progress(&self.data);
        in_progress.extend(self.cleaning.iter().cloned());
        let mut confirmed: BTreeSet<String> = self.data.engine.confirmed.keys().cloned().collect();
        confirmed.extend(also_confirmed.iter().cloned());
        // Our own retries are in the store's claims too (claimed before submitted).
        let retrying = records::automatic_retries(&self.data);
        let inputs = RoundInputs {
            records: self.data.cleanups.records.clone(),
            in_progress,
            retrying,
            confirmed,
            pressure: self.pressure.as_hold(),
            remove_storage: self.settings.remove_storage,
        };
        plan_round(facts, policy, &inputs, request, clock)
    }

    /// Records that `by` confirmed the cleanup of these VMs (`(uuid, name)` pairs) under
    /// `require_confirmation`, and journals it. With `round_now` the next snapshot runs a
    /// scheduled round at once (the dashboard's confirm); `vmlife cleanup` runs its own.
    pub fn confirm(
        &mut self,
        vms: &[(String, String)],
        by: &Actor,
        round_now: bool,
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        let by_s = by.to_string();
        let ((), data) = self.store.update(|d| {
            if round_now {
                d.engine.last_round_at = None;
            }
            for (uuid, _) in vms {
                d.engine.confirmed.insert(
                    uuid.clone(),
                    Confirmation {
                        by: by_s.clone(),
                        at: now,
                    },
                );
            }
        })?;
        self.data = data;
        for (uuid, name) in vms {
            self.journal_line(
                now,
                by,
                name,
                uuid,
                "confirm_cleanup",
                "a person confirmed the cleanup",
                "ok".into(),
                None,
            );
        }
        Ok(())
    }

    /// A round a person asked for now (`vmlife cleanup`, the dashboard's cleanup key):
    /// plans with `request`, claims the cleanups in the store (written `in_progress`
    /// before they are returned) and returns them with `actor`. Feed their results to
    /// [`EngineCore::on_result`].
    pub fn manual_round(
        &mut self,
        vms: &[VmView],
        request: &RoundRequest,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> io::Result<(RoundPlan, Vec<Planned>)> {
        self.refresh();
        let facts: Vec<VmFacts> = vms.iter().map(VmView::facts).collect();
        let plan = self.plan_facts(
            &facts,
            request,
            self.clock(now),
            &self.settings.cleanup,
            &BTreeSet::new(),
        );
        let planned = self.claim(&facts, &plan, actor, now)?;
        Ok((plan, planned))
    }

    /// One snapshot of every VM at `now`: restart decisions for observed stops, the
    /// stability reset, crash recovery of abandoned cleanups, and the scheduled cleanup
    /// round when it is due. Returns the commands to submit.
    pub fn on_snapshot(&mut self, vms: &[VmView], now: DateTime<Utc>) -> Vec<Planned> {
        self.refresh();
        self.read_journal_tail();
        let mut out = Vec::new();
        let now_s = now.timestamp();
        for v in vms {
            self.observe(v, now_s, now, &mut out);
        }
        let present: BTreeSet<&str> = vms.iter().map(|v| v.uuid.as_str()).collect();
        self.seen.retain(|u, _| present.contains(u.as_str()));
        self.stop_notes.retain(|_, t| now_s - *t <= NOTE_SECONDS);
        self.hints.retain(|_, (_, t)| now_s - *t <= NOTE_SECONDS);
        self.counts
            .retain(|_, (_, t)| now_s - *t <= COUNT_OVERRIDE_SECONDS);

        let facts: Vec<VmFacts> = vms.iter().map(VmView::facts).collect();
        self.recover(&facts, now);
        self.cleanup_round(&facts, now, &mut out);
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
            Op::Shutdown | Op::Destroy | Op::ManagedSave | Op::Undefine if r.outcome.is_ok() => {
                self.note_stop_request(&uuid, now);
            }
            _ => {}
        }
    }

    /// Compares one VM with its previous state; reacts to an observed stop and to a
    /// stable run.
    fn observe(&mut self, v: &VmView, now_s: i64, now: DateTime<Utc>, out: &mut Vec<Planned>) {
        let uuid = v.uuid.clone();
        let active = v.raw.state.is_some_and(RunState::is_active);
        let prev = self.seen.get(&uuid).copied();
        let mut seen = prev.unwrap_or(Seen {
            active,
            running_since: None,
        });
        match (prev.map(|p| p.active), active) {
            (Some(true), false) => {
                seen.running_since = None;
                self.on_stopped(v, now_s, now, out);
            }
            (Some(false), true) => {
                seen.running_since = Some(now_s);
                self.stop_notes.remove(&uuid);
                self.hints.remove(&uuid);
            }
            // First sight (at engine start, or a new VM): a running VM counts as running
            // since now; a stopped one is never restarted (its stop was not observed).
            (None, true) => seen.running_since = Some(now_s),
            _ => {}
        }
        seen.active = active;
        self.seen.insert(uuid.clone(), seen);

        // DESIGN.md §1: a temporary VM without created_at_unix gets the time it was first
        // seen, written back, so its TTL does not restart with every vmlife.
        if let Ok(meta) = &v.meta {
            let p = &meta.persistence;
            if p.mode == PersistenceMode::Temporary
                && p.created_at_unix.is_none()
                && self.stamping.insert(uuid.clone())
            {
                out.push(Planned {
                    cmd: Command::new(
                        uuid.clone(),
                        v.snapshot.vm_name.clone(),
                        Op::StampCreatedAt {
                            at: v.first_seen_unix,
                        },
                        "temporary VM without created_at_unix: its TTL counts from first sight",
                    ),
                    actor: Actor::Engine,
                    dry_run: self.settings.cleanup.dry_run_mode,
                });
            }
        }

        if active && !self.resetting.contains(&uuid) && !self.restarting.contains_key(&uuid) {
            if let Ok(meta) = self.effective_meta(&uuid, &v.meta) {
                if streak_over(
                    &meta,
                    seen.running_since,
                    now_s,
                    self.settings.restart_stable_seconds,
                ) {
                    self.resetting.insert(uuid.clone());
                    out.push(Planned {
                        cmd: Command::new(
                            uuid,
                            v.snapshot.vm_name.clone(),
                            Op::ResetRestartCount,
                            format!(
                                "ran {}s without stopping (restart_stable_seconds = {})",
                                now_s - seen.running_since.unwrap_or(now_s),
                                self.settings.restart_stable_seconds
                            ),
                        ),
                        actor: Actor::Engine,
                        dry_run: false,
                    });
                }
            }
        }
    }

    /// The VM's metadata with the restart count this engine wrote itself, when the
    /// metadata read may predate it.
    fn effective_meta(
        &mut self,
        uuid: &str,
        meta: &Result<LifecycleMeta, MetaError>,
    ) -> Result<LifecycleMeta, MetaError> {
        let mut m = meta.clone()?;
        if let Some((n, _)) = self.counts.get(uuid).copied() {
            if m.state.restart_count == n {
                self.counts.remove(uuid);
            } else {
                m.state.restart_count = n;
            }
        }
        Ok(m)
    }

    /// An observed active → inactive transition.
    fn on_stopped(&mut self, v: &VmView, now_s: i64, now: DateTime<Utc>, out: &mut Vec<Planned>) {
        let uuid = v.uuid.clone();
        let name = v.snapshot.vm_name.clone();
        let by_vmlife = self.cleaning.contains(&uuid) || self.stop_notes.contains_key(&uuid);
        let hint = self.hints.remove(&uuid).map(|(h, _)| h);
        self.stop_notes.remove(&uuid);
        let cause = classify_stop(v.raw.state, v.raw.reason, hint, by_vmlife);
        let meta = self.effective_meta(&uuid, &v.meta);
        let managed = super::managed::vm_is_managed(v, self.settings.manage_all_vms);
        let decision = on_stop(&meta, managed, cause, v.first_seen_unix, now_s);
        match decision {
            RestartDecision::Restart(reason) => {
                if self.restarting.contains_key(&uuid) {
                    return;
                }
                let next = meta.as_ref().map_or(1, |m| m.state.restart_count + 1);
                tracing::info!("{name} stopped ({cause:?}): restarting: {reason}");
                self.restarting.insert(uuid.clone(), next);
                out.push(Planned {
                    cmd: Command::new(uuid, name, Op::RestartByPolicy, reason),
                    actor: Actor::Engine,
                    dry_run: false,
                });
            }
            RestartDecision::GiveUp(reason) => {
                self.raise_alert(&name, &uuid, "restart", &format!("gave up: {reason}"), now);
            }
            RestartDecision::Leave(reason) => {
                tracing::info!("{name} stopped ({cause:?}): left stopped: {reason}");
            }
        }
    }

    /// Settles cleanups whose owner died (this engine's previous life, a killed CLI).
    fn recover(&mut self, facts: &[VmFacts], now: DateTime<Utc>) {
        if !records::needs_recovery(&self.data) {
            return;
        }
        let existing: BTreeSet<String> = facts.iter().map(|v| v.uuid.clone()).collect();
        let result = self.store.update(|d| {
            let rec = records::recover(d, &existing, now);
            if rec.iter().any(|r| !r.completed) {
                // The interrupted round is finished now, not an interval later.
                d.engine.last_round_at = None;
            }
            rec
        });
        match result {
            Ok((recovered, data)) => {
                self.data = data;
                for r in recovered {
                    self.journal_recovered(&r, now);
                }
            }
            Err(e) => self.fail(format!("recovering interrupted cleanups: {e}")),
        }
    }

    fn journal_recovered(&self, r: &Recovered, now: DateTime<Utc>) {
        let (result, reason) = match &r.error {
            Some(e) => (format!("error: {e}"), "retried in the next round"),
            None => (
                "ok".to_string(),
                "interrupted, but the VM is gone: completed",
            ),
        };
        tracing::warn!("cleanup of {}: {reason} ({result})", r.vm_name);
        self.journal_line(
            now,
            &Actor::Engine,
            &r.vm_name,
            &r.vm_id,
            "cleanup",
            reason,
            result,
            Some(json!({"recovered": true})),
        );
    }

    /// The scheduled round: starts one when the interval says so, and continues a
    /// running one as concurrency slots free up.
    fn cleanup_round(&mut self, facts: &[VmFacts], now: DateTime<Utc>, out: &mut Vec<Planned>) {
        let policy = self.settings.cleanup.clone();
        let last = self.data.engine.last_round_at.map(|t| t.timestamp());
        // A new round when the interval says so (a round still going then ends).
        let starting = round_due(last, now.timestamp(), policy.check_interval_minutes);
        if starting {
            self.round = Some(Round {
                budget: policy.cleanup_batch_size,
                tried: BTreeSet::new(),
            });
        }
        let Some(round) = self.round.clone() else {
            return;
        };
        let mut p = policy.clone();
        p.cleanup_batch_size = round.budget;
        let only: BTreeSet<String> = facts
            .iter()
            .map(|v| v.uuid.clone())
            .filter(|u| !round.tried.contains(u))
            .collect();
        let request = RoundRequest {
            manual: false,
            ignore_window: false,
            only: Some(only),
        };
        let plan = self.plan_facts(facts, &request, self.clock(now), &p, &BTreeSet::new());
        if let Some(held) = &plan.held {
            if self.last_held.as_ref() != Some(held) {
                tracing::info!("cleanup round held: {held}");
                self.last_held = Some(held.clone());
            }
            // Held before it started: it runs as soon as the hold lifts (the window
            // opens on time). Held midway (the window closed): the round ends.
            self.round = None;
            return;
        }
        self.last_held = None;
        if starting && policy.log_cleanup_operations && !plan.commands.is_empty() {
            tracing::info!(
                "cleanup round: {} due now{}",
                plan.commands.len(),
                if plan.dry_run { " (dry run)" } else { "" }
            );
        }
        let retention = policy.retention_days;
        let wanted = with_facts(&plan.commands, facts);
        let owner = self.claimant.id().clone();
        let result = self.store.update(|d| {
            if starting {
                records::tidy(d, facts, now, retention);
                d.engine.last_round_at = Some(now);
            }
            records::claim(d, &wanted, &owner, &Actor::Engine, now)
        });
        let claimed = match result {
            Ok((claimed, data)) => {
                self.data = data;
                claimed
            }
            Err(e) => {
                // Nothing is submitted without its in_progress record on disk.
                self.fail(format!(
                    "cleanup round skipped: cannot write the state store: {e}"
                ));
                self.round = None;
                return;
            }
        };
        let n = claimed.len() as u32;
        for cmd in claimed {
            self.cleaning.insert(cmd.vm_id.clone());
            if let Some(r) = self.round.as_mut() {
                r.tried.insert(cmd.vm_id.clone());
            }
            if policy.log_cleanup_operations {
                tracing::info!(
                    "cleanup of {}: {} → {}",
                    cmd.vm_name,
                    cmd.reason,
                    cmd.op.describe()
                );
            }
            out.push(Planned {
                cmd,
                actor: Actor::Engine,
                dry_run: plan.dry_run,
            });
        }
        if let Some(r) = self.round.as_mut() {
            r.budget = r.budget.saturating_sub(n);
            if r.budget == 0 || (n == 0 && self.cleaning.is_empty()) {
                self.round = None;
            }
        }
    }

    /// Claims a plan's cleanups for `actor`; the manual-round half of `cleanup_round`.
    fn claim(
        &mut self,
        facts: &[VmFacts],
        plan: &RoundPlan,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> io::Result<Vec<Planned>> {
        let wanted = with_facts(&plan.commands, facts);
        let owner = self.claimant.id().clone();
        let (claimed, data) = self
            .store
            .update(|d| records::claim(d, &wanted, &owner, actor, now))?;
        self.data = data;
        Ok(claimed
            .into_iter()
            .map(|cmd| {
                self.cleaning.insert(cmd.vm_id.clone());
                Planned {
                    cmd,
                    actor: actor.clone(),
                    dry_run: plan.dry_run,
                }
            })
            .collect())
    }

    /// An alert: kept in the store (the dashboard's list), journaled as an error, logged,
    /// and queued for the alert command.
    fn raise_alert(
        &mut self,
        vm_name: &str,
        vm_id: &str,
        action: &str,
        error: &str,
        now: DateTime<Utc>,
    ) {
        let alert = Alert {
            time: now,
            vm_name: vm_name.to_string(),
            vm_id: vm_id.to_string(),
            action: action.to_string(),
            error: error.to_string(),
        };
        tracing::error!("alert: {action} of {vm_name}: {error}");
        let a = alert.clone();
        match self.store.update(move |d| {
            d.engine.alerts.push(a);
            let excess = d.engine.alerts.len().saturating_sub(MAX_ALERTS);
            d.engine.alerts.drain(..excess);
        }) {
            Ok(((), data)) => self.data = data,
            Err(e) => self.fail(format!("recording an alert: {e}")),
        }
        let reason = match action {
            "cleanup" => "cleanup failed".to_string(),
            "restart" => "restart policy".to_string(),
            other => format!("{other} failed"),
        };
        self.journal_line(
            now,
            &Actor::Engine,
            vm_name,
            vm_id,
            "alert",
            &reason,
            format!("error: {error}"),
            Some(json!({ "alert_for": action })),
        );
        self.new_alerts.push(alert);
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
            vm_id: vm_id.to_string(),
            action: action.to_string(),
            reason: reason.to_string(),
            result,
            detail,
        };
        if let Err(e) = self.journal.append(&entry) {
            tracing::error!("journal write failed for {action} {vm_name}: {e}");
        }
    }

    /// Stops that other processes made through vmlife (the dashboard beside the daemon)
    /// are in the journal: note them so those stops are not taken for crashes.
    fn read_journal_tail(&mut self) {
        let Some(tail) = self.tail.as_mut() else {
            return;
        };
        for e in tail.read_new() {
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

/// Each command with its VM's facts.
fn with_facts(cmds: &[Command], facts: &[VmFacts]) -> Vec<(Command, VmFacts)> {
    cmds.iter()
        .filter_map(|c| {
            facts
                .iter()
                .find(|v| v.uuid == c.vm_id)
                .map(|v| (c.clone(), v.clone()))
        })
        .collect()
}

/// Reads the journal's new complete lines since the last read.
#[derive(Debug)]
struct JournalTail {
    path: PathBuf,
    offset: u64,
}

impl JournalTail {
    fn at_end(path: &std::path::Path) -> JournalTail {
        let offset = std::fs::metadata(path).map_or(0, |m| m.len());
        JournalTail {
            path: path.to_path_buf(),
            offset,
        }
    }

    fn read_new(&mut self) -> Vec<JournalEntry> {
        let Ok(mut f) = File::open(&self.path) else {
            return Vec::new();
        };
        let len = f.metadata().map_or(0, |m| m.len());
        if len < self.offset {
            self.offset = 0;
        }
        if len == self.offset || f.seek(SeekFrom::Start(self.offset)).is_err() {
            return Vec::new();
        }
        let mut bytes = Vec::new();
        if f.take(len - self.offset).read_to_end(&mut bytes).is_err() {
            return Vec::new();
        }
        let Some(end) = bytes.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        self.offset += end as u64 + 1;
        bytes[..=end]
            .split(|&b| b == b'\n')
            .filter_map(|l| serde_json::from_slice(l).ok())
            .collect()
    }
}
