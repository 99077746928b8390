//! Domain events and reconnects through the libvirt adapter against a real, private,
//! unprivileged libvirtd (see `tests/common/libvirtd.rs`) with a tiny diskless TCG VM.
//! Never touches `qemu:///system`. `VMLIFE_SKIP_LIBVIRTD=1` skips it.
//!
//! One `#[test]`, in order: events caused by the adapter and by another client (`virsh`)
//! arrive; a killed QEMU is `Stopped` classified `Crashed`; `virsh destroy` is
//! `Destroyed`. Then the daemon is killed (SIGKILL, the PID the harness started):
//! `ConnectionLost` arrives and calls fail at once with `Connection` errors; a new
//! daemon is started on the same directories and socket (the harness has no restart,
//! so the few lines that start it are repeated here) and `Reconnected` arrives, after
//! which events flow again. `virsh shutdown` is not tested: the tiny VM has no OS to
//! act on ACPI.

mod common;

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::libvirtd::{PrivateLibvirtd, VMLIFE_NS};
use common::{wait_for, Lap};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::hypervisor::{
    DomainEvent, EventDetail as d, EventDetail, HvErrorKind, Hypervisor, LifecycleEvent,
    StatsGroups,
};
use vmlife::lifecycle::restart::StopCause;

/// Events from the daemon normally take milliseconds; QEMU start/stop take seconds.
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);
/// A dead local daemon is an EOF on the socket: noticed at once.
const LOST_TIMEOUT: Duration = Duration::from_secs(5);
/// Backoff 1+2+4+8 s covers a daemon that takes up to ~15 s to come back.
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(40);

