use proptest::prelude::*;

use super::{width, wrap};

#[test]
fn short_text_is_one_line() {
    assert_eq!(wrap("shutdown web-1", 40, 4), ["shutdown web-1"]);
    assert_eq!(wrap("", 10, 2), [""]);
}

#[test]
fn long_text_breaks_at_spaces_with_a_hanging_indent() {
    let lines = wrap(
        "engine: destroy ci-7: libvirt: Requested operation is not valid",
        24,
        4,
    );
    assert_eq!(
        lines,
        [
            "engine: destroy ci-7:",
            "    libvirt: Requested",
            "    operation is not",
            "    valid",
        ]
    );
}

#[test]
fn a_word_longer_than_the_line_is_split() {
    assert_eq!(
        wrap("see /var/lib/libvirt/images/x.qcow2", 12, 0),
        ["see", "/var/lib/lib", "virt/images/", "x.qcow2"]
    );
}

proptest! {
    /// No line is wider than asked, and nothing of the text is lost.
    #[test]
    fn lines_fit_and_keep_every_word(
        words in proptest::collection::vec("[a-zé─]{0,30}", 0..20),
        w in 1usize..60,
        indent in 0usize..10,
    ) {
        let text = words.join(" ");
        let lines = wrap(&text, w, indent);
        for l in &lines {
            prop_assert!(width(l) <= w, "{l:?} wider than {w}");
        }
        let squash = |s: &str| s.split_whitespace().collect::<String>();
        let joined: String = lines.iter().map(|l| squash(l)).collect();
        prop_assert_eq!(joined, squash(&text));
    }
}

#[test]
fn leading_spaces_stay() {
    assert_eq!(wrap("  1. start a b", 10, 5), ["  1. start", "     a b"]);
}
