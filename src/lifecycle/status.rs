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
mod tests {
    use super::*;

    #[test]
    fn labels() {
        let temp = VmPersistence {
            mode: PersistenceMode::Temporary,
            ..VmPersistence::default()
        };
        let live = Some(TtlStatus::Live {
            expires_at: 10,
            remaining: 5,
        });
        let expired = Some(TtlStatus::Expired {
            expires_at: 0,
            overdue: 5,
        });
        assert_eq!(cleanup_label(None, None), "invalid");
        assert_eq!(
            cleanup_label(Some(&VmPersistence::default()), Some(TtlStatus::Permanent)),
            "—"
        );
        assert_eq!(cleanup_label(Some(&temp), live), "scheduled");
        assert_eq!(cleanup_label(Some(&temp), expired), "due");
        let manual = VmPersistence {
            auto_cleanup: false,
            ..temp
        };
        assert_eq!(cleanup_label(Some(&manual), expired), "manual");
    }
}
