//! Where one VM is in an ordered start, and the progress of the whole: plain data for
//! a progress pane.

use crate::model::Uuid;
use chrono::{DateTime, Utc};
use serde::Serialize;

/// How a VM came up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UpHow {
    /// This sequence started it.
    Started,
    /// It was running already.
    AlreadyRunning,
    /// A running dependency outside the autostart set.
    External,
}

/// Where one VM is in the sequence. Plain data for a progress pane.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepState {
    /// Its dependencies are not all up yet (`on`: those that are not); with `on` empty,
    /// it waits for a free slot (`max_parallel`).
    Waiting { on: Vec<String> },
    /// Its start delay.
    Delay { until: DateTime<Utc>, seconds: u64 },
    /// A start is in flight.
    Starting { attempt: u32, attempts: u32 },
    /// A start failed; the next attempt comes at `until`.
    RetryWait {
        until: DateTime<Utc>,
        next_attempt: u32,
        attempts: u32,
        error: String,
    },
    /// Started (or running already), waiting for its SSH port to answer.
    WaitingForSsh {
        since: DateTime<Utc>,
        timeout_seconds: u64,
        /// The address probed last (`192.168.122.5:22`), once known.
        target: Option<String>,
        /// What the last probe found (`connection refused`, `no address yet`).
        last: Option<String>,
        how: UpHow,
    },
    /// Up: dependants may start.
    Up { how: UpHow, at: DateTime<Utc> },
    /// It did not come up; why.
    Failed { why: String },
    /// Not started; why (a dependency did not come up, a hold, a halt).
    Skipped { why: String },
}

impl StepState {
    /// Up, failed or skipped: nothing more happens to it.
    pub fn is_terminal(&self) -> bool {
        matches!(
            self,
            StepState::Up { .. } | StepState::Failed { .. } | StepState::Skipped { .. }
        )
    }

    /// Failed or skipped: its dependants will not start.
    pub fn did_not_come_up(&self) -> bool {
        matches!(self, StepState::Failed { .. } | StepState::Skipped { .. })
    }

    /// Holds one of the parallel slots.
    pub(super) fn holds_slot(&self) -> bool {
        matches!(
            self,
            StepState::Delay { .. }
                | StepState::Starting { .. }
                | StepState::RetryWait { .. }
                | StepState::WaitingForSsh { .. }
        )
    }

    /// A short text at `now`: `waiting for db-1`, `delay 2/5 s`, `starting (attempt 2
    /// of 4)`, `waiting for SSH on 10.0.0.5:22 (12/300 s)`, `up`, `failed: …`,
    /// `skipped: dependency db-1 did not come up`.
    pub fn describe(&self, now: DateTime<Utc>) -> String {
        let secs = |since: DateTime<Utc>| (now - since).num_seconds().max(0);
        match self {
            StepState::Waiting { on } if on.is_empty() => "waiting for a free start slot".into(),
            StepState::Waiting { on } => format!("waiting for {}", on.join(", ")),
            StepState::Delay { until, seconds } => {
                let left = (*until - now).num_seconds().max(0);
                let done = i64::try_from(*seconds)
                    .unwrap_or(i64::MAX)
                    .saturating_sub(left);
                format!("start delay {done}/{seconds} s")
            }
            StepState::Starting { attempts: 1, .. } => "starting".into(),
            StepState::Starting { attempt, attempts } => {
                format!("starting (attempt {attempt} of {attempts})")
            }
            StepState::RetryWait {
                until,
                next_attempt,
                attempts,
                error,
            } => format!(
                "start failed: {error}; attempt {next_attempt} of {attempts} in {} s",
                (*until - now).num_seconds().max(0)
            ),
            StepState::WaitingForSsh {
                since,
                timeout_seconds,
                target,
                last,
                ..
            } => {
                let on = target
                    .as_deref()
                    .map(|t| format!(" on {t}"))
                    .unwrap_or_default();
                let last = match last {
                    Some(l) if target.is_none() => format!(": {l}"),
                    _ => String::new(),
                };
                format!(
                    "waiting for SSH{on} ({}/{timeout_seconds} s){last}",
                    secs(*since)
                )
            }
            StepState::Up {
                how: UpHow::Started,
                ..
            } => "up".into(),
            StepState::Up {
                how: UpHow::AlreadyRunning,
                ..
            } => "up (was already running)".into(),
            StepState::Up {
                how: UpHow::External,
                ..
            } => "up (running; not started by vmlife's autostart)".into(),
            StepState::Failed { why } => format!("failed: {why}"),
            StepState::Skipped { why } => format!("skipped: {why}"),
        }
    }
}

/// One VM's progress line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepProgress {
    /// The domain's name.
    pub name: String,
    /// The domain's UUID.
    pub uuid: Uuid,
    /// A dependency outside the autostart set.
    pub external: bool,
    /// Where it is.
    pub state: StepState,
    /// [`StepState::describe`] at the progress time.
    pub text: String,
}

/// The whole sequence at one moment: what a progress pane draws.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// When.
    pub at: DateTime<Utc>,
    /// In start order.
    pub steps: Vec<StepProgress>,
    /// Set once the sequence was halted (`on_start_failure = stop`, or cancelled): why.
    pub halted: Option<String>,
    /// Every step is up, failed or skipped.
    pub done: bool,
}

impl Progress {
    /// Counts of (up, failed, skipped) steps.
    pub fn tally(&self) -> (usize, usize, usize) {
        let mut t = (0, 0, 0);
        for s in &self.steps {
            match s.state {
                StepState::Up { .. } => t.0 += 1,
                StepState::Failed { .. } => t.1 += 1,
                StepState::Skipped { .. } => t.2 += 1,
                _ => {}
            }
        }
        t
    }
}
