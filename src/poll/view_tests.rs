//! The dashboard's poll: figures only for the VMs in view, each at its cadence, the XML
//! of the rows in view first, stale figures marked, local guests from `/proc`.

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};

use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::hypervisor::{DiskInfo, Hypervisor};
use crate::poll::procfs::ProcReader;
use crate::poll::{Age, Poller, PollerOptions, ViewOptions, Vm};

fn at_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_000_000_000 + ms).unwrap()
}

/// Five running VMs `u0`…`u4`, each with a disk allocation and some CPU time.
fn host() -> Arc<FakeHypervisor> {
    let fake = Arc::new(FakeHypervisor::new());
    for i in 0..5 {
        let mut d = running(&format!("u{i}"), &format!("vm-{i}"));
        d.raw.block_allocation_bytes = Some(2_000_000_000);
        d.raw.rss_kib = Some(300 * 1024);
        d.details.disks = vec![DiskInfo {
            target: "vda".into(),
            source: Some(format!("/images/vm-{i}.qcow2")),
            device: "disk".into(),
        }];
        fake.put(d);
    }
    fake
}

fn dashboard(fake: &Arc<FakeHypervisor>) -> Poller {
    Poller::new(
        fake.clone(),
        PollerOptions {
            view: Some(ViewOptions {
                refresh_ms: 2_000,
                memory_disk_ms: 15_000,
                procfs: false,
                unfocused_every: 1,
            }),
            ..PollerOptions::default()
        },
    )
}

fn view_of(p: &mut Poller, uuids: &[&str]) {
    p.set_view(uuids.iter().map(|u| (*u).into()).collect());
}

/// The stats calls since the last clear (the bulk poll is `poll`).
fn stats_calls(fake: &FakeHypervisor) -> Vec<String> {
    let calls = fake
        .calls()
        .into_iter()
        .filter(|c| c.starts_with("stats") || c == "poll")
        .collect();
    fake.clear_calls();
    calls
}

fn vm<'a>(vms: &'a [Vm], uuid: &str) -> &'a Vm {
    vms.iter().find(|v| v.uuid == uuid).unwrap()
}

fn tick_cpu(fake: &FakeHypervisor, ns: u64) {
    for i in 0..5 {
        fake.update(&format!("u{i}"), |d| {
            d.raw.cpu_time_ns = Some(d.raw.cpu_time_ns.unwrap_or(0) + ns)
        });
    }
}

#[test]
fn the_costly_groups_are_asked_only_of_the_vms_in_view_at_their_cadence() {
    let fake = host();
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u1", "u3"]);
    p.poll(at_ms(0)).unwrap();
    assert_eq!(
        stats_calls(&fake),
        ["poll", "stats cpu+balloon+block u1,u3"],
        "state of all, every group of the two in view"
    );
    tick_cpu(&fake, 1_000_000_000);
    p.poll(at_ms(2_000)).unwrap();
    assert_eq!(
        stats_calls(&fake),
        ["poll", "stats cpu u1,u3"],
        "then CPU only"
    );
    // The memory and disk cadence has passed.
    p.poll(at_ms(15_000)).unwrap();
    assert_eq!(
        stats_calls(&fake),
        ["poll", "stats cpu+balloon+block u1,u3"]
    );
    // Nothing in view: one state call, no stats call at all.
    view_of(&mut p, &[]);
    p.poll(at_ms(17_000)).unwrap();
    assert_eq!(stats_calls(&fake), ["poll"]);
}

