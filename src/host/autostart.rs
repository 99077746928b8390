//! `vmlife autostart`: the ordered start, with IO.
//!
//! [`prepare`] selects the VMs and plans the order (the pure
//! [`crate::lifecycle::autostart`]); [`Prepared::describe`] is what a dry run prints
//! and what a confirmation popup lists; [`run_sequence`] drives the
//! [`Sequence`] state machine: starts go through the executor (journaled, after a
//! re-check that the VM is not already running), SSH probes run on worker threads, and
//! every change of a step's state is handed to the progress callback as a [`Progress`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Duration;

use crate::executor::precondition::state_of;
use crate::executor::Outcome;
use crate::hypervisor::RunState;
use crate::lifecycle::autostart::{
    self, AutostartPlan, Progress, SeqAction, SeqEvent, Sequence, StepState,
};
use crate::lifecycle::Op;
use crate::poll::Vm;

use super::probe::{ProbeResult, SshProbe};
use super::{libvirt_autostart_warnings, libvirt_guests_warning, HostCtx, RunControl};
use crate::model::Uuid;

/// How long the runner waits at most between two looks at the sequence.
const TICK: Duration = Duration::from_millis(250);

/// A planned ordered start, with what a person should know before it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    /// The plan; the VMs it holds back (a cycle, a missing dependency, an invalid
    /// policy) are its last steps ([`AutostartPlan::held_back`]).
    pub plan: AutostartPlan,
    /// VMs left out, and why (an invalid policy nothing in the start needs).
    pub notes: Vec<String>,
    /// Others that would act on the same VMs (libvirt's autostart flag,
    /// libvirt-guests).
    pub warnings: Vec<String>,
}

/// Selects the VMs of an ordered start among `views` (restricted to `only`, names or
/// UUIDs) and plans their order. `holds` (by UUID) keeps members from being started,
/// with the reason their dependants will show (host boot's `keep_stopped`).
pub fn prepare(
    ctx: &HostCtx,
    views: &[Vm],
    only: Option<&BTreeSet<String>>,
    holds: &BTreeMap<Uuid, String>,
) -> Prepared {
    let facts: Vec<_> = views.iter().map(Vm::facts).collect();
    let mut selection = autostart::select(&facts, only);
    for c in &mut selection.candidates {
        if let Some(why) = holds.get(&c.uuid) {
            if !c.external {
                c.hold = Some(why.clone());
            }
        }
    }
    let members: BTreeSet<&str> = selection
        .candidates
        .iter()
        .filter(|c| !c.external)
        .map(|c| c.uuid.as_str())
        .collect();
    let mut warnings =
        libvirt_autostart_warnings(views.iter().filter(|v| members.contains(v.uuid.as_str())));
    warnings.extend(libvirt_guests_warning(&ctx.uri));
    Prepared {
        plan: autostart::plan(selection.candidates),
        notes: selection.notes,
        warnings,
    }
}

impl Prepared {
    /// What will happen, one line per VM in order (the held-back VMs last, with why),
    /// with where SSH is probed: for a dry run and a confirmation popup.
    pub fn describe(&self, probe: &dyn SshProbe) -> Vec<String> {
        self.plan
            .describe()
            .into_iter()
            .zip(&self.plan.steps)
            .map(|(line, s)| {
                let c = &s.candidate;
                if c.config.wait_for_ssh && c.hold.is_none() && c.held_back.is_none() && !c.external
                {
                    format!("{line} (SSH probe: {})", probe.describe_target(&c.name))
                } else {
                    line
                }
            })
            .collect()
    }

    /// One line per held-back VM: `app-1: held back: depends on db-1, which is held
    /// back: in a dependency cycle: db-1 → db-1`.
    pub fn held_back_lines(&self) -> Vec<String> {
        self.plan
            .held_back()
            .into_iter()
            .map(|(name, why)| format!("{name}: held back: {why}"))
            .collect()
    }
}

