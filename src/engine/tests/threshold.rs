//! The block-threshold event as a disk-full warning, on the fake hypervisor: one alert
//! per disk and episode, journaled with the VM, the disk and the threshold; the episode
//! ends when the VM is shut off; the fired disks are what the limits report marks
//! `reached`.

use super::*;

/// `dev` of VM `t` crossed a 9 GiB threshold by 4 KiB (what the runner and the
/// dashboard's engine do with a `DomainEvent::BlockThreshold`).
fn threshold(b: &mut Bench, dev: &str, now: i64) {
    b.core
        .on_block_threshold("t", "vm-t", dev, 9 * 1024 * 1024 * 1024, 4096, at(now));
}

fn alert_lines(b: &Bench) -> Vec<crate::store::JournalEntry> {
    b.journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .filter(|e| e.action == "alert")
        .collect()
}

#[test]
fn a_block_threshold_is_one_alert_per_disk_and_episode() {
    let mut b = Bench::new(EngineSettings::default());
    b.fake.put(permanent("t", RestartPolicy::No, 0, 3));
    let t = t0();
    b.snap(t);
    threshold(&mut b, "vda", t + 1);
    let alerts = b.core.take_alerts();
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0].action, "disk_threshold");
    assert_eq!(
        alerts[0].error,
        "vda crossed its block threshold of 9 GiB (by 4 KiB): the disk is nearly full"
    );
    let lines = alert_lines(&b);
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].vm_name, "vm-t");
    assert_eq!(lines[0].reason, "disk-full warning (block threshold)");
    let d = lines[0].detail.clone().unwrap();
    assert_eq!(d["disk"], "vda");
    assert_eq!(d["threshold_bytes"], 9u64 * 1024 * 1024 * 1024);
    assert_eq!(d["alert_for"], "disk_threshold");
    assert_eq!(
        b.core.threshold_fired("t"),
        BTreeSet::from(["vda".to_string()])
    );

    // The same disk again in the episode (re-armed by hand, say): no second alert; a
    // second disk is its own.
    b.snap(t + 2);
    threshold(&mut b, "vda", t + 3);
    assert!(b.core.take_alerts().is_empty());
    threshold(&mut b, "vdb", t + 4);
    assert_eq!(b.core.take_alerts().len(), 1);

    // Shut off: the episode ends (libvirt's thresholds go with the run); the next
    // crossing alerts again.
    b.set_state("t", RunState::Shutoff, ShutoffReason::Shutdown);
    b.snap(t + 5);
    assert!(b.core.threshold_fired("t").is_empty());
    b.set_state("t", RunState::Running, RunningReason::Booted);
    b.snap(t + 6);
    threshold(&mut b, "vda", t + 7);
    assert_eq!(b.core.take_alerts().len(), 1);
    assert_eq!(alert_lines(&b).len(), 3);
}