#[test]
fn rows_that_come_into_view_get_their_figures_within_a_refresh() {
    let fake = host();
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u0", "u1"]);
    p.poll(at_ms(0)).unwrap();
    tick_cpu(&fake, 500_000_000);
    let vms = p.poll(at_ms(2_000)).unwrap();
    let u4 = vm(&vms, "u4");
    assert_eq!(
        u4.snapshot.cpu_usage_percent, None,
        "never in view: not asked"
    );
    assert_eq!(u4.freshness.cpu, Age::None);
    assert_eq!(vm(&vms, "u1").snapshot.cpu_usage_percent, Some(25.0));

    // Scrolling: u3 and u4 come into view. The next poll asks them alone for what they
    // lack (every group), u0 and u1 leave and are asked nothing.
    view_of(&mut p, &["u3", "u4"]);
    fake.clear_calls();
    tick_cpu(&fake, 500_000_000);
    let vms = p.poll(at_ms(2_150)).unwrap();
    assert_eq!(
        stats_calls(&fake),
        ["poll", "stats cpu+balloon+block u3,u4"]
    );
    let u4 = vm(&vms, "u4");
    assert_eq!(
        u4.snapshot.memory_usage_mb,
        Some(300),
        "RSS, as balloon.rss says"
    );
    assert_eq!(u4.snapshot.disk_usage_gb, Some(2.0));
    assert!(matches!(u4.freshness.memory, Age::Until(_)));
    // One CPU sample so far: awaited, and the dashboard polls again soon for it.
    assert_eq!(u4.freshness.cpu, Age::Pending);
    assert!(p.awaits_cpu());
    tick_cpu(&fake, 100_000_000);
    let vms = p.poll(at_ms(2_650)).unwrap();
    assert_eq!(vm(&vms, "u4").snapshot.cpu_usage_percent, Some(20.0));
    assert!(!p.awaits_cpu());
}

#[test]
fn figures_past_their_cadence_are_marked_stale() {
    let fake = host();
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u2"]);
    p.poll(at_ms(0)).unwrap();
    tick_cpu(&fake, 1);
    let vms = p.poll(at_ms(2_000)).unwrap();
    let u2 = vm(&vms, "u2");
    assert!(!u2.freshness.any_stale(at_ms(2_000)));
    // Scrolled away: its figures are kept, and age.
    view_of(&mut p, &[]);
    let vms = p.poll(at_ms(7_000)).unwrap();
    let f = vm(&vms, "u2").freshness;
    assert!(
        f.cpu.is_stale(at_ms(7_000)),
        "CPU is due every refresh: {f:?}"
    );
    assert!(!f.memory.is_stale(at_ms(7_000)), "memory is due every 15 s");
    let vms = p.poll(at_ms(17_500)).unwrap();
    let u2 = vm(&vms, "u2");
    assert!(u2.freshness.memory.is_stale(at_ms(17_500)));
    assert!(u2.freshness.disk.is_stale(at_ms(17_500)));
    assert_eq!(
        u2.snapshot.memory_usage_mb,
        Some(300),
        "the last value stays"
    );
    // Back in view: current again after one poll.
    view_of(&mut p, &["u2"]);
    let vms = p.poll(at_ms(17_700)).unwrap();
    assert!(!vm(&vms, "u2").freshness.memory.is_stale(at_ms(17_700)));
    // A stopped VM's figures are facts, never stale.
    fake.destroy("u2").unwrap();
    let vms = p.poll(at_ms(60_000)).unwrap();
    let u2 = vm(&vms, "u2");
    assert_eq!(u2.freshness.cpu, Age::Current);
    assert!(!u2.freshness.any_stale(at_ms(60_000)));
}

#[test]
fn a_driver_without_a_figure_leaves_it_absent_not_awaited() {
    let fake = host();
    fake.update("u0", |d| {
        d.raw.block_allocation_bytes = None;
        d.raw.rss_kib = None;
        d.raw.balloon_current_kib = None;
    });
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u0"]);
    let vms = p.poll(at_ms(0)).unwrap();
    let u0 = vm(&vms, "u0");
    assert_eq!(u0.freshness.disk, Age::None);
    assert_eq!(u0.freshness.memory, Age::None);
}

