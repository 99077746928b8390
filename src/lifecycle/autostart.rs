//! Ordered autostart, the pure part (DESIGN.md §1, "Autostart"): which VMs take part,
//! the dependency graph and its errors, the start order, and a step state machine per
//! VM that an IO runner ([`crate::host`]) drives with `now` passed in.
//!
//! - [`select`]: the VMs of an ordered start. A VM takes part when its
//!   `<vmlife:autostart>` record is enabled; without a record, when its persistence says
//!   `auto_start = true` (with the contract's autostart defaults). A record with
//!   `enabled = false` keeps the VM out even when `auto_start` is true: the record is
//!   the more specific setting. A VM with an invalid policy never takes part. A
//!   dependency that exists but does not take part is an *external* step: never started
//!   by the sequence, up when it already runs, else its dependants are skipped.
//! - [`plan`]: the graph. A dependency that names no VM, and every cycle, is an error
//!   ([`PlanError`]) that names the VMs, found before anything starts. The order is
//!   topological over `depends_on`; among the VMs whose dependencies are placed, the
//!   lowest `start_order` comes first, then the name. `start_order` is a priority, not a
//!   barrier: VMs that do not depend on each other may start in parallel
//!   ([`SequenceSettings::max_parallel`]).
//! - [`Sequence`]: one state ([`StepState`]) per VM: waiting for its dependencies,
//!   start delay, starting (with retries), waiting for SSH, up, failed or skipped. The
//!   runner calls [`Sequence::advance`] (which returns the [`SeqAction`]s to carry out)
//!   and reports their results with [`Sequence::on_event`]. [`Sequence::progress`] is
//!   the plain data a progress pane shows.
//!
//! Failure handling (`on_start_failure`): `retry` re-issues a start that failed, up to
//! `max_start_retries` more times, [`SequenceSettings::retry_delay_ms`] apart, and then
//! goes on like `ignore`; `ignore` goes on with the VMs that do not depend on the failed
//! one; `stop` halts the sequence: nothing more is started (steps already starting or
//! waiting for SSH finish). Whatever the policy, a VM that did not come up never has its
//! dependants started: they are skipped, saying which dependency did not come up. A VM
//! that started but did not answer SSH in time is failed and left running (nothing in an
//! autostart stops a VM); `retry` does not restart it.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::VmFacts;
use crate::model::{StartFailureAction, VmAutoStartConfig};

/// One VM an ordered start knows about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The domain's UUID: what a start acts on.
    pub uuid: String,
    /// The domain's name: what `depends_on` refers to.
    pub name: String,
    /// Its autostart settings (`vm_name` filled in). For an external step, the defaults
    /// without an SSH wait.
    pub config: VmAutoStartConfig,
    /// It ran when the plan was made.
    pub active: bool,
    /// A dependency outside the autostart set: never started by the sequence.
    pub external: bool,
    /// Why it must not be started this time (`on_host_reboot = keep_stopped`, ...);
    /// its dependants are skipped.
    pub hold: Option<String>,
}

impl Candidate {
    /// A member of the autostart set.
    pub fn member(
        uuid: impl Into<String>,
        name: impl Into<String>,
        mut config: VmAutoStartConfig,
        active: bool,
    ) -> Candidate {
        let name = name.into();
        config.vm_name = name.clone();
        Candidate {
            uuid: uuid.into(),
            name,
            config,
            active,
            external: false,
            hold: None,
        }
    }

    /// A dependency outside the autostart set.
    pub fn external(uuid: impl Into<String>, name: impl Into<String>, active: bool) -> Candidate {
        let name = name.into();
        let config = VmAutoStartConfig {
            vm_name: name.clone(),
            wait_for_ssh: false,
            on_start_failure: StartFailureAction::Ignore,
            max_start_retries: 0,
            ..VmAutoStartConfig::default()
        };
        let hold = (!active).then(|| {
            format!("{name} is not running and is not among the VMs this sequence starts")
        });
        Candidate {
            uuid: uuid.into(),
            name,
            config,
            active,
            external: true,
            hold,
        }
    }
}

