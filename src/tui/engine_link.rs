//! The dashboard's link to the lifecycle engine.
//!
//! One engine per host (docs/ARCHITECTURE.md): when no daemon holds the state store's lock, the
//! dashboard takes it and runs the engine on its own snapshots (automatic restarts and
//! cleanup rounds); beside a daemon it only plans — for the cleanup pane — and runs what
//! a person asks for. Read-only connections never take the lock.
//!
//! Who runs the engine is checked again while the dashboard runs (every
//! [`LOCK_RETRY`]): a dashboard beside another dashboard or a daemon takes the lock
//! over once its holder quits, and the header says who holds it ("this dashboard",
//! "another dashboard pid N", "daemon pid N").
//!
//! With `[limits] apply = true` a dashboard that runs the engine also reconciles the
//! running managed VMs' limits after each snapshot, as the daemon does (the same
//! [`LimitsEngine`], on this thread: it reads tunables).
//!
//! A service of the Elm loop: it never writes the dashboard's state. It runs on its own
//! thread ([`super::engine_worker`]), off the UI task, since it reads and writes the
//! store; it receives the runtime's effects (a snapshot to react to, a round to run, a
//! confirmation) and answers with messages (`Msg::Engine`, `Msg::Pending`, `Msg::Flash`,
//! `Msg::Cleanup`) that `update` applies.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::limits::LimitsView;
use super::state::CleanupView;
use super::update::Msg;
use crate::config::Config;
use crate::engine::limits_worker::LimitsEngine;
use crate::engine::{
    engine_owner, EngineCore, EngineEvent, EngineLock, EngineSettings, EngineStore, LockError,
    Owner, Planned, Role,
};
use crate::executor::{ExecOptions, ExecResult, Executor};
use crate::hypervisor::{DomainEvent, Hypervisor};
use crate::lifecycle::cleanup::{RoundPlan, RoundRequest};
use crate::lifecycle::limits::{reconcile, RefusalMemo};
use crate::lifecycle::{Actor, Command, Op};
use crate::model::VmRef;
use crate::poll::Vm;
use crate::store::Journal;

/// How often a dashboard that does not run the engine retries the lock: often enough
/// that automatic actions resume within seconds of the holder quitting, rare enough to
/// cost nothing (one `flock` try and a small file read).
pub const LOCK_RETRY: chrono::TimeDelta = chrono::TimeDelta::seconds(5);

/// The engine as the dashboard uses it.
pub struct EngineLink {
    core: EngineCore,
    /// Held while this process is the engine; dropping it releases the lock.
    lock: Option<EngineLock>,
    exec: Executor,
    dry: Executor,
    /// The person at the keyboard.
    actor: Actor,
    /// The header's engine text.
    pub status: String,
    /// The state directory whose lock is retried.
    dir: PathBuf,
    /// A read-only connection: never takes the lock, only says who holds it.
    readonly: bool,
    /// The host's engine is not this process's to run (a remote URI whose
    /// `[[connections]]` entry does not say `engine = "dashboard"`): never takes the lock.
    may_run: bool,
    dry_run: bool,
    /// When the lock was last tried (or the holder looked up).
    checked_at: Option<DateTime<Utc>>,
    /// For the pressure readings (this thread may block on them).
    hv: Arc<dyn Hypervisor>,
    /// `[limits] apply = true`: set drifting limits while this process is the engine.
    limits: Option<LimitsEngine>,
    /// For the detail pane's limits.
    config: Arc<Config>,
}

