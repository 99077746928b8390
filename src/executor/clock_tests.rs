use super::*;
use std::sync::Arc;

#[test]
fn manual_clock_moves_only_when_sleeping() {
    let start = DateTime::from_timestamp(1_000_000, 0).unwrap();
    let c = ManualClock::new(start);
    assert_eq!(c.now(), start);
    assert_eq!(c.monotonic(), Duration::ZERO);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s2 = Arc::clone(&seen);
    c.on_sleep(move |t| s2.lock().unwrap().push(t));
    c.sleep(Duration::from_secs(2));
    c.sleep(Duration::from_millis(500));
    assert_eq!(c.monotonic(), Duration::from_millis(2500));
    assert_eq!(c.now().timestamp(), 1_000_002);
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Duration::from_secs(2), Duration::from_millis(2500)]
    );
}

#[test]
fn system_clock_is_monotonic() {
    let c = SystemClock::new();
    let a = c.monotonic();
    c.sleep(Duration::from_millis(5));
    assert!(c.monotonic() >= a + Duration::from_millis(5));
}
