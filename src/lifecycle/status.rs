//! What the dashboard and the CLI say about a VM's cleanup, from its policy and TTL.

use super::ttl::TtlStatus;
use crate::model::{PersistenceMode, VmPersistence};

/// The cleanup column: where a VM stands before the engine has a record of it.
/// `None` persistence means the VM's policy is invalid.
pub fn cleanup_label(p: Option<&VmPersistence>, ttl: Option<TtlStatus>) -> &'static str {
    match (p, ttl) {
        (None, _) | (_, None) => "invalid",
        (Some(p), _) if p.mode == PersistenceMode::Permanent => "—",
        (Some(p), _) if !p.auto_cleanup => "manual",
        (Some(_), Some(TtlStatus::Expired { .. })) => "due",
        (Some(_), Some(_)) => "scheduled",
    }
}

#[cfg(test)]
#[path = "status_tests.rs"]
mod tests;
