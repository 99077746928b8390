//! [`Op::Cleanup`]: the multi-step removal of an expired temporary VM (docs/ARCHITECTURE.md §1,
//! "Cleanup").
//!
//! 1. Read the VM's state (and, with `remove_storage`, its disks, before anything is
//!    removed).
//! 2. If it runs: ask it to shut down (a failed request, e.g. a guest without ACPI, is
//!    noted, not fatal) and poll its state every second for up to `grace_seconds`. Still
//!    running then: destroy it when `force`, else fail (the next round retries).
//! 3. With `remove_storage`: delete each disk volume by path through libvirt's storage
//!    API, unless another domain uses it too; a path in no storage pool is left in
//!    place and noted (vmlife never deletes files by hand). Done before the undefine, so
//!    each deletion can still re-check the VM, and a failure leaves the VM defined for
//!    the next round to retry.
//! 4. Undefine it (with managed save, snapshot metadata and NVRAM). A transient domain
//!    is gone once stopped; its volumes are left in place (it can no longer be
//!    re-checked).
//!
//! Right before each destructive step (shutdown, destroy, volume delete, undefine) the
//! VM is re-checked: same UUID and name, and still due (valid, temporary,
//! `auto_cleanup`, expired now), and the step is journaled as `starting: …`. A failed
//! re-check or journal write stops the procedure; nothing more is called. One result
//! entry per cleanup; its `detail.steps` lists what was done.

use std::time::Duration;

use serde_json::{json, Value};

use crate::hypervisor::{DiskInfo, HvErrorKind, Hypervisor, RawDomain, StatsGroups};
use crate::lifecycle::Command;

use super::clock::Clock;
use super::precondition::{self, state_of, Precondition};
use super::{Begin, Outcome};

/// How often the state is polled while a guest shuts down.
pub const SHUTDOWN_POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The cleanup's parameters, from [`crate::lifecycle::Op::Cleanup`].
#[derive(Debug, Clone, Copy)]
pub(super) struct Params {
    pub force: bool,
    pub grace_seconds: u64,
    pub remove_storage: bool,
}

/// A step that ended the procedure early: the outcome to report.
type Stop = Outcome;

/// One cleanup in progress: what it acts on and the steps taken so far.
struct Cleanup<'a> {
    hv: &'a dyn Hypervisor,
    cmd: &'a Command,
    clock: &'a dyn Clock,
    /// Journals each destructive step before it starts.
    begin: Begin<'a>,
    params: Params,
    steps: Vec<String>,
}

/// Runs the cleanup (or, in dry run, says what it would do, calling nothing that
/// changes anything). Returns the outcome and the journal's `detail`.
pub(super) fn run(
    hv: &dyn Hypervisor,
    cmd: &Command,
    params: Params,
    dry_run: bool,
    clock: &dyn Clock,
    begin: Begin<'_>,
) -> (Outcome, Option<Value>) {
    let mut c = Cleanup {
        hv,
        cmd,
        clock,
        begin,
        params,
        steps: Vec::new(),
    };
    let outcome = match c.run(dry_run) {
        Ok(outcome) | Err(outcome) => outcome,
    };
    let outcome = match outcome {
        // Say what was already done when a later re-check stopped the procedure.
        Outcome::Refused(why) if !c.steps.is_empty() => {
            Outcome::Refused(format!("{why} (already done: {})", c.steps.join(", ")))
        }
        o => o,
    };
    let detail = json!({
        "force": params.force,
        "grace_seconds": params.grace_seconds,
        "remove_storage": params.remove_storage,
        "steps": c.steps,
    });
    (outcome, Some(detail))
}

/// How waiting for a shutdown ended.
enum Waited {
    Stopped(Duration),
    /// The domain disappeared (a transient domain is gone once stopped).
    Gone(Duration),
    StillRunning,
}