#[test]
fn the_xml_of_rows_in_view_is_read_with_the_poll_the_rest_by_fill() {
    let fake = host();
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u3"]);
    let vms = p.poll(at_ms(0)).unwrap();
    assert!(!vm(&vms, "u3").pending, "in view: read with the poll");
    assert_eq!(vms.iter().filter(|v| v.pending).count(), 4);
    assert_eq!(p.pending(), 4);
    let details = |f: &FakeHypervisor| {
        let n = f
            .calls()
            .iter()
            .filter(|c| c.starts_with("details"))
            .count();
        f.clear_calls();
        n
    };
    assert_eq!(details(&fake), 1);
    // The view moved meanwhile: u1 is read first.
    view_of(&mut p, &["u1"]);
    let vms = p.fill(1, at_ms(100));
    assert!(!vm(&vms, "u1").pending);
    assert_eq!(details(&fake), 1);
    let vms = p.fill(10, at_ms(200));
    assert!(vms.iter().all(|v| !v.pending));
    assert_eq!(p.pending(), 0);
    assert_eq!(details(&fake), 3);
    // The one-shot commands read everything with the first poll.
    let vms = Poller::new(fake.clone(), PollerOptions::default())
        .poll(at_ms(0))
        .unwrap();
    assert!(vms.iter().all(|v| !v.pending));
}

/// A local guest: CPU and RSS come from its QEMU process, for every running VM, in
/// view or not; libvirt is asked only the disk of those in view.
#[test]
fn local_guests_are_read_from_proc() {
    let tmp = tempfile::tempdir().unwrap();
    let (pids, proc_root) = (tmp.path().join("run"), tmp.path().join("proc"));
    std::fs::create_dir_all(&pids).unwrap();
    let put = |pid: u32, uuid: &str, name: &str, ticks: u64, rss_kib: u64| {
        let d = proc_root.join(pid.to_string());
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(pids.join(format!("{name}.pid")), pid.to_string()).unwrap();
        std::fs::write(d.join("cmdline"), format!("qemu\0-uuid\0{uuid}\0")).unwrap();
        std::fs::write(
            d.join("stat"),
            format!("{pid} (qemu) S 1 1 1 0 -1 0 0 0 0 0 {ticks} 0 0 0 20 0 1 0 42 1 1"),
        )
        .unwrap();
        std::fs::write(d.join("status"), format!("VmRSS:\t{rss_kib} kB\n")).unwrap();
    };
    std::fs::create_dir_all(&proc_root).unwrap();
    // The host booted 10 s before the test's time 0 (the processes started at 0.42 s).
    std::fs::write(
        proc_root.join("stat"),
        format!("btime {}\n", at_ms(0).timestamp() - 10),
    )
    .unwrap();
    let fake = host();
    for i in 0..5 {
        put(100 + i, &format!("u{i}"), &format!("vm-{i}"), 0, 512 * 1024);
    }
    let mut p =
        dashboard(&fake).with_proc_reader(Some(ProcReader::new(pids.clone(), proc_root.clone())));
    view_of(&mut p, &["u1"]);
    p.poll(at_ms(0)).unwrap();
    assert_eq!(stats_calls(&fake), ["poll", "stats block u1"]);
    // 50 ticks (0.5 s) over 2 s on one vCPU.
    for i in 0..5 {
        put(
            100 + i,
            &format!("u{i}"),
            &format!("vm-{i}"),
            50,
            600 * 1024,
        );
    }
    let vms = p.poll(at_ms(2_000)).unwrap();
    assert_eq!(stats_calls(&fake), ["poll"], "nothing asked of libvirt");
    let u4 = vm(&vms, "u4");
    assert_eq!(u4.snapshot.cpu_usage_percent, Some(25.0), "out of view too");
    assert_eq!(u4.snapshot.memory_usage_mb, Some(600));
    assert!(!u4.freshness.any_stale(at_ms(2_000)));
    assert_eq!(
        u4.snapshot.uptime_seconds,
        Some(12),
        "from the process's start"
    );
    // u1's QEMU exited and its pid went to another process (another start time): u1
    // falls back to libvirt.
    std::fs::remove_file(pids.join("vm-1.pid")).unwrap();
    std::fs::write(
        proc_root.join("101/stat"),
        "101 (bash) S 1 1 1 0 -1 0 0 0 0 0 7 0 0 0 20 0 1 0 99 1 1",
    )
    .unwrap();
    // libvirt's counter is not the process's: 9.5 s more than /proc said.
    tick_cpu(&fake, 10_000_000_000);
    let vms = p.poll(at_ms(4_000)).unwrap();
    assert_eq!(stats_calls(&fake), ["poll", "stats cpu+balloon u1"]);
    assert_eq!(
        vm(&vms, "u1").snapshot.cpu_usage_percent,
        Some(25.0),
        "no delta across two counters (it would say 475 %)"
    );
    assert_eq!(
        vm(&vms, "u1").snapshot.memory_usage_mb,
        Some(300),
        "balloon.rss"
    );
    // The next libvirt sample makes a delta of libvirt's counter alone: 1 s over 2 s.
    tick_cpu(&fake, 1_000_000_000);
    let vms = p.poll(at_ms(6_000)).unwrap();
    assert_eq!(vm(&vms, "u1").snapshot.cpu_usage_percent, Some(50.0));
    assert_eq!(fake.uri(), "fake:///");
}