/// What [`select`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Members first (by name), then the external dependencies (by name).
    pub candidates: Vec<Candidate>,
    /// VMs left out for a reason a person should see (an invalid policy).
    pub notes: Vec<String>,
}

/// The autostart settings of a VM that takes part, or `None`.
///
/// The record decides when present (`enabled`); without one, `auto_start = true` means
/// the contract defaults. An invalid policy never takes part.
pub fn autostart_config(v: &VmFacts) -> Option<VmAutoStartConfig> {
    let meta = v.meta.as_ref().ok()?;
    let mut config = match &meta.autostart {
        Some(c) if c.enabled => c.clone(),
        Some(_) => return None,
        None if meta.persistence.auto_start => VmAutoStartConfig::default(),
        None => return None,
    };
    config.vm_name = v.name.clone();
    Some(config)
}

/// The VMs of an ordered start among `vms`, restricted to `only` (names or UUIDs) when
/// given, plus the external dependencies they name. A dependency that names no VM is
/// left for [`plan`] to report.
pub fn select(vms: &[VmFacts], only: Option<&BTreeSet<String>>) -> Selection {
    let mut sel = Selection::default();
    let wanted = |v: &VmFacts| only.is_none_or(|o| o.contains(&v.name) || o.contains(&v.uuid));
    let mut members: Vec<&VmFacts> = Vec::new();
    for v in vms.iter().filter(|v| wanted(v)) {
        match &v.meta {
            Err(e) => sel.notes.push(format!(
                "{}: invalid policy ({e}): not considered for autostart",
                v.name
            )),
            Ok(_) => {
                if let Some(config) = autostart_config(v) {
                    sel.candidates
                        .push(Candidate::member(&v.uuid, &v.name, config, v.active));
                    members.push(v);
                }
            }
        }
    }
    sel.candidates.sort_by(|a, b| a.name.cmp(&b.name));
    let member_names: BTreeSet<String> = sel.candidates.iter().map(|c| c.name.clone()).collect();
    let externals: BTreeSet<String> = sel
        .candidates
        .iter()
        .flat_map(|c| c.config.depends_on.iter())
        .filter(|d| !member_names.contains(*d))
        .cloned()
        .collect();
    for name in externals {
        if let Some(v) = vms.iter().find(|v| v.name == name) {
            sel.candidates
                .push(Candidate::external(&v.uuid, &v.name, v.active));
        }
    }
    sel
}

/// A `depends_on` entry that names no VM.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MissingDependency {
    /// The VM whose `depends_on` names it.
    pub vm: String,
    /// The name that is not a VM.
    pub dependency: String,
}

/// Why an ordered start cannot be planned. Found before anything starts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PlanError {
    /// Each cycle as a path that returns to its first VM: `[a, b, a]` is "a depends on
    /// b, which depends on a".
    pub cycles: Vec<Vec<String>>,
    /// Dependencies that name no VM.
    pub missing: Vec<MissingDependency>,
}

impl PlanError {
    /// Every VM the error names, sorted.
    pub fn vms(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self.cycles.iter().flatten().cloned().collect();
        for m in &self.missing {
            out.insert(m.vm.clone());
            out.insert(m.dependency.clone());
        }
        out
    }
}

/// One line: `autostart order: dependency cycle a → b → a; c depends on ghost, which
/// does not exist (nothing was started)`.
impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .cycles
            .iter()
            .map(|c| format!("dependency cycle {}", c.join(" → ")))
            .collect();
        parts.extend(
            self.missing
                .iter()
                .map(|m| format!("{} depends on {}, which does not exist", m.vm, m.dependency)),
        );
        write!(
            f,
            "autostart order: {} (nothing was started)",
            parts.join("; ")
        )
    }
}

impl std::error::Error for PlanError {}

/// One VM in start order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    /// The VM.
    pub candidate: Candidate,
    /// Indexes (into [`AutostartPlan::steps`]) of the VMs that must be up first; all
    /// lower than this step's own index.
    pub deps: Vec<usize>,
}

/// The ordered start: steps in start order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AutostartPlan {
    /// In start order.
    pub steps: Vec<PlanStep>,
}

