//! `vmlife autostart`, `host-shutdown`, `host-boot` and `recover` through the real
//! binary on libvirt's test driver: dry runs print the plan and change nothing.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use assert_cmd::Command;

/// The binary with a clean environment: no user config, no default URI.
fn vmlife(home: &tempfile::TempDir) -> Command {
    let mut c = Command::cargo_bin("vmlife").unwrap();
    c.env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VMLIFE_CONFIG")
        .env_remove("VMLIFE_STATE_DIR")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .env("XDG_STATE_HOME", home.path().join("state"));
    c
}

fn run(c: &mut Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn journal_lines(state: &Path) -> Vec<String> {
    std::fs::read_to_string(state.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// The demo node with the autostart chain (db-1, app-1, web-1) shut off and without SSH
/// waits (the test driver's addresses are made up: never probed).
fn stopped_chain_node(dir: &Path) -> String {
    let now = chrono::Utc::now().timestamp();
    let node = vmlife::demo::render(vmlife::demo::NODE_TEMPLATE, now);
    let blocks: Vec<String> = node
        .split("<domain ")
        .map(|b| {
            let chain = ["db-1", "app-1", "web-1"]
                .iter()
                .any(|n| b.contains(&format!("<name>{n}</name>")));
            if chain {
                b.replace(
                    "<test:runstate>1</test:runstate>",
                    "<test:runstate>5</test:runstate>",
                )
                .replace(" wait_for_ssh=\"true\"", "")
                .replace(
                    "<vmlife:autostart ",
                    "<vmlife:autostart wait_for_ssh=\"false\" ",
                )
            } else {
                b.to_string()
            }
        })
        .collect();
    let path = dir.join("node.xml");
    std::fs::write(&path, blocks.join("<domain ")).unwrap();
    format!("test://{}", path.display())
}

#[test]
fn demo_dry_run_prints_the_order_and_the_waits() {
    let h = tempfile::tempdir().unwrap();
    let state = h.path().join("st");
    let (code, out, err) = run(vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&state)
        .args(["autostart", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            "ordered autostart (dry run: nothing is started): 4 VMs, 0 to start",
            "  1. lab-dns: already running, no SSH wait",
            "  2. db-1: already running, then wait up to 300 s for SSH (SSH probe: not probed (demo))",
            "  3. app-1: after db-1 is up: already running (no start, so no 5 s delay), then wait up to 300 s for SSH (SSH probe: not probed (demo))",
            "  4. web-1: after app-1 is up: already running, then wait up to 300 s for SSH (SSH probe: not probed (demo))",
        ],
        "{out}"
    );
    assert!(
        journal_lines(&state).is_empty(),
        "a dry run journals nothing"
    );
}

#[test]
fn dry_run_starts_nothing_and_a_real_run_starts_the_chain_in_order() {
    let h = tempfile::tempdir().unwrap();
    let uri = stopped_chain_node(h.path());
    let state = h.path().join("st");
    let (code, out, err) = run(vmlife(&h)
        .args(["-c", &uri, "--state-dir"])
        .arg(&state)
        .args(["autostart", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("ordered autostart (dry run: nothing is started): 4 VMs, 3 to start\n"),
        "{out}"
    );
    for (i, line) in [
        "1. lab-dns: already running, no SSH wait",
        "2. db-1: start, no SSH wait; if the start fails: retry up to 3 times",
        "3. app-1: after db-1 is up: wait 5 s, start, no SSH wait; if the start fails: retry up to 3 times",
        "4. web-1: after app-1 is up: start, no SSH wait; if the start fails: retry up to 3 times",
    ]
    .iter()
    .enumerate()
    {
        assert_eq!(out.lines().nth(i + 1), Some(format!("  {line}").as_str()), "{out}");
    }
    assert!(
        journal_lines(&state).is_empty(),
        "nothing started, nothing journaled"
    );

    // The real run, in one process (the test driver keeps its state in the process).
    let (code, out, err) = run(vmlife(&h)
        .args(["-c", &uri, "--state-dir"])
        .arg(&state)
        .arg("autostart"));
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.ends_with("autostart: 4 up, 0 failed, 0 skipped\n"),
        "{out}"
    );
    let started: Vec<String> = journal_lines(&state)
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "start")
        .map(|e| {
            format!(
                "{} {}",
                e["vm_name"].as_str().unwrap(),
                e["result"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(started, ["db-1 ok", "app-1 ok", "web-1 ok"]);
}

#[test]
fn host_hooks_dry_runs_on_the_demo() {
    let h = tempfile::tempdir().unwrap();
    let state = h.path().join("st");
    let (code, out, err) = run(vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&state)
        .args(["host-shutdown", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("host shutdown (dry run: nothing is changed or recorded): 12 VMs, "),
        "{out}"
    );
    // Dependants before their dependencies: web-1, then app-1, then db-1.
    let pos = |n: &str| {
        out.find(&format!(". {n} ("))
            .unwrap_or_else(|| panic!("{n}: {out}"))
    };
    assert!(
        pos("web-1") < pos("app-1") && pos("app-1") < pos("db-1"),
        "{out}"
    );
    assert!(
        out.contains("app-1 (running): after web-1: managed save"),
        "{out}"
    );
    assert!(!state.join("recovery.json").exists());

    let (code, out, err) = run(vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&state)
        .args(["host-boot", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("then the ordered start:"), "{out}");
    assert!(
        !state.join("boot-id").exists(),
        "a dry run leaves no marker"
    );

    let (code, _, err) = run(vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&state)
        .arg("recover"));
    assert_eq!(code, 1);
    assert!(
        err.starts_with("vmlife: error: no recovery records in "),
        "{err}"
    );
}

#[test]
fn readonly_refuses_the_host_hooks_but_not_their_dry_runs() {
    let h = tempfile::tempdir().unwrap();
    let state = h.path().join("st");
    for cmd in ["autostart", "host-shutdown", "host-boot", "recover"] {
        let (code, _, err) = run(vmlife(&h)
            .args(["--demo", "--readonly", "--state-dir"])
            .arg(&state)
            .arg(cmd));
        assert_eq!(code, 1, "{cmd}: {err}");
        assert!(
            err.contains("--readonly was given (try --dry-run)"),
            "{cmd}: {err}"
        );
    }
    let (code, _, err) = run(vmlife(&h)
        .args(["--demo", "--readonly", "--state-dir"])
        .arg(&state)
        .args(["autostart", "--dry-run"]));
    assert_eq!(code, 0, "{err}");
}

/// A self-dependency (set by hand in the metadata) holds back that VM and its
/// dependants, named with the reason; the rest of `host-boot` and of `autostart` goes
/// on, and the exit code is 1. (It used to start nothing, or exit 0 with a cycle.)
#[test]
fn a_self_dependency_holds_back_only_its_chain_and_fails_the_run() {
    let h = tempfile::tempdir().unwrap();
    let uri = stopped_chain_node(h.path());
    let path = uri.trim_start_matches("test://").to_string();
    let node = std::fs::read_to_string(&path).unwrap();
    // app-1 depends on itself as well as on db-1; web-1 depends on app-1.
    let node = node.replacen(
        "<vmlife:depends_on>db-1</vmlife:depends_on>",
        "<vmlife:depends_on>db-1</vmlife:depends_on><vmlife:depends_on>app-1</vmlife:depends_on>",
        1,
    );
    std::fs::write(&path, node).unwrap();
    let state = h.path().join("st");

    // ls and show flag it.
    let (code, out, err) = run(vmlife(&h).args(["-c", &uri, "ls"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains(
            "\napp-1: in a dependency cycle (app-1 → app-1): held back from the ordered start\n"
        ),
        "{out}"
    );
    let (code, out, err) = run(vmlife(&h)
        .args(["-c", &uri, "--state-dir"])
        .arg(&state)
        .args(["show", "app-1"]));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("IN A DEPENDENCY CYCLE (held back from the ordered start): app-1 → app-1"),
        "{out}"
    );

    let (code, out, err) = run(vmlife(&h)
        .args(["-c", &uri, "--state-dir"])
        .arg(&state)
        .args(["autostart", "--dry-run"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        out.contains("  4. web-1: held back: depends on app-1, which is held back: in a dependency cycle: app-1 → app-1\n"),
        "{out}"
    );

    let (code, out, err) = run(vmlife(&h)
        .args(["-c", &uri, "--state-dir"])
        .arg(&state)
        .args(["host-boot", "--force"]));
    assert_eq!(code, 1, "{out}\n{err}");
    assert!(
        err.contains(
            "vmlife: error: host boot: 2 VMs held back: app-1 (in a dependency cycle: app-1 → \
             app-1); web-1 (depends on app-1, which is held back: in a dependency cycle: \
             app-1 → app-1)"
        ),
        "{err}"
    );
    assert!(
        out.contains("host boot: ordered autostart: 2 up, 0 failed, 2 skipped"),
        "{out}"
    );
    let started: Vec<String> = journal_lines(&state)
        .iter()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .filter(|e| e["action"] == "start")
        .map(|e| e["vm_name"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(started, ["db-1"], "{out}");
}