/// Wait for the first event that `want` accepts; the others are kept for the message.
fn wait_event(
    rx: &mut UnboundedReceiver<DomainEvent>,
    timeout: Duration,
    what: &str,
    want: impl Fn(&DomainEvent) -> bool,
) -> DomainEvent {
    let until = Instant::now() + timeout;
    let mut skipped = Vec::new();
    loop {
        match rx.try_recv() {
            Ok(ev) if want(&ev) => return ev,
            Ok(ev) => skipped.push(ev),
            Err(_) if Instant::now() >= until => {
                panic!("no {what} within {timeout:?}; other events: {skipped:?}")
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn is_lifecycle(ev: &DomainEvent, of: &str, event: LifecycleEvent) -> bool {
    matches!(ev, DomainEvent::Lifecycle { uuid, event: e, .. } if uuid == of && *e == event)
}

fn detail(ev: &DomainEvent) -> EventDetail {
    match ev {
        DomainEvent::Lifecycle { detail, .. } => *detail,
        other => panic!("not a lifecycle event: {other:?}"),
    }
}

fn set_metadata_with_virsh(lv: &PrivateLibvirtd, name: &str, count: u32) {
    lv.virsh(&[
        "metadata",
        name,
        "--uri",
        VMLIFE_NS,
        "--key",
        "vmlife",
        "--set",
        &format!("<lifecycle><state restart_count='{count}'/></lifecycle>"),
    ]);
}

fn expect_metadata_change(rx: &mut UnboundedReceiver<DomainEvent>, uuid: &str) {
    let ev = wait_event(
        rx,
        EVENT_TIMEOUT,
        "MetadataChange",
        |e| matches!(e, DomainEvent::MetadataChange { uuid: u, .. } if u == uuid),
    );
    assert!(
        matches!(&ev, DomainEvent::MetadataChange { namespace: Some(ns), .. } if ns == VMLIFE_NS),
        "{ev:?}"
    );
}

#[test]
fn events_and_reconnect_against_a_private_daemon() {
    let Some(lv) = PrivateLibvirtd::start_or_skip() else {
        return;
    };
    let mut lap = Lap::new("events");
    let hv = LibvirtHypervisor::open(lv.uri(), false).expect("open a read-write connection");
    let (tx, mut rx) = unbounded_channel();
    hv.subscribe(tx).expect("subscribe");
    lap.mark("connect + subscribe");

    // Another client defines a domain.
    let name = "vmlife-t-events";
    let uuid = lv.define_tiny(name);
    let ev = wait_event(&mut rx, EVENT_TIMEOUT, "Defined", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Defined)
    });
    assert_eq!(
        ev,
        DomainEvent::Lifecycle {
            uuid: uuid.as_str().into(),
            name: name.into(),
            event: LifecycleEvent::Defined,
            detail: d::Added,
        }
    );
    lap.mark("virsh define → Defined");

    // The adapter starts it.
    hv.start(&uuid).expect("start");
    let ev = wait_event(&mut rx, EVENT_TIMEOUT, "Started", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Started)
    });
    assert_eq!(detail(&ev), d::Booted);
    lap.mark("start → Started");

    set_metadata_with_virsh(&lv, name, 1);
    expect_metadata_change(&mut rx, &uuid);
    lap.mark("virsh metadata → MetadataChange");

    lv.virsh(&["suspend", name]);
    let ev = wait_event(&mut rx, EVENT_TIMEOUT, "Suspended", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Suspended)
    });
    assert_eq!(detail(&ev), d::Paused);
    lv.virsh(&["resume", name]);
    let ev = wait_event(&mut rx, EVENT_TIMEOUT, "Resumed", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Resumed)
    });
    assert_eq!(detail(&ev), d::Unpaused);
    lap.mark("virsh suspend/resume");

    // A crash: QEMU killed.
    lv.kill_qemu(name);
    let ev = wait_event(&mut rx, EVENT_TIMEOUT, "Stopped after the kill", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Stopped)
    });
    eprintln!("QEMU killed: {ev:?}");
    assert_eq!(ev.stop_cause(false), Some(StopCause::Crashed), "{ev:?}");
    assert_eq!(lv.domstate(name), "shut off (crashed)");
    lap.mark("kill QEMU → Stopped/Crashed");

    // Destroyed by another client.
    hv.start(&uuid).expect("start again");
    wait_event(&mut rx, EVENT_TIMEOUT, "Started", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Started)
    });
    lv.virsh(&["destroy", name]);
    let ev = wait_event(&mut rx, EVENT_TIMEOUT, "Stopped after destroy", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Stopped)
    });
    assert_eq!(detail(&ev), d::Destroyed);
    assert_eq!(ev.stop_cause(false), Some(StopCause::Destroyed));
    lap.mark("virsh destroy → Stopped/Destroyed");

    // The poll's name→UUID cache over the remote driver: a steady poll reads no UUID;
    // the name given to a new domain by another client is read again once its events
    // are in.
    hv.poll(StatsGroups::ALL).expect("poll");
    hv.poll(StatsGroups::ALL).expect("poll");
    assert_eq!(
        hv.last_poll_stats().uuid_reads,
        0,
        "{:?}",
        hv.last_poll_stats()
    );
    lv.virsh(&["undefine", name]);
    let new_uuid = lv.define_tiny(name);
    assert_ne!(new_uuid, uuid);
    wait_event(&mut rx, EVENT_TIMEOUT, "Defined (the new domain)", |e| {
        is_lifecycle(e, &new_uuid, LifecycleEvent::Defined)
    });
    let doms = hv.poll(StatsGroups::ALL).expect("poll");
    let named: Vec<_> = doms.iter().filter(|r| r.name == name).collect();
    assert_eq!(named.len(), 1);
    assert_eq!(
        named[0].uuid, new_uuid,
        "the new domain behind the reused name"
    );
    let uuid = new_uuid;
    lap.mark("name reused → new UUID in the poll");

    // The daemon dies.
    assert!(hv.is_connected());
    let pid = lv.pid();
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("run kill");
    assert!(st.success(), "kill -KILL {pid}");
    let ev = wait_event(&mut rx, LOST_TIMEOUT, "ConnectionLost", |e| {
        matches!(e, DomainEvent::ConnectionLost { .. })
    });
    eprintln!("{ev:?}");
    lap.mark("kill libvirtd → ConnectionLost");
    assert!(!hv.is_connected());
    let t = Instant::now();
    let err = hv.poll(StatsGroups::STATE).expect_err("poll while down");
    assert_eq!(err.kind, HvErrorKind::Connection, "{err}");
    assert!(
        t.elapsed() < Duration::from_millis(100),
        "calls fail at once"
    );
    let err = hv.start(&uuid).expect_err("start while down");
    assert_eq!(err.kind, HvErrorKind::Connection, "{err}");
    assert!(err.message.contains("reconnecting"), "{err}");

    // A sink that subscribes while the link is down is registered by the reconnect.
    let (late_tx, mut late_rx) = unbounded_channel();
    hv.subscribe(late_tx).expect("subscribe while down");

    // A new daemon on the same directories and socket.
    let daemon = RestartedDaemon::start(lv.dir());
    lap.mark("restart libvirtd");
    wait_event(&mut rx, RECONNECT_TIMEOUT, "Reconnected", |e| {
        *e == DomainEvent::Reconnected
    });
    lap.mark("→ Reconnected");
    assert!(hv.is_connected());
    let doms = hv.poll(StatsGroups::STATE).expect("poll after reconnect");
    assert!(doms.iter().any(|d| d.uuid == uuid), "{doms:?}");

    // Events flow again, from another client and from the adapter.
    set_metadata_with_virsh(&lv, name, 2);
    expect_metadata_change(&mut rx, &uuid);
    wait_event(
        &mut late_rx,
        EVENT_TIMEOUT,
        "Reconnected (late sink)",
        |e| *e == DomainEvent::Reconnected,
    );
    expect_metadata_change(&mut late_rx, &uuid);
    hv.start(&uuid).expect("start after reconnect");
    wait_event(&mut rx, EVENT_TIMEOUT, "Started after reconnect", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Started)
    });
    hv.destroy(&uuid).expect("destroy");
    wait_event(&mut rx, EVENT_TIMEOUT, "Stopped after reconnect", |e| {
        is_lifecycle(e, &uuid, LifecycleEvent::Stopped)
    });
    lap.mark("events after reconnect");

    drop(hv);
    // The restarted daemon goes first (it is our child), then the harness cleans up the
    // rest (virtlogd, QEMU, the directory).
    drop(daemon);
    drop(lv);
}

