//! `vmlife host-shutdown`: each VM's `on_host_shutdown`, in reverse start order. The
//! plan and the progress data are pure, in [`crate::lifecycle::host_shutdown`]; this
//! module reads the VMs, writes the records and carries the plan out.
//!
//! - **Policy.** The VM's `on_host_shutdown` (metadata) over the host default
//!   (`[policy]`). A VM whose metadata is invalid gets the host default: the host is
//!   going down either way, and a graceful shutdown is the default that loses least.
//! - **Order.** VMs outside the ordered start first (by name), then the autostart set in
//!   reverse start order; a VM is stopped only once every running VM that depends on it
//!   is done. At most `[host] parallel` VMs are handled at once. (When the autostart
//!   order has an error, such as a cycle, there is no dependency order: noted.)
//! - **Actions** (all through the executor, journaled): `shutdown` asks the guest (a
//!   paused guest is resumed first, or it could not answer) and waits up to `[host]
//!   shutdown_timeout_seconds`; a guest still running then is destroyed, or left
//!   running with `after_timeout = "leave"`; a guest that cannot be asked (no ACPI)
//!   gets the same at once. `save_state` is a managed save; if it fails (a transient
//!   domain, a device that cannot migrate) the VM is shut down as above instead.
//!   `destroy` is a hard power-off.
//! - **Records.** Before anything is touched, a [`RecoveryRecord`] per VM (running,
//!   paused or stopped; the domain's inactive XML as the config snapshot) is written to
//!   `recovery.json`; each VM's result, and for a saved one the image's path (when the
//!   directory is known) and size, are added as it finishes.

use std::collections::BTreeSet;
use std::sync::mpsc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::executor::precondition::state_of;
use crate::executor::SHUTDOWN_POLL_INTERVAL;
use crate::hypervisor::RunState;
use crate::lifecycle::host_shutdown::{self as pure, progress, ShutdownVm};
use crate::lifecycle::Op;
use crate::model::{HostShutdownAction, RecoveryVmState, VmRecoveryState};
use crate::poll::Vm;

pub use crate::lifecycle::host_shutdown::{
    to_act_on, ShutdownPlan, ShutdownProgress, ShutdownStep, StopProgress, StopState,
};

use super::boot::read_boot_id;
use super::config::{AfterTimeout, HostConfig};
use super::recovery_file::{self, RecoveryFile, RecoveryRecord, VERSION};
use super::{libvirt_guests_warning, HostCtx, RunControl};

/// Plans the host shutdown of the VMs in `views` (every VM, for the dependency order),
/// restricted to `only` (names or UUIDs) when given: [`pure::plan`] with the host's
/// default policy and its warnings.
pub fn plan_shutdown(ctx: &HostCtx, views: &[Vm], only: Option<&BTreeSet<String>>) -> ShutdownPlan {
    let vms: Vec<ShutdownVm> = views
        .iter()
        .map(|v| ShutdownVm {
            facts: v.facts(),
            state: recovery_state(v.state),
            persistent: v.persistent,
            memory_mb: v
                .details
                .as_ref()
                .and_then(|d| d.memory_kib)
                .map(|k| k / 1024),
        })
        .collect();
    let mut plan = pure::plan(&vms, &ctx.settings.policy, only);
    plan.warnings.extend(libvirt_guests_warning(&ctx.uri));
    plan
}

fn recovery_state(state: Option<RunState>) -> RecoveryVmState {
    match state {
        Some(RunState::Paused | RunState::PmSuspended) => RecoveryVmState::Paused,
        Some(s) if s.is_active() => RecoveryVmState::Running,
        _ => RecoveryVmState::Stopped,
    }
}

