//! The restart policy: observed stops, the stability reset, and the first-seen stamp.

use chrono::{DateTime, Utc};

use super::{EngineCore, Planned};
use crate::engine::classify::classify_stop;
use crate::engine::managed::vm_is_managed;
use crate::hypervisor::RunState;
use crate::lifecycle::restart::{on_stop, streak_over, RestartDecision};
use crate::lifecycle::{Actor, Command, Op};
use crate::metadata::{LifecycleMeta, MetaError};
use crate::model::PersistenceMode;
use crate::poll::Vm;

/// What the engine remembers about one VM between snapshots.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seen {
    pub(super) active: bool,
    /// Unix seconds of the start this engine observed (or its first sight of it running).
    pub(super) running_since: Option<i64>,
}

impl EngineCore {
    /// Compares one VM with its previous state; reacts to an observed stop and to a
    /// stable run.
    pub(super) fn observe(
        &mut self,
        v: &Vm,
        now_s: i64,
        now: DateTime<Utc>,
        out: &mut Vec<Planned>,
    ) {
        let uuid = v.uuid.clone();
        let active = v.state.is_some_and(RunState::is_active);
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

        // docs/ARCHITECTURE.md: a temporary VM without created_at_unix gets the time it
        // was first seen, written back, so its TTL does not restart with every vmlife.
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
    fn on_stopped(&mut self, v: &Vm, now_s: i64, now: DateTime<Utc>, out: &mut Vec<Planned>) {
        let uuid = v.uuid.clone();
        let name = v.snapshot.vm_name.clone();
        let by_vmlife = self.cleaning.contains(&uuid) || self.stop_notes.contains_key(&uuid);
        let hint = self.hints.remove(&uuid).map(|(h, _)| h);
        self.stop_notes.remove(&uuid);
        let cause = classify_stop(v.state, v.reason, hint, by_vmlife);
        let meta = self.effective_meta(&uuid, &v.meta);
        let managed = vm_is_managed(v, self.settings.manage_all_vms);
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
}
