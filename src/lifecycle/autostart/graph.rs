//! The dependency graph of an ordered start: its order, and the VMs it holds back.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};

use serde::Serialize;

use super::Candidate;
use crate::model::StartFailureAction;

/// One VM in start order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PlanStep {
    /// The VM.
    pub candidate: Candidate,
    /// Indexes (into [`AutostartPlan::steps`]) of the VMs that must be up first; all
    /// lower than this step's own index.
    pub deps: Vec<usize>,
}

/// The ordered start: steps in start order, then the VMs held back (by name).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AutostartPlan {
    /// In start order; the held-back VMs ([`Candidate::held_back`]) last, without
    /// dependencies.
    pub steps: Vec<PlanStep>,
}

/// Builds the start order of `candidates`. A bad VM holds back only itself and the
/// VMs that depend on it: a VM in a dependency cycle (or depending on itself), one
/// whose `depends_on` names no VM, one already held back by [`select`](super::select)
/// (an invalid policy), and, transitively, every member that depends on one of those
/// ("depends on X, which is held back: …"). Everything else is ordered as usual.
pub fn plan(mut candidates: Vec<Candidate>) -> AutostartPlan {
    let index: BTreeMap<&str, usize> = candidates
        .iter()
        .enumerate()
        .map(|(i, c)| (c.name.as_str(), i))
        .collect();
    let n = candidates.len();
    // Edges: i depends on each of deps[i] (deduplicated, sorted); missing names aside.
    let mut deps: Vec<Vec<usize>> = Vec::with_capacity(n);
    let mut held: Vec<Option<String>> = candidates.iter().map(|c| c.held_back.clone()).collect();
    for (i, c) in candidates.iter().enumerate() {
        let mut d = BTreeSet::new();
        let mut missing: Vec<&str> = Vec::new();
        if !c.external {
            for name in &c.config.depends_on {
                match index.get(name.as_str()) {
                    Some(&j) => {
                        d.insert(j);
                    }
                    None if !missing.contains(&name.as_str()) => missing.push(name),
                    None => {}
                }
            }
        }
        if !missing.is_empty() && held[i].is_none() {
            held[i] = Some(match missing.as_slice() {
                [one] => format!("depends on {one}, which does not exist"),
                many => format!("depends on {}, which do not exist", many.join(", ")),
            });
        }
        deps.push(d.into_iter().collect());
    }
    let names: Vec<String> = candidates.iter().map(|c| c.name.clone()).collect();
    let names_ref: Vec<&str> = names.iter().map(String::as_str).collect();
    for (members, path) in cycle_components(&deps, &names_ref) {
        let why = format!("in a dependency cycle: {}", path.join(" → "));
        for i in members {
            // The cycle comes first: it is what a person has to fix.
            if held[i].is_none() || candidates[i].held_back.is_none() {
                held[i] = Some(why.clone());
            }
        }
    }
    // Whoever depends on a held-back VM is held back too, saying which and why.
    loop {
        let mut changed = false;
        for i in 0..n {
            if held[i].is_some() {
                continue;
            }
            if let Some(&j) = deps[i].iter().find(|&&j| held[j].is_some()) {
                let why = held[j].clone().unwrap_or_default();
                held[i] = Some(format!(
                    "depends on {}, which is held back: {why}",
                    names[j]
                ));
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    // An external dependency only held-back VMs need is not part of the start.
    let needed: BTreeSet<usize> = (0..n)
        .filter(|&i| held[i].is_none())
        .flat_map(|i| deps[i].iter().copied())
        .collect();
    let keep: Vec<bool> = (0..n)
        .map(|i| held[i].is_none() && (!candidates[i].external || needed.contains(&i)))
        .collect();
    for (c, h) in candidates.iter_mut().zip(&held) {
        c.held_back.clone_from(h);
    }

    // Kahn's algorithm over the kept VMs; among the ready ones the lowest
    // (start_order, name) goes first.
    let mut dependants: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut waiting: Vec<usize> = deps.iter().map(Vec::len).collect();
    for (i, d) in deps.iter().enumerate() {
        for &j in d {
            dependants[j].push(i);
        }
    }
    let key = |i: usize| Reverse((candidates[i].config.start_order, names_ref[i], i));
    let mut ready: BinaryHeap<Reverse<(i64, &str, usize)>> = (0..n)
        .filter(|&i| keep[i] && waiting[i] == 0)
        .map(key)
        .collect();
    let mut order: Vec<usize> = Vec::with_capacity(n);
    while let Some(Reverse((_, _, i))) = ready.pop() {
        order.push(i);
        for &k in &dependants[i] {
            waiting[k] = waiting[k].saturating_sub(1);
            if keep[k] && waiting[k] == 0 {
                ready.push(key(k));
            }
        }
    }
    // Every kept VM is placed (no cycles remain among them); the held back follow.
    let mut position = vec![0; n];
    for (p, &i) in order.iter().enumerate() {
        position[i] = p;
    }
    let mut back: Vec<usize> = (0..n).filter(|&i| held[i].is_some()).collect();
    back.sort_by(|&a, &b| names[a].cmp(&names[b]));
    let mut slots: Vec<Option<Candidate>> = candidates.into_iter().map(Some).collect();
    let mut steps: Vec<PlanStep> = order
        .iter()
        .filter_map(|&i| {
            let candidate = slots[i].take()?;
            let mut d: Vec<usize> = deps[i].iter().map(|&j| position[j]).collect();
            d.sort_unstable();
            Some(PlanStep { candidate, deps: d })
        })
        .collect();
    steps.extend(back.into_iter().filter_map(|i| {
        Some(PlanStep {
            candidate: slots[i].take()?,
            deps: Vec::new(),
        })
    }));
    AutostartPlan { steps }
}

/// The VMs in a dependency cycle among VMs given by name and `depends_on` (names that
/// are no VM are ignored), each with a cycle through it as a path from it back to it
/// (`[a, b, a]`: a depends on b, which depends on a). What `ls`, `show` and the detail
/// pane flag, and what `set --depends-on` refuses to close.
pub fn dependency_cycles<'a>(
    vms: impl IntoIterator<Item = (&'a str, &'a [String])>,
) -> BTreeMap<String, Vec<String>> {
    let vms: Vec<(&str, &[String])> = vms.into_iter().collect();
    let index: BTreeMap<&str, usize> = vms.iter().enumerate().map(|(i, v)| (v.0, i)).collect();
    let deps: Vec<Vec<usize>> = vms
        .iter()
        .map(|(_, d)| {
            let set: BTreeSet<usize> = d
                .iter()
                .filter_map(|n| index.get(n.as_str()).copied())
                .collect();
            set.into_iter().collect()
        })
        .collect();
    let names: Vec<&str> = vms.iter().map(|v| v.0).collect();
    let mut out = BTreeMap::new();
    for scc in tarjan(&deps) {
        for &i in &scc {
            if let Some(path) = cycle_path(&deps, &names, &scc, Some(i)) {
                out.insert(names[i].to_string(), path);
            }
        }
    }
    out
}

/// Each strongly connected component with a cycle, with one cycle path through it.
fn cycle_components(deps: &[Vec<usize>], names: &[&str]) -> Vec<(Vec<usize>, Vec<String>)> {
    tarjan(deps)
        .into_iter()
        .filter_map(|scc| {
            let path = cycle_path(deps, names, &scc, None)?;
            Some((scc, path))
        })
        .collect()
}

/// A shortest cycle path through one strongly connected component, starting at
/// `start` (a member; by default its lowest name); `None` when the component has no
/// cycle (one VM that does not depend on itself).
fn cycle_path(
    deps: &[Vec<usize>],
    names: &[&str],
    scc: &[usize],
    start: Option<usize>,
) -> Option<Vec<String>> {
    let set: BTreeSet<usize> = scc.iter().copied().collect();
    let start = match start {
        Some(s) => s,
        None => *scc.iter().min_by_key(|&&i| names[i])?,
    };
    if scc.len() == 1 && !deps[start].contains(&start) {
        return None;
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
    Some(path.iter().map(|&i| names[i].to_string()).collect())
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
            .filter(|c| !c.external && c.hold.is_none() && c.held_back.is_none() && !c.active)
            .map(|c| c.name.as_str())
            .collect()
    }

    /// The VMs held back, by name, with why: `(name, why)`.
    pub fn held_back(&self) -> Vec<(&str, &str)> {
        self.steps
            .iter()
            .filter_map(|s| {
                let c = &s.candidate;
                c.held_back.as_deref().map(|why| (c.name.as_str(), why))
            })
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
        if let Some(why) = &c.held_back {
            return format!("{name}: held back: {why}");
        }
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