/// A libvirtd started again on a [`PrivateLibvirtd`]'s directories, as the harness
/// starts it (same user, environment and socket). Stopped and reaped on drop; the
/// harness's watchdog would stop it too (its environment names the directory).
struct RestartedDaemon {
    child: Child,
}

impl RestartedDaemon {
    fn start(dir: &Path) -> Self {
        let d = dir.to_str().expect("UTF-8 dir");
        let log = fs::File::create(dir.join("libvirtd-restarted.log")).expect("create log");
        let log_err = log.try_clone().expect("dup log");
        let as_root = fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0);
        // The harness's dir belongs to the user its daemon ran as: run as that one.
        let owner = fs::metadata(dir).expect("stat dir");
        let mut cmd = if as_root {
            let mut c = Command::new("setpriv");
            c.args([
                format!("--reuid={}", owner.uid()),
                format!("--regid={}", owner.gid()),
                "--clear-groups".into(),
                "env".into(),
            ]);
            c
        } else {
            Command::new("env")
        };
        cmd.args([
            "-i".to_string(),
            format!("HOME={d}"),
            format!("XDG_RUNTIME_DIR={d}/run"),
            format!("XDG_CONFIG_HOME={d}/cfg"),
            format!("XDG_CACHE_HOME={d}/cache"),
            format!("XDG_DATA_HOME={d}/data"),
            "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_string(),
            "libvirtd".to_string(),
            "--timeout=600".to_string(),
        ])
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log_err);
        let mut child = cmd.spawn().expect("spawn libvirtd again");
        let sock = dir.join("run/libvirt/libvirt-sock");
        let up = wait_for(Duration::from_secs(30), Duration::from_millis(20), || {
            if let Ok(Some(status)) = child.try_wait() {
                let log =
                    fs::read_to_string(dir.join("libvirtd-restarted.log")).unwrap_or_default();
                panic!("restarted libvirtd exited ({status}): {log}");
            }
            UnixStream::connect(&sock).ok()
        });
        assert!(
            up.is_some(),
            "restarted libvirtd does not accept connections"
        );
        RestartedDaemon { child }
    }
}

impl Drop for RestartedDaemon {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let gone = wait_for(Duration::from_secs(5), Duration::from_millis(20), || {
            matches!(self.child.try_wait(), Ok(Some(_))).then_some(())
        });
        if gone.is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
