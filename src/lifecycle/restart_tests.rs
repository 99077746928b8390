use super::*;
use crate::model::PersistenceMode;

fn meta(policy: RestartPolicy, count: u32, max: u32) -> Result<LifecycleMeta, MetaError> {
    let mut m = LifecycleMeta::default();
    m.persistence.restart_policy = policy;
    m.persistence.max_retries = max;
    m.state.restart_count = count;
    Ok(m)
}

fn kind(d: &RestartDecision) -> &'static str {
    match d {
        RestartDecision::Restart(_) => "restart",
        RestartDecision::GiveUp(_) => "give up",
        RestartDecision::Leave(_) => "leave",
    }
}

#[test]
fn decision_table() {
    use RestartPolicy::*;
    use StopCause::*;
    let cases = [
        (No, Crashed, 0, "leave"),
        (OnFailure, Crashed, 0, "restart"),
        (OnFailure, Crashed, 4, "restart"),
        (OnFailure, Crashed, 5, "give up"),
        (OnFailure, GuestShutdown, 0, "leave"),
        (Always, GuestShutdown, 0, "restart"),
        (Always, GuestShutdown, 5, "give up"),
        (Always, Crashed, 0, "restart"),
        (Always, RequestedShutdown, 0, "leave"),
        (Always, Destroyed, 0, "leave"),
        (Always, Saved, 0, "leave"),
        (Always, ByVmlife, 0, "leave"),
        (Always, Other, 0, "leave"),
        (OnFailure, Destroyed, 0, "leave"),
    ];
    for (policy, cause, count, want) in cases {
        let d = on_stop(&meta(policy, count, 5), true, cause, 0, 0);
        assert_eq!(kind(&d), want, "{policy:?} {cause:?} {count}: {d:?}");
    }
}

#[test]
fn only_managed_vms_are_restarted() {
    use RestartPolicy::*;
    use StopCause::*;
    // (has element, manage_all_vms) → managed.
    for (element, all, want) in [
        (true, false, true),
        (false, true, true),
        (true, true, true),
        (false, false, false),
    ] {
        assert_eq!(is_managed(element, all), want, "{element} {all}");
    }
    // Every restart-worthy stop of an unmanaged VM is left alone, whatever the
    // (default) policy would do; the same stop of a managed VM is restarted.
    for (policy, cause) in [
        (Always, Crashed),
        (Always, GuestShutdown),
        (OnFailure, Crashed),
    ] {
        let m = meta(policy, 0, 5);
        assert_eq!(
            on_stop(&m, false, cause, 0, 0),
            RestartDecision::Leave(UNMANAGED.into()),
            "{policy:?} {cause:?}"
        );
        assert_eq!(kind(&on_stop(&m, true, cause, 0, 0)), "restart");
    }
    // Unmanaged and at max_retries: no give-up alert either.
    assert_eq!(
        kind(&on_stop(&meta(Always, 5, 5), false, Crashed, 0, 0)),
        "leave"
    );
}

#[test]
fn reasons_say_why() {
    let d = on_stop(
        &meta(RestartPolicy::OnFailure, 2, 5),
        true,
        StopCause::Crashed,
        0,
        0,
    );
    assert_eq!(
        d,
        RestartDecision::Restart("crashed; restart_policy = on_failure (restart 3 of 5)".into())
    );
    let d = on_stop(
        &meta(RestartPolicy::OnFailure, 5, 5),
        true,
        StopCause::Crashed,
        0,
        0,
    );
    assert_eq!(
        d,
        RestartDecision::GiveUp(
            "crashed; 5 restarts in a row reached max_retries = 5: left stopped".into()
        )
    );
}

#[test]
fn invalid_and_expired_are_left() {
    let bad = crate::metadata::parse("<x/>");
    assert!(bad.is_err());
    assert_eq!(
        kind(&on_stop(&bad, true, StopCause::Crashed, 0, 0)),
        "leave"
    );
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.created_at_unix = Some(0);
    m.persistence.ttl_hours = 1.0;
    assert_eq!(
        on_stop(&Ok(m), true, StopCause::Crashed, 0, 7200),
        RestartDecision::Leave("expired: left stopped for cleanup".into())
    );
}

#[test]
fn streak_ends_after_stable_run() {
    let m = meta(RestartPolicy::Always, 2, 5).unwrap();
    assert!(!streak_over(&m, Some(100), 200, 300));
    assert!(streak_over(&m, Some(100), 400, 300));
    assert!(!streak_over(&m, None, 400, 300), "not running");
    assert!(
        !streak_over(&LifecycleMeta::default(), Some(0), 400, 300),
        "nothing to reset"
    );
}