impl ShutdownPlan {
    /// What will happen, one line per VM in order: for a dry run and a confirmation
    /// popup.
    pub fn describe(&self, host: &HostConfig) -> Vec<String> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut line = format!("{}. {} ({}): ", i + 1, s.name, s.state);
                if !s.after.is_empty() {
                    let after: Vec<&str> = s
                        .after
                        .iter()
                        .map(|&k| self.steps[k].name.as_str())
                        .collect();
                    line.push_str(&format!("after {}: ", after.join(", ")));
                }
                line.push_str(&match (s.state, s.action) {
                    (RecoveryVmState::Stopped, _) => "nothing to do (recorded as stopped)".into(),
                    (_, HostShutdownAction::Destroy) => "destroy (hard power-off)".into(),
                    (_, HostShutdownAction::SaveState) => {
                        "managed save (memory to disk; the next start resumes it)".into()
                    }
                    (state, HostShutdownAction::Shutdown) => {
                        let resume = if state == RecoveryVmState::Paused {
                            "resume, then "
                        } else {
                            ""
                        };
                        format!(
                            "{resume}graceful shutdown (ACPI), up to {} s, then {}",
                            host.shutdown_timeout_seconds,
                            match host.after_timeout {
                                AfterTimeout::Destroy => "destroy",
                                AfterTimeout::Leave => "leave it running",
                            }
                        )
                    }
                });
                if let Some(n) = &s.note {
                    line.push_str(&format!(" [{n}]"));
                }
                line
            })
            .collect()
    }
}

/// How a host shutdown ended.
#[derive(Debug, Clone, PartialEq)]
pub struct ShutdownReport {
    /// The progress at the end.
    pub progress: ShutdownProgress,
    /// The recovery file as written last.
    pub records: RecoveryFile,
    /// Writing `recovery.json` failed (the VMs were still handled).
    pub record_error: Option<String>,
}

impl ShutdownReport {
    /// Steps that failed.
    pub fn failed(&self) -> usize {
        self.progress
            .steps
            .iter()
            .filter(|s| matches!(s.state, StopState::Failed { .. }))
            .count()
    }
}

enum Msg {
    State(usize, StopState),
    Finished(usize, StopState, bool),
}

/// Runs the host shutdown of `plan`: records first, then every VM's action. Calls
/// `on_progress` after every change. Blocks until every VM is done.
pub fn run_shutdown(
    ctx: &HostCtx,
    plan: &ShutdownPlan,
    control: &RunControl,
    on_progress: &mut dyn FnMut(&ShutdownProgress),
) -> ShutdownReport {
    let started = ctx.clock.now();
    let boot_id = read_boot_id(std::path::Path::new(super::boot::BOOT_ID_SOURCE));
    let n = plan.steps.len();
    let parallel = usize::try_from(ctx.settings.host.parallel.max(1)).unwrap_or(1);
    let mut states: Vec<StopState> = plan
        .steps
        .iter()
        .map(|s| match s.state {
            RecoveryVmState::Stopped => StopState::Done {
                result: "was not running".into(),
            },
            _ => StopState::Waiting {
                on: s
                    .after
                    .iter()
                    .map(|&k| plan.steps[k].name.clone())
                    .collect(),
            },
        })
        .collect();
    let mut records: Vec<RecoveryRecord> =
        plan.steps.iter().map(|s| record(ctx, s, started)).collect();
    for (r, st) in records.iter_mut().zip(&states) {
        if let StopState::Done { result } = st {
            r.shutdown_result = Some(result.clone());
        }
    }
    let previous = RecoveryFile::load(&ctx.state_dir).ok().flatten();
    merge_same_boot(&mut records, previous, boot_id.as_deref());
    let mut file = RecoveryFile {
        version: VERSION,
        boot_id,
        recorded_at: started,
        records,
    };
    let mut record_error = file.save(&ctx.state_dir).err();
    let (tx, rx) = mpsc::channel::<Msg>();
    let mut busy = 0usize;
    // Steps handed to a worker (their state changes when the worker says so).
    let mut spawned = vec![false; n];
    let mut changed = true;
    std::thread::scope(|scope| loop {
        let cancelled = control.is_cancelled();
        for i in 0..n {
            let StopState::Waiting { on } = &states[i] else {
                continue;
            };
            if spawned[i] {
                continue;
            }
            if cancelled {
                states[i] = StopState::Skipped {
                    why: "cancelled".into(),
                };
                changed = true;
                continue;
            }
            let pending: Vec<String> = plan.steps[i]
                .after
                .iter()
                .filter(|&&k| !states[k].is_terminal())
                .map(|&k| plan.steps[k].name.clone())
                .collect();
            if !pending.is_empty() || busy >= parallel {
                if &pending != on {
                    states[i] = StopState::Waiting { on: pending };
                    changed = true;
                }
                continue;
            }
            busy += 1;
            spawned[i] = true;
            let tx = tx.clone();
            let step = &plan.steps[i];
            scope.spawn(move || {
                let send = |s: StopState| drop(tx.send(Msg::State(i, s)));
                let (end, saved) = stop_vm(ctx, step, &send);
                drop(tx.send(Msg::Finished(i, end, saved)));
            });
        }
        if changed {
            changed = false;
            on_progress(&progress(plan, &states, ctx.clock.now()));
        }
        if busy == 0 && states.iter().all(StopState::is_terminal) {
            return;
        }
        let mut handle = |m: Msg| match m {
            Msg::State(i, s) => {
                states[i] = s;
                changed = true;
            }
            Msg::Finished(i, s, saved) => {
                busy -= 1;
                let now = ctx.clock.now();
                let r = &mut file.records[i];
                r.shutdown_result = Some(s.describe(now));
                r.state.last_checkpoint = now;
                if saved {
                    let path = recovery_file::managed_save_path(
                        &ctx.uri,
                        ctx.settings.host.managed_save_dir.as_deref(),
                        &plan.steps[i].name,
                    );
                    let (snapshot, size) =
                        recovery_file::memory_snapshot(path.as_deref(), plan.steps[i].memory_mb);
                    r.state.memory_snapshot = snapshot;
                    r.state.memory_size_mb = size;
                }
                if let Err(e) = file.save(&ctx.state_dir) {
                    record_error = Some(e);
                }
                states[i] = s;
                changed = true;
            }
        };
        if let Ok(m) = rx.recv_timeout(Duration::from_millis(250)) {
            handle(m);
        }
        while let Ok(m) = rx.try_recv() {
            handle(m);
        }
    });
    ShutdownReport {
        progress: progress(plan, &states, ctx.clock.now()),
        records: file,
        record_error,
    }
}

