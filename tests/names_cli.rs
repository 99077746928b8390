//! Names cannot forge output, through the real binary and libvirt's test driver: a domain
//! named with a newline (XML 1.0 carries `&#10;`; ESC and BEL it cannot, so those are
//! covered by the unit tests in src/cli/tests.rs and src/poll.rs).
#![allow(clippy::unwrap_used)]

use assert_cmd::Command;

const NAME: &str = "evil\nfake-vm  running";

fn node(dir: &std::path::Path) -> String {
    let path = dir.join("node.xml");
    std::fs::write(
        &path,
        "<node>\n  <domain type='test'>\n    <name>evil&#10;fake-vm  running</name>\n    \
         <uuid>3f2a1c9e-0000-4000-8000-0000000000e1</uuid>\n    \
         <memory unit='MiB'>512</memory>\n    <os><type>hvm</type></os>\n    \
         <metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'>\
         <vmlife:persistence mode='temporary' ttl_hours='1' created_at_unix='1000' \
         auto_cleanup='true'/><vmlife:autostart enabled='true'/>\
         </vmlife:lifecycle></metadata>\n  </domain>\n</node>\n",
    )
    .unwrap();
    format!("test://{}", path.display())
}

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

fn stdout_of(home: &tempfile::TempDir, args: &[&str]) -> String {
    let out = vmlife(home).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn a_newline_in_a_name_cannot_forge_a_line() {
    let h = tempfile::tempdir().unwrap();
    let uri = node(h.path());
    let uuid = "3f2a1c9e-0000-4000-8000-0000000000e1";
    for args in [
        vec!["-c", &uri, "ls"],
        vec!["-c", &uri, "show", uuid],
        vec!["-c", &uri, "plan"],
        vec!["-c", &uri, "cleanup", "--dry-run", "--ignore-window"],
        vec!["-c", &uri, "autostart", "--dry-run"],
        vec!["-c", &uri, "host-boot", "--dry-run"],
        vec!["-c", &uri, "host-shutdown", "--dry-run"],
        // The cleanup dry run above journaled a "would" line naming the VM.
        vec!["journal"],
    ] {
        let text = stdout_of(&h, &args);
        assert!(
            !text.lines().any(|l| l.trim_start().starts_with("fake-vm")),
            "{args:?} printed a forged line:\n{text}"
        );
        assert!(text.contains("evil\\nfake-vm"), "{args:?}:\n{text}");
    }
    // JSON keeps the exact name (serde escapes it).
    let v: serde_json::Value =
        serde_json::from_str(&stdout_of(&h, &["-c", &uri, "ls", "--json"])).unwrap();
    assert_eq!(v[0]["vm_name"], NAME);
}

#[test]
fn errors_naming_a_domain_stay_one_line() {
    let h = tempfile::tempdir().unwrap();
    let uri = node(h.path());
    // --depends-on names itself: the message quotes the name.
    let out = vmlife(&h)
        .args(["-c", &uri, "set", "3f2a1c9e-0000-4000-8000-0000000000e1"])
        .args(["--depends-on", "3f2a1c9e-0000-4000-8000-0000000000e1"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "{err:?}");
    assert!(err.contains("evil\\nfake-vm"), "{err}");
}
