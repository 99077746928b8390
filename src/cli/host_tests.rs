use super::ChangeLog;

#[test]
fn only_changed_steps_are_printed() {
    let mut log = ChangeLog::default();
    let first = log.changed(
        "[0s]",
        [
            ("a", "wait".into(), "waiting"),
            ("b", "wait".into(), "waiting"),
        ],
    );
    assert_eq!(first, vec!["[0s] a: waiting", "[0s] b: waiting"]);
    let next = log.changed(
        "[2s]",
        [("a", "up".into(), "up"), ("b", "wait".into(), "waiting")],
    );
    assert_eq!(next, vec!["[2s] a: up"]);
    assert!(log
        .changed(
            "[3s]",
            [("a", "up".into(), "up"), ("b", "wait".into(), "still")]
        )
        .is_empty());
}
