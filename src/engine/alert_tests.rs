use super::*;

fn alert() -> Alert {
    Alert {
        time: chrono::Utc::now(),
        vm_name: "web-1".into(),
        vm_id: "u-1".into(),
        action: "cleanup".into(),
        error: "it's \"stuck\"; $(nope)".into(),
    }
}

fn sh(script: &str) -> Vec<String> {
    vec!["/bin/sh".into(), "-c".into(), script.into(), "alert".into()]
}

#[test]
fn passes_the_alert_in_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
            "printf '%s|%s|%s|%s|%s' \"$VMLIFE_VM_NAME\" \"$VMLIFE_VM_ID\" \"$VMLIFE_ACTION\" \"$VMLIFE_ERROR\" \"$VMLIFE_URI\" > {}",
            out.display()
        );
    run_alert_command(
        &sh(&script),
        Duration::from_secs(5),
        &alert(),
        "qemu:///system",
    )
    .unwrap();
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        "web-1|u-1|cleanup|it's \"stuck\"; $(nope)|qemu:///system"
    );
}

#[test]
fn control_characters_reach_the_command_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let script = format!(
        "printf '%s|%s' \"$VMLIFE_VM_NAME\" \"$VMLIFE_ERROR\" > {}",
        out.display()
    );
    let a = Alert {
        vm_name: "evil\n\x1b[2Jx\x07".into(),
        error: "evil\n\x1b[2Jx\x07 failed".into(),
        ..alert()
    };
    run_alert_command(&sh(&script), Duration::from_secs(5), &a, "u").unwrap();
    assert_eq!(
        std::fs::read_to_string(out).unwrap(),
        "evil\\n\\x1b[2Jx\\x07|evil\\n\\x1b[2Jx\\x07 failed"
    );
}

#[test]
fn failures_are_one_line() {
    let e = run_alert_command(
        &sh("echo first >&2; echo 'no route' >&2; exit 3"),
        Duration::from_secs(5),
        &alert(),
        "u",
    )
    .unwrap_err();
    assert!(
        e.contains("exit status: 3") && e.ends_with("no route"),
        "{e}"
    );
    let e = run_alert_command(
        &["/nonexistent/notify".into()],
        Duration::from_secs(5),
        &alert(),
        "u",
    )
    .unwrap_err();
    assert!(e.starts_with("cannot run /nonexistent/notify"), "{e}");
    let t = Instant::now();
    let e =
        run_alert_command(&sh("sleep 10"), Duration::from_millis(300), &alert(), "u").unwrap_err();
    assert!(e.contains("did not finish within"), "{e}");
    assert!(t.elapsed() < Duration::from_secs(5));
    assert_eq!(
        run_alert_command(&[], Duration::from_secs(1), &alert(), "u"),
        Ok(())
    );
}
