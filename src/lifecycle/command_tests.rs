use super::*;

#[test]
fn every_step_that_stops_or_removes_a_vm_is_destructive() {
    let cleanup = Op::Cleanup {
        force: false,
        grace_seconds: 1,
        remove_storage: false,
    };
    for op in [
        Op::Shutdown,
        Op::Reboot,
        Op::Destroy,
        Op::ManagedSave,
        Op::DiscardManagedSave,
        Op::Undefine,
        cleanup,
    ] {
        assert!(op.is_destructive(), "{op:?}");
    }
    for op in [
        Op::Start,
        Op::Suspend,
        Op::Resume,
        Op::RestartByPolicy,
        Op::ResetRestartCount,
        Op::ExtendTtl { hours: 1.0 },
        Op::SetExpiry { at: 0 },
        Op::StampCreatedAt { at: 0 },
        Op::SetMode {
            mode: PersistenceMode::Permanent,
        },
    ] {
        assert!(!op.is_destructive(), "{op:?}");
    }
}
