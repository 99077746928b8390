//! The real binary: `ls`, `show`, `set` on the demo, and every CLI error path.
#![allow(clippy::unwrap_used)] // helpers outside #[test] fns unwrap too: a test may panic

use assert_cmd::Command;
use predicates::prelude::*;
use serde_json::Value;

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

fn home() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn demo_json() -> Vec<Value> {
    let h = home();
    let out = vmlife(&h)
        .args(["--demo", "ls", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("ls --json prints valid JSON");
    v.as_array().expect("a JSON array").clone()
}

fn by_name<'a>(vms: &'a [Value], name: &str) -> &'a Value {
    vms.iter()
        .find(|v| v["vm_name"] == name)
        .unwrap_or_else(|| panic!("{name} in demo"))
}

#[test]
fn demo_ls_json_has_every_field_for_every_vm() {
    let vms = demo_json();
    assert_eq!(vms.len(), 12, "every demo VM");
    let fields = [
        "vm_name",
        "snapshot_time",
        "vm_state",
        "cpu_usage_percent",
        "memory_usage_mb",
        "disk_usage_gb",
        "ip_addresses",
        "mac_addresses",
        "uptime_seconds",
        "restart_count",
        "uuid",
        "uri",
        "stop_reason",
        "host",
        "persistence",
        "expires_at",
        "ttl_remaining_seconds",
        "policy_error",
        "pressure",
        "limits",
    ];
    for vm in &vms {
        let obj = vm.as_object().unwrap();
        for f in fields {
            assert!(obj.contains_key(f), "{} lacks {f}", vm["vm_name"]);
        }
        assert_eq!(vm["pressure"], serde_json::Value::Null, "nothing held");
        assert!(vm["limits"].is_array(), "{}: limits", vm["vm_name"]);
        assert_eq!(
            obj.len(),
            fields.len(),
            "no extra fields: {:?}",
            obj.keys().collect::<Vec<_>>()
        );
        let t = vm["snapshot_time"].as_str().unwrap();
        chrono::DateTime::parse_from_rfc3339(t).expect("snapshot_time is RFC 3339");
        assert!(vm["uri"].as_str().unwrap().starts_with("test:///"));
        assert_eq!(vm["mac_addresses"].as_array().unwrap().len(), 1);
    }
}

