//! The pressure reactions (`on_memory_pressure`, `on_disk_full`): each snapshot, the
//! readings ([`crate::engine::signals`]) step the memory hysteresis, the full disks
//! (from `enospc` events and the poll-time disk-error check) are kept as episodes in
//! `engine.json`, and the pure planner's one [`Reaction`] is submitted through the
//! executor as an [`Op::Pressure`] (or, under `dry_run_mode`, to the dry-run executor,
//! once per distinct step).
//!
//! What vmlife paused for which cause is recorded when the executor reports the pause
//! (so a resume survives a restart of the engine); a VM killed for pressure is noted as
//! vmlife's own stop before the kill is submitted, so the restart policy never starts
//! it again. A full disk raises one alert per episode: the episode lasts from the first
//! error until the VM has run again for `clear_seconds` (a refill meanwhile is the same
//! episode), or the VM is shut off or gone.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::{EngineCore, Planned};
use crate::engine::managed::has_vmlife_element;
use crate::engine::signals::Readings;
use crate::engine::state_files::{DiskFullRecord, PausedRecord, PressureRecords};
use crate::executor::{ExecResult, Outcome};
use crate::hypervisor::RunState as HvRun;
use crate::lifecycle::pressure::{
    plan, signal, Cause, DiskFull, PausedBy, PressureInput, PressurePlan, PressureState,
    ReactionKind, RunState, Signal, VmPressureFacts,
};
use crate::lifecycle::Actor;
use crate::model::{PersistenceMode, Uuid};
use crate::poll::Vm;

/// A VM whose pressure step was refused or failed is left out of the planning this
/// long, so a refusal does not repeat every poll.
const BACKOFF_SECONDS: i64 = 600;

/// An I/O error event, kept until the next snapshot names the disk.
#[derive(Debug, Clone)]
pub(super) struct IoNote {
    uuid: Uuid,
    name: String,
    path: String,
    device: String,
    reason: String,
}

/// The pressure side of the engine: what is in flight and remembered between polls.
#[derive(Debug, Default)]
pub(super) struct PressureMemory {
    pub(super) readings: Option<Readings>,
    io: Vec<IoNote>,
    /// Reactions submitted, not yet answered.
    pub(super) busy: BTreeSet<Uuid>,
    /// The last dry-run step journaled (journaled again only when it changes).
    last_dry: Option<(Uuid, ReactionKind, Cause)>,
    /// VM → when its step was refused or failed.
    backoff: BTreeMap<Uuid, i64>,
    /// (VM, reason) of I/O errors that are not "no space", alerted once.
    other_errors: BTreeSet<(Uuid, String)>,
    /// The last plan, for `plan` and the dashboard.
    pub(super) last: Option<PressureView>,
}

/// Where pressure stands, for `vmlife plan` and the dashboard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PressureView {
    /// The memory hysteresis.
    pub state: PressureState,
    /// The reading, judged.
    pub signal: Signal,
    /// The next step and the note.
    pub plan: PressurePlan,
    /// Full disks: (VM name, target).
    pub disk_full: Vec<(String, String)>,
}

impl PressureView {
    /// The dashboard header's badge: `MEMORY PRESSURE (available 3.1 % < 5 %)`,
    /// `DISK FULL: web-1`; `None` when all is well.
    pub fn badge(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.state.is_pressure() {
            parts.push(format!("MEMORY PRESSURE ({})", self.signal.text()));
        }
        if !self.disk_full.is_empty() {
            let names: Vec<&str> = self.disk_full.iter().map(|(n, _)| n.as_str()).collect();
            parts.push(format!("DISK FULL: {}", names.join(", ")));
        }
        (!parts.is_empty()).then(|| parts.join(" · "))
    }
}

