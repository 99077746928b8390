//! Several hosts in one command, through the real binary: two test-driver node files
//! (in-process, one per host) and a host that is down (a socket nobody listens on).
#![allow(clippy::unwrap_used)]

mod common;

use assert_cmd::Command;

/// A node file of running temporary VMs `names` that expire far ahead.
fn node(dir: &std::path::Path, file: &str, seed: u8, names: &[&str]) -> String {
    common::fleet::node(dir, file, seed, names, 4_000_000_000)
}

struct Fleet {
    home: tempfile::TempDir,
    hv1: String,
    hv2: String,
    down: String,
}

fn fleet() -> Fleet {
    let home = tempfile::tempdir().unwrap();
    let hv1 = node(home.path(), "hv1.xml", 1, &["web-1", "db-1", "same"]);
    let hv2 = node(home.path(), "hv2.xml", 2, &["ci-7", "same"]);
    let down = format!(
        "qemu+unix:///session?socket={}",
        home.path().join("nobody/libvirt-sock").display()
    );
    std::fs::write(
        home.path().join("config.toml"),
        format!(
            "[connection]\nuri = \"{hv1}\"\n\n\
             [[connections]]\nname = \"hv1\"\nuri = \"{hv1}\"\n\n\
             [[connections]]\nname = \"hv2\"\nuri = \"{hv2}\"\n\n\
             [[connections]]\nname = \"hv3\"\nuri = \"{down}\"\n"
        ),
    )
    .unwrap();
    Fleet {
        home,
        hv1,
        hv2,
        down,
    }
}

impl Fleet {
    fn vmlife(&self) -> Command {
        let h = self.home.path();
        let mut c = Command::cargo_bin("vmlife").unwrap();
        c.env_remove("LIBVIRT_DEFAULT_URI")
            .env("VMLIFE_CONFIG", h.join("config.toml"))
            .env("VMLIFE_STATE_DIR", h.join("state"))
            .env("HOME", h)
            .arg("--connect-timeout")
            .arg("5");
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let out = self.vmlife().args(args).output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    }
}

fn line_of<'a>(out: &'a str, name: &str) -> Vec<&'a str> {
    out.lines()
        .filter(|l| l.split_whitespace().nth(1) == Some(name))
        .collect()
}

