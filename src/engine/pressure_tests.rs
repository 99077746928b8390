use super::*;

#[test]
fn local_uris() {
    for uri in [
        "qemu:///system",
        "qemu:///session",
        "test:///default",
        "test:///tmp/x/node.xml",
        "qemu+unix:///session?socket=/tmp/s",
    ] {
        assert!(is_local_uri(uri), "{uri}");
    }
    for uri in [
        "qemu+ssh://host/system",
        "qemu+tcp://10.0.0.1/system",
        "qemu://host/system",
        "qemu+tls://h/system",
        "nonsense",
    ] {
        assert!(!is_local_uri(uri), "{uri}");
    }
}

#[test]
fn meminfo_thresholds() {
    let mi =
        |avail: u64| format!("MemTotal:  1048576 kB\nMemFree: 1 kB\nMemAvailable: {avail} kB\n");
    assert!(
        matches!(meminfo_pressure(&mi(40_000), 5.0), Pressure::Under(s) if s.contains("3.8 %"))
    );
    assert!(matches!(
        meminfo_pressure(&mi(600_000), 5.0),
        Pressure::Fine(_)
    ));
    assert!(matches!(
        meminfo_pressure("MemTotal: 5 kB\n", 5.0),
        Pressure::Unknown(_)
    ));
    assert!(matches!(
        host_pressure("qemu+ssh://h/system", 5.0),
        Pressure::Unknown(s) if s.contains("not on this host")
    ));
    assert_eq!(Pressure::Under("x".into()).as_hold(), Some("x".into()));
    assert_eq!(Pressure::Unknown("x".into()).as_hold(), None);
}

#[test]
fn not_checked_is_shown_as_unknown_and_holds_nothing() {
    assert_eq!(
        Pressure::NotChecked.to_string(),
        "unknown (not checked (skip_on_low_resources = false))"
    );
    assert_eq!(Pressure::NotChecked.as_hold(), None);
}
