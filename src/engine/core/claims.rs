//! Claims: cleanups written `in_progress` before they are submitted, and the recovery
//! of claims whose owner died.

use std::collections::BTreeSet;
use std::io;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{EngineCore, Planned};
use crate::engine::records::{self, Recovered};
use crate::lifecycle::cleanup::RoundPlan;
use crate::lifecycle::{Actor, Command, VmFacts};
use crate::model::Uuid;

impl EngineCore {
    /// Settles cleanups whose owner died (this engine's previous life, a killed CLI).
    pub(super) fn recover(&mut self, facts: &[VmFacts], now: DateTime<Utc>) {
        if !records::needs_recovery(&self.data) {
            return;
        }
        let existing: BTreeSet<Uuid> = facts.iter().map(|v| v.uuid.clone()).collect();
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

    /// Claims a plan's cleanups for `actor`; the manual-round half of `cleanup_round`.
    pub(super) fn claim(
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
}

/// Each command with its VM's facts.
pub(super) fn with_facts(cmds: &[Command], facts: &[VmFacts]) -> Vec<(Command, VmFacts)> {
    cmds.iter()
        .filter_map(|c| {
            facts
                .iter()
                .find(|v| v.uuid == c.vm_id)
                .map(|v| (c.clone(), v.clone()))
        })
        .collect()
}