#[test]
fn demo_ttls_are_relative_to_now() {
    let vms = demo_json();
    let soon = by_name(&vms, "ci-runner-17");
    let left = soon["ttl_remaining_seconds"].as_i64().unwrap();
    assert!((0..=15 * 60).contains(&left), "due within minutes: {left}");
    chrono::DateTime::parse_from_rfc3339(soon["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(soon["persistence"]["mode"], "temporary");

    let expired = by_name(&vms, "pr-preview-482");
    assert!(
        expired["ttl_remaining_seconds"].as_i64().unwrap() < 0,
        "expired"
    );
    assert_eq!(expired["vm_state"], "stopped");

    let permanent = by_name(&vms, "web-1");
    assert_eq!(permanent["expires_at"], Value::Null);
    assert_eq!(permanent["ttl_remaining_seconds"], Value::Null);
    assert_eq!(permanent["persistence"]["mode"], "permanent");
    assert_eq!(permanent["policy_error"], Value::Null);

    let legacy = by_name(&vms, "legacy-mail");
    assert_eq!(
        legacy["persistence"]["mode"], "permanent",
        "no metadata = permanent"
    );

    let broken = by_name(&vms, "broken-policy");
    assert_eq!(broken["persistence"], Value::Null);
    let err = broken["policy_error"].as_str().unwrap();
    assert!(
        err.contains("restart_policy") && err.contains("sometimes"),
        "{err}"
    );

    assert_eq!(by_name(&vms, "monitoring")["restart_count"], 2);
    assert_eq!(by_name(&vms, "scratch-alice")["vm_state"], "paused");
}

#[test]
fn demo_ls_table() {
    let h = home();
    vmlife(&h)
        .args(["--demo", "ls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("NAME").and(predicate::str::contains("ci-runner-17")))
        .stdout(predicate::str::contains("expired"))
        .stdout(predicate::str::contains("broken-policy: invalid policy"));
}

#[test]
fn demo_show_text_and_json() {
    let h = home();
    vmlife(&h)
        .args(["--demo", "show", "app-1"])
        .assert()
        .success()
        .stdout(predicate::str::contains("depends_on").and(predicate::str::contains("db-1")))
        .stdout(predicate::str::contains("save_state *"));
    let out = vmlife(&h)
        .args(["--demo", "show", "app-1", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["vm_name"], "app-1");
    assert_eq!(v["autostart"]["vm_name"], "app-1");
    assert_eq!(v["autostart"]["depends_on"][0], "db-1");
    assert_eq!(v["policy"]["on_host_shutdown"], "save_state");
    assert_eq!(v["policy"]["on_host_reboot"], "start", "host default");
    assert_eq!(v["policy_override"]["on_host_reboot"], Value::Null);
    assert_eq!(v["cleanup_schedule"], Value::Null);
    // By UUID too.
    let uuid = v["uuid"].as_str().unwrap().to_string();
    vmlife(&h)
        .args(["--demo", "show", &uuid])
        .assert()
        .success();
}

#[test]
fn set_dry_run_prints_the_metadata() {
    let h = home();
    vmlife(&h)
        .args([
            "--demo",
            "set",
            "web-1",
            "--mode",
            "temporary",
            "--ttl-hours",
            "1.5",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("urn:vmlife:lifecycle:1"))
        .stdout(predicate::str::contains("mode=\"temporary\""))
        .stdout(predicate::str::contains("ttl_hours=\"1.5\""))
        .stdout(predicate::str::contains("created_at_unix=\""));
}

#[test]
fn set_writes_within_the_process() {
    let h = home();
    vmlife(&h)
        .args(["--demo", "set", "web-1", "--ttl-hours", "5"])
        .assert()
        .success()
        .stdout(predicate::str::contains("web-1: updated (permanent)"))
        .stdout(predicate::str::contains("demo keeps changes only while"));
    // A permanent VM has no TTL to extend: nothing is written (nor journaled).
    vmlife(&h)
        .args(["--demo", "set", "web-1", "--extend-ttl", "2"])
        .assert()
        .success()
        .stdout("web-1: unchanged (it already has these settings)\n");
}

/// Run with args, expect failure with `code` and a one-line stderr containing `want`.
fn fails(args: &[&str], code: i32, want: &str) {
    let h = home();
    let out = vmlife(&h).args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{args:?}: {err}");
    assert!(err.contains(want), "{args:?}: want {want:?} in {err:?}");
    assert!(out.stdout.is_empty(), "{args:?} printed to stdout");
    if code == 1 {
        assert_eq!(err.trim_end().lines().count(), 1, "one line: {err:?}");
        assert!(err.starts_with("vmlife: error: "), "{err:?}");
    }
}

#[test]
fn no_such_domain() {
    fails(
        &["--demo", "show", "nosuch"],
        1,
        "no domain named or with UUID \"nosuch\"",
    );
    fails(
        &["--demo", "set", "nosuch", "--ttl-hours", "1"],
        1,
        "\"nosuch\"",
    );
}

#[test]
fn unreachable_uri() {
    fails(&["-c", "bogus:///nowhere", "ls"], 1, "bogus:///nowhere");
    fails(
        &["-c", "test:///nonexistent/node.xml", "ls"],
        1,
        "test:///nonexistent/node.xml",
    );
}

#[test]
fn bad_values_are_usage_errors() {
    fails(
        &["--demo", "set", "web-1", "--ttl-hours", "abc"],
        2,
        "not a number of hours",
    );
    fails(
        &["--demo", "set", "web-1", "--ttl-hours", "-1"],
        2,
        "--ttl-hours",
    );
    fails(
        &["--demo", "set", "web-1", "--mode", "forever"],
        2,
        "not one of permanent, temporary",
    );
    fails(
        &["--demo", "set", "web-1", "--restart-policy", "sometimes"],
        2,
        "no, always, on_failure",
    );
    fails(
        &["--demo", "set", "web-1", "--max-retries", "-3"],
        2,
        "--max-retries",
    );
    fails(
        &["--demo", "set", "web-1", "--auto-start", "maybe"],
        2,
        "--auto-start",
    );
    fails(
        &["--demo", "set", "web-1", "--created-at", "yesterday"],
        2,
        "neither unix seconds nor an RFC 3339 time",
    );
    fails(&["--demo", "frobnicate"], 2, "frobnicate");
}

#[test]
fn set_refusals() {
    fails(
        &[
            "--demo",
            "--readonly",
            "set",
            "web-1",
            "--mode",
            "temporary",
        ],
        1,
        "--readonly",
    );
    fails(
        &["--demo", "set", "web-1"],
        2,
        "set web-1: nothing to change",
    );
    fails(
        &["--demo", "set", "web-1", "--dry-run"],
        2,
        "nothing to change",
    );
    fails(
        &["--demo", "set", "broken-policy", "--ttl-hours", "2"],
        1,
        "broken-policy: invalid policy",
    );
    fails(
        &["--demo", "set", "web-1", "--depends-on", "nosuch"],
        1,
        "--depends-on \"nosuch\": no such domain",
    );
    fails(
        &["--demo", "set", "web-1", "--depends-on", "web-1"],
        1,
        "cannot depend on itself",
    );
}

/// `set` writes nothing that would read back as an invalid policy, nor a `depends_on`
/// that closes a dependency cycle (naming it, from the VM being changed).
#[test]
fn set_refuses_out_of_range_values_and_cycles() {
    fails(
        &["--demo", "set", "db-1", "--depends-on", "web-1"],
        1,
        "--depends-on: db-1 would be in a dependency cycle: db-1 → web-1 → app-1 → db-1; not changed",
    );
    fails(
        &["--demo", "set", "web-1", "--ttl-hours", "9000"],
        1,
        r#"web-1: not changed: persistence/@ttl_hours: "9000" is out of range more than 0 to 8760"#,
    );
    fails(
        &[
            "--demo",
            "set",
            "web-1",
            "--start-delay-seconds",
            "10000000000000",
        ],
        1,
        r#"web-1: not changed: autostart/@start_delay_seconds: "10000000000000" is out of range 0 to 3600"#,
    );
    // A dependency that closes nothing is fine.
    let h = home();
    vmlife(&h)
        .args([
            "--demo",
            "set",
            "web-1",
            "--depends-on",
            "db-1",
            "--dry-run",
        ])
        .assert()
        .success();
}

#[test]
fn invalid_policy_is_repaired_with_reset() {
    let h = home();
    vmlife(&h)
        .args([
            "--demo",
            "set",
            "broken-policy",
            "--reset",
            "--mode",
            "permanent",
        ])
        .assert()
        .success();
}

#[test]
fn bad_config_names_file_and_line() {
    let h = home();
    let cfg = h.path().join("vmlife.toml");
    std::fs::write(&cfg, "[cleanup]\ndry_run_mode = true\nretention_dayz = 3\n").unwrap();
    let out = vmlife(&h)
        .args(["--demo", "--config"])
        .arg(&cfg)
        .arg("ls")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&cfg.display().to_string())
            && err.contains("line 3")
            && err.contains("retention_dayz"),
        "{err}"
    );
    // Also through the environment.
    let out = vmlife(&h)
        .env("VMLIFE_CONFIG", &cfg)
        .args(["--demo", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    // A missing explicit config is an error too.
    let out = vmlife(&h)
        .args(["--demo", "--config", "/nonexistent/vmlife.toml", "ls"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/vmlife.toml"));
}

#[test]
fn demo_and_connect_conflict() {
    fails(
        &["--demo", "-c", "test:///default", "ls"],
        2,
        "cannot be used with",
    );
}

#[test]
fn readonly_ls_works() {
    let h = home();
    vmlife(&h)
        .args(["--readonly", "-c", "test:///default", "ls"])
        .assert()
        .success()
        .stdout(predicate::str::contains("test"));
}

#[test]
fn show_includes_the_cleanup_record_from_the_store() {
    let h = home();
    let dir = h.path().join("state");
    let uuid = "6d6f6c00-0000-4000-8000-000000000008"; // pr-preview-482
    let now = chrono::Utc::now();
    vmlife::engine::EngineStore::new(&dir)
        .update(|d| {
            d.cleanups.records.insert(
                uuid.into(),
                vmlife::model::VmCleanupSchedule {
                    vm_name: "pr-preview-482".into(),
                    vm_id: uuid.into(),
                    mode: Default::default(),
                    created_at: now,
                    scheduled_cleanup_at: now,
                    ttl_hours: 24.0,
                    cleanup_status: vmlife::model::CleanupStatus::Failed,
                    cleanup_attempts: 2,
                    last_cleanup_attempt: Some(now),
                    cleanup_error: Some("still running after the 60s grace period".into()),
                },
            );
        })
        .unwrap();
    let out = vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&dir)
        .args(["show", "pr-preview-482", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["cleanup_schedule"]["cleanup_status"], "failed");
    assert_eq!(v["cleanup_schedule"]["cleanup_attempts"], 2);
    vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&dir)
        .args(["show", "pr-preview-482"])
        .assert()
        .success()
        .stdout(predicate::str::contains("cleanup_status").and(predicate::str::contains("failed")));
}

#[test]
fn set_dry_run_works_under_readonly() {
    let h = home();
    vmlife(&h)
        .args([
            "--demo",
            "--readonly",
            "set",
            "web-1",
            "--mode",
            "temporary",
            "--dry-run",
        ])
        .assert()
        .success()
        .stdout(predicate::str::contains("mode=\"temporary\""));
}

/// `journal --json` of `dir` as entries.
fn journal_json(h: &tempfile::TempDir, dir: &std::path::Path) -> Vec<Value> {
    let out = vmlife(h)
        .arg("--state-dir")
        .arg(dir)
        .args(["journal", "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v.as_array().unwrap().clone()
}

#[test]
fn set_is_journaled_with_old_and_new_values() {
    let h = home();
    let dir = h.path().join("state-set");
    vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&dir)
        .args(["set", "web-1", "--mode", "temporary", "--ttl-hours", "1"])
        .args(["--created-at", "1000"])
        .assert()
        .success();
    let entries = journal_json(&h, &dir);
    let results: Vec<&str> = entries
        .iter()
        .map(|e| e["result"].as_str().unwrap())
        .collect();
    assert_eq!(results, ["starting: write metadata", "ok"]);
    let e = &entries[1];
    assert_eq!(e["action"], "set");
    assert_eq!(e["vm_name"], "web-1");
    assert!(e["actor"].as_str().unwrap().starts_with("cli:"));
    let changes = &e["detail"]["changes"];
    assert_eq!(
        changes["persistence.mode"],
        serde_json::json!({"old": "permanent", "new": "temporary"})
    );
    assert_eq!(changes["persistence.created_at_unix"]["new"], 1000);
    assert_eq!(changes["persistence.ttl_hours"]["new"], 1.0);
    assert!(
        changes.get("persistence.auto_cleanup").is_none(),
        "{changes}"
    );
}

#[test]
fn set_refuses_when_the_journal_cannot_be_written() {
    let h = home();
    // A state dir that is a file: the journal cannot be opened (even as root).
    let dir = h.path().join("not-a-dir");
    std::fs::write(&dir, "x").unwrap();
    let out = vmlife(&h)
        .args(["--demo", "--state-dir"])
        .arg(&dir)
        .args(["set", "web-1", "--mode", "temporary"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("journal") && err.contains("web-1 was not changed"),
        "{err}"
    );
}

#[test]
fn journal_of_a_state_dir_where_nothing_happened_is_empty() {
    let h = home();
    for dir in [h.path().join("never-created"), h.path().to_path_buf()] {
        vmlife(&h)
            .arg("--state-dir")
            .arg(&dir)
            .arg("journal")
            .assert()
            .success()
            .stdout("")
            .stderr("");
        assert!(journal_json(&h, &dir).is_empty());
        assert!(!dir.join("journal.jsonl").exists());
    }
}
