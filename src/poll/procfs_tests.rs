use std::path::{Path, PathBuf};

use super::*;

#[test]
fn pid_dirs_of_local_qemu_uris() {
    let rt = Some(Path::new("/run/user/1000"));
    let home = Some(Path::new("/home/a"));
    let cases: &[(&str, Option<&str>)] = &[
        ("qemu:///system", Some("/run/libvirt/qemu")),
        ("qemu+unix:///system", Some("/run/libvirt/qemu")),
        ("qemu:///session", Some("/run/user/1000/libvirt/qemu/run")),
        (
            "qemu+unix:///session?socket=/tmp/x/run/libvirt/libvirt-sock",
            Some("/tmp/x/run/libvirt/qemu/run"),
        ),
        (
            "qemu+unix:///session?socket=/tmp/x/run/libvirt/virtqemud-sock",
            Some("/tmp/x/run/libvirt/qemu/run"),
        ),
        (
            "qemu+unix:///system?socket=/var/run/libvirt/libvirt-sock",
            Some("/var/run/libvirt/qemu"),
        ),
        // Not a daemon socket: its run dir cannot be told.
        ("qemu+unix:///session?socket=/tmp/odd.sock", None),
        ("qemu+ssh://host/system", None),
        ("qemu+tcp://10.0.0.1/system", None),
        ("test:///default", None),
        ("lxc:///system", None),
        ("qemu:///embed?root=/x", None),
    ];
    for (uri, want) in cases {
        assert_eq!(pid_dir(uri, rt, home), want.map(PathBuf::from), "{uri}");
    }
    assert_eq!(
        pid_dir("qemu:///session", None, home),
        Some(PathBuf::from("/home/a/.cache/libvirt/qemu/run"))
    );
    assert_eq!(pid_dir("qemu:///session", None, None), None);
}

#[test]
fn stat_fields_are_counted_from_the_last_parenthesis() {
    // A command name with a space and a parenthesis, as a guest name can make it.
    let line = "4242 (qemu-system-x86 (x)) S 1 4242 4242 0 -1 4194560 9000 0 0 0 \
                250 75 0 0 20 0 5 0 123456 1000000 2000 18446744073709551615";
    let f = parse_stat(line).unwrap();
    assert_eq!(
        f,
        StatFields {
            utime: 250,
            stime: 75,
            start_ticks: 123456,
        }
    );
    assert_eq!(parse_stat("garbage"), None);
    assert_eq!(parse_stat("1 (x) S 1 2"), None);
}

#[test]
fn rss_comes_from_status_in_kib() {
    let status = "Name:\tqemu\nVmPeak:\t  999 kB\nVmRSS:\t  81234 kB\nThreads:\t5\n";
    assert_eq!(parse_vm_rss(status), Some(81234));
    assert_eq!(parse_vm_rss("Name:\tx\n"), None);
}

#[test]
fn the_uuid_argument_must_match() {
    let u = "6695eb01-f6a4-8304-79aa-97f2502e193f";
    let cmd = b"/usr/bin/qemu-system-x86_64\0-name\0guest=a\0-uuid\x006695EB01-f6a4-8304-79aa-97f2502e193f\0-m\x0064\0";
    assert!(has_uuid_arg(cmd, u));
    assert!(!has_uuid_arg(cmd, "00000000-0000-0000-0000-000000000000"));
    assert!(!has_uuid_arg(b"/bin/sleep\x00100\0", u));
    assert!(!has_uuid_arg(b"qemu\0-uuid", u));
}

/// A fake /proc and pid dir: the reader finds the process by its pid file, checks the
/// UUID, re-finds it when the pid's start time changes, and rests after a miss.
#[test]
fn the_reader_finds_checks_and_follows_the_process() {
    let tmp = tempfile::tempdir().unwrap();
    let pids = tmp.path().join("run");
    let proc_root = tmp.path().join("proc");
    std::fs::create_dir_all(&pids).unwrap();
    let u: Uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f".into();
    let put = |pid: u32, uuid: &str, utime: u64, start: u64, rss: u64| {
        let d = proc_root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("cmdline"), format!("qemu\0-uuid\0{uuid}\0")).unwrap();
        std::fs::write(
            d.join("stat"),
            format!("{pid} (qemu) S 1 1 1 0 -1 0 0 0 0 0 {utime} 0 0 0 20 0 1 0 {start} 1 1"),
        )
        .unwrap();
        std::fs::write(d.join("status"), format!("VmRSS:\t{rss} kB\n")).unwrap();
    };
    std::fs::create_dir_all(&proc_root).unwrap();
    std::fs::write(
        proc_root.join("stat"),
        "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n",
    )
    .unwrap();
    let mut r = ProcReader::new(pids.clone(), proc_root.clone());
    // No pid file: not found, and not looked for again at once.
    assert_eq!(r.read(&u, "web", 0), None);
    std::fs::write(pids.join("web.pid"), "100\n").unwrap();
    put(100, u.as_str(), 300, 700, 5000);
    assert_eq!(r.read(&u, "web", 1_000), None, "rests after a miss");
    let s = r.read(&u, "web", 31_000).unwrap();
    assert_eq!(
        s,
        ProcSample {
            cpu_ns: 3_000_000_000,
            rss_kib: 5000,
            started_unix: Some(1_700_000_007),
        }
    );
    // The pid now belongs to another VM's process (another start time, another UUID).
    put(100, "11111111-2222-3333-4444-555555555555", 5, 9, 1);
    assert_eq!(r.read(&u, "web", 32_000), None);
    // The VM restarted under a new pid.
    std::fs::write(pids.join("web.pid"), "200").unwrap();
    put(200, u.as_str(), 50, 11, 6000);
    assert_eq!(r.read(&u, "web", 70_000).unwrap().rss_kib, 6000);
    // Without a readable boot time there is no start time.
    std::fs::remove_file(proc_root.join("stat")).unwrap();
    let mut r = ProcReader::new(pids.clone(), proc_root.clone());
    assert_eq!(r.read(&u, "web", 0).unwrap().started_unix, None);
    // Names that cannot be a pid file are never looked up.
    let mut r = ProcReader::new(pids, proc_root);
    assert_eq!(r.read(&u, "../web", 0), None);
    assert_eq!(r.read(&"x".into(), "", 0), None);
}
