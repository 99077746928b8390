//! The executor's clock: wall time for TTL re-checks and metadata stamps, a monotonic
//! reading and a sleep for the cleanup's grace period.
//!
//! The executor reads time only through [`Clock`], so tests run a 60 s grace period in
//! no time with a [`ManualClock`] (its `sleep` moves time forward instead of waiting).

use std::fmt;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

/// Where the executor gets the time, and how it waits.
pub trait Clock: Send + Sync {
    /// The wall-clock time (TTL checks, `last_state_change`).
    fn now(&self) -> DateTime<Utc>;
    /// A monotonic reading: time since an arbitrary origin. Only differences matter.
    fn monotonic(&self) -> Duration;
    /// Wait `d` (a manual clock moves its time forward instead).
    fn sleep(&self, d: Duration);
}

/// The real clock: `Utc::now`, `Instant`, `thread::sleep`.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    origin: Instant,
}

impl SystemClock {
    /// A system clock whose monotonic origin is now.
    pub fn new() -> SystemClock {
        SystemClock {
            origin: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> Self {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }

    fn monotonic(&self) -> Duration {
        self.origin.elapsed()
    }

    fn sleep(&self, d: Duration) {
        std::thread::sleep(d);
    }
}

/// What a [`ManualClock`] calls after each sleep, with the total time slept so far.
pub type SleepHook = Box<dyn FnMut(Duration) + Send>;

/// A clock for tests: starts at a given wall time, and `sleep` returns at once after
/// moving the time forward (then calls the hook, which can, say, make a fake VM stop
/// "3 s later").
pub struct ManualClock {
    state: Mutex<ManualState>,
}

struct ManualState {
    start: DateTime<Utc>,
    slept: Duration,
    hook: Option<SleepHook>,
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.lock();
        f.debug_struct("ManualClock")
            .field("start", &s.start)
            .field("slept", &s.slept)
            .finish_non_exhaustive()
    }
}

impl ManualClock {
    /// A manual clock at `start`.
    pub fn new(start: DateTime<Utc>) -> ManualClock {
        ManualClock {
            state: Mutex::new(ManualState {
                start,
                slept: Duration::ZERO,
                hook: None,
            }),
        }
    }

    /// A manual clock at the real current time.
    pub fn at_now() -> ManualClock {
        ManualClock::new(Utc::now())
    }

    /// Calls `hook` after every sleep with the total time slept.
    pub fn on_sleep(&self, hook: impl FnMut(Duration) + Send + 'static) {
        self.lock().hook = Some(Box::new(hook));
    }

    /// The total time slept so far.
    pub fn slept(&self) -> Duration {
        self.lock().slept
    }

    fn lock(&self) -> MutexGuard<'_, ManualState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        let s = self.lock();
        let slept = chrono::Duration::from_std(s.slept).unwrap_or(chrono::Duration::MAX);
        s.start.checked_add_signed(slept).unwrap_or(s.start)
    }

    fn monotonic(&self) -> Duration {
        self.lock().slept
    }

    fn sleep(&self, d: Duration) {
        // The hook runs without the lock held, so it may read the clock.
        let (mut hook, slept) = {
            let mut s = self.lock();
            s.slept = s.slept.saturating_add(d);
            (s.hook.take(), s.slept)
        };
        if let Some(h) = hook.as_mut() {
            h(slept);
        }
        let mut s = self.lock();
        if s.hook.is_none() {
            s.hook = hook;
        }
    }
}

#[cfg(test)]
#[path = "clock_tests.rs"]
mod tests;