/// A second host shutdown in the same boot (a person ran it before rebooting, then the
/// service did) must not lose the first one's records: a VM recorded running or paused
/// earlier and not restored since, that is stopped now (the first run stopped it), keeps
/// its earlier record; records of VMs outside this run are kept too. `records` holds
/// this run's records, one per step, in step order; kept extra records go after them.
fn merge_same_boot(
    records: &mut Vec<RecoveryRecord>,
    previous: Option<RecoveryFile>,
    boot_id: Option<&str>,
) {
    let Some(old) = previous else { return };
    if boot_id.is_none() || old.boot_id.as_deref() != boot_id {
        return;
    }
    for o in old.records.into_iter().filter(|o| o.restored_at.is_none()) {
        match records.iter().position(|r| r.state.vm_id == o.state.vm_id) {
            Some(i) => {
                let now_stopped =
                    records[i].state.state_before_shutdown == RecoveryVmState::Stopped;
                if now_stopped && o.state.state_before_shutdown != RecoveryVmState::Stopped {
                    records[i] = o;
                }
            }
            None => records.push(o),
        }
    }
}

/// The record of `s` before anything is done to it.
fn record(ctx: &HostCtx, s: &ShutdownStep, now: DateTime<Utc>) -> RecoveryRecord {
    let xml = ctx
        .hv
        .domain_xml(&s.uuid)
        .map(serde_json::Value::String)
        .unwrap_or(serde_json::Value::Null);
    RecoveryRecord {
        state: VmRecoveryState {
            vm_name: s.name.clone(),
            vm_id: s.uuid.clone(),
            state_before_shutdown: s.state,
            creation_timestamp: now,
            last_checkpoint: now,
            memory_snapshot: None,
            memory_size_mb: None,
            config_snapshot: xml,
        },
        on_host_shutdown: s.action,
        shutdown_result: None,
        restored_at: None,
        restore_result: None,
    }
}

/// Carries out one VM's action; returns its final state and whether it was saved.
fn stop_vm(ctx: &HostCtx, s: &ShutdownStep, send: &dyn Fn(StopState)) -> (StopState, bool) {
    // It may have stopped since the plan (a person, the guest itself).
    if let Ok(Some(d)) = state_of(&*ctx.hv, &s.uuid) {
        if !d.state.is_some_and(RunState::is_active) {
            return (
                StopState::Done {
                    result: "was no longer running".into(),
                },
                false,
            );
        }
    }
    let reason = format!("host shutdown: on_host_shutdown = {}", s.action);
    match s.action {
        HostShutdownAction::Destroy => {
            send(StopState::Destroying);
            let r = ctx.run(&s.uuid, &s.name, Op::Destroy, &reason);
            match r.outcome.is_ok() {
                true => (done("destroyed"), false),
                false => (failed(&r.to_string()), false),
            }
        }
        HostShutdownAction::SaveState => {
            send(StopState::Saving {
                since: ctx.clock.now(),
            });
            let r = ctx.run(&s.uuid, &s.name, Op::ManagedSave, &reason);
            if r.outcome.is_ok() {
                return (done("saved (managed save)"), true);
            }
            let why = format!("managed save failed ({}); ", outcome_text(&r.outcome));
            (graceful(ctx, s, send, &why), false)
        }
        HostShutdownAction::Shutdown => (graceful(ctx, s, send, ""), false),
    }
}

