use super::*;

fn none() -> BTreeMap<String, Vec<String>> {
    BTreeMap::new()
}

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
        assert_eq!(Key::parse(text).unwrap().to_string(), shown, "{text}");
    }
    for bad in ["", "ctrl-", "f13", "f0", "hello", " ", "ctrl-hello"] {
        assert!(Key::parse(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn defaults_cover_every_action_without_conflict() {
    let k = Keymap::build(&none(), false).unwrap();
    for a in Action::all() {
        assert!(!k.keys(a).is_empty(), "{a:?} unbound");
    }
    assert_eq!(
        k.action(Mode::Main, Key::parse("D").unwrap()),
        Some(Action::Destroy)
    );
    assert_eq!(k.action(Mode::Main, CTRL_C), Some(Action::Quit));
    // Layers: q quits the table and cancels a confirmation.
    let q = Key::parse("q").unwrap();
    assert_eq!(k.action(Mode::Main, q), Some(Action::Quit));
    assert_eq!(k.action(Mode::Confirm, q), Some(Action::No));
    assert_eq!(k.action(Mode::Filter, q), None, "typed into the filter");
}

#[test]
fn readonly_drops_mutating_actions() {
    let k = Keymap::build(&none(), true).unwrap();
    for a in Action::all() {
        assert_eq!(k.keys(a).is_empty(), a.is_mutating(), "{a:?}");
    }
    assert_eq!(k.action(Mode::Main, Key::parse("D").unwrap()), None);
    assert_eq!(
        k.refused(Mode::Main, Key::parse("D").unwrap()),
        Some(Action::Destroy)
    );
    assert_eq!(
        k.refused(Mode::Main, Key::parse("j").unwrap()),
        None,
        "still bound"
    );
    let rw = Keymap::build(&none(), false).unwrap();
    assert_eq!(rw.refused(Mode::Main, Key::parse("D").unwrap()), None);
}

#[test]
fn overrides_replace_and_errors_name_the_entry() {
    let mut o = none();
    o.insert("destroy".into(), vec!["X".into()]);
    o.insert("reboot".into(), vec![]);
    let k = Keymap::build(&o, false).unwrap();
    assert_eq!(
        k.action(Mode::Main, Key::parse("X").unwrap()),
        Some(Action::Destroy)
    );
    assert_eq!(k.action(Mode::Main, Key::parse("D").unwrap()), None);
    assert!(k.keys(Action::Reboot).is_empty());

    let err = |name: &str, keys: &[&str]| {
        let mut o = none();
        o.insert(name.into(), keys.iter().map(|s| s.to_string()).collect());
        Keymap::build(&o, false).unwrap_err()
    };
    assert!(err("destroyy", &["x"]).starts_with("keys.destroyy: unknown action"));
    assert!(err("destroy", &["ctrl-"]).starts_with("keys.destroy: \"ctrl-\" is not a key"));
    assert_eq!(
        err("destroy", &["j"]),
        "keys.destroy: j is already bound to down"
    );
    assert_eq!(
        err("bottom", &["D"]),
        "keys.bottom: D is already bound to destroy"
    );
    assert_eq!(
        err("start", &["ctrl-c"]),
        "keys.start: ctrl-c is reserved for quit"
    );
}
