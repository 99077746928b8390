use std::sync::atomic::Ordering;
use std::sync::mpsc;

use super::*;

#[test]
fn fanout_forgets_closed_sinks() {
    let f = Fanout::default();
    assert!(f.is_empty());
    let (tx1, mut rx1) = tokio::sync::mpsc::unbounded_channel();
    let (tx2, rx2) = tokio::sync::mpsc::unbounded_channel();
    f.add(tx1);
    f.add(tx2);
    drop(rx2);
    f.emit(DomainEvent::Reconnected);
    assert_eq!(rx1.try_recv().ok(), Some(DomainEvent::Reconnected));
    assert_eq!(lock(&f.sinks).len(), 1);
    drop(rx1);
    assert!(f.is_empty());
}

#[test]
fn close_reasons_in_words() {
    assert!(close_reason(1).starts_with("end of file"));
    assert!(close_reason(2).starts_with("keepalive"));
    assert_eq!(close_reason(9), "closed (reason 9)");
}

#[test]
fn unknown_close_ids_are_ignored() {
    connection_closed(usize::MAX, 1);
}

#[test]
fn close_signal_reaches_the_registered_monitor() {
    let (tx, rx) = mpsc::channel();
    let id = NEXT_CLOSE_ID.fetch_add(1, Ordering::Relaxed);
    lock(&CLOSE_TARGETS).insert(id, (tx, 7));
    connection_closed(id, 2);
    lock(&CLOSE_TARGETS).remove(&id);
    match rx.try_recv() {
        Ok(Signal::Closed { generation, reason }) => {
            assert_eq!(generation, 7);
            assert!(reason.starts_with("keepalive"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
}
