use super::*;

#[test]
fn becoming_temporary_gets_a_full_ttl() {
    let mut m = LifecycleMeta::default();
    m.persistence.scheduled_cleanup = Some(5);
    set_mode(&mut m, PersistenceMode::Temporary, 1000, None);
    assert_eq!(m.persistence.created_at_unix, Some(1000));
    assert_eq!(m.persistence.scheduled_cleanup, None);
    assert!(!temporary_would_be_expired(
        &LifecycleMeta::default(),
        0,
        1000
    ));
}

#[test]
fn zero_ttl_would_be_expired() {
    let mut m = LifecycleMeta::default();
    m.persistence.ttl_hours = 0.0;
    assert!(temporary_would_be_expired(&m, 0, 1000));
}

#[test]
fn set_expiry_only_for_temporary() {
    let mut m = LifecycleMeta::default();
    assert!(!set_expiry(&mut m, 10, 100));
    set_mode(&mut m, PersistenceMode::Temporary, 10, None);
    assert!(set_expiry(&mut m, 10, 100));
    assert_eq!(m.persistence.scheduled_cleanup, Some(100));
}

#[test]
fn extend_permanent_is_refused() {
    let mut m = LifecycleMeta::default();
    assert!(!extend_ttl(&mut m, 0, 0, 1.0));
    assert_eq!(m, LifecycleMeta::default());
}
