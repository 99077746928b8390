//! Helpers shared by integration tests. Each test crate includes this with `mod common;`
//! and uses only some of it.
#![allow(dead_code)]

pub mod fleet;
pub mod libvirtd;
pub mod sandbox;
pub mod tmux;

use std::time::{Duration, Instant};

/// Run independent sub-cases in parallel threads and report every failure, not only the
/// first one. A panicking case does not stop the others; whatever the caller owns (a
/// [`libvirtd::PrivateLibvirtd`]) is still dropped normally after this returns or panics.
pub fn run_cases(cases: &[(&str, &(dyn Fn() + Sync))]) {
    let started = Instant::now();
    let results: Vec<(String, bool, Duration)> = std::thread::scope(|s| {
        let handles: Vec<_> = cases
            .iter()
            .map(|(name, case)| {
                let handle = std::thread::Builder::new()
                    .name((*name).to_string())
                    .spawn_scoped(s, move || {
                        let t = Instant::now();
                        case();
                        t.elapsed()
                    })
                    .expect("spawn a test case thread");
                (*name, handle)
            })
            .collect();
        handles
            .into_iter()
            .map(|(name, h)| match h.join() {
                Ok(took) => (name.to_string(), true, took),
                Err(_) => (name.to_string(), false, started.elapsed()),
            })
            .collect()
    });
    for (name, ok, took) in &results {
        eprintln!(
            "case {name}: {} in {:.2?}",
            if *ok { "ok" } else { "FAILED" },
            took
        );
    }
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| !r.1)
        .map(|r| r.0.as_str())
        .collect();
    assert!(failed.is_empty(), "failed cases: {failed:?}");
}

/// Poll `f` every `every` until it returns `Some` or `timeout` passes.
pub fn wait_for<T>(
    timeout: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(every);
    }
}

/// Prints how long each step of a case took (shown with `--nocapture` or on failure).
pub struct Lap {
    case: &'static str,
    last: Instant,
}

impl Lap {
    pub fn new(case: &'static str) -> Self {
        Self {
            case,
            last: Instant::now(),
        }
    }

    /// Print the time since the previous mark and start a new step.
    pub fn mark(&mut self, step: &str) {
        eprintln!("{}: {step} {:.2?}", self.case, self.last.elapsed());
        self.last = Instant::now();
    }
}
