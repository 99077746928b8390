//! The engine's commands through the real binary: `plan`, `cleanup`, `journal`,
//! `daemon`, on the demo node (libvirt's test driver; no hypervisor needed).
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use chrono::{DateTime, Local, Timelike, Utc};
use vmlife::config::Config;
use vmlife::engine::{
    engine_owner, plan_entries, EngineCore, EngineSettings, EngineStore, Owner, PlanEntry, Role,
};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::lifecycle::cleanup::RoundRequest;
use vmlife::poll::{Poller, PollerOptions};

/// A demo node with fixed times, a state dir and a config, in one temp dir.
struct Fixture {
    dir: tempfile::TempDir,
    uri: String,
    /// The moment the node's `@NOW@` tokens were rendered at.
    now: i64,
}

impl Fixture {
    fn new(config: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let now = Utc::now().timestamp();
        let node = dir.path().join("node.xml");
        std::fs::write(
            &node,
            vmlife::demo::render(vmlife::demo::NODE_TEMPLATE, now),
        )
        .unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        std::fs::create_dir(dir.path().join("state")).unwrap();
        Fixture {
            uri: vmlife::demo::uri_for(&node),
            dir,
            now,
        }
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    fn config(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    fn vmlife(&self) -> Command {
        let mut c = Command::cargo_bin("vmlife").unwrap();
        c.env_remove("LIBVIRT_DEFAULT_URI")
            .env_remove("VMLIFE_CONFIG")
            .env_remove("VMLIFE_STATE_DIR")
            .env("HOME", self.dir.path())
            .env("USER", "tester")
            .arg("-c")
            .arg(&self.uri)
            .arg("--config")
            .arg(self.config())
            .arg("--state-dir")
            .arg(self.state());
        c
    }

    fn at(&self, offset: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(self.now + offset, 0).unwrap()
    }

    /// The engine's plan for the same node, store, config and moment, computed here.
    fn engine_plan(&self, at: DateTime<Utc>) -> Vec<PlanEntry> {
        let config = Config::load_file(&self.config()).unwrap();
        let hv = std::sync::Arc::new(LibvirtHypervisor::open(&self.uri, true).unwrap());
        let views = Poller::new(hv, PollerOptions::default())
            .poll(Utc::now())
            .unwrap();
        let core = EngineCore::for_planning(
            EngineStore::new(self.state()),
            EngineSettings::from_config(&config),
            &self.uri,
        )
        .unwrap();
        let plan = core.plan(&views, &RoundRequest::default(), core.clock(at));
        plan_entries(&plan, at)
    }

    fn cli_plan(&self, at: DateTime<Utc>) -> Vec<PlanEntry> {
        let out = self
            .vmlife()
            .args(["plan", "--json", "--at", &at.to_rfc3339()])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("plan --json is a JSON array of actions")
    }
}

/// A one-hour window starting `hours_from` hours after `at`, in local time.
fn window(at: DateTime<Utc>, hours_from: u32) -> String {
    let h = (at.with_timezone(&Local).hour() + hours_from) % 24;
    format!(
        "cleanup_window_start = \"{h:02}:00\"\ncleanup_window_end = \"{:02}:00\"\n",
        (h + 1) % 24
    )
}

#[test]
fn plan_json_equals_the_engine_plan() {
    // pr-preview-482 expired 25 min ago; ci-runner-17 expires in 10 min.
    let f =
        Fixture::new("[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n");
    let now = f.at(0);
    let cli = f.cli_plan(now);
    assert_eq!(cli, f.engine_plan(now));
    let names: Vec<&str> = cli.iter().map(|e| e.vm_name.as_str()).collect();
    assert_eq!(names, ["pr-preview-482"]);
    assert_eq!(cli[0].action, "cleanup");
    assert_eq!(cli[0].vm_id, "6d6f6c00-0000-4000-8000-000000000008");
    assert!(
        cli[0].reason.starts_with("expired 25m ago"),
        "{}",
        cli[0].reason
    );
    assert_eq!(cli[0].at, now);

    // Later, two are due; oldest expiry first.
    let later = f.at(1800);
    let cli = f.cli_plan(later);
    assert_eq!(cli, f.engine_plan(later));
    let names: Vec<&str> = cli.iter().map(|e| e.vm_name.as_str()).collect();
    assert_eq!(names, ["pr-preview-482", "ci-runner-17"]);

    // The store is read: under require_confirmation only the VM confirmed in
    // engine.json is planned; and the batch limit applies.
    let f2 = Fixture::new(
        "[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\nrequire_confirmation = true\n",
    );
    EngineStore::new(f2.state())
        .update(|d| {
            d.engine.confirmed.insert(
                "6d6f6c00-0000-4000-8000-000000000003".into(),
                vmlife::engine::state_files::Confirmation {
                    by: "cli:tester".into(),
                    at: Utc::now(),
                },
            );
            d.engine.confirmed.insert(
                "6d6f6c00-0000-4000-8000-000000000005".into(),
                vmlife::engine::state_files::Confirmation {
                    by: "cli:tester".into(),
                    at: Utc::now(),
                },
            );
        })
        .unwrap();
    let later = f2.at(1800);
    let cli = f2.cli_plan(later);
    assert_eq!(cli, f2.engine_plan(later));
    let names: Vec<&str> = cli.iter().map(|e| e.vm_name.as_str()).collect();
    assert_eq!(
        names,
        ["ci-runner-17"],
        "confirmed in the store; pr-preview-482 is not"
    );
    let f3 = Fixture::new(
        "[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\ncleanup_batch_size = 1\n",
    );
    let cli = f3.cli_plan(f3.at(1800));
    assert_eq!(cli, f3.engine_plan(f3.at(1800)));
    assert_eq!(cli.len(), 1, "batch of 1");
}

#[test]
fn plan_outside_the_window_is_held_and_says_why() {
    let now = Utc::now();
    let f = Fixture::new(&format!(
        "[cleanup]\nskip_on_low_resources = false\n{}",
        window(now, 2)
    ));
    let at = f.at(0);
    assert_eq!(f.cli_plan(at), Vec::new());
    assert_eq!(f.engine_plan(at), Vec::new());
    let out = f
        .vmlife()
        .args(["plan", "--at", &at.to_rfc3339()])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("held           outside the cleanup window"),
        "{text}"
    );
    assert!(text.contains("would clean up nothing"), "{text}");
    assert!(
        text.contains("pr-preview-482")
            && text.contains("due, waiting: outside the cleanup window"),
        "{text}"
    );
    assert!(
        text.contains("interval       every 60m; last round never; next due now"),
        "{text}"
    );
    assert!(
        text.contains("host pressure  not checked (skip_on_low_resources = false)\n"),
        "{text}"
    );
    // Nothing was written.
    assert_eq!(
        std::fs::read_dir(f.state()).unwrap().count(),
        0,
        "plan changes nothing"
    );
}

#[test]
fn cleanup_asks_unless_yes_and_refuses_without_a_terminal() {
    let f =
        Fixture::new("[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n");
    let out = f
        .vmlife()
        .arg("cleanup")
        .write_stdin("y\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "vmlife: error: refusing to clean up without confirmation: stdin is not a terminal; pass --yes"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("will clean up 1:\n  pr-preview-482"));
    assert!(
        !f.state().join("cleanups.json").exists(),
        "nothing claimed before the answer"
    );
}

#[test]
fn cleanup_dry_run_and_yes_run_through_the_executor_and_journal() {
    let f =
        Fixture::new("[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n");
    let out = f.vmlife().args(["cleanup", "--dry-run"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("would clean up 1:")
            && text.contains("dry run: would clean up pr-preview-482"),
        "{text}"
    );
    assert!(
        !f.state().join("cleanups.json").exists(),
        "a dry run records nothing"
    );

    let out = f.vmlife().args(["cleanup", "--yes"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("cleaned up pr-preview-482"), "{text}");
    let data = EngineStore::new(f.state()).load().unwrap();
    let r = &data.cleanups.records["6d6f6c00-0000-4000-8000-000000000008"];
    assert_eq!(r.cleanup_status.as_str(), "completed");
    assert!(data.cleanups.claims.is_empty());

    let out = f.vmlife().args(["journal", "--json"]).output().unwrap();
    assert!(out.status.success());
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let results: Vec<(&str, &str)> = entries
        .iter()
        .map(|e| (e["actor"].as_str().unwrap(), e["result"].as_str().unwrap()))
        .collect();
    assert_eq!(results.len(), 3, "{results:?}");
    assert_eq!(results[0].0, "cli:tester");
    assert!(results[0].1.starts_with("dry run: would"));
    // The destructive step is journaled before it starts, the result after.
    assert_eq!(results[1], ("cli:tester", "starting: undefine"));
    assert_eq!(results[2], ("cli:tester", "ok"));

    // Named VMs that cannot be cleaned: exit 1 with why.
    let out = f
        .vmlife()
        .args(["cleanup", "--yes", "db-1", "ci-runner-18"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("ci-runner-18: not expired yet"), "{text}");
    assert!(text.contains("permanent VMs"), "{text}");
    let out = f.vmlife().args(["cleanup", "no-such-vm"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).starts_with("vmlife: error: "));
}

#[test]
fn cleanup_confirms_parked_vms_under_require_confirmation() {
    let f = Fixture::new(
        "[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\nrequire_confirmation = true\n",
    );
    let out = f.vmlife().args(["plan"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("pr-preview-482") && text.contains("awaiting confirmation"),
        "{text}"
    );
    let out = f.vmlife().args(["cleanup", "--yes"]).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = f.vmlife().args(["journal"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("confirm_cleanup") && text.contains("cli:tester"),
        "{text}"
    );
}

#[test]
fn journal_filters_by_since_and_rejects_bad_values() {
    let f =
        Fixture::new("[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n");
    let out = f.vmlife().args(["journal"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "");
    f.vmlife().args(["cleanup", "--dry-run"]).assert().success();
    let count = |since: &str| {
        let out = f
            .vmlife()
            .args(["journal", "--json", "--since", since])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Vec<serde_json::Value>>(&out.stdout)
            .unwrap()
            .len()
    };
    assert_eq!(count("1h"), 1);
    assert_eq!(
        count(&(Utc::now() + chrono::Duration::hours(1)).to_rfc3339()),
        0
    );
    let out = f
        .vmlife()
        .args(["journal", "--since", "yesterday"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("neither an RFC 3339 time nor a duration")
    );
    // The journal needs no connection: a URI with no driver, which fails at once (and
    // locally) when opened, is never opened.
    let mut c = Command::cargo_bin("vmlife").unwrap();
    c.args(["-c", "nodriver:///never-opened", "--state-dir"])
        .arg(f.state())
        .arg("journal");
    c.assert().success();
}

#[test]
fn readonly_refuses_the_commands_that_act() {
    let f = Fixture::new("");
    for args in [vec!["cleanup"], vec!["daemon"]] {
        let out = f.vmlife().arg("--readonly").args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("--readonly"));
    }
    f.vmlife()
        .args(["--readonly", "cleanup", "--dry-run"])
        .assert()
        .success();
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while t.elapsed() < timeout {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn lock_pid(dir: &Path) -> Option<u32> {
    // `PID ROLE`: the first word.
    std::fs::read_to_string(dir.join("engine.lock"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[test]
fn daemon_holds_the_lock_runs_a_round_and_stops_on_sigterm() {
    let f = Fixture::new(
        "[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n[engine]\npoll_seconds = 1\n",
    );
    let log = std::fs::File::create(f.dir.path().join("daemon.log")).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_vmlife"));
    cmd.env_remove("LIBVIRT_DEFAULT_URI")
        .env("HOME", f.dir.path())
        .args(["-c", &f.uri, "--config"])
        .arg(f.config())
        .arg("--state-dir")
        .arg(f.state())
        .arg("daemon")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log);
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    assert!(wait_until(Duration::from_secs(10), || lock_pid(&f.state())
        == Some(pid)));
    assert_eq!(
        engine_owner(&f.state()),
        Owner::Other {
            pid,
            role: Some(Role::Daemon)
        }
    );
    assert_eq!(
        std::fs::read_to_string(f.state().join("engine.lock"))
            .unwrap()
            .trim(),
        format!("{pid} daemon")
    );

    let out = f.vmlife().arg("daemon").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        format!(
            "vmlife: error: another engine holds {}/engine.lock (pid {pid})",
            f.state().display()
        )
    );

    // Its first round cleans the expired demo VM (in the daemon's own test driver).
    let uuid = "6d6f6c00-0000-4000-8000-000000000008";
    assert!(wait_until(Duration::from_secs(10), || {
        EngineStore::new(f.state())
            .load()
            .unwrap()
            .cleanups
            .records
            .get(uuid)
            .is_some_and(|r| r.cleanup_status.as_str() == "completed")
    }));

    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
    let exited = wait_until(Duration::from_secs(10), || {
        child.try_wait().unwrap().is_some()
    });
    if !exited {
        let _ = child.kill();
    }
    assert!(exited, "stopped within 10 s of SIGTERM");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let log = std::fs::read_to_string(f.dir.path().join("daemon.log")).unwrap();
    for line in [
        "vmlife daemon started",
        "cleanup of pr-preview-482",
        "SIGTERM: stopping",
        "vmlife daemon stopped",
    ] {
        assert!(log.contains(line), "{line:?} not in:\n{log}");
    }
    assert_eq!(engine_owner(&f.state()), Owner::Nobody);
    assert_eq!(
        lock_pid(&f.state()),
        None,
        "the pid is cleared on a clean stop"
    );
}

#[test]
fn plan_and_show_say_which_vms_are_managed() {
    let f = Fixture::new("[cleanup]\nskip_on_low_resources = false\n");
    let out = f.vmlife().arg("plan").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(
            "managed        11 of 12 VMs (those with a vmlife element; [engine] manage_all_vms = false)"
        ) && text.contains("observed only, never restarted: legacy-mail"),
        "{text}"
    );
    let show = |f: &Fixture, vm: &str| -> serde_json::Value {
        let out = f.vmlife().args(["show", vm, "--json"]).output().unwrap();
        assert!(out.status.success());
        serde_json::from_slice(&out.stdout).unwrap()
    };
    assert_eq!(show(&f, "legacy-mail")["managed"], false);
    assert_eq!(show(&f, "db-1")["managed"], true);
    let out = f.vmlife().args(["show", "legacy-mail"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("managed                no: not managed by vmlife, observed only"),
        "{text}"
    );

    let all = Fixture::new("[engine]\nmanage_all_vms = true\n");
    assert_eq!(show(&all, "legacy-mail")["managed"], true);
    let out = all.vmlife().arg("plan").output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("managed        every VM ([engine] manage_all_vms = true)"),
        "{text}"
    );
}

#[test]
fn plan_names_the_limit_in_force_and_the_backoff() {
    let text = |f: &Fixture, at: DateTime<Utc>| {
        let out = f
            .vmlife()
            .args(["plan", "--at", &at.to_rfc3339()])
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let base = "[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\n";
    let conc = Fixture::new(&format!("{base}max_concurrent_cleanups = 1\n"));
    let t = text(&conc, conc.at(1800));
    assert!(
        t.contains(
            "limit          max_concurrent_cleanups = 1 at once (0 already running): 1 due VM(s) wait"
        ),
        "{t}"
    );
    let batch = Fixture::new(&format!("{base}cleanup_batch_size = 1\n"));
    let t = text(&batch, batch.at(1800));
    assert!(
        t.contains("limit          batch of 1 full (cleanup_batch_size): 1 due VM(s) wait"),
        "{t}"
    );

    // pr-preview-482 failed a minute ago: it backs off, ci-runner-17 goes alone.
    let f = Fixture::new(base);
    let failed_at = f.at(1740);
    let uuid = "6d6f6c00-0000-4000-8000-000000000008";
    EngineStore::new(f.state())
        .update(|d| {
            d.cleanups.records.insert(
                uuid.into(),
                vmlife::model::VmCleanupSchedule {
                    vm_name: "pr-preview-482".into(),
                    vm_id: uuid.into(),
                    mode: vmlife::model::CleanupMode::Temporary,
                    created_at: failed_at,
                    scheduled_cleanup_at: failed_at,
                    ttl_hours: 1.0,
                    cleanup_status: vmlife::model::CleanupStatus::Failed,
                    cleanup_attempts: 2,
                    last_cleanup_attempt: Some(failed_at),
                    cleanup_error: Some("still running after 30s".into()),
                },
            );
        })
        .unwrap();
    let cli = f.cli_plan(f.at(1800));
    assert_eq!(cli, f.engine_plan(f.at(1800)));
    let names: Vec<&str> = cli.iter().map(|e| e.vm_name.as_str()).collect();
    assert_eq!(names, ["ci-runner-17"]);
    let t = text(&f, f.at(1800));
    assert!(
        t.contains("failed (2 attempts), backing off until ")
            && t.contains(": still running after 30s"),
        "{t}"
    );
}

#[test]
fn a_named_cleanup_is_not_refused_for_slots_of_failing_engine_retries() {
    let f = Fixture::new(
        "[cleanup]\ncleanup_in_window_only = false\nskip_on_low_resources = false\nmax_concurrent_cleanups = 1\n",
    );
    // The engine (this test process, alive) is retrying ci-runner-17's failed cleanup.
    let retried = "6d6f6c00-0000-4000-8000-000000000005";
    let now = Utc::now();
    let pid = std::process::id();
    EngineStore::new(f.state())
        .update(|d| {
            d.cleanups.records.insert(
                retried.into(),
                vmlife::model::VmCleanupSchedule {
                    vm_name: "ci-runner-17".into(),
                    vm_id: retried.into(),
                    mode: vmlife::model::CleanupMode::Temporary,
                    created_at: now,
                    scheduled_cleanup_at: now,
                    ttl_hours: 1.0,
                    cleanup_status: vmlife::model::CleanupStatus::InProgress,
                    cleanup_attempts: 3,
                    last_cleanup_attempt: Some(now),
                    cleanup_error: Some("still running after 30s".into()),
                },
            );
            d.cleanups.claims.insert(
                retried.into(),
                vmlife::engine::state_files::Claim {
                    owner: vmlife::engine::procid::OwnerId {
                        pid,
                        start_ticks: vmlife::engine::procid::start_ticks(pid).unwrap(),
                        instance: 1,
                    },
                    since: now,
                    actor: "engine".into(),
                },
            );
        })
        .unwrap();
    // Unnamed: the one slot is taken.
    let out = f.vmlife().args(["cleanup", "--yes"]).output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("max_concurrent_cleanups = 1 at once (1 already running)")
            || text.contains("nothing to clean up"),
        "{text}"
    );
    assert!(!text.contains("cleaned up pr-preview-482"), "{text}");
    // Named: it runs beside the engine's retry.
    let out = f
        .vmlife()
        .args(["cleanup", "--yes", "pr-preview-482"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("cleaned up pr-preview-482"), "{text}");
}