fn done(result: &str) -> StopState {
    StopState::Done {
        result: result.to_string(),
    }
}

fn failed(why: &str) -> StopState {
    StopState::Failed {
        why: why.to_string(),
    }
}

fn outcome_text(o: &crate::executor::Outcome) -> String {
    use crate::executor::Outcome;
    match o {
        Outcome::Ok(m) | Outcome::DryRun(m) => m.clone(),
        Outcome::Failed(e) | Outcome::Refused(e) => {
            e.split_whitespace().collect::<Vec<_>>().join(" ")
        }
    }
}

/// The graceful path: resume a paused guest, ask it to shut down, wait; then
/// `after_timeout`. `prefix` says why this path was taken, when it was a fallback.
fn graceful(ctx: &HostCtx, s: &ShutdownStep, send: &dyn Fn(StopState), prefix: &str) -> StopState {
    let host = &ctx.settings.host;
    let reason = format!("host shutdown: on_host_shutdown = {}", s.action);
    let mut notes = prefix.to_string();
    if s.state == RecoveryVmState::Paused {
        send(StopState::Resuming);
        let r = ctx.run(
            &s.uuid,
            &s.name,
            Op::Resume,
            "host shutdown: resume so the guest can shut down",
        );
        if !r.outcome.is_ok() {
            notes.push_str(&format!("resume failed ({}); ", outcome_text(&r.outcome)));
        }
    }
    send(StopState::ShuttingDown {
        since: ctx.clock.now(),
        timeout_seconds: host.shutdown_timeout_seconds,
    });
    let r = ctx.run(&s.uuid, &s.name, Op::Shutdown, &reason);
    let why = if r.outcome.is_ok() {
        match wait_stopped(ctx, &s.uuid, host.shutdown_timeout_seconds) {
            Waited::Stopped(secs) => {
                return done(&format!("{notes}shut down after {secs} s"));
            }
            Waited::Gone => return done(&format!("{notes}shut down (the domain is gone)")),
            Waited::StillRunning => {
                format!("still running after {} s", host.shutdown_timeout_seconds)
            }
        }
    } else {
        format!(
            "could not ask it to shut down ({})",
            outcome_text(&r.outcome)
        )
    };
    match host.after_timeout {
        AfterTimeout::Leave => StopState::Left {
            result: format!("{notes}left running: {why} (after_timeout = leave)"),
        },
        AfterTimeout::Destroy => {
            send(StopState::Destroying);
            let r = ctx.run(
                &s.uuid,
                &s.name,
                Op::Destroy,
                format!("host shutdown: {why}; after_timeout = destroy"),
            );
            if r.outcome.is_ok() {
                done(&format!("{notes}destroyed: {why}"))
            } else {
                failed(&format!(
                    "{notes}{why}; destroy failed: {}",
                    outcome_text(&r.outcome)
                ))
            }
        }
    }
}

enum Waited {
    Stopped(u64),
    Gone,
    StillRunning,
}

/// Polls the VM's state until it is shut off, gone, or `timeout` seconds passed.
fn wait_stopped(ctx: &HostCtx, uuid: &str, timeout: u64) -> Waited {
    let t0 = ctx.clock.monotonic();
    let limit = Duration::from_secs(timeout);
    loop {
        let elapsed = ctx.clock.monotonic().saturating_sub(t0);
        match state_of(&*ctx.hv, uuid) {
            Ok(Some(d)) if !d.state.is_some_and(RunState::is_active) => {
                return Waited::Stopped(elapsed.as_secs())
            }
            Ok(None) => return Waited::Gone,
            // Running, or the state could not be read: keep waiting until the limit.
            _ => {}
        }
        if elapsed >= limit {
            return Waited::StillRunning;
        }
        ctx.clock.sleep(SHUTDOWN_POLL_INTERVAL.min(limit - elapsed));
    }
}