impl EngineLink {
    /// Open the engine's store in `dir`; take the lock unless read-only or held.
    pub fn open(
        dir: &Path,
        config: &Config,
        hv: Arc<dyn Hypervisor>,
        journal: Arc<Journal>,
        results: tokio::sync::mpsc::UnboundedSender<ExecResult>,
        actor: Actor,
        may_run: bool,
    ) -> Result<EngineLink, String> {
        let settings = EngineSettings::from_config(config);
        let dry_run = settings.cleanup.dry_run_mode;
        let manage_all_vms = settings.manage_all_vms;
        let core = EngineCore::new(EngineStore::new(dir), journal.clone(), settings, hv.uri())
            .map_err(|e| format!("state dir {}: {e}", dir.display()))?;
        let readonly = hv.is_readonly();
        let real = ExecOptions {
            dry_run: false,
            manage_all_vms,
        };
        let exec = Executor::with_options(hv.clone(), journal.clone(), results.clone(), real);
        let dry_opts = ExecOptions {
            dry_run: true,
            ..real
        };
        let dry = Executor::with_options(hv.clone(), journal, results, dry_opts);
        let mut link = EngineLink {
            core,
            lock: None,
            exec,
            dry,
            actor,
            status: String::new(),
            dir: dir.to_path_buf(),
            readonly,
            may_run,
            dry_run,
            checked_at: None,
            hv,
            limits: LimitsEngine::from_config(config),
            config: Arc::new(config.clone()),
        };
        link.check_lock(Utc::now());
        Ok(link)
    }

    /// Tries the lock (unless read-only or already held) and sets the header text to
    /// who runs the engine now.
    fn check_lock(&mut self, now: DateTime<Utc>) {
        self.checked_at = Some(now);
        let status = if self.lock.is_some() {
            Owner::ThisProcess.to_string()
        } else if !self.may_run {
            "engine: daemon on host".to_string()
        } else if self.readonly {
            format!("{} · read-only", engine_owner(&self.dir))
        } else {
            match EngineLock::acquire(&self.dir, Role::Dashboard) {
                Ok(lock) => {
                    if !self.status.is_empty() {
                        tracing::info!("engine lock taken over: this dashboard runs the engine");
                    }
                    self.lock = Some(lock);
                    Owner::ThisProcess.to_string()
                }
                Err(LockError::Held {
                    pid: Some(pid),
                    role,
                    ..
                }) => Owner::Other { pid, role }.to_string(),
                Err(LockError::Held { pid: None, .. }) => "engine: another process".into(),
                Err(e) => format!("engine: none ({e})"),
            }
        };
        self.status = if self.dry_run {
            format!("{status} · cleanup dry run")
        } else {
            status
        };
    }

    /// Re-checks who runs the engine when [`LOCK_RETRY`] has passed since the last look
    /// (a dashboard that runs it keeps it: the lock is only released when it quits).
    pub fn recheck(&mut self, now: DateTime<Utc>) {
        let due = self
            .checked_at
            .is_none_or(|t| now - t >= LOCK_RETRY || now < t);
        if self.lock.is_none() && due {
            self.check_lock(now);
        }
    }

    /// Who runs the engine, for the header.
    pub fn status_msg(&self) -> Msg {
        Msg::Engine {
            status: self.status.clone(),
            manage_all_vms: self.core.settings().manage_all_vms,
        }
    }

    /// The executor a person's commands run on (shared so one VM's commands stay in order).
    pub fn executor(&self) -> Executor {
        self.exec.clone()
    }

    /// True when this process runs the automatic actions.
    pub fn is_engine(&self) -> bool {
        self.lock.is_some()
    }

    /// After a snapshot: who runs the engine, the engine's automatic actions (when this
    /// process is the engine), then a fresh plan for the cleanup pane.
    ///
    /// While some VM's metadata is not read yet (the first second of a large host: the
    /// dashboard reads the VMs in view first), nothing is planned or run: a VM whose
    /// policy is not known is never acted on, nor left out of a plan as if it had none.
    pub fn after_snapshot(&mut self, vms: &[Vm], now: DateTime<Utc>) -> Vec<Msg> {
        if vms.iter().any(|v| v.pending) {
            return Vec::new();
        }
        let was_engine = self.is_engine();
        self.recheck(now);
        let mut out = vec![self.status_msg()];
        if self.is_engine() && !was_engine {
            out.push(Msg::Flash(
                "the engine's holder quit: this dashboard now runs automatic actions".into(),
            ));
        }
        if self.is_engine() {
            let watch = self.core.disk_watch();
            let readings = crate::engine::signals::read(self.hv.as_ref(), vms, &watch);
            self.core.set_readings(readings);
            let planned = self.core.on_snapshot(vms, now);
            out.extend(planned.into_iter().map(|p| self.submit(p)));
            let steps = match self.limits.as_mut() {
                Some(l) => l.step(self.hv.as_ref(), vms, now.timestamp()),
                None => Vec::new(),
            };
            out.extend(steps.into_iter().map(|cmd| {
                self.submit(Planned {
                    cmd,
                    actor: Actor::Engine,
                    dry_run: false,
                })
            }));
        } else {
            // The daemon writes the store; read what it recorded.
            self.core.refresh();
        }
        out.push(Msg::Cleanup(self.view(vms, now)));
        out
    }