/// Builds the start order of `candidates`, or says which VMs are in a cycle or name a
/// dependency that does not exist.
pub fn plan(candidates: Vec<Candidate>) -> Result<AutostartPlan, PlanError> {
    let index: BTreeMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let mut err = PlanError::default();
    // Edges: i depends on each of deps[i] (deduplicated, sorted).
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(candidates.len());
    for c in &candidates {
        let mut d = BTreeSet::new();
        if !c.external {
            for name in &c.config.depends_on {
                match index.get(name.as_str()) {
                    Some(&j) => {
                        d.insert(j);
                    }
                    None => err.missing.push(MissingDependency {
                        vm: c.name.clone(),
                        dependency: name.clone(),
                    }),
                }
            }
        }
        deps.push(d.into_iter().collect());
    }
    let names: Vec<&str> = candidates.iter().map(|c| c.name.as_str()).collect();
    err.cycles = cycles(&deps, &names);
    if !err.cycles.is_empty() || !err.missing.is_empty() {
        err.missing
            .sort_by(|a, b| (&a.vm, &a.dependency).cmp(&(&b.vm, &b.dependency)));
        err.missing.dedup();
        return Err(err);
    }

    // Kahn's algorithm; among the ready VMs the lowest (start_order, name) goes first.
    let n = candidates.len();
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependants[j].push(i);
        }
    }
    let key = |i: usize| Reverse((candidates[i].config.start_order, names[i], i));
    let mut ready: BinaryHeap<Reverse<(i64, &str, usize)>> =
        (0..n).filter(|&i| waiting[i] == 0).map(key).collect();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    while let Some(Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &k in &dependants[i] {
            waiting[k] -= 1;
            if waiting[k] == 0 {
                ready.push(key(k));
            }
        }
    }
    // No cycles, so every VM is placed.
    let mut position = vec![0; n];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    let mut slots: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    let steps = order
        .iter()
        .filter_map(|&i| {
            let candidate = slots[i].take()?;
            let mut d: Vec<usize> = deps[i].iter().map(|&j| position[j]).collect();
            d.sort_unstable();
            Some(PlanStep { candidate, deps: d })
        })
        .collect();
    Ok(AutostartPlan { steps })
}

/// Every strongly connected component with a cycle (more than one VM, or a VM that
/// depends on itself), each as one cycle path starting at its lowest name.
fn cycles(deps: &[Vec<usize>], names: &[&str]) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    for scc in tarjan(deps) {
        let set: BTreeSet<usize> = scc.iter().copied().collect();
        let Some(&start) = scc.iter().min_by_key(|&&i| names[i]) else {
            continue;
        };
        if scc.len() == 1 && !deps[start].contains(&start) {
            continue;
        }
        // Shortest path from `start` back to itself inside the component (BFS).
        let mut parent: BTreeMap<usize, usize> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        let mut last = None;
        'bfs: while let Some(u) = queue.pop_front() {
            for &v in &deps[u] {
                if v == start {
                    last = Some(u);
                    break 'bfs;
                }
                if set.contains(&v) && !parent.contains_key(&v) {
                    parent.insert(v, u);
                    queue.push_back(v);
                }
            }
        }
        let mut path = vec![start];
        let mut u = last.unwrap_or(start);
        let mut back = Vec::new();
        while u != start {
            back.push(u);
            u = parent.get(&u).copied().unwrap_or(start);
        }
        path.extend(back.into_iter().rev());
        path.push(start);
        out.push(path.iter().map(|&i| names[i].to_string()).collect());
    }
    out.sort();
    out
}

/// Tarjan's strongly connected components, iteratively (no recursion depth limit).
fn tarjan(deps: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = deps.len();
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut out = Vec::new();
    for root in 0..n {
        if index[root] != usize::MAX {
            continue;
        }
        // (node, next edge to look at)
        let mut work: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(&mut (u, ref mut e)) = work.last_mut() {
            if let Some(&v) = deps[u].get(*e) {
                *e += 1;
                if index[v] == usize::MAX {
                    index[v] = next;
                    low[v] = next;
                    next += 1;
                    stack.push(v);
                    on_stack[v] = true;
                    work.push((v, 0));
                } else if on_stack[v] {
                    low[u] = low[u].min(index[v]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[u]);
            }
            if low[u] == index[u] {
                let mut scc = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    scc.push(w);
                    if w == u {
                        break;
                    }
                }
                out.push(scc);
            }
        }
    }
    out
}

