use super::*;
use crate::hypervisor::{HvError, RunState};
use crate::metadata::LifecycleMeta;
use crate::model::VmPersistence;

const NOW: i64 = 1_800_000_000;

fn cmd(op: Op) -> Command {
    Command::new("u-1", "web-1", op, "test")
}

fn found(uuid: &str, name: &str) -> Facts {
    Facts::identity(
        Ok(VmRef {
            uuid: uuid.into(),
            name: name.into(),
        }),
        NOW,
    )
}

fn cleanup() -> Command {
    cmd(Op::Cleanup {
        force: false,
        grace_seconds: 60,
        remove_storage: false,
    })
}

fn with_meta(xml: Option<String>) -> Facts {
    Facts {
        metadata: Some(Ok(xml)),
        ..found("u-1", "web-1")
    }
}

fn temp(f: impl FnOnce(&mut VmPersistence)) -> Option<String> {
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.ttl_hours = 1.0;
    m.persistence.created_at_unix = Some(NOW - 7200);
    f(&mut m.persistence);
    Some(metadata::to_xml(&m))
}

#[test]
fn identity_check_table() {
    let c = cmd(Op::Destroy);
    let p = Precondition::SameIdentity;
    assert_eq!(check(p, &c, &found("u-1", "web-1")), Ok(()));
    assert_eq!(
        check(p, &c, &found("u-1", "web-2")),
        Err(Outcome::Refused(
            "domain u-1 is now named web-2, not web-1".into()
        ))
    );
    let gone = Err(Outcome::Refused(
        "domain web-1 (u-1) no longer exists".into(),
    ));
    assert_eq!(check(p, &c, &found("u-9", "u-1")), gone);
    let missing = Facts::identity(
        Err(HvError::new(HvErrorKind::NoDomain, "no such domain")),
        NOW,
    );
    assert_eq!(check(p, &c, &missing), gone);
    let down = Facts::identity(Err(HvError::new(HvErrorKind::Connection, "link down")), NOW);
    assert_eq!(
        check(p, &c, &down),
        Err(Outcome::Failed(
            "cannot re-check web-1 before destroy: link down".into()
        ))
    );
}

#[test]
fn still_due_table() {
    let c = cleanup();
    let due = |xml| check(Precondition::StillDue, &c, &with_meta(xml));
    let refused = |why: &str| Err(Outcome::Refused(format!("no longer due: {why}")));
    assert_eq!(due(temp(|_| {})), Ok(()));
    assert_eq!(
        due(temp(|p| p.scheduled_cleanup = Some(NOW - 1))),
        Ok(()),
        "scheduled in the past"
    );
    assert_eq!(
        due(temp(|p| p.scheduled_cleanup = Some(NOW + 3600))),
        refused("extended to 2027-01-15 09:00 UTC")
    );
    assert_eq!(
        due(temp(|p| p.mode = PersistenceMode::Permanent)),
        refused("made permanent")
    );
    assert_eq!(
        due(temp(|p| p.auto_cleanup = false)),
        refused("auto_cleanup = false")
    );
    assert_eq!(
        due(temp(|p| p.created_at_unix = None)),
        refused("not expired (no created_at_unix: it counts from now)")
    );
    assert_eq!(
        due(temp(|p| p.ttl_hours = 3.0)),
        refused("not expired (expires 2027-01-15 09:00 UTC)")
    );
    assert_eq!(due(None), refused("it has no vmlife metadata (permanent)"));
    let Err(Outcome::Refused(why)) = due(Some(
        r#"<lifecycle xmlns="urn:vmlife:lifecycle:1"><persistence mode="sometimes"/></lifecycle>"#
            .into(),
    )) else {
        panic!("invalid metadata not refused");
    };
    assert!(why.starts_with("no longer due: invalid policy ("), "{why}");
    // Metadata that could not be read is not a reason to act.
    let unreadable = Facts {
        metadata: Some(Err(HvError::new(HvErrorKind::Connection, "link down"))),
        ..found("u-1", "web-1")
    };
    assert_eq!(
        check(Precondition::StillDue, &c, &unreadable),
        Err(Outcome::Failed(
            "cannot re-check web-1 before cleanup: link down".into()
        ))
    );
    let unread = found("u-1", "web-1");
    assert!(matches!(
        check(Precondition::StillDue, &c, &unread),
        Err(Outcome::Failed(_))
    ));
}

#[test]
fn restart_checks() {
    let c = cmd(Op::RestartByPolicy);
    let state = |s: RunState| Facts {
        state: Some(Ok(Some(RawDomain {
            uuid: "u-1".into(),
            name: "web-1".into(),
            state: Some(s),
            ..RawDomain::default()
        }))),
        ..found("u-1", "web-1")
    };
    let p = Precondition::StillStopped;
    assert_eq!(check(p, &c, &state(RunState::Shutoff)), Ok(()));
    assert_eq!(check(p, &c, &state(RunState::Crashed)), Ok(()));
    assert_eq!(
        check(p, &c, &state(RunState::Running)),
        Err(Outcome::Refused("already running".into()))
    );
    assert_eq!(
        check(p, &c, &state(RunState::Paused)),
        Err(Outcome::Refused("already running".into()))
    );
    let meta = |f: &dyn Fn(&mut LifecycleMeta)| {
        let mut m = LifecycleMeta::default();
        f(&mut m);
        with_meta(Some(metadata::to_xml(&m)))
    };
    let p = Precondition::RestartAllowed;
    assert_eq!(check(p, &c, &meta(&|_| {})), Ok(()));
    assert_eq!(check(p, &c, &with_meta(None)), Ok(()), "contract defaults");
    assert_eq!(
        check(
            p,
            &c,
            &meta(&|m| m.persistence.restart_policy = RestartPolicy::No)
        ),
        Err(Outcome::Refused("restart_policy = no".into()))
    );
    assert_eq!(
        check(p, &c, &meta(&|m| m.state.restart_count = 5)),
        Err(Outcome::Refused(
            "5 restarts in a row reached max_retries = 5".into()
        ))
    );
    assert_eq!(
        check(p, &c, &with_meta(temp(|_| {}))),
        Err(Outcome::Refused("expired: left stopped for cleanup".into()))
    );
}

#[test]
fn which_commands_are_rechecked() {
    use Precondition::*;
    let actor = Actor::Engine;
    for op in [Op::Start, Op::Suspend, Op::Resume] {
        assert!(required(&cmd(op), &actor).is_empty());
    }
    for op in [
        Op::Shutdown,
        Op::Reboot,
        Op::Destroy,
        Op::ManagedSave,
        Op::Undefine,
        Op::ExtendTtl { hours: 1.0 },
        Op::SetMode {
            mode: PersistenceMode::Permanent,
        },
        Op::ResetRestartCount,
    ] {
        assert_eq!(required(&cmd(op), &actor), vec![SameIdentity]);
    }
    for actor in [Actor::Engine, Actor::Dashboard("alice".into())] {
        assert_eq!(required(&cleanup(), &actor), vec![SameIdentity, StillDue]);
    }
    assert_eq!(
        required(&cmd(Op::RestartByPolicy), &actor),
        vec![SameIdentity, StillStopped, RestartAllowed]
    );
}
