//! Tests of the key vocabulary: key syntax and the resolved bindings.

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
    assert_eq!(b.len(), SPECS.len());
    let keys = |name: &str| b.iter().find(|(a, _)| a.name() == name).unwrap().1.clone();
    assert_eq!(keys("destroy"), [KeyChord::parse("X").unwrap()]);
    assert!(keys("reboot").is_empty());
    assert_eq!(keys("quit"), [KeyChord::plain(KeyCode::Char('q'))]);
    assert!(resolve(&BTreeMap::new())
        .unwrap()
        .iter()
        .all(|(_, k)| !k.contains(&KeyChord::CTRL_C)));
}

#[test]
fn errors_name_the_entry_and_modes_are_layers() {
    let err = |name: &str, keys: &[&str]| {
        let mut o = BTreeMap::new();
        o.insert(
            name.to_string(),
            keys.iter().map(|s| s.to_string()).collect(),
        );
        resolve(&o).unwrap_err()
    };
    assert!(err("destroyy", &["x"]).starts_with("keys.destroyy: unknown action"));
    assert_eq!(
        err("destroy", &["j"]),
        "keys.destroy: j is already bound to down"
    );
    assert_eq!(
        err("start", &["ctrl-c"]),
        "keys.start: ctrl-c is reserved for quit"
    );
    // `no` works in the confirmation only: it may take a key the table uses.
    let mut o = BTreeMap::new();
    o.insert("no".to_string(), vec!["D".to_string()]);
    assert!(resolve(&o).is_ok());
}