impl Cleanup<'_> {
    fn name(&self) -> &str {
        &self.cmd.vm_name
    }

    fn uuid(&self) -> &str {
        &self.cmd.vm_id
    }

    fn step(&mut self, s: impl Into<String>) {
        self.steps.push(s.into());
    }

    /// The re-check before a destructive step, then its "starting" journal line: a
    /// step that cannot be journaled is not taken.
    fn recheck(&self, step: &str) -> Result<(), Stop> {
        precondition::recheck_with(
            self.hv,
            self.cmd,
            &[Precondition::SameIdentity, Precondition::StillDue],
            self.clock.now().timestamp(),
        )?;
        (self.begin)(step).map_err(|not_started| match not_started {
            Outcome::Failed(e) if !self.steps.is_empty() => {
                Outcome::Failed(format!("{e} (already done: {})", self.steps.join(", ")))
            }
            o => o,
        })
    }

    fn state(&self, when: &str) -> Result<Option<RawDomain>, Stop> {
        state_of(self.hv, self.uuid()).map_err(|e| {
            Outcome::Failed(format!("reading the state of {} {when}: {e}", self.name()))
        })
    }

    fn run(&mut self, dry_run: bool) -> Result<Outcome, Stop> {
        let dom = self.state("before cleaning it up")?.ok_or_else(|| {
            Outcome::Refused(format!(
                "domain {} ({}) no longer exists",
                self.name(),
                self.uuid()
            ))
        })?;
        let active = is_active(&dom);
        let persistent = dom.persistent;
        // Disk paths now: the domain XML is gone after the undefine.
        let disks = if self.params.remove_storage {
            self.hv
                .details(self.uuid())
                .map_err(|e| Outcome::Failed(format!("reading the disks of {}: {e}", self.name())))?
                .disks
        } else {
            Vec::new()
        };
        let volumes: Vec<&DiskInfo> = disks
            .iter()
            .filter(|d| d.device == "disk" && d.source.is_some())
            .collect();
        if dry_run {
            return Ok(Outcome::DryRun(self.plan(active, persistent, &volumes)));
        }

        if active {
            self.stop()?;
        } else {
            self.step("already shut off");
        }
        if !persistent {
            self.step("gone once stopped (transient)");
            if !volumes.is_empty() {
                self.step(format!(
                    "left its volumes in place (a transient domain cannot be re-checked once \
                     gone): {}",
                    sources(&volumes).join(", ")
                ));
            }
            return Ok(self.done());
        }
        if !volumes.is_empty() {
            self.delete_volumes(&volumes)?;
        }
        self.recheck("undefine")?;
        match self.hv.undefine(self.uuid()) {
            Ok(()) => self.step("undefined"),
            Err(e) if e.kind == HvErrorKind::NoDomain => self.step("already undefined"),
            Err(e) => return Err(Outcome::Failed(format!("undefine: {e}"))),
        }
        Ok(self.done())
    }

    fn done(&self) -> Outcome {
        Outcome::Ok(format!(
            "cleaned up {}: {}",
            self.name(),
            self.steps.join(", ")
        ))
    }

    /// What a real run would do, for dry run: `clean up web-1: shut down (grace 60s),
    /// then destroy if still running, then undefine`.
    fn plan(&self, active: bool, persistent: bool, volumes: &[&DiskInfo]) -> String {
        let Params {
            force,
            grace_seconds,
            ..
        } = self.params;
        let mut steps = Vec::new();
        if active {
            steps.push(format!("shut down (grace {grace_seconds}s)"));
            steps.push(if force {
                "then destroy if still running".to_string()
            } else {
                "then fail if still running (force_cleanup = false)".to_string()
            });
        } else {
            steps.push("already shut off".to_string());
        }
        if !persistent {
            steps.push("then it is gone (transient)".to_string());
        } else {
            if !volumes.is_empty() {
                steps.push(format!(
                    "then delete its volumes {}",
                    sources(volumes).join(", ")
                ));
            }
            steps.push("then undefine".to_string());
        }
        format!("clean up {}: {}", self.name(), steps.join(", "))
    }

    /// Shut the VM down within the grace period, or destroy it (`force`), or fail.
    fn stop(&mut self) -> Result<(), Stop> {
        let grace = self.params.grace_seconds;
        self.recheck(&format!("shut down (grace {grace}s)"))?;
        let request_error = self.hv.shutdown(self.uuid()).err();
        if let Some(e) = &request_error {
            self.step(format!("the shutdown request failed ({e})"));
        }
        match self.wait_inactive(Duration::from_secs(grace))? {
            Waited::Stopped(after) => {
                self.step(format!("shut down after {}s", after.as_secs()));
                Ok(())
            }
            Waited::Gone(after) => {
                self.step(format!("stopped after {}s", after.as_secs()));
                Ok(())
            }
            Waited::StillRunning if !self.params.force => {
                let mut msg = format!(
                    "still running after the {grace}s grace period (force_cleanup = false)"
                );
                if let Some(e) = request_error {
                    msg.push_str(&format!("; the shutdown request failed: {e}"));
                }
                Err(Outcome::Failed(msg))
            }
            Waited::StillRunning => {
                self.step(format!("still running after the {grace}s grace period"));
                self.recheck("destroy")?;
                match self.hv.destroy(self.uuid()) {
                    Ok(()) => self.step("destroyed"),
                    // It stopped on its own between the last poll and the destroy.
                    Err(e) if e.kind == HvErrorKind::InvalidOperation => {
                        match self.state("after the destroy failed")? {
                            Some(d) if is_active(&d) => {
                                return Err(Outcome::Failed(format!("destroy: {e}")))
                            }
                            _ => self.step("stopped on its own"),
                        }
                    }
                    Err(e) if e.kind == HvErrorKind::NoDomain => self.step("stopped on its own"),
                    Err(e) => return Err(Outcome::Failed(format!("destroy: {e}"))),
                }
                Ok(())
            }
        }
    }

    /// Polls the state every [`SHUTDOWN_POLL_INTERVAL`] until the VM is inactive or gone,
    /// or `grace` has passed.
    fn wait_inactive(&self, grace: Duration) -> Result<Waited, Stop> {
        let start = self.clock.monotonic();
        loop {
            let elapsed = self.clock.monotonic().saturating_sub(start);
            match self.state("while it shuts down")? {
                None => return Ok(Waited::Gone(elapsed)),
                Some(d) if !is_active(&d) => return Ok(Waited::Stopped(elapsed)),
                Some(_) if elapsed >= grace => return Ok(Waited::StillRunning),
                Some(_) => self
                    .clock
                    .sleep(SHUTDOWN_POLL_INTERVAL.min(grace.saturating_sub(elapsed))),
            }
        }
    }

    /// Deletes the VM's disk volumes, each after a re-check. Another domain's disk, a
    /// source that is not a path, and a path in no storage pool are left in place.
    fn delete_volumes(&mut self, volumes: &[&DiskInfo]) -> Result<(), Stop> {
        let others = self.disks_of_other_domains()?;
        for disk in volumes {
            let Some(path) = disk.source.as_deref() else {
                continue;
            };
            if !path.starts_with('/') {
                self.step(format!("left {path} in place (not a file path)"));
                continue;
            }
            if let Some((_, other)) = others.iter().find(|(p, _)| p == path) {
                self.step(format!("left {path} in place (also used by {other})"));
                continue;
            }
            self.recheck(&format!("delete volume {path}"))?;
            match self.hv.delete_volume(path) {
                Ok(true) => self.step(format!("deleted volume {path}")),
                Ok(false) => self.step(format!("left {path} in place (not in any storage pool)")),
                Err(e) => {
                    return Err(Outcome::Failed(format!("deleting volume {path}: {e}")));
                }
            }
        }
        Ok(())
    }

    /// `(disk source, domain name)` for every other domain's disks, so a volume shared
    /// with another VM (an image two VMs use) is never deleted. Not knowing is not a
    /// reason to delete: a read error fails the cleanup (retried next round).
    fn disks_of_other_domains(&self) -> Result<Vec<(String, String)>, Stop> {
        let cannot = |e: &dyn std::fmt::Display| {
            Outcome::Failed(format!(
                "cannot check whether other domains use the volumes of {}: {e}",
                self.name()
            ))
        };
        let all = self.hv.poll(StatsGroups::STATE).map_err(|e| cannot(&e))?;
        let mut out = Vec::new();
        for d in all.iter().filter(|d| d.uuid != self.uuid()) {
            match self.hv.details(&d.uuid) {
                Ok(details) => out.extend(
                    details
                        .disks
                        .into_iter()
                        .filter_map(|k| k.source)
                        .map(|s| (s, d.name.clone())),
                ),
                // Undefined meanwhile: it uses nothing.
                Err(e) if e.kind == HvErrorKind::NoDomain => {}
                Err(e) => return Err(cannot(&e)),
            }
        }
        Ok(out)
    }
}

fn is_active(d: &RawDomain) -> bool {
    d.state.is_some_and(|s| s.is_active())
}

fn sources(volumes: &[&DiskInfo]) -> Vec<String> {
    volumes.iter().filter_map(|d| d.source.clone()).collect()
}
