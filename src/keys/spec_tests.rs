use super::*;

#[test]
fn names_round_trip_and_match_serde() {
    for a in Action::all() {
        assert_eq!(Action::from_name(a.name()), Some(a));
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            format!("\"{}\"", a.name())
        );
    }
}

#[test]
fn the_table_is_in_declaration_order_with_one_row_each() {
    for (i, s) in SPECS.iter().enumerate() {
        assert_eq!(s.action as usize, i, "{:?} out of place", s.action);
        assert!(!s.keys.is_empty() && !s.modes.is_empty(), "{:?}", s.action);
        assert!(
            !s.on_vm || s.mutating,
            "{:?}: a VM action changes it",
            s.action
        );
    }
    assert_eq!(SPECS.len(), Action::Erase as usize + 1);
}

#[test]
fn hint_order_is_unique_per_mode() {
    for mode in Mode::ALL {
        let mut at: Vec<u8> = SPECS
            .iter()
            .filter(|s| s.works_in(mode))
            .filter_map(|s| s.hint)
            .collect();
        let n = at.len();
        at.sort_unstable();
        at.dedup();
        assert_eq!(at.len(), n, "{mode:?}");
    }
}

#[test]
fn main_hints_keep_their_order() {
    use Action::*;
    assert_eq!(
        hints(Mode::Main),
        vec![
            Help,
            Quit,
            Filter,
            Detail,
            Start,
            Shutdown,
            Destroy,
            SuspendResume,
            Reboot,
            ManagedSave,
            ExtendTtl,
            EditTtl,
            ToggleMode,
            Cleanup,
            CleanupRound,
            ConfirmCleanups,
            Autostart,
            Recover,
            Sort,
            ReverseSort,
            FocusNext,
            Alerts,
            Mark,
            CommandLine,
        ]
    );
}
