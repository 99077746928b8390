//! The step state machine of an ordered start, driven by an IO runner with `now` passed in.

use chrono::{DateTime, Duration, Utc};

use super::{AutostartPlan, Progress, StepProgress, StepState, UpHow};
use crate::lifecycle::ttl::later;
use crate::model::{StartFailureAction, VmAutoStartConfig};

/// How the sequence runs: limits and cadence (from the `[autostart]` config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SequenceSettings {
    /// VMs between "dependencies up" and "up" (delay, starting, retry wait, SSH wait) at
    /// once; at least 1.
    pub max_parallel: usize,
    /// Milliseconds between a failed start and its retry.
    pub retry_delay_ms: i64,
    /// Milliseconds between SSH probes of one VM.
    pub probe_interval_ms: i64,
}

impl Default for SequenceSettings {
    fn default() -> Self {
        SequenceSettings {
            max_parallel: 4,
            retry_delay_ms: 10_000,
            probe_interval_ms: 2_000,
        }
    }
}

/// What the runner must do for the sequence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqAction {
    /// Start step `step` (re-check that it is not running first).
    Start { step: usize, attempt: u32 },
    /// Probe step `step`'s SSH port once.
    Probe { step: usize },
}

/// What the runner reports back for a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SeqEvent {
    /// The start succeeded.
    Started,
    /// It was running already; nothing was started.
    AlreadyRunning,
    /// The start failed; the error.
    StartFailed(String),
    /// The SSH port answered at `target`.
    SshUp { target: String },
    /// Not yet: the address probed (if one was known) and what happened.
    SshNotYet { target: Option<String>, why: String },
}

/// Per-step bookkeeping the state does not show.
#[derive(Debug, Clone, Default)]
struct Track {
    next_probe_at: Option<DateTime<Utc>>,
    probing: bool,
}

/// The running state machine of one ordered start.
#[derive(Debug, Clone)]
pub struct Sequence {
    plan: AutostartPlan,
    settings: SequenceSettings,
    states: Vec<StepState>,
    track: Vec<Track>,
    halted: Option<String>,
}

impl Sequence {
    /// The sequence at its start: held VMs and stopped externals skipped, running
    /// externals up, everything else waiting.
    pub fn new(plan: AutostartPlan, settings: SequenceSettings, now: DateTime<Utc>) -> Sequence {
        let states = plan
            .steps
            .iter()
            .map(|s| {
                let c = &s.candidate;
                match (&c.hold, c.external) {
                    _ if c.held_back.is_some() => StepState::Skipped {
                        why: format!("held back: {}", c.held_back.as_deref().unwrap_or_default()),
                    },
                    (Some(why), _) => StepState::Skipped { why: why.clone() },
                    (None, true) => StepState::Up {
                        how: UpHow::External,
                        at: now,
                    },
                    (None, false) => StepState::Waiting {
                        on: s
                            .deps
                            .iter()
                            .map(|&d| plan.steps[d].candidate.name.clone())
                            .collect(),
                    },
                }
            })
            .collect();
        let track = vec![Track::default(); plan.steps.len()];
        Sequence {
            plan,
            settings: SequenceSettings {
                max_parallel: settings.max_parallel.max(1),
                ..settings
            },
            states,
            track,
            halted: None,
        }
    }

    /// The plan this sequence runs.
    pub fn plan(&self) -> &AutostartPlan {
        &self.plan
    }

    /// Every step's state, in start order.
    pub fn states(&self) -> &[StepState] {
        &self.states
    }

    /// Why the sequence was halted, once it was.
    pub fn halted(&self) -> Option<&str> {
        self.halted.as_deref()
    }

    /// True when every step is up, failed or skipped.
    pub fn is_done(&self) -> bool {
        self.states.iter().all(StepState::is_terminal)
    }

    pub(super) fn name(&self, i: usize) -> &str {
        &self.plan.steps[i].candidate.name
    }

    fn config(&self, i: usize) -> &VmAutoStartConfig {
        &self.plan.steps[i].candidate.config
    }

    fn attempts(&self, i: usize) -> u32 {
        let c = self.config(i);
        match c.on_start_failure {
            StartFailureAction::Retry => c.max_start_retries.saturating_add(1),
            _ => 1,
        }
    }