    /// A domain event for the engine: the restart classification, an I/O error, a
    /// block threshold (the disk-full warning's alert) and the limits' fired disks.
    pub fn on_event(&mut self, e: &DomainEvent, now: DateTime<Utc>) {
        if !self.is_engine() {
            return;
        }
        if let Some(ev) = EngineEvent::from_hypervisor(e) {
            self.core.on_event(&ev, now);
        }
        if let (Some(l), Some(u)) = (self.limits.as_mut(), e.uuid()) {
            let d = l.declared_of(u);
            l.on_event(e, d);
        }
        if let DomainEvent::BlockThreshold {
            uuid,
            name,
            dev,
            threshold,
            excess,
            ..
        } = e
        {
            self.core
                .on_block_threshold(uuid, name, dev, *threshold, *excess, now);
        }
        if let DomainEvent::IoError {
            uuid,
            name,
            path,
            device,
            reason,
            ..
        } = e
        {
            self.core.on_io_error(uuid, name, path, device, reason);
        }
    }

    /// An executor result: the engine records cleanups and restarts it ran or a person
    /// ran through a round.
    pub fn on_result(&mut self, r: &ExecResult, now: DateTime<Utc>) {
        self.core.on_result(r, now);
        if let Some(l) = self.limits.as_mut() {
            l.on_result(r);
        }
    }

    /// A person's command from the dashboard.
    pub fn execute(&mut self, cmd: Command, now: DateTime<Utc>) {
        if matches!(
            cmd.op,
            Op::Shutdown | Op::Destroy | Op::ManagedSave | Op::Reboot
        ) {
            // A stop a person asked for is never undone by the restart policy.
            self.core.note_stop_request(&cmd.vm_id, now);
        }
        self.exec.submit(cmd, self.actor.clone());
    }

    /// The detail pane's limits of `uuid`: its tunables read (only when the reconcile
    /// would act on it) and reconciled with the refusals and fired thresholds the engine
    /// knows. Blocks on the hypervisor: this thread's job, never the UI task's.
    pub fn read_limits(&self, vms: &[Vm], uuid: &str) -> Option<Msg> {
        let v = vms.iter().find(|v| v.uuid == uuid)?;
        let mut fired = self.core.threshold_fired(uuid);
        let fresh = RefusalMemo::new();
        let memo = match &self.limits {
            Some(l) => {
                fired.extend(l.fired(uuid));
                l.memo()
            }
            None => &fresh,
        };
        let f = crate::engine::limits::facts(self.hv.as_ref(), v, &self.config, fired);
        let settings = self.config.limits.settings();
        let report = reconcile(&f, &settings, memo);
        Some(Msg::Limits(LimitsView {
            vm_id: v.uuid.clone(),
            rows: report.rows,
            at: Utc::now(),
            disk_percent: settings.disk_threshold_percent,
        }))
    }

    /// Plan `request` for its confirmation popup.
    pub fn prepare(&self, vms: &[Vm], request: &RoundRequest, now: DateTime<Utc>) -> RoundPlan {
        self.core.plan(vms, request, self.core.clock(now))
    }

    /// Run a confirmed round: claim the records, then submit.
    pub fn run_round(
        &mut self,
        vms: &[Vm],
        request: &RoundRequest,
        now: DateTime<Utc>,
    ) -> Vec<Msg> {
        let mut out = Vec::new();
        match self.core.manual_round(vms, request, &self.actor, now) {
            Ok((_, planned)) => {
                if planned.is_empty() {
                    out.push(Msg::Flash(
                        "nothing was cleaned: the round had nothing due".into(),
                    ));
                }
                out.extend(planned.into_iter().map(|p| self.submit(p)));
            }
            Err(e) => out.push(Msg::Flash(format!("cleanup round not started: {e}"))),
        }
        out.push(Msg::Cleanup(self.view(vms, now)));
        out
    }

