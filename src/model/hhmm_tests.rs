use super::*;

#[test]
fn parses_and_prints() {
    for (text, ok) in [
        ("02:00", true),
        ("2:05", true),
        ("23:59", true),
        ("24:00", false),
        ("12:60", false),
        ("1200", false),
        ("", false),
        ("ab:cd", false),
        ("1:5", false),
    ] {
        let parsed = text.parse::<HhMm>();
        assert_eq!(parsed.is_ok(), ok, "{text}");
    }
    assert_eq!("2:05".parse::<HhMm>().unwrap().to_string(), "02:05");
}