    /// Stops starting anything new: steps not started yet are skipped with `why`.
    /// Steps already starting or waiting for SSH finish.
    pub fn halt(&mut self, why: impl Into<String>) {
        if self.halted.is_none() {
            self.halted = Some(why.into());
        }
    }

    /// Moves every step that can move at `now` and returns what the runner must do.
    pub fn advance(&mut self, now: DateTime<Utc>) -> Vec<SeqAction> {
        let mut actions = Vec::new();
        // Until nothing changes: one step coming up (with no SSH wait) can free others.
        loop {
            let mut changed = false;
            for i in 0..self.states.len() {
                changed |= self.advance_one(i, now, &mut actions);
            }
            if !changed {
                return actions;
            }
        }
    }

    fn advance_one(&mut self, i: usize, now: DateTime<Utc>, actions: &mut Vec<SeqAction>) -> bool {
        let halted = self.halted.clone();
        match self.states[i].clone() {
            StepState::Waiting { on } => {
                let deps = self.plan.steps[i].deps.clone();
                if let Some(&d) = deps.iter().find(|&&d| self.states[d].did_not_come_up()) {
                    let why = format!("dependency {} did not come up", self.name(d));
                    self.states[i] = StepState::Skipped { why };
                    return true;
                }
                if let Some(h) = halted {
                    self.states[i] = StepState::Skipped {
                        why: format!("not started: {h}"),
                    };
                    return true;
                }
                let not_up: Vec<String> = deps
                    .iter()
                    .filter(|&&d| !matches!(self.states[d], StepState::Up { .. }))
                    .map(|&d| self.name(d).to_string())
                    .collect();
                let slots = self.states.iter().filter(|s| s.holds_slot()).count();
                if !not_up.is_empty() || slots >= self.settings.max_parallel {
                    if not_up != on {
                        self.states[i] = StepState::Waiting { on: not_up };
                    }
                    // Only a change of what it waits for; not a move.
                    return false;
                }
                let c = &self.plan.steps[i].candidate;
                if c.active {
                    self.came_up(i, UpHow::AlreadyRunning, now);
                } else if c.config.start_delay_seconds > 0 {
                    let seconds = c.config.start_delay_seconds;
                    self.states[i] = StepState::Delay {
                        until: later(now, secs(seconds)),
                        seconds,
                    };
                } else {
                    self.start(i, 1, actions);
                }
                true
            }
            StepState::Delay { until, .. } if until <= now => {
                match halted {
                    Some(h) => {
                        self.states[i] = StepState::Skipped {
                            why: format!("not started: {h}"),
                        }
                    }
                    None => self.start(i, 1, actions),
                }
                true
            }
            StepState::RetryWait {
                until,
                next_attempt,
                error,
                ..
            } if until <= now => {
                match halted {
                    Some(h) => {
                        self.states[i] = StepState::Failed {
                            why: format!("start failed: {error} (not retried: {h})"),
                        }
                    }
                    None => self.start(i, next_attempt, actions),
                }
                true
            }
            StepState::WaitingForSsh {
                since,
                timeout_seconds,
                target,
                last,
                ..
            } => {
                if self.track[i].probing {
                    return false;
                }
                if now >= later(since, secs(timeout_seconds)) {
                    let on = target.map(|t| format!(" on {t}")).unwrap_or_default();
                    let last = last.map(|l| format!(" (last: {l})")).unwrap_or_default();
                    self.fail(
                        i,
                        format!("no SSH answer{on} within {timeout_seconds} s{last}; left running"),
                    );
                    return true;
                }
                if self.track[i].next_probe_at.is_none_or(|t| t <= now) {
                    self.track[i].probing = true;
                    actions.push(SeqAction::Probe { step: i });
                }
                false
            }
            _ => false,
        }
    }

    fn start(&mut self, i: usize, attempt: u32, actions: &mut Vec<SeqAction>) {
        self.states[i] = StepState::Starting {
            attempt,
            attempts: self.attempts(i),
        };
        actions.push(SeqAction::Start { step: i, attempt });
    }

