use super::*;

#[test]
fn backoff_doubles_up_to_thirty_seconds() {
    let mut b = Backoff::default();
    let got: Vec<u64> = (0..8).map(|_| b.next_delay().as_secs()).collect();
    assert_eq!(got, [1, 2, 4, 8, 16, 30, 30, 30]);
}

#[test]
fn retry_sleeps_the_backoff_between_failed_attempts() {
    // A fake connector: fails three times, then connects.
    let mut waits = Vec::new();
    let mut errors = Vec::new();
    let mut n = 0;
    let ok = retry_with_backoff(
        &mut Backoff::default(),
        |d| {
            waits.push(d.as_secs());
            true
        },
        || {
            n += 1;
            if n < 4 {
                Attempt::Failed(format!("refused {n}"))
            } else {
                Attempt::Connected
            }
        },
        |e| errors.push(e.to_string()),
    );
    assert!(ok);
    assert_eq!(waits, [1, 2, 4, 8]);
    assert_eq!(errors, ["refused 1", "refused 2", "refused 3"]);
}

#[test]
fn retry_stops_when_the_adapter_goes_or_the_wait_is_cut() {
    let mut attempts = 0;
    assert!(!retry_with_backoff(
        &mut Backoff::default(),
        |_| true,
        || {
            attempts += 1;
            if attempts < 3 {
                Attempt::Failed("no".into())
            } else {
                Attempt::Stop
            }
        },
        |_| {}
    ));
    assert_eq!(attempts, 3);

    let mut attempts = 0;
    let mut waits = 0;
    assert!(!retry_with_backoff(
        &mut Backoff::default(),
        |_| {
            waits += 1;
            waits < 3
        },
        || {
            attempts += 1;
            Attempt::Failed("no".into())
        },
        |_| {}
    ));
    assert_eq!((waits, attempts), (3, 2));
}

#[test]
fn sleep_on_ignores_stale_signals_and_ends_on_disconnect() {
    let (tx, rx) = mpsc::channel();
    tx.send(Signal::Closed {
        generation: 1,
        reason: "old".into(),
    })
    .expect("send");
    let t = Instant::now();
    assert!(sleep_on(&rx, Duration::from_millis(50)));
    assert!(t.elapsed() >= Duration::from_millis(50));
    drop(tx);
    let t = Instant::now();
    assert!(!sleep_on(&rx, Duration::from_secs(10)));
    assert!(t.elapsed() < Duration::from_secs(1));
}
