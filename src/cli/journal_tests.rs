use super::*;

#[test]
fn durations() {
    assert_eq!(parse_duration("2h"), Some(Duration::hours(2)));
    assert_eq!(parse_duration("1h30m"), Some(Duration::minutes(90)));
    assert_eq!(parse_duration("45s"), Some(Duration::seconds(45)));
    assert_eq!(parse_duration("1w"), Some(Duration::days(7)));
    for bad in ["", "2", "h", "2x", "1h30", "-2h"] {
        assert_eq!(parse_duration(bad), None, "{bad}");
    }
    let now = DateTime::parse_from_rfc3339("2026-01-10T03:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    assert_eq!(
        parse_since("2h", now).unwrap().to_rfc3339(),
        "2026-01-10T01:00:00+00:00"
    );
    assert_eq!(
        parse_since("2026-01-01T00:00:00+01:00", now)
            .unwrap()
            .to_rfc3339(),
        "2025-12-31T23:00:00+00:00"
    );
    assert!(parse_since("yesterday", now)
        .unwrap_err()
        .contains("neither an RFC 3339"));
}
