use super::*;
use crate::metadata::LifecycleMeta;
use crate::model::{PersistenceMode, VmState, VmStateSnapshot};

#[test]
fn questionable_combinations_are_listed_as_warnings() {
    let mut meta = LifecycleMeta::default();
    meta.persistence.mode = PersistenceMode::Temporary;
    meta.persistence.auto_start = true;
    let at = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let view = |name: &str, meta: LifecycleMeta| Vm {
        uuid: format!("u-{name}").into(),
        host: 0,
        key: format!("u-{name}").into(),
        state: None,
        reason: crate::hypervisor::StateReason::default(),
        persistent: false,
        libvirt_autostart: false,
        snapshot: VmStateSnapshot::empty(name, at, VmState::Stopped),
        meta: Ok(meta),
        first_seen_unix: 0,
        details: None,
        pending: false,
        freshness: Default::default(),
    };
    let views = [view("tmp-1", meta), view("ok", LifecycleMeta::default())];
    let mut out = Vec::new();
    write_warnings(&views, &mut out).unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "\nwarnings:\n  tmp-1: auto_start on a temporary VM: it is started at host boot until its TTL ends\n"
    );
    let mut out = Vec::new();
    write_warnings(&views[1..], &mut out).unwrap();
    assert!(out.is_empty());
}

#[test]
fn a_planned_retry_says_that_the_last_cleanup_failed() {
    let line = VmCleanupLine {
        vm_name: "ci-7".into(),
        vm_id: "u".into(),
        expires_at: 0,
        state: VmCleanupState::Planned,
        retry_at: None,
        last_failure: Some(crate::lifecycle::cleanup::LastFailure {
            attempts: 3,
            error: "undefine: busy".into(),
        }),
    };
    assert_eq!(
        state_text(&line, 0),
        "failed (3 attempts): undefine: busy; now planned in this round"
    );
}