#[test]
fn ls_over_two_hosts_with_one_down_prints_both_and_fails() {
    let f = fleet();
    let (code, out, err) = f.run(&["ls"]);
    assert_eq!(code, 1, "{out}\n{err}");
    let header: Vec<&str> = out.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(&header[..3], ["HOST", "NAME", "STATE"], "{out}");
    assert_eq!(
        line_of(&out, "web-1")[0].split_whitespace().next(),
        Some("hv1")
    );
    assert_eq!(
        line_of(&out, "ci-7")[0].split_whitespace().next(),
        Some("hv2")
    );
    // Same-named VMs on two hosts are two rows.
    let same: Vec<&str> = line_of(&out, "same")
        .iter()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(same, ["hv1", "hv2"], "{out}");
    assert!(
        err.contains("error: host hv3: cannot connect to qemu+unix"),
        "{err}"
    );
    assert!(err.contains("1 of 3 hosts failed: hv3"), "{err}");
    assert!(!out.contains("hv3"), "{out}");

    // JSON: one array, each object with its host and URI.
    let (code, out, err) = f.run(&["ls", "--json"]);
    assert_eq!(code, 1, "{err}");
    let all: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let hosts: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|v| {
            (
                v["host"].as_str().unwrap(),
                v["vm_name"].as_str().unwrap(),
                v["uri"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(hosts.len(), 5, "{hosts:?}");
    assert!(
        hosts.contains(&("hv2", "same", f.hv2.as_str())),
        "{hosts:?}"
    );
    assert!(
        hosts.contains(&("hv1", "same", f.hv1.as_str())),
        "{hosts:?}"
    );
}

#[test]
fn host_and_repeated_connect_pick_hosts() {
    let f = fleet();
    // --host picks; all up: exit 0.
    let (code, out, err) = f.run(&["--host", "hv1,hv2", "ls"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("HOST"), "{out}");
    // One host: the table of old, no HOST column, JSON gains `host`.
    let (code, out, err) = f.run(&["--host", "hv2", "ls"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("NAME"), "{out}");
    let (_, out, _) = f.run(&["-c", &f.hv2, "ls", "--json"]);
    let all: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    assert!(all.iter().all(|v| v["host"] == "hv2"), "{out}");
    // -c twice.
    let (code, out, err) = f.run(&["-c", &f.hv1, "-c", &f.hv2, "ls"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(line_of(&out, "ci-7").len(), 1, "{out}");
    // An unknown --host is bad usage, before anything opens.
    let (code, _, err) = f.run(&["--host", "hv9", "ls"]);
    assert_eq!(code, 2);
    assert!(err.contains("--host \"hv9\": no such connection"), "{err}");
    // A one-host command refuses several.
    let (code, _, err) = f.run(&["--host", "hv1,hv2", "limits"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("works on one host, and 2 were given (hv1, hv2)"),
        "{err}"
    );
    let _ = &f.down;
}

#[test]
fn show_and_set_go_to_the_one_host_of_the_vm() {
    let f = fleet();
    let (code, out, err) = f.run(&["--host", "hv1,hv2", "show", "ci-7", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["host"], "hv2");
    // A name on both hosts is refused, naming them.
    let (code, _, err) = f.run(&["--host", "hv1,hv2", "show", "same"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("names a VM on each of hv1, hv2"), "{err}");
    // set reaches the VM's host, and the journal says which.
    let (code, out, err) = f.run(&["--host", "hv1,hv2", "set", "ci-7", "--ttl-hours", "8"]);
    assert_eq!(code, 0, "{out}\n{err}");
    let journal = std::fs::read_to_string(f.home.path().join("state/journal.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(journal.lines().last().unwrap()).unwrap();
    assert_eq!(last["vm_name"], "ci-7");
    assert_eq!(last["host"], "hv2", "{journal}");
    // With a host down, set by name refuses: the VM might be there too.
    let (code, _, err) = f.run(&["set", "ci-7", "--ttl-hours", "8"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("hv3 did not answer"), "{err}");
}

#[test]
fn plan_runs_per_host() {
    let f = fleet();
    let (code, out, err) = f.run(&["--host", "hv1,hv2", "plan"]);
    assert_eq!(code, 0, "{err}");
    let h1 = out.find("== host hv1 (").unwrap();
    let h2 = out.find("== host hv2 (").unwrap();
    assert!(h1 < h2, "{out}");
    let (code, out, err) = f.run(&["plan", "--json"]);
    assert_eq!(code, 1, "{err}");
    let _: Vec<serde_json::Value> = serde_json::from_str(&out).unwrap();
    let (code, out, err) = f.run(&["--host", "hv1,hv2", "autostart", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("== host hv2 ("), "{out}");
    let (code, _, err) = f.run(&["--host", "hv1,hv2", "autostart"]);
    assert_eq!(code, 2, "{err}");
    // A real cleanup is one host's; its dry run shows every host's.
    let (code, _, err) = f.run(&["--host", "hv1,hv2", "cleanup", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cleans up one host"), "{err}");
    let (code, out, err) = f.run(&["--host", "hv1,hv2", "cleanup", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("== host hv2 ("), "{out}");
}

#[test]
fn a_read_only_entry_refuses_changes() {
    let f = fleet();
    let config = f.home.path().join("config.toml");
    let text = std::fs::read_to_string(&config).unwrap().replacen(
        "name = \"hv2\"\n",
        "name = \"hv2\"\nreadonly = true\n",
        1,
    );
    std::fs::write(&config, text).unwrap();
    let (code, _, err) = f.run(&["--host", "hv2", "set", "ci-7", "--ttl-hours", "8"]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("set changes metadata and hv2 is read-only"),
        "{err}"
    );
    let (code, _, err) = f.run(&["--host", "hv1,hv2", "set", "ci-7", "--ttl-hours", "8"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("hv2 is read-only"), "{err}");
    let (code, _, err) = f.run(&["--host", "hv2", "ls"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn the_host_hooks_run_on_this_host_not_the_fleet() {
    let f = fleet();
    // [[connections]] is the fleet; the hooks take connection.uri (hv1's node here).
    let (code, out, err) = f.run(&["host-shutdown", "--dry-run"]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("web-1"), "{out}");
    assert!(!out.contains("ci-7"), "{out}");
    // --host still picks, and several are refused.
    let (code, _, err) = f.run(&["--host", "hv1,hv2", "host-boot", "--dry-run"]);
    assert_eq!(code, 2, "{err}");
}
