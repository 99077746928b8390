//! Ordered autostart, the pure part (docs/ARCHITECTURE.md, "Autostart"): which VMs take part,
//! the dependency graph and the VMs it holds back, the start order, and a step state machine per
//! VM that an IO runner ([`crate::host`]) drives with `now` passed in.
//!
//! - [`select`]: the VMs of an ordered start. A VM takes part when its
//!   `<vmlife:autostart>` record is enabled; without a record, when its persistence says
//!   `auto_start = true` (with the contract's autostart defaults). A record with
//!   `enabled = false` keeps the VM out even when `auto_start` is true: the record is
//!   the more specific setting. A VM with an invalid policy never takes part (it is held
//!   back when named or depended on). A dependency that exists but does not take part
//!   is an *external* step: never started by the sequence, up when it already runs, else
//!   its dependants are skipped.
//! - [`plan`]: the graph. A bad VM holds back only itself and its dependants: a VM in
//!   a cycle, with a dependency that names no VM, or with an invalid policy is held back
//!   with the reason ([`Candidate::held_back`]), and so is every VM that depends on it;
//!   the rest is ordered. [`dependency_cycles`] is the same cycle search for `ls`,
//!   `show` and `set`. The order is
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

mod graph;
mod sequence;
mod step;
#[cfg(test)]
mod tests;

pub use graph::*;
pub use sequence::*;
pub use step::*;

use std::collections::BTreeSet;

use serde::Serialize;

use super::VmFacts;
use crate::model::{StartFailureAction, Uuid, VmAutoStartConfig};

/// One VM an ordered start knows about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Candidate {
    /// The domain's UUID: what a start acts on.
    pub uuid: Uuid,
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
    /// Why it is held back: a bad setting of its own or of a dependency (an invalid
    /// policy, a dependency cycle, a dependency that does not exist). Unlike a `hold`,
    /// this is an error: the run that holds a VM back fails (non-zero exit).
    pub held_back: Option<String>,
}

impl Candidate {
    /// A member of the autostart set.
    pub fn member(
        uuid: impl Into<Uuid>,
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
            held_back: None,
        }
    }

    /// A dependency outside the autostart set.
    pub fn external(uuid: impl Into<Uuid>, name: impl Into<String>, active: bool) -> Candidate {
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
            held_back: None,
        }
    }
}

/// What [`select`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Members first (by name), then the external dependencies (by name).
    pub candidates: Vec<Candidate>,
    /// VMs left out for a reason a person should see: an invalid policy on a VM that
    /// nothing in the start depends on and that was not named.
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
/// given, plus the external dependencies they name. A VM with an invalid policy that
/// concerns the start (named in `only`, or named as a dependency) is a candidate held
/// back with the reason, so its dependants are held back too; any other is a note. A
/// dependency that names no VM is left for [`plan`].
pub fn select(vms: &[VmFacts], only: Option<&BTreeSet<String>>) -> Selection {
    let mut sel = Selection::default();
    let wanted =
        |v: &VmFacts| only.is_none_or(|o| o.contains(&v.name) || o.contains(v.uuid.as_str()));
    for v in vms.iter().filter(|v| wanted(v)) {
        match &v.meta {
            Err(e) if only.is_some() => sel.candidates.push(invalid(v, e, false)),
            Err(e) => sel.notes.push(format!(
                "{}: invalid policy ({e}): not considered for autostart",
                v.name
            )),
            Ok(_) => {
                if let Some(config) = autostart_config(v) {
                    sel.candidates
                        .push(Candidate::member(&v.uuid, &v.name, config, v.active));
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
            sel.candidates.push(match &v.meta {
                Err(e) => invalid(v, e, true),
                Ok(_) => Candidate::external(&v.uuid, &v.name, v.active),
            });
        }
    }
    sel
}

/// A VM whose metadata cannot be read: held back, never started.
fn invalid(v: &VmFacts, e: &crate::metadata::MetaError, external: bool) -> Candidate {
    let mut c = Candidate::external(&v.uuid, &v.name, v.active);
    c.external = external;
    c.hold = None;
    c.held_back = Some(format!("invalid policy ({e})"));
    c
}

/// The `depends_on` of a VM's autostart record (enabled or not: enabling it must not
/// reveal a cycle); empty without a readable record. For [`dependency_cycles`].
pub fn record_deps(
    meta: &Result<crate::metadata::LifecycleMeta, crate::metadata::MetaError>,
) -> &[String] {
    meta.as_ref()
        .ok()
        .and_then(|m| m.autostart.as_ref())
        .map_or(&[], |a| a.depends_on.as_slice())
}
