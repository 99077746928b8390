//! `vmlife limits` against a real, private, unprivileged libvirtd (session mode, see
//! `tests/common/libvirtd.rs`) with a tiny TCG VM and a 1 MiB disk. Without cgroups the
//! daemon refuses the memtune and CPU quota tunables: the reason is shown, and a second
//! `--apply` tries nothing again (no loop). Whatever it does support (the block
//! threshold is QEMU's, no cgroup needed) is applied and reads back as declared.
//! `VMLIFE_SKIP_LIBVIRTD=1` skips it.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;

use common::libvirtd::PrivateLibvirtd;
use serde_json::Value;

fn xml(name: &str, disk: &str) -> String {
    format!(
        "<domain type='qemu'>\n  <name>{name}</name><memory unit='MiB'>64</memory><vcpu>1</vcpu>\n  \
         <metadata><vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\">\
         <vmlife:policy enforce_disk_limit=\"true\"/></vmlife:lifecycle></metadata>\n  \
         <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>\n  \
         <devices><disk type='file' device='disk'><driver name='qemu' type='raw'/>\
         <source file='{disk}'/><target dev='vda' bus='virtio'/></disk>\
         <serial type='pty'/><memballoon model='virtio'/></devices>\n</domain>\n"
    )
}

fn limits(
    lv: &PrivateLibvirtd,
    state: &std::path::Path,
    extra: &[&str],
) -> (Option<i32>, Vec<Value>, String) {
    let home = tempfile::tempdir().unwrap();
    let out = assert_cmd::Command::cargo_bin("vmlife")
        .unwrap()
        .env_remove("LIBVIRT_DEFAULT_URI")
        .env_remove("VMLIFE_CONFIG")
        .env("HOME", home.path())
        .env("XDG_CONFIG_HOME", home.path().join("config"))
        .args(["-c", lv.uri(), "--state-dir"])
        .arg(state)
        .args(["limits", "--json"])
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rows: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}; {stderr}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), rows, stderr)
}

fn row<'a>(rows: &'a [Value], limit: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["limit"] == limit)
        .unwrap_or_else(|| panic!("{limit}: {rows:?}"))
}

fn set_lines(state: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(state.join("journal.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["action"] == "set_limit")
        .collect()
}

#[test]
fn limits_on_a_session_daemon_refused_once_applied_where_supported() {
    let Some(lv) = PrivateLibvirtd::start_or_skip() else {
        return;
    };
    let disk = lv.dir().join("lim.img");
    std::fs::write(&disk, vec![0u8; 1 << 20]).unwrap();
    std::fs::set_permissions(&disk, std::fs::Permissions::from_mode(0o666)).unwrap();
    lv.define_xml("lim", &xml("lim", disk.to_str().unwrap()));
    lv.virsh(&["start", "lim"]);
    let state = tempfile::tempdir().unwrap();

    // Report only: nothing set, every limit with a status and a reason.
    let (code, rows, err) = limits(&lv, state.path(), &["lim"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rows.len(), 3, "{rows:?}");
    assert!(set_lines(state.path()).is_empty());
    for r in &rows {
        let status = r["status"].as_str().unwrap();
        assert!(["drift", "refused", "ok", "kept"].contains(&status), "{r}");
        if status == "refused" {
            assert!(
                r["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("not supported by this driver: "),
                "{r}"
            );
        }
    }
    let refused_before: Vec<String> = rows
        .iter()
        .filter(|r| r["status"] == "refused")
        .map(|r| r["limit"].as_str().unwrap().to_string())
        .collect();
    eprintln!("refused by the session daemon: {refused_before:?}");

    // Apply: what drifts is set; what the driver refuses is shown, not tried.
    let (_, rows, err) = limits(&lv, state.path(), &["--apply", "lim"]);
    let first = set_lines(state.path());
    for r in &rows {
        match r["status"].as_str().unwrap() {
            "ok" | "kept" => {}
            "refused" => {
                assert!(
                    r["reason"]
                        .as_str()
                        .unwrap()
                        .contains("not supported by this driver"),
                    "{r}"
                );
            }
            s => panic!("after --apply, {} is {s}: {r}; {err}", r["limit"]),
        }
    }
    // The block threshold needs no cgroup: applied at 90 % of the 1 MiB disk.
    // (Measured on libvirt 9.0: it works in session mode.)
    let d = row(&rows, "disk");
    assert_eq!(d["status"], "ok", "{d}");
    assert_eq!(d["target"], "vda");
    assert_eq!(d["actual"], (1u64 << 20) * 90 / 100, "{d}");
    assert_eq!(d["result"], "ok");
    assert!(
        refused_before.contains(&"memory".to_string()) || row(&rows, "memory")["status"] == "ok"
    );
    for limit in &refused_before {
        assert_eq!(
            row(&rows, limit)["result"],
            Value::Null,
            "{limit} refused on read: not set"
        );
    }

    // A second apply sets nothing: the set ones are as declared, the refused ones are
    // not tried again.
    let (_, rows, err) = limits(&lv, state.path(), &["--apply", "lim"]);
    let second = set_lines(state.path());
    let failed_first: Vec<&Value> = first
        .iter()
        .filter(|e| e["result"].as_str().unwrap_or("").starts_with("error"))
        .collect();
    let new: Vec<&Value> = second[first.len()..].iter().collect();
    assert!(
        new.iter().all(|e| failed_first
            .iter()
            .any(|f| f["detail"]["limit"] == e["detail"]["limit"])),
        "only a limit whose set failed may be tried once per run: {new:?}; {err}"
    );
    for r in &rows {
        assert!(
            ["ok", "kept", "refused"].contains(&r["status"].as_str().unwrap()),
            "{r}"
        );
    }
    lv.virsh(&["destroy", "lim"]);
}
