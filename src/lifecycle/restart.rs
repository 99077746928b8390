//! The restart policy: what to do when a VM stops, and when a restart streak ends.
//!
//! docs/ARCHITECTURE.md: `on_failure` restarts after a crash or failure; `always` also after a
//! guest-initiated shutdown — never after a stop a person asked for (destroy, a
//! host-requested shutdown, a managed save, a vmlife action). `restart_count` (kept in
//! the metadata) counts the restarts of the current streak; at `max_retries` the engine
//! gives up and alerts. The streak ends, and the count returns to 0, once the VM has run
//! `stable_seconds` without stopping (systemd's start limit is the model).
//!
//! Only a *managed* VM is restarted ([`is_managed`]): one that carries a vmlife element,
//! or any VM when the host config says `[engine] manage_all_vms = true`. Any other VM is
//! observed only (docs/ARCHITECTURE.md, "Which VMs the engine acts on by itself").

use serde::Serialize;

use super::ttl::{self, TtlStatus};
use crate::metadata::{LifecycleMeta, MetaError};
use crate::model::RestartPolicy;

/// Why a VM stopped, classified from libvirt's shut-off reason and events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopCause {
    /// The guest crashed, QEMU died, or the guest panicked.
    Crashed,
    /// The guest shut itself down (an event said so).
    GuestShutdown,
    /// Someone asked it to shut down (virDomainShutdown), or it is unknown who did.
    RequestedShutdown,
    /// Someone destroyed it.
    Destroyed,
    /// Managed save or save to file.
    Saved,
    /// vmlife itself stopped it (cleanup, host shutdown, a dashboard action).
    ByVmlife,
    /// Migrated away, restored from a snapshot, or a reason vmlife does not know.
    Other,
}

/// What the engine does about a stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", content = "reason", rename_all = "snake_case")]
pub enum RestartDecision {
    /// Start it again; the reason goes to the journal.
    Restart(String),
    /// Leave it stopped and alert: the streak reached `max_retries`.
    GiveUp(String),
    /// Leave it stopped; nothing to alert.
    Leave(String),
}

/// The reason given for a VM the engine leaves alone because it is not managed.
pub const UNMANAGED: &str = "not managed by vmlife (no vmlife element): observed only";

/// True when the engine's own initiatives (the restart policy) reach a VM: it carries a
/// vmlife element (`has_element`; an invalid one counts, and is refused for its own
/// reason), or the host opted every VM in (`[engine] manage_all_vms`).
pub fn is_managed(has_element: bool, manage_all_vms: bool) -> bool {
    has_element || manage_all_vms
}

/// Decide about a VM that stopped with `cause` at `now`; `managed` is [`is_managed`].
pub fn on_stop(
    meta: &Result<LifecycleMeta, MetaError>,
    managed: bool,
    cause: StopCause,
    first_seen: i64,
    now: i64,
) -> RestartDecision {
    let m = match meta {
        Ok(m) => m,
        Err(e) => {
            return RestartDecision::Leave(format!(
                "invalid policy ({e}): never acted on automatically"
            ))
        }
    };
    if !managed {
        return RestartDecision::Leave(UNMANAGED.into());
    }
    let p = &m.persistence;
    if matches!(ttl::status(p, first_seen, now), TtlStatus::Expired { .. }) {
        return RestartDecision::Leave("expired: left stopped for cleanup".into());
    }
    let wants = match (p.restart_policy, cause) {
        (RestartPolicy::No, _) => return RestartDecision::Leave("restart_policy = no".into()),
        (_, StopCause::Crashed) => "crashed",
        (RestartPolicy::Always, StopCause::GuestShutdown) => "guest shut down",
        (RestartPolicy::OnFailure, StopCause::GuestShutdown) => {
            return RestartDecision::Leave(
                "guest shut down cleanly; restart_policy = on_failure".into(),
            )
        }
        (_, StopCause::RequestedShutdown) => {
            return RestartDecision::Leave("shut down on request".into())
        }
        (_, StopCause::Destroyed) => return RestartDecision::Leave("destroyed by a person".into()),
        (_, StopCause::Saved) => return RestartDecision::Leave("saved (managed save)".into()),
        (_, StopCause::ByVmlife) => return RestartDecision::Leave("stopped by vmlife".into()),
        (_, StopCause::Other) => {
            return RestartDecision::Leave("stopped for a reason vmlife does not restart".into())
        }
    };
    let done = m.state.restart_count;
    if done >= p.max_retries {
        return RestartDecision::GiveUp(format!(
            "{wants}; {done} restarts in a row reached max_retries = {}: left stopped",
            p.max_retries
        ));
    }
    RestartDecision::Restart(format!(
        "{wants}; restart_policy = {} (restart {} of {})",
        p.restart_policy,
        done + 1,
        p.max_retries
    ))
}

/// True when the VM's restart streak should end: it has restarts counted and has run
/// `stable_seconds` since `running_since`.
pub fn streak_over(
    meta: &LifecycleMeta,
    running_since: Option<i64>,
    now: i64,
    stable_seconds: u64,
) -> bool {
    meta.state.restart_count > 0
        && running_since.is_some_and(|since| {
            now.saturating_sub(since) >= i64::try_from(stable_seconds).unwrap_or(i64::MAX)
        })
}

#[cfg(test)]
#[path = "restart_tests.rs"]
mod tests;
