use super::*;

#[test]
fn one_line_escapes_control_characters() {
    assert_eq!(one_line("a\nb\x1b[31m"), "a\\nb\\x1b[31m");
}