/// A VM's pressure status from the records: `suspended: memory pressure`, `paused:
/// disk full (vda)`, `disk full (vda)`; `None` when vmlife holds nothing on it.
pub fn pressure_status(records: &PressureRecords, uuid: &str, paused: bool) -> Option<String> {
    let disk = records
        .disk_full
        .get(uuid)
        .filter(|d| d.running_since.is_none());
    match (records.paused.get(uuid), disk) {
        (Some(p), _) if p.cause == Cause::MemoryPressure => {
            Some("suspended: memory pressure".into())
        }
        (_, Some(d)) if paused => Some(format!("paused: disk full ({})", d.target)),
        (_, Some(d)) => Some(format!("disk full ({})", d.target)),
        (Some(p), None) => Some(format!("suspended: {}", p.cause)),
        (None, None) => None,
    }
}

fn run_state(v: &Vm) -> RunState {
    match v.state {
        Some(HvRun::Running) => RunState::Running,
        Some(HvRun::Paused) => RunState::Paused,
        Some(HvRun::Shutoff) => RunState::ShutOff,
        _ => RunState::Other,
    }
}

impl EngineCore {
    /// This poll's readings ([`crate::engine::signals::read`]), used by the next
    /// [`EngineCore::on_snapshot`] (and, for a remote URI, by `skip_on_low_resources`).
    pub fn set_readings(&mut self, r: Readings) {
        self.pm.readings = Some(r);
    }

    /// VMs with a full disk on record: the readings include their disks' free space.
    pub fn disk_watch(&self) -> BTreeSet<Uuid> {
        self.data
            .engine
            .pressure
            .disk_full
            .keys()
            .cloned()
            .collect()
    }

    /// The pressure records as last read or written.
    pub fn pressure_records(&self) -> &PressureRecords {
        &self.data.engine.pressure
    }

    /// Where pressure stood at the last snapshot (`None` before the first).
    pub fn pressure_view(&self) -> Option<&PressureView> {
        self.pm.last.as_ref()
    }

    /// A disk I/O error event (`VIR_DOMAIN_EVENT_ID_IO_ERROR_REASON`): `enospc` opens
    /// (or continues) a disk-full episode at the next snapshot; another reason is an
    /// alert, once per VM and reason.
    pub fn on_io_error(&mut self, uuid: &str, name: &str, path: &str, device: &str, reason: &str) {
        self.pm.io.push(IoNote {
            uuid: uuid.into(),
            name: name.into(),
            path: path.into(),
            device: device.into(),
            reason: reason.into(),
        });
    }

    /// Where pressure stands for `vms` with `readings`, without changing anything (the
    /// state is stepped in a copy): what `vmlife plan` shows.
    pub fn pressure_preview(&self, vms: &[Vm], readings: &Readings, now: i64) -> PressureView {
        let records = &self.data.engine.pressure;
        let signal = self.judge(readings);
        let state = records.state.next(&signal, now, &self.settings.pressure);
        self.view_for(vms, readings, records, state, signal, now, true)
    }