    /// Record a person's confirmation of parked cleanups.
    pub fn confirm(&mut self, vms: &[Vm], parked: &[VmRef], now: DateTime<Utc>) -> Vec<Msg> {
        let flash = match self.core.confirm(parked, &self.actor, true, now) {
            Ok(()) => {
                let plan = self
                    .core
                    .plan(vms, &RoundRequest::default(), self.core.clock(now));
                let policy = &self.core.settings().cleanup;
                let when = if policy.cleanup_in_window_only && plan.window_opens_in_minutes > 0 {
                    format!(
                        "cleaned up when the window opens ({}, in {})",
                        policy.cleanup_window_start,
                        crate::lifecycle::ttl::format_duration(
                            i64::from(plan.window_opens_in_minutes) * 60
                        )
                    )
                } else {
                    "a round starts now".to_string()
                };
                format!("confirmed {} cleanup(s): {when}", parked.len())
            }
            Err(e) => format!("confirmation not recorded: {e}"),
        };
        vec![Msg::Flash(flash), Msg::Cleanup(self.view(vms, now))]
    }

    /// Record a person's acknowledgement of an alert (journaled); the pane without it.
    pub fn acknowledge(
        &mut self,
        vms: &[Vm],
        alert: &crate::engine::state_files::Alert,
        now: DateTime<Utc>,
    ) -> Vec<Msg> {
        let flash = match self.core.acknowledge_alert(alert, &self.actor, now) {
            Ok(true) => format!(
                "acknowledged: {} alert of {}",
                alert.action,
                crate::format::escape(&alert.vm_name)
            ),
            Ok(false) => "that alert is gone already".to_string(),
            Err(e) => format!("acknowledgement not recorded: {e}"),
        };
        vec![Msg::Flash(flash), Msg::Cleanup(self.view(vms, now))]
    }

    /// Hand a planned command to the right executor; the message shows it as pending.
    fn submit(&mut self, p: Planned) -> Msg {
        let who = if p.actor == Actor::Engine {
            "engine: "
        } else {
            ""
        };
        let msg = Msg::Pending {
            vm_id: p.cmd.vm_id.clone(),
            vm_name: p.cmd.vm_name.clone(),
            action: p.cmd.op.name().into(),
            text: format!(
                "{who}{} {} — {}",
                p.cmd.op.describe(),
                p.cmd.vm_name,
                p.cmd.reason
            ),
        };
        let executor = if p.dry_run { &self.dry } else { &self.exec };
        executor.submit(p.cmd, p.actor);
        msg
    }

    /// The cleanup pane's content now.
    fn view(&self, vms: &[Vm], now: DateTime<Utc>) -> CleanupView {
        let plan = self
            .core
            .plan(vms, &RoundRequest::default(), self.core.clock(now));
        let policy = &self.core.settings().cleanup;
        let clock = self.core.clock(now);
        let next_round_at = self.core.next_round_at();
        let round_runs_at = next_round_at.map(|at| {
            clock.now
                + crate::lifecycle::cleanup::round_runs_in(
                    policy.cleanup_window_start,
                    policy.cleanup_window_end,
                    policy.cleanup_in_window_only,
                    clock.local_minute,
                    at - clock.now,
                )
        });
        CleanupView {
            lines: plan.lines,
            held: plan.held,
            window: format!(
                "{}–{}",
                policy.cleanup_window_start, policy.cleanup_window_end
            ),
            window_only: policy.cleanup_in_window_only,
            window_opens_in_minutes: plan.window_opens_in_minutes,
            dry_run: plan.dry_run,
            next_round_at,
            round_runs_at,
            window_start: policy.cleanup_window_start.to_string(),
            alerts: self.core.alerts().iter().rev().cloned().collect(),
            pressure_badge: self.core.pressure_view().and_then(|p| p.badge()),
            pressure: vms
                .iter()
                .filter_map(|v| {
                    let paused = v.state == Some(crate::hypervisor::RunState::Paused);
                    let records = self.core.pressure_records();
                    crate::engine::pressure_status(records, &v.uuid, paused)
                        .map(|st| (v.uuid.clone(), st))
                })
                .collect(),
        }
    }
}

#[cfg(test)]
#[path = "engine_link_tests.rs"]
mod tests;
