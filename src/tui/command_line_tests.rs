use super::*;

#[test]
fn lines_parse_into_the_actions_of_the_keys() {
    let vm = |action, vm: &str, hours| Line::Vm {
        action,
        vm: Some(vm.into()),
        hours,
    };
    let cases = [
        ("start web-1", Ok(vm(Action::Start, "web-1", None))),
        ("destroy  ci-7 ", Ok(vm(Action::Destroy, "ci-7", None))),
        (
            "extend ci-7 4h",
            Ok(vm(Action::ExtendTtl, "ci-7", Some(4.0))),
        ),
        (
            "extend ci-7 30m",
            Ok(vm(Action::ExtendTtl, "ci-7", Some(0.5))),
        ),
        (
            "extend_ttl ci-7 2d",
            Ok(vm(Action::ExtendTtl, "ci-7", Some(48.0))),
        ),
        ("pause db-1", Ok(vm(Action::SuspendResume, "db-1", None))),
        (
            "shutdown",
            Ok(Line::Vm {
                action: Action::Shutdown,
                vm: None,
                hours: None,
            }),
        ),
        ("host hv2", Ok(Line::Host(Some("hv2".into())))),
        ("host", Ok(Line::Host(None))),
        ("sort ttl", Ok(Line::Sort(SortKey::Ttl))),
        ("filter web temp", Ok(Line::Filter("web temp".into()))),
        ("round", Ok(Line::Other(Action::CleanupRound))),
        ("q", Ok(Line::Other(Action::Quit))),
    ];
    for (text, want) in cases {
        assert_eq!(parse(text), want, "{text:?}");
    }
}

#[test]
fn bad_lines_say_what_was_expected() {
    for (text, says) in [
        ("", "type a command"),
        ("frobnicate web", "unknown command \"frobnicate\""),
        ("extend ci-7 soon", "not a duration"),
        ("extend ci-7 -4h", "not a duration"),
        ("start web-1 now", "takes only a VM name"),
        ("sort colour", "no column \"colour\""),
        ("round now", "takes no argument"),
        // Keys that are not commands are not verbs either.
        ("up", "unknown command"),
        ("yes", "unknown command"),
    ] {
        let e = parse(text).unwrap_err();
        assert!(e.contains(says), "{text:?}: {e}");
    }
}

#[test]
fn completion_offers_verbs_then_names_hosts_or_columns() {
    let names: Vec<String> = ["web-1", "web-2", "db-1"].map(String::from).to_vec();
    let hosts: Vec<String> = ["hv1", "hv2"].map(String::from).to_vec();
    assert_eq!(complete("sta", &names, &hosts), ["start"]);
    assert!(complete("", &names, &hosts).contains(&"destroy".to_string()));
    assert_eq!(complete("start we", &names, &hosts), ["web-1", "web-2"]);
    assert_eq!(
        complete("start ", &names, &hosts),
        ["db-1", "web-1", "web-2"]
    );
    assert_eq!(complete("host h", &names, &hosts), ["hv1", "hv2"]);
    assert_eq!(complete("sort t", &names, &hosts), ["ttl"]);
    assert!(complete("round ", &names, &hosts).is_empty());
    assert!(complete("start web-1 ", &names, &hosts).is_empty());

    assert_eq!(
        apply_completion("sta", &complete("sta", &names, &hosts)),
        "start "
    );
    assert_eq!(
        apply_completion("start w", &complete("start w", &names, &hosts)),
        "start web-"
    );
    assert_eq!(apply_completion("start x", &[]), "start x");
}

#[test]
fn every_vm_action_has_a_verb() {
    let verbs = verbs();
    for a in Action::all().filter(|a| a.spec().on_vm) {
        assert!(verbs.contains(&a.name()), "{}", a.name());
    }
}
