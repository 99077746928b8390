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