    fn judge(&self, r: &Readings) -> Signal {
        let s = signal::evaluate(r.mem(), r.psi.as_ref(), &self.settings.pressure);
        match (&s, &r.memory) {
            (Signal::Unknown(_), Some(Err(e))) => Signal::Unknown(e.clone()),
            _ => s,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn view_for(
        &self,
        vms: &[Vm],
        readings: &Readings,
        records: &PressureRecords,
        state: PressureState,
        signal: Signal,
        now: i64,
        with_backoff: bool,
    ) -> PressureView {
        let s = &self.settings.pressure;
        let facts: Vec<VmPressureFacts> = vms
            .iter()
            .map(|v| {
                let meta = v.meta.as_ref().ok();
                let backing_off = with_backoff
                    && self
                        .pm
                        .backoff
                        .get(&v.uuid)
                        .is_some_and(|t| now.saturating_sub(*t) < BACKOFF_SECONDS);
                let disk = records
                    .disk_full
                    .get(&v.uuid)
                    .filter(|d| d.running_since.is_none())
                    .map(|d| DiskFull {
                        target: d.target.clone(),
                        room_again: readings
                            .space
                            .get(&v.uuid)
                            .and_then(|m| m.get(&d.target))
                            .is_some_and(|sp| signal::has_room(sp.free_bytes, sp.total_bytes, s)),
                    });
                VmPressureFacts {
                    uuid: v.uuid.clone(),
                    name: v.snapshot.vm_name.clone(),
                    managed: has_vmlife_element(v),
                    mode: meta.map_or(PersistenceMode::Permanent, |m| m.persistence.mode),
                    memory_kib: v
                        .details
                        .as_ref()
                        .and_then(|d| d.memory_kib)
                        .or(v.snapshot.memory_usage_mb.map(|mb| mb.saturating_mul(1024)))
                        .unwrap_or(0),
                    run: run_state(v),
                    policy_valid: meta.is_some() && !backing_off,
                    on_memory_pressure: meta.and_then(|m| m.policy.on_memory_pressure),
                    on_disk_full: meta.and_then(|m| m.policy.on_disk_full),
                    paused_by: records.paused.get(&v.uuid).map(|p| PausedBy {
                        cause: p.cause,
                        at: p.at,
                        seq: p.seq,
                    }),
                    disk_full: disk,
                }
            })
            .collect();
        let input = PressureInput {
            vms: &facts,
            host_on_memory_pressure: self.settings.on_memory_pressure,
            host_on_disk_full: self.settings.on_disk_full,
            manage_all_vms: self.settings.manage_all_vms,
            state,
            signal: &signal,
            last_memory_step_at: records.last_memory_step_at,
            settings: s,
            now,
            dry_run: self.settings.cleanup.dry_run_mode,
        };
        let plan = plan(&input);
        let disk_full = records
            .disk_full
            .values()
            .filter(|d| d.running_since.is_none())
            .map(|d| (d.vm_name.clone(), d.target.clone()))
            .collect();
        PressureView {
            state,
            signal,
            plan,
            disk_full,
        }
    }

    /// One snapshot's pressure step (see the module docs).
    pub(super) fn pressure_step(&mut self, vms: &[Vm], now: DateTime<Utc>, out: &mut Vec<Planned>) {
        let readings = self.pm.readings.take().unwrap_or_default();
        let now_s = now.timestamp();
        let full = self.full_disks(vms, &readings, now);
        let signal = self.judge(&readings);
        let s = self.settings.pressure.clone();
        let by_uuid: BTreeMap<&str, &Vm> = vms.iter().map(|v| (v.uuid.as_str(), v)).collect();
        let updated = self.store.update(|d| {
            let p = &mut d.engine.pressure;
            p.state = p.state.next(&signal, now_s, &s);
            let mut opened = Vec::new();
            for (uuid, name, target) in full {
                match p.disk_full.get_mut(&uuid) {
                    Some(rec) => {
                        // Full again within the episode: no new alert.
                        rec.running_since = None;
                        rec.target = target;
                    }
                    None => {
                        opened.push((uuid.clone(), name.clone(), target.clone()));
                        p.disk_full.insert(
                            uuid,
                            DiskFullRecord {
                                vm_name: name,
                                target,
                                since: now_s,
                                was_paused: false,
                                running_since: None,
                            },
                        );
                    }
                }
            }
            forget_settled(p, &by_uuid, now_s, s.clear_seconds);
            opened
        });
        let opened = match updated {
            Ok((opened, data)) => {
                self.data = data;
                opened
            }
            Err(e) => {
                self.fail(format!("recording the pressure state: {e}"));
                Vec::new()
            }
        };
        for (uuid, name, target) in opened {
            let what = self
                .data
                .engine
                .pressure
                .disk_full
                .get(&uuid)
                .map(|_| self.disk_policy_text(by_uuid.get(uuid.as_str()).copied()));
            let error = format!("no space left on {target}{}", what.unwrap_or_default());
            self.raise_alert(&name, &uuid, "disk_full", &error, now);
        }
        let records = self.data.engine.pressure.clone();
        let state = records.state;
        let view = self.view_for(vms, &readings, &records, state, signal, now_s, true);
        if let Some(r) = view.plan.next.clone() {
            self.submit_reaction(&r, now, out);
        }
        self.pm.last = Some(view);
    }

    fn disk_policy_text(&self, v: Option<&Vm>) -> String {
        let own = v
            .and_then(|v| v.meta.as_ref().ok())
            .and_then(|m| m.policy.on_disk_full);
        let what = own.unwrap_or(self.settings.on_disk_full);
        format!("; on_disk_full = {what}")
    }

    /// The disks found full this poll: (VM, name, target), from the events since the
    /// last poll and the disk errors of VMs paused for an I/O error.
    fn full_disks(
        &mut self,
        vms: &[Vm],
        readings: &Readings,
        now: DateTime<Utc>,
    ) -> Vec<(Uuid, String, String)> {
        let mut full: Vec<(Uuid, String, String)> = Vec::new();
        for ev in std::mem::take(&mut self.pm.io) {
            let vm = vms.iter().find(|v| v.uuid == ev.uuid);
            let target = vm
                .and_then(|v| v.details.as_ref())
                .and_then(|d| {
                    d.disks
                        .iter()
                        .find(|k| !ev.path.is_empty() && k.source.as_deref() == Some(&ev.path))
                })
                .map(|k| k.target.clone())
                .unwrap_or_else(|| ev.device.clone());
            if ev.reason == "enospc" {
                // An error reported for a VM this snapshot shows shut off (or gone) came
                // before it stopped (libvirt delivers a burst of them, late when the host
                // is busy): it belongs to the episode the stop ended, not a new one.
                if vm.is_none_or(|v| run_state(v) == RunState::ShutOff) {
                    continue;
                }
                full.push((ev.uuid, ev.name, target));
            } else if self
                .pm
                .other_errors
                .insert((ev.uuid.clone(), ev.reason.clone()))
            {
                let error = format!("I/O error on {target}: {}", ev.reason);
                self.raise_alert(&ev.name, &ev.uuid, "disk_error", &error, now);
            }
        }
        for v in vms {
            if let Some(t) = readings.no_space(&v.uuid) {
                if !full.iter().any(|(u, _, _)| *u == v.uuid) {
                    full.push((v.uuid.clone(), v.snapshot.vm_name.clone(), t.to_string()));
                }
            }
        }
        full
    }

    fn submit_reaction(
        &mut self,
        r: &crate::lifecycle::pressure::Reaction,
        now: DateTime<Utc>,
        out: &mut Vec<Planned>,
    ) {
        if self.pm.busy.contains(&r.vm_id) {
            return;
        }
        let cmd = r.command_even_in_dry_run();
        if r.dry_run {
            let key = (r.vm_id.clone(), r.action, r.cause);
            if self.pm.last_dry.as_ref() == Some(&key) {
                return;
            }
            self.pm.last_dry = Some(key);
            out.push(Planned {
                cmd,
                actor: Actor::Engine,
                dry_run: true,
            });
            return;
        }
        tracing::info!("{} {}: {}", r.action.as_str(), r.vm_name, cmd.reason);
        if r.cause == Cause::MemoryPressure {
            let now_s = now.timestamp();
            match self
                .store
                .update(|d| d.engine.pressure.last_memory_step_at = Some(now_s))
            {
                Ok(((), data)) => self.data = data,
                Err(e) => {
                    // Without the settle time on record, steps could follow too fast.
                    self.fail(format!("recording the pressure step: {e}"));
                    return;
                }
            }
        }
        if r.action == ReactionKind::Kill {
            // Its stop is vmlife's: the restart policy leaves it stopped, also when a
            // poll sees it stopped before the result comes back.
            self.note_stop_request(&r.vm_id, now);
        }
        self.pm.busy.insert(r.vm_id.clone());
        out.push(Planned {
            cmd,
            actor: Actor::Engine,
            dry_run: false,
        });
    }

    /// An [`crate::lifecycle::Op::Pressure`] result: record the pause (or its end).
    pub(super) fn pressure_result(
        &mut self,
        r: &ExecResult,
        action: ReactionKind,
        cause: Cause,
        now: DateTime<Utc>,
    ) {
        let uuid = r.cmd.vm_id.clone();
        let name = r.cmd.vm_name.clone();
        if matches!(r.outcome, Outcome::DryRun(_)) {
            return;
        }
        self.pm.busy.remove(&uuid);
        let now_s = now.timestamp();
        match &r.outcome {
            Outcome::Ok(_) => {
                tracing::info!("pressure: {r}");
                let u = uuid.clone();
                let result = self.store.update(move |d| {
                    let p = &mut d.engine.pressure;
                    match action {
                        ReactionKind::Suspend => {
                            let seq = p.paused.values().map(|r| r.seq).max().unwrap_or(0) + 1;
                            p.paused.insert(
                                u,
                                PausedRecord {
                                    vm_name: name,
                                    cause,
                                    at: now_s,
                                    seq,
                                },
                            );
                        }
                        ReactionKind::Resume => {
                            p.paused.remove(&u);
                            if let Some(rec) = p.disk_full.get_mut(&u) {
                                rec.running_since = Some(now_s);
                                rec.was_paused = false;
                            }
                        }
                        ReactionKind::Kill => {
                            p.paused.remove(&u);
                            p.disk_full.remove(&u);
                        }
                    }
                });
                match result {
                    Ok(((), data)) => self.data = data,
                    Err(e) => self.fail(format!("recording the pressure reaction: {e}")),
                }
                if action == ReactionKind::Kill {
                    self.note_stop_request(&uuid, now);
                }
            }
            Outcome::Failed(e) => {
                self.pm.backoff.insert(uuid.clone(), now_s);
                let error = format!("{} for {cause} failed: {e}", action.as_str());
                self.raise_alert(&r.cmd.vm_name, &uuid, "pressure", &error, now);
            }
            Outcome::Refused(why) => {
                self.pm.backoff.insert(uuid, now_s);
                tracing::warn!("pressure: {} {} refused: {why}", action.as_str(), name);
            }
            Outcome::DryRun(_) => {}
        }
    }
}

/// Drops what no longer holds: records of VMs gone or shut off, memory pauses of VMs a
/// person resumed once pressure is over, disk-full episodes after `clear_seconds` of
/// running again.
fn forget_settled(p: &mut PressureRecords, vms: &BTreeMap<&str, &Vm>, now: i64, clear: i64) {
    let fine = !p.state.is_pressure();
    let mut resumed = Vec::new();
    p.paused.retain(|u, rec| {
        let Some(v) = vms.get(u.as_str()) else {
            return false;
        };
        match run_state(v) {
            RunState::Paused | RunState::Other => true,
            RunState::ShutOff => false,
            RunState::Running => {
                if rec.cause == Cause::DiskFull {
                    resumed.push(u.clone());
                    false
                } else {
                    !fine
                }
            }
        }
    });
    p.disk_full.retain(|u, rec| {
        let Some(v) = vms.get(u.as_str()) else {
            return false;
        };
        match run_state(v) {
            RunState::ShutOff => false,
            RunState::Paused => {
                if rec.running_since.is_none() {
                    rec.was_paused = true;
                }
                true
            }
            RunState::Running => {
                if rec.was_paused || resumed.contains(u) {
                    rec.running_since.get_or_insert(now);
                    rec.was_paused = false;
                }
                rec.running_since
                    .is_none_or(|t| now.saturating_sub(t) < clear.max(60))
            }
            RunState::Other => true,
        }
    });
}
