//! `vmlife limits` on the demo (libvirt's test driver): desired against actual, the
//! driver's refusals shown once with their reason, `--apply`, `--dry-run`, `--readonly`.
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;
use serde_json::Value;

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

fn run(home: &tempfile::TempDir, args: &[&str]) -> (bool, String, String) {
    let out = vmlife(home).args(args).output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn rows(stdout: &str) -> Vec<Value> {
    serde_json::from_str::<Value>(stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn row<'a>(rows: &'a [Value], vm: &str, limit: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["vm_name"] == vm && r["limit"] == limit)
        .unwrap_or_else(|| panic!("{vm} {limit} in {rows:?}"))
}

#[test]
fn report_only_by_default_with_the_drivers_refusals() {
    let h = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(&h, &["--demo", "limits", "--json", "web-1", "legacy-mail"]);
    assert!(ok, "{err}");
    let rows = rows(&out);
    for field in [
        "vm_id",
        "vm_name",
        "limit",
        "target",
        "enforced",
        "desired",
        "actual",
        "period_us",
        "status",
        "reason",
        "result",
    ] {
        assert!(rows[0].get(field).is_some(), "{field} in {}", rows[0]);
    }
    let mem = row(&rows, "web-1", "memory");
    assert_eq!(mem["status"], "drift");
    assert_eq!(mem["desired"], 2 * 1024 * 1024 + 256 * 1024);
    assert_eq!(mem["actual"], Value::Null, "unlimited");
    let cpu = row(&rows, "web-1", "cpu");
    assert_eq!(cpu["status"], "refused");
    assert!(cpu["reason"]
        .as_str()
        .unwrap()
        .starts_with("not supported by this driver: "));
    assert_eq!(row(&rows, "web-1", "disk")["status"], "refused");
    // The VM without a vmlife element is observed only.
    assert_eq!(row(&rows, "legacy-mail", "memory")["status"], "skipped");
    // The table names the drift and how to apply it; nothing was set or journaled.
    let (ok, table, _) = run(&h, &["--demo", "limits"]);
    assert!(ok);
    assert!(
        table.contains("report only ([limits] apply = false)"),
        "{table}"
    );
    let refused = table
        .lines()
        .filter(|l| l.starts_with("web-1 ") && l.contains("not supported by this driver"))
        .count();
    assert_eq!(
        refused, 2,
        "one line per refused limit, shown once: {table}"
    );
    assert!(
        !h.path().join("state/vmlife/journal.jsonl").exists() || {
            let j = std::fs::read_to_string(h.path().join("state/vmlife/journal.jsonl")).unwrap();
            !j.contains("set_limit")
        }
    );
}

#[test]
fn apply_sets_what_the_driver_takes_and_tries_the_rest_never() {
    let h = tempfile::tempdir().unwrap();
    let state = h.path().join("st");
    let st = state.to_str().unwrap();
    let (ok, out, err) = run(
        &h,
        &[
            "--demo",
            "--state-dir",
            st,
            "limits",
            "--apply",
            "--json",
            "web-1",
        ],
    );
    assert!(ok, "{err}");
    let rows = rows(&out);
    // The test driver takes the memtune hard limit: set, and read back as declared.
    let mem = row(&rows, "web-1", "memory");
    assert_eq!(mem["status"], "ok", "{mem}");
    assert_eq!(mem["result"], "ok");
    // It has no whole-VM quota and no block stats: refused, never tried.
    for limit in ["cpu", "disk"] {
        let r = row(&rows, "web-1", limit);
        assert_eq!(r["status"], "refused");
        assert_eq!(r["result"], Value::Null, "a refused read is not set: {r}");
    }
    let journal = std::fs::read_to_string(state.join("journal.jsonl")).unwrap();
    let sets: Vec<Value> = journal
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "set_limit")
        .collect();
    assert_eq!(sets.len(), 2, "starting, then the result: {journal}");
    assert!(sets[0]["result"]
        .as_str()
        .unwrap()
        .starts_with("starting: set memory hard limit 2.2 GiB"));
    assert_eq!(sets[1]["result"], "ok");
    assert_eq!(sets[1]["detail"]["old"], Value::Null);
    assert_eq!(sets[1]["detail"]["new"], 2 * 1024 * 1024 + 256 * 1024);
}

#[test]
fn dry_run_and_readonly() {
    let h = tempfile::tempdir().unwrap();
    let state = h.path().join("st");
    let st = state.to_str().unwrap();
    let (ok, out, err) = run(
        &h,
        &[
            "--demo",
            "--state-dir",
            st,
            "limits",
            "--apply",
            "--dry-run",
            "web-1",
        ],
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("dry run: would set the memory limit of web-1"),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("web-1 ") && l.contains("drift")),
        "still drifting: {out}"
    );
    let journal = std::fs::read_to_string(state.join("journal.jsonl")).unwrap();
    assert!(
        journal.contains("dry run: would set memory hard limit"),
        "{journal}"
    );
    assert!(!journal.contains("starting: set"), "{journal}");
    let (ok, _, err) = run(&h, &["--demo", "--readonly", "limits", "--apply", "web-1"]);
    assert!(!ok);
    assert!(err.contains("--readonly"), "{err}");
    // A read-only report is fine.
    let (ok, _, err) = run(&h, &["--demo", "--readonly", "limits", "web-1"]);
    assert!(ok, "{err}");
    let (ok, _, err) = run(&h, &["--demo", "limits", "no-such-vm"]);
    assert!(!ok);
    assert!(err.contains("no-such-vm"), "{err}");
}

#[test]
fn show_and_plan_carry_the_limits() {
    let h = tempfile::tempdir().unwrap();
    let (ok, out, err) = run(&h, &["--demo", "show", "web-1", "--json"]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let limits = v["limits"].as_array().unwrap();
    assert_eq!(limits.len(), 3);
    assert_eq!(limits[0]["limit"], "memory");
    assert_eq!(limits[0]["status"], "drift");
    // plan lists set_limit actions only when [limits] apply is on.
    let (ok, out, _) = run(&h, &["--demo", "plan", "--json"]);
    assert!(ok);
    assert!(!out.contains("set_limit"), "report only by default: {out}");
    let cfg = h.path().join("c.toml");
    std::fs::write(&cfg, "[limits]\napply = true\n").unwrap();
    let (ok, out, err) = run(
        &h,
        &[
            "--demo",
            "--config",
            cfg.to_str().unwrap(),
            "plan",
            "--json",
        ],
    );
    assert!(ok, "{err}");
    let entries: Vec<Value> = serde_json::from_str(&out).unwrap();
    let web = entries
        .iter()
        .find(|e| e["action"] == "set_limit" && e["vm_name"] == "web-1")
        .unwrap_or_else(|| panic!("{out}"));
    assert!(
        web["reason"]
            .as_str()
            .unwrap()
            .starts_with("memory hard limit 2.2 GiB: "),
        "{web}"
    );
    // Refused tunables are never planned.
    assert!(!entries
        .iter()
        .any(|e| e["reason"].as_str().unwrap_or("").starts_with("cpu quota")));
}
