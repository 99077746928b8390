//! Alerts can be acknowledged (journaled) and clear themselves when their VM is gone
//! (issue 14, point 3).

use super::*;

/// A bench whose cleanup of `a` failed once: one alert.
pub(super) fn alerted() -> Bench {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(expired("a", 60));
    let p = b.snap(t0());
    b.finish(
        &p[0],
        Outcome::Failed("guest did not shut down".into()),
        t0() + 2,
    );
    assert_eq!(b.core.alerts().len(), 1);
    b
}

#[test]
fn an_acknowledged_alert_leaves_the_list_and_the_journal_says_who() {
    let mut b = alerted();
    let alert = b.core.alerts()[0].clone();
    let by = Actor::Dashboard("alice".into());
    assert!(b
        .core
        .acknowledge_alert(&alert, &by, at(t0() + 10))
        .unwrap());
    assert!(b.core.alerts().is_empty());
    assert!(
        EngineStore::new(b.dir.path())
            .load()
            .unwrap()
            .engine
            .alerts
            .is_empty(),
        "gone from the store too"
    );
    let j = b.journal.read_all().unwrap().entries;
    let e = j
        .iter()
        .find(|e| e.action == "alert_ack")
        .expect("an acknowledgement line");
    assert_eq!(e.vm_id, alert.vm_id);
    assert!(e.actor.contains("alice"), "{}", e.actor);
    assert!(e.reason.contains("cleanup alert"), "{}", e.reason);
    // A second acknowledgement finds nothing and journals nothing.
    assert!(!b
        .core
        .acknowledge_alert(&alert, &by, at(t0() + 11))
        .unwrap());
    let acks = b
        .journal
        .read_all()
        .unwrap()
        .entries
        .iter()
        .filter(|e| e.action == "alert_ack")
        .count();
    assert_eq!(acks, 1);
}

#[test]
fn an_alert_clears_itself_once_its_vm_is_gone() {
    let mut b = alerted();
    // Still there while the VM is.
    b.snap(t0() + 3600);
    assert_eq!(b.core.alerts().len(), 1);
    // The VM was cleaned up (by a person, or a later round): its alert has no cause.
    b.fake.remove("a");
    b.snap(t0() + 7200);
    assert!(b.core.alerts().is_empty(), "{:?}", b.core.alerts());
}
