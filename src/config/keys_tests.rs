//! Tests of the `[keys]` section: key syntax and the resolved bindings.

use super::*;

#[test]
fn parse_and_display() {
    for (text, shown) in [
        ("j", "j"),
        ("G", "G"),
        ("ctrl-c", "ctrl-c"),
        ("Ctrl-X", "ctrl-x"),
        ("alt-x", "alt-x"),
        ("enter", "enter"),
        ("pgdn", "pgdn"),
        ("PageUp", "pgup"),
        ("f5", "f5"),
        ("space", "space"),
        ("+", "+"),
        ("shift-tab", "shift-tab"),
    ] {
        assert_eq!(KeyChord::parse(text).unwrap().to_string(), shown, "{text}");
    }
    for bad in ["", "ctrl-", "f13", "f0", "hello", " ", "ctrl-hello"] {
        assert!(KeyChord::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn overrides_replace_the_defaults_in_order() {
    let mut o = BTreeMap::new();
    o.insert("destroy".to_string(), vec!["X".to_string()]);
    o.insert("reboot".to_string(), vec![]);
    let b = resolve(&o).unwrap();
    assert_eq!(b.len(), DEFAULTS.len());
    let keys = |name: &str| b.iter().find(|(n, _)| *n == name).unwrap().1.clone();
    assert_eq!(keys("destroy"), [KeyChord::parse("X").unwrap()]);
    assert!(keys("reboot").is_empty());
    assert_eq!(keys("quit"), [KeyChord::plain(KeyCode::Char('q'))]);
    assert!(resolve(&BTreeMap::new())
        .unwrap()
        .iter()
        .all(|(_, k)| !k.contains(&KeyChord::CTRL_C)));
}
