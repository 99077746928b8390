use super::*;
use crate::tui::keymap::Keymap;

fn row(
    limit: LimitKind,
    target: Option<&str>,
    desired: Option<u64>,
    status: LimitStatus,
) -> LimitRow {
    LimitRow {
        vm_id: "u".into(),
        vm_name: "vm".into(),
        limit,
        target: target.map(str::to_string),
        enforced: true,
        desired,
        actual: None,
        period_us: (limit == LimitKind::Cpu).then_some(100_000),
        status,
        reason: "not running".into(),
    }
}

fn state(now: DateTime<Utc>) -> State {
    State::new(
        "fake:///",
        Keymap::build(&Default::default(), false).unwrap(),
        now,
    )
}

#[test]
fn one_line_per_vm_with_figures_and_statuses() {
    let v = LimitsView {
        vm_id: "u".into(),
        rows: vec![
            row(LimitKind::Memory, None, Some(1280 * 1024), LimitStatus::Ok),
            row(LimitKind::Cpu, None, Some(200_000), LimitStatus::Refused),
            row(LimitKind::Disk, Some("vda"), Some(9), LimitStatus::Drift),
            row(LimitKind::Disk, Some("vdb"), Some(9), LimitStatus::Reached),
        ],
        at: Utc::now(),
        disk_percent: 90,
    };
    assert_eq!(
        summary(&v),
        "memory 1.2 GiB ok · cpu 2.00 CPU refused (not supported by this driver) · vda 90 % drift · vdb 90 % reached (disk nearly full)"
    );
    let skipped = LimitsView {
        rows: vec![
            row(LimitKind::Memory, None, None, LimitStatus::Skipped),
            row(LimitKind::Cpu, None, None, LimitStatus::Skipped),
        ],
        ..v
    };
    assert_eq!(summary(&skipped), "skipped: not running");
}

#[test]
fn read_on_selection_and_every_30_s_only_while_the_detail_shows() {
    let t0 = Utc::now();
    let mut s = state(t0);
    let fake = std::sync::Arc::new(crate::hypervisor::fake::FakeHypervisor::new());
    fake.put(crate::hypervisor::fake::running("u-1", "a"));
    fake.put(crate::hypervisor::fake::running("u-2", "b"));
    let vms = crate::poll::Poller::new(fake, Default::default())
        .poll(t0)
        .unwrap();
    crate::tui::update::update(&mut s, crate::tui::tests::snap(vms, t0));
    assert!(
        due(&mut s).is_none(),
        "80×24 without the detail pane: no read"
    );
    s.show_detail = true;
    let first = s.selected_vm().unwrap().uuid.clone();
    assert_eq!(due(&mut s), Some(Effect::ReadLimits(first.clone())));
    assert!(due(&mut s).is_none(), "asked already");
    assert_eq!(text(&s, &first).as_deref(), Some("reading…"));
    s.now = t0 + TimeDelta::seconds(29);
    assert!(due(&mut s).is_none());
    s.now = t0 + READ_EVERY;
    assert_eq!(due(&mut s), Some(Effect::ReadLimits(first.clone())));
    // The answer, then it ages.
    s.limits.view = Some(LimitsView {
        vm_id: first.clone(),
        rows: vec![row(LimitKind::Memory, None, Some(1024), LimitStatus::Drift)],
        at: s.now,
        disk_percent: 90,
    });
    assert_eq!(text(&s, &first).as_deref(), Some("memory 1 MiB drift"));
    s.now += STALE_AFTER + TimeDelta::seconds(60);
    assert_eq!(
        text(&s, &first).as_deref(),
        Some("memory 1 MiB drift (read 2m ago)")
    );
    // Another VM selected: asked at once; the old VM's reading is not shown for it.
    s.select_row(1);
    let second = s.selected_vm().unwrap().uuid.clone();
    assert_ne!(first, second);
    assert_eq!(due(&mut s), Some(Effect::ReadLimits(second.clone())));
    assert_eq!(text(&s, &second).as_deref(), Some("reading…"));
}
