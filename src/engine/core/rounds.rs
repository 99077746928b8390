//! Cleanup rounds: the plan, a person's confirmation, manual rounds and the scheduled
//! round that continues as concurrency slots free up.

use std::collections::BTreeSet;
use std::io;

use chrono::{DateTime, Utc};

use super::claims::with_facts;
use super::{EngineCore, Planned};
use crate::engine::records;
use crate::engine::state_files::Confirmation;
use crate::lifecycle::cleanup::{
    plan_round, round_due, Clock, RoundInputs, RoundPlan, RoundRequest,
};
use crate::lifecycle::{Actor, VmFacts};
use crate::model::VmCleanupPolicy;
use crate::model::{Uuid, VmRef};
use crate::poll::Vm;

/// One action of a plan, as `vmlife plan --json` prints it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PlanEntry {
    /// The VM's name as planned.
    pub vm_name: String,
    /// The VM's UUID: what the command acts on.
    pub vm_id: Uuid,
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

/// A cleanup round in progress: it may launch up to `budget` more cleanups as
/// concurrency slots free up; each VM at most once per round.
#[derive(Debug, Clone)]
pub(super) struct Round {
    budget: u32,
    tried: BTreeSet<Uuid>,
}

impl EngineCore {
    /// The cleanup plan at `clock` for `request`, from the store as last read: the
    /// function `vmlife plan`, `vmlife cleanup` and the dashboard's cleanup pane share.
    pub fn plan(&self, vms: &[Vm], request: &RoundRequest, clock: Clock) -> RoundPlan {
        let facts: Vec<VmFacts> = vms.iter().map(Vm::facts).collect();
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
        vms: &[Vm],
        request: &RoundRequest,
        clock: Clock,
        also_confirmed: &BTreeSet<Uuid>,
    ) -> RoundPlan {
        let facts: Vec<VmFacts> = vms.iter().map(Vm::facts).collect();
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
        also_confirmed: &BTreeSet<Uuid>,
    ) -> RoundPlan {
        let mut in_progress = records::live_in_progress(&self.data);
        in_progress.extend(self.cleaning.iter().cloned());
        let mut confirmed: BTreeSet<Uuid> = self.data.engine.confirmed.keys().cloned().collect();
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

    /// Records that `by` confirmed the cleanup of these VMs under
    /// `require_confirmation`, and journals it. With `round_now` the next snapshot runs a
    /// scheduled round at once (the dashboard's confirm); `vmlife cleanup` runs its own.
    pub fn confirm(
        &mut self,
        vms: &[VmRef],
        by: &Actor,
        round_now: bool,
        now: DateTime<Utc>,
    ) -> io::Result<()> {
        let by_s = by.to_string();
        let ((), data) = self.store.update(|d| {
            if round_now {
                d.engine.last_round_at = None;
            }
            for v in vms {
                d.engine.confirmed.insert(
                    v.uuid.clone(),
                    Confirmation {
                        by: by_s.clone(),
                        at: now,
                    },
                );
            }
        })?;
        self.data = data;
        for v in vms {
            self.journal_line(
                now,
                by,
                &v.name,
                &v.uuid,
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
        vms: &[Vm],
        request: &RoundRequest,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> io::Result<(RoundPlan, Vec<Planned>)> {
        self.refresh();
        let facts: Vec<VmFacts> = vms.iter().map(Vm::facts).collect();
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

    /// The scheduled round: starts one when the interval says so, and continues a
    /// running one as concurrency slots free up.
    pub(super) fn cleanup_round(
        &mut self,
        facts: &[VmFacts],
        now: DateTime<Utc>,
        out: &mut Vec<Planned>,
    ) {
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
        let only: BTreeSet<Uuid> = facts
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
}
