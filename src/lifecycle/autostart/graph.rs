//! The dependency graph of an ordered start: its order, and the VMs it holds back.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::fmt;

use serde::Serialize;

use super::Candidate;
use crate::model::StartFailureAction;

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