#[test]
fn a_cpu_percentage_spans_at_least_the_minimum_window() {
    let fake = host();
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u0"]);
    p.poll(at_ms(0)).unwrap();
    // A poll 100 ms later (the first screen's rows polled at once): too short a window.
    tick_cpu(&fake, 100_000_000);
    let vms = p.poll(at_ms(100)).unwrap();
    assert_eq!(vm(&vms, "u0").snapshot.cpu_usage_percent, None);
    assert_eq!(vm(&vms, "u0").freshness.cpu, Age::Pending);
    assert!(p.awaits_cpu(), "the dashboard polls again soon");
    // 600 ms after the first sample, which stood: 0.3 s of CPU over 0.6 s.
    tick_cpu(&fake, 200_000_000);
    let vms = p.poll(at_ms(600)).unwrap();
    assert_eq!(vm(&vms, "u0").snapshot.cpu_usage_percent, Some(50.0));
    const {
        assert!(super::tracked::MIN_CPU_WINDOW_MS > 100 && super::tracked::MIN_CPU_WINDOW_MS <= 600)
    };
}

#[test]
fn the_second_cpu_sample_is_due_a_minimum_window_after_the_first() {
    let fake = host();
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u0", "u1"]);
    assert_eq!(p.cpu_due_ms(), None, "nothing sampled yet");
    p.poll(at_ms(1_000)).unwrap();
    let due = at_ms(1_000).timestamp_millis() + super::tracked::MIN_CPU_WINDOW_MS;
    assert_eq!(p.cpu_due_ms(), Some(due));
    tick_cpu(&fake, 100_000_000);
    p.poll(at_ms(1_000 + super::tracked::MIN_CPU_WINDOW_MS))
        .unwrap();
    assert_eq!(p.cpu_due_ms(), None, "every VM in view has its percentage");
}

#[test]
fn a_vm_without_a_disk_is_not_asked_for_block_stats() {
    let fake = host();
    // (The fake still answers the block group: the first poll's answer is not shown.)
    fake.update("u0", |d| d.details.disks.clear());
    let mut p = dashboard(&fake);
    view_of(&mut p, &["u0"]);
    p.poll(at_ms(0)).unwrap();
    // The first poll asks before the XML is read; from then on u0 shows no DISK, and
    // its memory is due again after 15 s.
    stats_calls(&fake);
    let vms = p.poll(at_ms(16_000)).unwrap();
    assert_eq!(stats_calls(&fake), ["poll", "stats cpu+balloon u0"]);
    assert_eq!(vm(&vms, "u0").snapshot.disk_usage_gb, None);
    assert_eq!(
        vm(&vms, "u0").freshness.disk,
        Age::None,
        "not awaited either"
    );
}
