#[test]
fn a_time_chrono_cannot_hold_is_printed_as_the_raw_number() {
    assert_eq!(super::unix(None), super::NONE);
    assert_eq!(super::unix(Some(0)), "1970-01-01T00:00:00+00:00");
    assert_eq!(
        super::unix(Some(i64::MAX)),
        format!("unix {} (out of range)", i64::MAX)
    );
}
