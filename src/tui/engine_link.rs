//! The dashboard's link to the lifecycle engine.
//!
//! One engine per host (DESIGN.md §2): when no daemon holds the state store's lock, the
//! dashboard takes it and runs the engine on its own snapshots (automatic restarts and
//! cleanup rounds); beside a daemon it only plans — for the cleanup pane — and runs what
//! a person asks for. Read-only connections never take the lock.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::state::{Activity, ActivityStatus, CleanupView, State};
use crate::config::Config;
use crate::engine::{
    engine_owner, EngineCore, EngineEvent, EngineLock, EngineSettings, EngineStore, LockError,
    Owner, Planned,
};
use crate::executor::{ExecOptions, ExecResult, Executor};
use crate::hypervisor::{DomainEvent, Hypervisor};
use crate::lifecycle::cleanup::RoundRequest;
use crate::lifecycle::{Actor, Command, Op};
use crate::store::Journal;

/// Alerts shown in the cleanup pane.
const ALERTS_SHOWN: usize = 5;

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
    ) -> Result<EngineLink, String> {
        let settings = EngineSettings::from_config(config);
        let dry_run = settings.cleanup.dry_run_mode;
        let core = EngineCore::new(EngineStore::new(dir), journal.clone(), settings, hv.uri())
            .map_err(|e| format!("state dir {}: {e}", dir.display()))?;
        let (lock, status) = if hv.is_readonly() {
            (None, format!("{} · read-only", engine_owner(dir)))
        } else {
            match EngineLock::acquire(dir) {
                Ok(lock) => (Some(lock), Owner::ThisProcess.to_string()),
                Err(LockError::Held { pid: Some(pid), .. }) => {
                    (None, Owner::Other { pid }.to_string())
                }
                Err(LockError::Held { pid: None, .. }) => (None, "engine: another process".into()),
                Err(e) => (None, format!("engine: none ({e})")),
            }
        };
        let status = if dry_run {
            format!("{status} · cleanup dry run")
        } else {
            status
        };
        let exec = Executor::new(hv.clone(), journal.clone(), results.clone());
        let dry = Executor::with_options(hv, journal, results, ExecOptions { dry_run: true });
        Ok(EngineLink {
            core,
            lock,
            exec,
            dry,
            actor,
            status,
        })
    }

    /// The executor a person's commands run on (shared so one VM's commands stay in order).
    pub fn executor(&self) -> Executor {
        self.exec.clone()
    }

    /// True when this process runs the automatic actions.
    pub fn is_engine(&self) -> bool {
        self.lock.is_some()
    }

    /// After a snapshot: the engine's automatic actions (when this process is the
    /// engine), then a fresh plan for the cleanup pane.
    pub fn after_snapshot(&mut self, s: &mut State, now: DateTime<Utc>) {
        s.manage_all_vms = self.core.settings().manage_all_vms;
        if self.is_engine() {
            let planned = self.core.on_snapshot(&s.vms, now);
            for p in planned {
                self.submit(s, p);
            }
        } else {
            // The daemon writes the store; read what it recorded.
            self.core.refresh();
        }
        s.cleanup = Some(self.view(s, now));
    }

    /// A domain event for the engine's restart classification.
    pub fn on_event(&mut self, e: &DomainEvent, now: DateTime<Utc>) {
        if let (true, Some(ev)) = (self.is_engine(), EngineEvent::from_hypervisor(e)) {
            self.core.on_event(&ev, now);
        }
    }

    /// An executor result: the engine records cleanups and restarts it ran or a person
    /// ran through a round.
    pub fn on_result(&mut self, r: &ExecResult, now: DateTime<Utc>) {
        self.core.on_result(r, now);
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

    /// Plan `request` for its confirmation popup.
    pub fn prepare(
        &self,
        s: &State,
        request: &RoundRequest,
        now: DateTime<Utc>,
    ) -> crate::lifecycle::cleanup::RoundPlan {
        self.core.plan(&s.vms, request, self.core.clock(now))
    }

    /// Run a confirmed round: claim the records, then submit.
    pub fn run_round(&mut self, s: &mut State, request: &RoundRequest, now: DateTime<Utc>) {
        match self.core.manual_round(&s.vms, request, &self.actor, now) {
            Ok((_, planned)) => {
                if planned.is_empty() {
                    s.flash("nothing was cleaned: the round had nothing due".into());
                }
                for p in planned {
                    self.submit(s, p);
                }
            }
            Err(e) => s.flash(format!("cleanup round not started: {e}")),
        }
        s.cleanup = Some(self.view(s, now));
    }

    /// Record a person's confirmation of parked cleanups.
    pub fn confirm(&mut self, s: &mut State, vms: &[(String, String)], now: DateTime<Utc>) {
        match self.core.confirm(vms, &self.actor, true, now) {
            Ok(()) => s.flash(format!(
                "confirmed {} cleanup(s): they run in the next round",
                vms.len()
            )),
            Err(e) => s.flash(format!("confirmation not recorded: {e}")),
        }
        s.cleanup = Some(self.view(s, now));
    }

    /// Hand a planned command to the right executor and show it as pending.
    fn submit(&mut self, s: &mut State, p: Planned) {
        let who = if p.actor == Actor::Engine {
            "engine: "
        } else {
            ""
        };
        s.busy.insert(p.cmd.vm_id.clone());
        s.push_activity(Activity {
            at: s.now,
            vm_id: p.cmd.vm_id.clone(),
            vm_name: p.cmd.vm_name.clone(),
            action: p.cmd.op.name().into(),
            status: ActivityStatus::Pending,
            text: format!(
                "{who}{} {} — {}",
                p.cmd.op.describe(),
                p.cmd.vm_name,
                p.cmd.reason
            ),
        });
        let executor = if p.dry_run { &self.dry } else { &self.exec };
        executor.submit(p.cmd, p.actor);
    }

    /// The cleanup pane's content now.
    fn view(&self, s: &State, now: DateTime<Utc>) -> CleanupView {
        let plan = self
            .core
            .plan(&s.vms, &RoundRequest::default(), self.core.clock(now));
        let policy = &self.core.settings().cleanup;
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
            next_round_at: self.core.next_round_at(),
            alerts: self
                .core
                .alerts()
                .iter()
                .rev()
                .take(ALERTS_SHOWN)
                .map(|a| (a.time, a.vm_name.clone(), a.action.clone(), a.error.clone()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{EngineCore, EngineSettings, EngineStore};
    use crate::hypervisor::fake::{running, FakeHypervisor};
    use crate::metadata::{self, LifecycleMeta};
    use crate::model::PersistenceMode;
    use crate::poll::{Poller, PollerOptions};
    use crate::tui::keymap::Keymap;

    /// The cleanup pane shows exactly the plan `vmlife plan` computes: the same
    /// `EngineCore::plan` on the same store, VMs and clock.
    #[test]
    fn the_cleanup_pane_is_the_engine_plan() {
        let dir = tempfile::tempdir().unwrap();
        let fake = Arc::new(FakeHypervisor::new());
        for (uuid, ago) in [("u-1", 30 * 3600), ("u-2", 3600)] {
            let mut d = running(uuid, &format!("vm-{uuid}"));
            let mut m = LifecycleMeta::default();
            m.persistence.mode = PersistenceMode::Temporary;
            m.persistence.created_at_unix = Some(Utc::now().timestamp() - ago);
            d.metadata = Some(metadata::to_xml(&m));
            fake.put(d);
        }
        let hv: Arc<dyn Hypervisor> = fake.clone();
        let mut config = Config::default();
        config.cleanup.require_confirmation = true; // nothing runs: the test only compares
        let journal = Arc::new(Journal::open(dir.path()).unwrap());
        let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
        let mut link = EngineLink::open(
            dir.path(),
            &config,
            hv.clone(),
            journal,
            tx,
            Actor::Dashboard("t".into()),
        )
        .unwrap();
        assert!(link.is_engine(), "no daemon: the dashboard takes the lock");
        let now = Utc::now();
        let vms = Poller::new(hv, PollerOptions::default()).poll(now).unwrap();
        let mut state = State::new(
            "fake:///",
            Keymap::build(&Default::default(), false).unwrap(),
            now,
        );
        state.vms = vms.clone();
        link.after_snapshot(&mut state, now);

        let planner = EngineCore::for_planning(
            EngineStore::new(dir.path()),
            EngineSettings::from_config(&config),
            "fake:///",
        )
        .unwrap();
        let plan = planner.plan(&vms, &RoundRequest::default(), planner.clock(now));
        let pane = state.cleanup.expect("a plan after the snapshot");
        assert_eq!(pane.lines, plan.lines);
        assert_eq!(pane.held, plan.held);
        assert_eq!(pane.lines.len(), 2);
    }
}
