use super::escape;

#[test]
fn control_characters_are_shown_not_sent() {
    assert_eq!(escape("web-1"), "web-1");
    assert_eq!(escape("a\nb"), "a\\nb");
    assert_eq!(escape("\x1b[31mred\x07"), "\\x1b[31mred\\x07");
    assert_eq!(escape("tab\there\r"), "tab\\there\\r");
    assert_eq!(escape("\u{85}\u{9b}"), "\\u{85}\\u{9b}");
    assert_eq!(escape("\x7f"), "\\x7f");
    // A literal backslash cannot pass for an escape.
    assert_eq!(escape("a\\nb"), "a\\\\nb");
    assert_eq!(escape("größe"), "größe");
}