/// Runs the ordered start of `plan` until every VM is up, failed or skipped, calling
/// `on_progress` at the start, after every change of a step's state, and at the end.
/// Returns the final progress. Blocks; the dashboard calls it on a blocking thread.
///
/// `reason` goes into each start's journal entry (`ordered autostart`, `host boot`).
pub fn run_sequence(
    ctx: &HostCtx,
    plan: AutostartPlan,
    reason: &str,
    control: &RunControl,
    on_progress: &mut dyn FnMut(&Progress),
) -> Progress {
    let settings = ctx.settings.autostart.sequence();
    let mut seq = Sequence::new(plan, settings, ctx.clock.now());
    let (tx, rx) = mpsc::channel::<(usize, SeqEvent)>();
    let mut in_flight = 0usize;
    let mut last: Option<Vec<StepState>> = None;
    let mut cancelled = false;
    std::thread::scope(|scope| loop {
        let now = ctx.clock.now();
        if !cancelled && control.is_cancelled() {
            cancelled = true;
            seq.halt("cancelled");
        }
        let actions = seq.advance(now);
        for action in actions {
            in_flight += 1;
            let tx = tx.clone();
            let (step, uuid, name) = {
                let i = match action {
                    SeqAction::Start { step, .. } | SeqAction::Probe { step } => step,
                };
                let c = &seq.plan().steps[i].candidate;
                (i, c.uuid.clone(), c.name.clone())
            };
            let reason = reason.to_string();
            scope.spawn(move || {
                let event = match action {
                    SeqAction::Start { .. } => start(ctx, &uuid, &name, &reason),
                    SeqAction::Probe { .. } => match ctx.probe.probe(&uuid, &name) {
                        ProbeResult::Up { target } => SeqEvent::SshUp { target },
                        ProbeResult::NotYet { target, why } => SeqEvent::SshNotYet { target, why },
                    },
                };
                // The loop outlives every worker (the scope joins them), so the
                // receiver is there.
                drop(tx.send((step, event)));
            });
        }
        if last.as_deref() != Some(seq.states()) {
            last = Some(seq.states().to_vec());
            on_progress(&seq.progress(now));
        }
        if seq.is_done() && in_flight == 0 {
            return seq.progress(ctx.clock.now());
        }
        let wake = seq.next_wakeup();
        let wait = wake
            .map(|w| (w - now).to_std().unwrap_or(Duration::ZERO))
            .unwrap_or(TICK)
            .min(TICK);
        if in_flight > 0 {
            if let Ok((step, event)) = rx.recv_timeout(wait) {
                in_flight -= 1;
                seq.on_event(step, event, ctx.clock.now());
            }
        } else if wake.is_some() {
            ctx.clock.sleep(wait);
        } else if !seq.is_done() {
            // Nothing in flight and nothing due: only a halt can move it on.
            seq.halt("internal error: the sequence is stuck");
        }
        while let Ok((step, event)) = rx.try_recv() {
            in_flight -= 1;
            seq.on_event(step, event, ctx.clock.now());
        }
    })
}

/// One start: re-check that the VM is not running (it may have been started since the
/// plan: by libvirt's autostart, a person, a restore), then start it through the
/// executor.
fn start(ctx: &HostCtx, uuid: &str, name: &str, reason: &str) -> SeqEvent {
    match state_of(&*ctx.hv, uuid) {
        Ok(Some(d)) if d.state.is_some_and(RunState::is_active) => return SeqEvent::AlreadyRunning,
        Ok(Some(_)) => {}
        Ok(None) => return SeqEvent::StartFailed(format!("domain {name} no longer exists")),
        Err(e) => return SeqEvent::StartFailed(format!("cannot read its state: {e}")),
    }
    let r = ctx.run(uuid, name, Op::Start, reason);
    match r.outcome {
        Outcome::Ok(_) => SeqEvent::Started,
        Outcome::Failed(e) | Outcome::Refused(e) => SeqEvent::StartFailed(one_line(&e)),
        Outcome::DryRun(_) => SeqEvent::Started,
    }
}

/// libvirt's messages sometimes span lines (QEMU's stderr); keep them on one.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A key that changes when a step moves on, but not with every probe: what the CLI
/// prints a line for.
pub fn state_key(s: &StepState) -> String {
    match s {
        StepState::Waiting { on } => format!("waiting {on:?}"),
        StepState::Delay { .. } => "delay".into(),
        StepState::Starting { attempt, .. } => format!("starting {attempt}"),
        StepState::RetryWait { next_attempt, .. } => format!("retry {next_attempt}"),
        StepState::WaitingForSsh { target, .. } => format!("ssh {target:?}"),
        StepState::Up { .. } => "up".into(),
        StepState::Failed { .. } => "failed".into(),
        StepState::Skipped { .. } => "skipped".into(),
    }
}