impl AutostartPlan {
    /// The step of the VM named `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.steps.iter().position(|s| s.candidate.name == name)
    }

    /// Indexes of the steps that depend on step `i` directly.
    pub fn dependants(&self, i: usize) -> Vec<usize> {
        (0..self.steps.len())
            .filter(|&k| self.steps[k].deps.contains(&i))
            .collect()
    }

    /// Names of the VMs the sequence would start (members neither held nor running).
    pub fn to_start(&self) -> Vec<&str> {
        self.steps
            .iter()
            .map(|s| &s.candidate)
            .filter(|c| !c.external && c.hold.is_none() && !c.active)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// What will happen, one line per VM in order, for a confirmation popup or a dry
    /// run: `3. app-1: after db-1 is up: wait 5 s, start, then wait up to 300 s for SSH;
    /// if the start fails: retry up to 3 times`.
    pub fn describe(&self) -> Vec<String> {
        self.steps
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{}. {}", i + 1, self.describe_step(i, s)))
            .collect()
    }

    fn describe_step(&self, _i: usize, s: &PlanStep) -> String {
        let c = &s.candidate;
        let name = &c.name;
        if let Some(hold) = &c.hold {
            return format!("{name}: not started: {hold}");
        }
        if c.external {
            return format!("{name}: already running (a dependency outside the autostart set)");
        }
        let cfg = &c.config;
        let mut text = format!("{name}: ");
        if !s.deps.is_empty() {
            let after: Vec<&str> = s
                .deps
                .iter()
                .map(|&d| self.steps[d].candidate.name.as_str())
                .collect();
            text.push_str(&format!(
                "after {} {} up: ",
                after.join(", "),
                is_are(after.len())
            ));
        }
        let mut what: Vec<String> = Vec::new();
        if c.active && cfg.start_delay_seconds > 0 {
            what.push(format!(
                "already running (no start, so no {} s delay)",
                cfg.start_delay_seconds
            ));
        } else if c.active {
            what.push("already running".into());
        } else {
            if cfg.start_delay_seconds > 0 {
                what.push(format!("wait {} s", cfg.start_delay_seconds));
            }
            what.push("start".into());
        }
        if cfg.wait_for_ssh {
            what.push(format!(
                "then wait up to {} s for SSH",
                cfg.ssh_timeout_seconds
            ));
        } else {
            what.push("no SSH wait".into());
        }
        text.push_str(&what.join(", "));
        if !c.active {
            text.push_str("; if the start fails: ");
            text.push_str(&match cfg.on_start_failure {
                StartFailureAction::Retry if cfg.max_start_retries > 0 => {
                    format!("retry up to {} times", cfg.max_start_retries)
                }
                StartFailureAction::Retry | StartFailureAction::Ignore => "go on".into(),
                StartFailureAction::Stop => "stop the sequence".into(),
            });
        }
        text
    }
}

