//! The engine's limits: with `[limits] apply = true`, each running managed VM is
//! reconciled when its definition is new or changed and every
//! [`RECONCILE_EVERY`] seconds, and its drifting limits are set through the executor
//! (journaled `set_limit`, UUID re-checked). A refusal — a read the driver refuses, or
//! a set that fails — is remembered per VM and limit until the VM's definition
//! changes: logged once, never retried in a loop.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::config::Config;
use crate::executor::{ExecResult, Outcome};
use crate::hypervisor::{DomainEvent, Hypervisor};
use crate::lifecycle::limits::{reconcile, Declared, LimitKind, RefusalMemo};
use crate::lifecycle::{Command, Op};
use crate::model::Uuid;
use crate::poll::Vm;

use super::limits::{declared, facts, read_refusals};

/// Seconds between two reconciles of an unchanged VM (drift a person made by hand).
pub const RECONCILE_EVERY: i64 = 300;

/// The engine's limits state between polls.
#[derive(Debug)]
pub struct LimitsEngine {
    config: Arc<Config>,
    memo: RefusalMemo,
    /// Per VM: the definition last reconciled and when.
    seen: HashMap<Uuid, (Declared, i64)>,
    /// Disks whose threshold fired, per VM, under the definition they fired with.
    fired: HashMap<Uuid, (Declared, BTreeSet<String>)>,
    /// Steps submitted and not answered: (VM, limit) → the definition planned with.
    pending: HashMap<(Uuid, LimitKind), Declared>,
}

impl LimitsEngine {
    /// `None` unless `[limits] apply = true`: report only, nothing to run.
    pub fn from_config(config: &Config) -> Option<LimitsEngine> {
        config.limits.apply.then(|| LimitsEngine {
            config: Arc::new(config.clone()),
            memo: RefusalMemo::new(),
            seen: HashMap::new(),
            fired: HashMap::new(),
            pending: HashMap::new(),
        })
    }

    /// Reconciles the VMs that are due and returns the steps to submit. Blocks (reads
    /// tunables): call it on a blocking thread.
    pub fn step(&mut self, hv: &dyn Hypervisor, views: &[Vm], now: i64) -> Vec<Command> {
        let alive: Vec<(Uuid, Declared)> = views
            .iter()
            .map(|v| (v.uuid.clone(), declared(v)))
            .collect();
        self.memo.prune(alive.iter().map(|(u, d)| (u, d)));
        let current: HashMap<&Uuid, &Declared> = alive.iter().map(|(u, d)| (u, d)).collect();
        self.seen.retain(|u, _| current.contains_key(u));
        self.fired
            .retain(|u, (d, _)| current.get(u).is_some_and(|c| *c == d));
        let settings = self.config.limits.settings();
        let mut out = Vec::new();
        for (v, (_, decl)) in views.iter().zip(&alive) {
            let due = match self.seen.get(&v.uuid) {
                Some((d, at)) => d != decl || now.saturating_sub(*at) >= RECONCILE_EVERY,
                None => true,
            };
            if !due || self.pending.keys().any(|(u, _)| *u == v.uuid) {
                continue;
            }
            let fired = self.fired.get(&v.uuid).map(|(_, f)| f.clone());
            let f = facts(hv, v, &self.config, fired.unwrap_or_default());
            for (kind, msg) in read_refusals(&f) {
                if self.memo.remember(&f.uuid, kind, &f.declared, &msg) {
                    tracing::info!(
                        "limits of {}: {kind} not supported by this driver: {msg}",
                        f.name
                    );
                }
            }
            self.seen.insert(v.uuid.clone(), (decl.clone(), now));
            for s in reconcile(&f, &settings, &self.memo).steps {
                self.pending
                    .insert((s.vm_id.clone(), s.value.kind()), f.declared.clone());
                out.push(s.command());
            }
        }
        out
    }

    /// A `set_limit` result: a failure is remembered, so it is not retried until the
    /// VM's definition changes.
    pub fn on_result(&mut self, r: &ExecResult) {
        let Op::SetLimit { value, .. } = &r.cmd.op else {
            return;
        };
        let key = (r.cmd.vm_id.clone(), value.kind());
        let Some(decl) = self.pending.remove(&key) else {
            return;
        };
        if let Outcome::Failed(e) = &r.outcome {
            if self.memo.remember(&key.0, key.1, &decl, e) {
                tracing::info!("limits of {}: {}: {e}; not retried", r.cmd.vm_name, key.1);
            }
        }
    }

    /// A block-threshold event: that disk is not re-armed until the definition changes.
    pub fn on_event(&mut self, e: &DomainEvent, views_declared: Option<Declared>) {
        if let DomainEvent::BlockThreshold { uuid, dev, .. } = e {
            let entry = self
                .fired
                .entry(uuid.clone())
                .or_insert_with(|| (views_declared.unwrap_or_default(), BTreeSet::new()));
            entry.1.insert(dev.clone());
        }
    }

    /// The disks of `uuid` whose threshold fired.
    pub fn fired(&self, uuid: &str) -> BTreeSet<String> {
        self.fired
            .get(uuid)
            .map(|(_, f)| f.clone())
            .unwrap_or_default()
    }

    /// The refusals remembered, for a report that should not read them again.
    pub fn memo(&self) -> &RefusalMemo {
        &self.memo
    }

    /// The definition last reconciled for `uuid`.
    pub fn declared_of(&self, uuid: &str) -> Option<Declared> {
        self.seen.get(uuid).map(|(d, _)| d.clone())
    }
}

#[cfg(test)]
#[path = "limits_worker_tests.rs"]
mod tests;