    fn came_up(&mut self, i: usize, how: UpHow, now: DateTime<Utc>) {
        let c = self.config(i).clone();
        self.states[i] = if c.wait_for_ssh {
            self.track[i] = Track {
                next_probe_at: Some(now),
                probing: false,
            };
            StepState::WaitingForSsh {
                since: now,
                timeout_seconds: c.ssh_timeout_seconds,
                target: None,
                last: None,
                how,
            }
        } else {
            StepState::Up { how, at: now }
        };
    }

    fn fail(&mut self, i: usize, why: String) {
        if self.config(i).on_start_failure == StartFailureAction::Stop {
            self.halt(format!(
                "{} did not come up and its on_start_failure is stop",
                self.name(i)
            ));
        }
        self.states[i] = StepState::Failed { why };
    }

    /// Reports what the runner found for step `step` at `now`. An event that does not
    /// fit the step's state (a late answer) is ignored.
    pub fn on_event(&mut self, step: usize, event: SeqEvent, now: DateTime<Utc>) {
        let Some(state) = self.states.get(step).cloned() else {
            return;
        };
        match (state, event) {
            (StepState::Starting { .. }, SeqEvent::Started) => {
                self.came_up(step, UpHow::Started, now)
            }
            (StepState::Starting { .. }, SeqEvent::AlreadyRunning) => {
                self.came_up(step, UpHow::AlreadyRunning, now)
            }
            (StepState::Starting { attempt, attempts }, SeqEvent::StartFailed(error)) => {
                if attempt < attempts && self.halted.is_none() {
                    self.states[step] = StepState::RetryWait {
                        until: later(now, millis(self.settings.retry_delay_ms)),
                        next_attempt: attempt + 1,
                        attempts,
                        error,
                    };
                } else if attempts > 1 {
                    self.fail(
                        step,
                        format!("start failed {attempt} times; last error: {error}"),
                    );
                } else {
                    self.fail(step, format!("start failed: {error}"));
                }
            }
            (StepState::WaitingForSsh { how, .. }, SeqEvent::SshUp { .. }) => {
                self.track[step].probing = false;
                self.states[step] = StepState::Up { how, at: now };
            }
            (
                StepState::WaitingForSsh {
                    since,
                    timeout_seconds,
                    how,
                    target: old,
                    ..
                },
                SeqEvent::SshNotYet { target, why },
            ) => {
                self.track[step] = Track {
                    next_probe_at: Some(later(now, millis(self.settings.probe_interval_ms))),
                    probing: false,
                };
                self.states[step] = StepState::WaitingForSsh {
                    since,
                    timeout_seconds,
                    target: target.or(old),
                    last: Some(why),
                    how,
                };
            }
            _ => {}
        }
    }

    /// The next moment something is due without an event (a delay or retry wait ends,
    /// a probe or an SSH deadline is due); `None` when only events can move it.
    pub fn next_wakeup(&self) -> Option<DateTime<Utc>> {
        self.states
            .iter()
            .zip(&self.track)
            .filter_map(|(s, t)| match s {
                StepState::Delay { until, .. } | StepState::RetryWait { until, .. } => Some(*until),
                StepState::WaitingForSsh {
                    since,
                    timeout_seconds,
                    ..
                } if !t.probing => {
                    let deadline = later(*since, secs(*timeout_seconds));
                    Some(t.next_probe_at.map_or(deadline, |p| p.min(deadline)))
                }
                _ => None,
            })
            .min()
    }

    /// The progress at `now`.
    pub fn progress(&self, now: DateTime<Utc>) -> Progress {
        Progress {
            at: now,
            steps: self
                .plan
                .steps
                .iter()
                .zip(&self.states)
                .map(|(s, st)| StepProgress {
                    name: s.candidate.name.clone(),
                    uuid: s.candidate.uuid.clone(),
                    external: s.candidate.external,
                    state: st.clone(),
                    text: st.describe(now),
                })
                .collect(),
            halted: self.halted.clone(),
            done: self.is_done(),
        }
    }
}

/// `s` seconds, saturating at the longest `Duration` (a value from metadata may be
/// absurd).
fn secs(s: u64) -> Duration {
    i64::try_from(s)
        .ok()
        .and_then(Duration::try_seconds)
        .unwrap_or(Duration::MAX)
}

/// `ms` milliseconds (negative counts as 0).
fn millis(ms: i64) -> Duration {
    Duration::try_milliseconds(ms.max(0)).unwrap_or(Duration::MAX)
}