fn is_are(n: usize) -> &'static str {
    if n == 1 {
        "is"
    } else {
        "are"
    }
}

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
    fn holds_slot(&self) -> bool {
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

/// One VM's progress line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepProgress {
    /// The domain's name.
    pub name: String,
    /// The domain's UUID.
    pub uuid: String,
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

    fn name(&self, i: usize) -> &str {
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
                        until: now + secs(seconds),
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
                if now >= since + secs(timeout_seconds) {
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
                        until: now + Duration::milliseconds(self.settings.retry_delay_ms),
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
                    next_probe_at: Some(
                        now + Duration::milliseconds(self.settings.probe_interval_ms),
                    ),
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
                    let deadline = *since + secs(*timeout_seconds);
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

fn secs(s: u64) -> Duration {
    Duration::seconds(
        i64::try_from(s)
            .unwrap_or(i64::MAX / 1000)
            .min(i64::MAX / 1000),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::LifecycleMeta;
    use crate::model::VmState;
    use proptest::prelude::*;

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn cfg(order: i64, deps: &[&str]) -> VmAutoStartConfig {
        VmAutoStartConfig {
            start_order: order,
            wait_for_ssh: false,
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            ..VmAutoStartConfig::default()
        }
    }

    fn member(name: &str, order: i64, deps: &[&str]) -> Candidate {
        Candidate::member(format!("u-{name}"), name, cfg(order, deps), false)
    }

    fn names(p: &AutostartPlan) -> Vec<&str> {
        p.steps.iter().map(|s| s.candidate.name.as_str()).collect()
    }

    fn facts(name: &str, active: bool, meta: LifecycleMeta) -> VmFacts {
        VmFacts {
            uuid: format!("u-{name}"),
            name: name.into(),
            state: if active {
                VmState::Running
            } else {
                VmState::Stopped
            },
            active,
            meta: Ok(meta),
            first_seen_unix: 0,
        }
    }

    #[test]
    fn order_is_topological_then_start_order_then_name() {
        let p = plan(vec![
            member("web-1", 30, &["app-1"]),
            member("app-1", 20, &["db-1"]),
            member("db-1", 10, &[]),
            member("lab-dns", 5, &[]),
            member("zz", 5, &[]),
            member("aa", 50, &[]),
        ])
        .unwrap();
        assert_eq!(names(&p), ["lab-dns", "zz", "db-1", "app-1", "web-1", "aa"]);
        assert_eq!(p.steps[3].deps, vec![2]);
        assert_eq!(p.dependants(2), vec![3]);
        // A low start_order does not jump ahead of its dependency.
        let p = plan(vec![member("a", 100, &[]), member("b", 1, &["a"])]).unwrap();
        assert_eq!(names(&p), ["a", "b"]);
    }

    #[test]
    fn cycles_and_missing_dependencies_name_the_vms() {
        let e = plan(vec![
            member("a", 0, &["b"]),
            member("b", 0, &["c"]),
            member("c", 0, &["a"]),
            member("d", 0, &["d"]),
            member("e", 0, &["ghost"]),
            member("f", 0, &[]),
        ])
        .unwrap_err();
        assert_eq!(
            e.cycles,
            vec![vec!["a", "b", "c", "a"], vec!["d", "d"]]
                .into_iter()
                .map(|c| c.into_iter().map(String::from).collect::<Vec<_>>())
                .collect::<Vec<_>>()
        );
        assert_eq!(
            e.to_string(),
            "autostart order: dependency cycle a → b → c → a; dependency cycle d → d; \
             e depends on ghost, which does not exist (nothing was started)"
        );
        assert!(!e.vms().contains("f"));
    }

    #[test]
    fn selection_takes_records_auto_start_and_external_dependencies() {
        let with = |f: &dyn Fn(&mut LifecycleMeta)| {
            let mut m = LifecycleMeta::default();
            f(&mut m);
            m
        };
        let vms = vec![
            facts(
                "app",
                false,
                with(&|m| m.autostart = Some(cfg(0, &["db", "ext"]))),
            ),
            facts("db", false, with(&|m| m.persistence.auto_start = true)),
            facts(
                "off",
                false,
                with(&|m| {
                    m.persistence.auto_start = true;
                    m.autostart = Some(VmAutoStartConfig {
                        enabled: false,
                        ..VmAutoStartConfig::default()
                    });
                }),
            ),
            facts("ext", true, LifecycleMeta::default()),
            facts("plain", false, LifecycleMeta::default()),
        ];
        let sel = select(&vms, None);
        let got: Vec<(&str, bool)> = sel
            .candidates
            .iter()
            .map(|c| (c.name.as_str(), c.external))
            .collect();
        assert_eq!(got, [("app", false), ("db", false), ("ext", true)]);
        // `auto_start` without a record: the contract defaults.
        assert!(sel.candidates[1].config.wait_for_ssh);
        // Restricted to app: db becomes an external dependency (stopped: held).
        let only = BTreeSet::from(["app".to_string()]);
        let sel = select(&vms, Some(&only));
        let db = sel.candidates.iter().find(|c| c.name == "db").unwrap();
        assert!(db.external && db.hold.is_some());
    }

    fn run_simple(seq: &mut Sequence, outcome: impl Fn(&str) -> SeqEvent) -> Vec<String> {
        let mut started = Vec::new();
        let mut now = t0();
        for _ in 0..10_000 {
            for a in seq.advance(now) {
                match a {
                    SeqAction::Start { step, .. } => {
                        let name = seq.name(step).to_string();
                        started.push(name.clone());
                        seq.on_event(step, outcome(&name), now);
                    }
                    SeqAction::Probe { step } => seq.on_event(
                        step,
                        SeqEvent::SshUp {
                            target: "127.0.0.1:22".into(),
                        },
                        now,
                    ),
                }
            }
            if seq.is_done() {
                break;
            }
            now = seq
                .next_wakeup()
                .unwrap_or(now + Duration::seconds(1))
                .max(now);
        }
        started
    }

    #[test]
    fn failed_start_is_retried_then_dependants_are_skipped() {
        let mut bad = member("bad", 0, &[]);
        bad.config.max_start_retries = 2;
        let p = plan(vec![
            bad,
            member("dep", 0, &["bad"]),
            member("dep2", 0, &["dep"]),
            member("other", 0, &[]),
        ])
        .unwrap();
        let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
        let started = run_simple(&mut seq, |n| {
            if n == "bad" {
                SeqEvent::StartFailed("disk missing".into())
            } else {
                SeqEvent::Started
            }
        });
        assert_eq!(started, ["bad", "other", "bad", "bad"]);
        let p = seq.progress(t0());
        let text: Vec<&str> = p.steps.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(
            text,
            [
                "failed: start failed 3 times; last error: disk missing",
                "skipped: dependency bad did not come up",
                "skipped: dependency dep did not come up",
                "up",
            ]
        );
        assert_eq!(p.tally(), (1, 1, 2));
    }

    #[test]
    fn stop_halts_the_sequence() {
        let mut bad = member("a-bad", 0, &[]);
        bad.config.on_start_failure = StartFailureAction::Stop;
        let p = plan(vec![bad, member("b", 1, &[])]).unwrap();
        let settings = SequenceSettings {
            max_parallel: 1,
            ..SequenceSettings::default()
        };
        let mut seq = Sequence::new(p, settings, t0());
        let started = run_simple(&mut seq, |_| SeqEvent::StartFailed("no".into()));
        assert_eq!(started, ["a-bad"]);
        assert_eq!(
            seq.progress(t0()).steps[1].text,
            "skipped: not started: a-bad did not come up and its on_start_failure is stop"
        );
    }

    #[test]
    fn delay_ssh_wait_and_texts() {
        let mut db = member("db", 0, &[]);
        db.config.wait_for_ssh = true;
        db.config.ssh_timeout_seconds = 300;
        let mut app = member("app", 0, &["db"]);
        app.config.start_delay_seconds = 5;
        let p = plan(vec![db, app]).unwrap();
        let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
        assert_eq!(
            seq.advance(t0()),
            [SeqAction::Start {
                step: 0,
                attempt: 1
            }]
        );
        assert_eq!(seq.progress(t0()).steps[1].text, "waiting for db");
        seq.on_event(0, SeqEvent::Started, t0());
        assert_eq!(seq.advance(t0()), [SeqAction::Probe { step: 0 }]);
        let t = t0() + Duration::seconds(12);
        seq.on_event(
            0,
            SeqEvent::SshNotYet {
                target: Some("10.0.0.5:22".into()),
                why: "connection refused".into(),
            },
            t,
        );
        assert_eq!(
            seq.progress(t).steps[0].text,
            "waiting for SSH on 10.0.0.5:22 (12/300 s)"
        );
        assert!(seq.advance(t).is_empty(), "next probe after the interval");
        assert_eq!(seq.next_wakeup(), Some(t + Duration::seconds(2)));
        let t = t + Duration::seconds(2);
        assert_eq!(seq.advance(t), [SeqAction::Probe { step: 0 }]);
        seq.on_event(
            0,
            SeqEvent::SshUp {
                target: "10.0.0.5:22".into(),
            },
            t,
        );
        assert!(seq.advance(t).is_empty());
        assert_eq!(seq.progress(t).steps[1].text, "start delay 0/5 s");
        let t = t + Duration::seconds(5);
        assert_eq!(
            seq.advance(t),
            [SeqAction::Start {
                step: 1,
                attempt: 1
            }]
        );
        seq.on_event(1, SeqEvent::AlreadyRunning, t);
        assert!(seq.is_done());
        assert_eq!(seq.progress(t).steps[1].text, "up (was already running)");
    }

    #[test]
    fn ssh_timeout_fails_and_skips_dependants() {
        let mut db = member("db", 0, &[]);
        db.config.wait_for_ssh = true;
        db.config.ssh_timeout_seconds = 10;
        let p = plan(vec![db, member("app", 0, &["db"])]).unwrap();
        let mut seq = Sequence::new(p, SequenceSettings::default(), t0());
        seq.advance(t0());
        seq.on_event(0, SeqEvent::Started, t0());
        let mut now = t0();
        while !seq.is_done() {
            for a in seq.advance(now) {
                if let SeqAction::Probe { step } = a {
                    seq.on_event(
                        step,
                        SeqEvent::SshNotYet {
                            target: None,
                            why: "no address yet".into(),
                        },
                        now,
                    );
                }
            }
            now = seq.next_wakeup().unwrap_or(now);
        }
        let p = seq.progress(now);
        assert_eq!(
            p.steps[0].text,
            "failed: no SSH answer within 10 s (last: no address yet); left running"
        );
        assert_eq!(p.steps[1].text, "skipped: dependency db did not come up");
    }

    #[test]
    fn describe_lists_what_will_happen() {
        let mut db = member("db-1", 10, &[]);
        db.config.wait_for_ssh = true;
        let mut app = member("app-1", 20, &["db-1"]);
        app.config.start_delay_seconds = 5;
        app.config.wait_for_ssh = true;
        app.active = true;
        let mut held = member("kept", 0, &[]);
        held.hold = Some("on_host_reboot = keep_stopped".into());
        let p = plan(vec![db, app, held]).unwrap();
        assert_eq!(
            p.describe(),
            [
                "1. kept: not started: on_host_reboot = keep_stopped",
                "2. db-1: start, then wait up to 300 s for SSH; if the start fails: retry up to 3 times",
                "3. app-1: after db-1 is up: already running (no start, so no 5 s delay), then \
                 wait up to 300 s for SSH",
            ]
        );
        assert_eq!(p.to_start(), ["db-1"]);
    }

    /// A random DAG: VM i may depend only on VMs with a lower index; names are shuffled
    /// relative to the index so the order is not simply by name.
    fn dag() -> impl Strategy<Value = (Vec<Candidate>, Vec<bool>, Vec<bool>)> {
        (1usize..14).prop_flat_map(|n| {
            (
                proptest::collection::vec(proptest::collection::vec(any::<bool>(), n), n),
                proptest::collection::vec(-3i64..3, n),
                proptest::collection::vec(any::<bool>(), n),
                proptest::collection::vec(any::<bool>(), n),
                proptest::collection::vec(0u32..3, n),
                proptest::collection::vec(0u8..3, n),
                Just(n),
            )
                .prop_map(|(edges, orders, fails, ssh, retries, policy, n)| {
                    let name = |i: usize| format!("vm-{:02}", (i * 7 + 3) % 97);
                    let cands = (0..n)
                        .map(|i| {
                            let deps: Vec<String> =
                                (0..i).filter(|&j| edges[i][j]).map(name).collect();
                            let deps: Vec<&str> = deps.iter().map(String::as_str).collect();
                            let mut c = member(&name(i), orders[i], &deps);
                            c.config.max_start_retries = retries[i];
                            c.config.on_start_failure = match policy[i] {
                                0 => StartFailureAction::Retry,
                                1 => StartFailureAction::Ignore,
                                _ => StartFailureAction::Stop,
                            };
                            c.config.wait_for_ssh = ssh[i];
                            c
                        })
                        .collect();
                    (cands, fails, ssh)
                })
        })
    }

    proptest! {
        #[test]
        fn every_vm_starts_after_its_dependencies_and_never_after_a_failure(
            (cands, fails, _ssh) in dag(),
            parallel in 1usize..4,
        ) {
            let failing: BTreeSet<String> = cands
                .iter()
                .zip(&fails)
                .filter(|(_, f)| **f)
                .map(|(c, _)| c.name.clone())
                .collect();
            let p = plan(cands).unwrap();
            let settings = SequenceSettings { max_parallel: parallel, retry_delay_ms: 1000, probe_interval_ms: 1000 };
            let mut seq = Sequence::new(p.clone(), settings, t0());
            let mut now = t0();
            let mut pending: Vec<(usize, SeqEvent)> = Vec::new();
            let mut started: BTreeSet<usize> = BTreeSet::new();
            for _ in 0..100_000 {
                for a in seq.advance(now) {
                    match a {
                        SeqAction::Start { step, .. } => {
                            // Every dependency is up when a VM starts.
                            for &d in &p.steps[step].deps {
                                let up = matches!(seq.states()[d], StepState::Up { .. });
                                prop_assert!(up, "{} started before {}", seq.name(step), seq.name(d));
                            }
                            let in_flight = seq.states().iter().filter(|s| s.holds_slot()).count();
                            prop_assert!(in_flight <= parallel);
                            started.insert(step);
                            let ev = if failing.contains(seq.name(step)) {
                                SeqEvent::StartFailed("boom".into())
                            } else {
                                SeqEvent::Started
                            };
                            pending.push((step, ev));
                        }
                        SeqAction::Probe { step } => {
                            pending.push((step, SeqEvent::SshUp { target: "127.0.0.1:22".into() }));
                        }
                    }
                }
                // Answer one event per round, so several steps are in flight at once.
                if let Some((step, ev)) = (!pending.is_empty()).then(|| pending.remove(0)) {
                    seq.on_event(step, ev, now);
                    continue;
                }
                if seq.is_done() {
                    break;
                }
                now = seq.next_wakeup().unwrap_or(now + Duration::seconds(1)).max(now);
            }
            prop_assert!(seq.is_done());
            // No VM that (transitively) depends on a failed one was started, and every
            // VM that is up has every dependency up.
            for (i, s) in p.steps.iter().enumerate() {
                let mut stack = s.deps.clone();
                let mut seen = BTreeSet::new();
                while let Some(d) = stack.pop() {
                    if !seen.insert(d) {
                        continue;
                    }
                    if failing.contains(seq.name(d)) {
                        prop_assert!(!started.contains(&i), "{} started though {} failed", seq.name(i), seq.name(d));
                        prop_assert!(seq.states()[i].did_not_come_up());
                    }
                    stack.extend(p.steps[d].deps.iter().copied());
                }
                if matches!(seq.states()[i], StepState::Up { .. }) {
                    for &d in &s.deps {
                        let up = matches!(seq.states()[d], StepState::Up { .. });
                        prop_assert!(up);
                    }
                }
            }
        }

        #[test]
        fn a_cycle_is_always_reported(
            (cands, _fails, _ssh) in dag(),
            a in 0usize..14,
            b in 0usize..14,
        ) {
            let mut cands = cands;
            let n = cands.len();
            let (a, b) = (a % n, b % n);
            // Add an edge from a low VM to a high one: together with a path from the
            // high one down to it (added too) that is a cycle (or a self-loop).
            let (lo, hi) = (a.min(b), a.max(b));
            let hi_name = cands[hi].name.clone();
            let lo_name = cands[lo].name.clone();
            cands[lo].config.depends_on.push(hi_name);
            cands[hi].config.depends_on.push(lo_name);
            let edges: BTreeMap<String, Vec<String>> = cands
                .iter()
                .map(|c| (c.name.clone(), c.config.depends_on.clone()))
                .collect();
            let err = plan(cands).unwrap_err();
            prop_assert!(!err.cycles.is_empty());
            prop_assert!(err.missing.is_empty());
            // Each reported cycle is a real one: consecutive VMs depend on each other.
            for c in &err.cycles {
                prop_assert_eq!(c.first(), c.last());
                for w in c.windows(2) {
                    prop_assert!(edges[&w[0]].contains(&w[1]), "{} does not depend on {}", w[0], w[1]);
                }
            }
        }
    }
}
