use super::*;

#[test]
fn stat_parsing() {
    let line = "1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 1000 10";
    assert_eq!(parse_stat(line), Some(98765));
    let zombie = "1234 (x) Z 1 1234 1234 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 98765 0 0";
    assert_eq!(parse_stat(zombie), None);
    assert_eq!(parse_stat("garbage"), None);
}

#[test]
fn claimants_live_and_die() {
    let a = Claimant::new();
    let id = a.id().clone();
    assert!(is_alive(&id));
    assert!(start_ticks(std::process::id()).is_some());
    drop(a);
    assert!(!is_alive(&id), "a dropped claimant's claims are abandoned");
    let other = OwnerId {
        pid: u32::MAX - 1,
        start_ticks: 1,
        instance: 1,
    };
    assert!(!is_alive(&other), "no such process");
    let b = Claimant::new();
    let mut reused = b.id().clone();
    assert!(is_alive(&reused));
    reused.start_ticks += 1;
    assert!(!is_alive(&reused), "a reused pid is another process");
}
