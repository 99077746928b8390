//! One full dashboard frame (view into a TestBackend buffer) at 100, 1000 and 10,000 VMs.
//!
//! `cargo bench --bench frame`; figures go to docs/PERFORMANCE.md. Target at 1000: < 2 ms.

use std::hint::black_box;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use ratatui::backend::TestBackend;
use ratatui::Terminal;
use vmlife::hypervisor::{DomainDetails, RunState, StateReason};
use vmlife::metadata::LifecycleMeta;
use vmlife::model::{PersistenceMode, VmState, VmStateSnapshot};
use vmlife::poll::Vm;
use vmlife::tui::keymap::Keymap;
use vmlife::tui::state::State;
use vmlife::tui::update::{update, Msg};
use vmlife::tui::view::view;

fn fleet(n: usize, now: chrono::DateTime<Utc>) -> Vec<Vm> {
    (0..n)
        .map(|i| {
            let mut meta = LifecycleMeta::default();
            if i % 3 == 0 {
                meta.persistence.mode = PersistenceMode::Temporary;
                meta.persistence.created_at_unix = Some(now.timestamp() - (i as i64 % 50) * 3600);
            }
            let mut snap = VmStateSnapshot::empty(format!("vm-{i:05}"), now, VmState::Running);
            snap.cpu_usage_percent = Some((i % 100) as f64);
            snap.memory_usage_mb = Some(1024);
            snap.ip_addresses = vec![format!("10.0.{}.{}", i / 256, i % 256)].into();
            snap.uptime_seconds = Some(i as u64 * 60);
            let uuid = format!("00000000-0000-4000-8000-{i:012}");
            Vm {
                uuid: uuid.clone().into(),
                host: 0,
                key: uuid.into(),
                state: Some(RunState::Running),
                reason: StateReason::default(),
                persistent: true,
                libvirt_autostart: false,
                snapshot: snap,
                meta: Ok(meta),
                first_seen_unix: now.timestamp(),
                details: Some(std::sync::Arc::new(DomainDetails::default())),
                pending: false,
                freshness: Default::default(),
            }
        })
        .collect()
}

fn bench_frame(c: &mut Criterion) {
    let now = Utc
        .with_ymd_and_hms(2026, 11, 27, 12, 0, 0)
        .single()
        .expect("valid time");
    let mut group = c.benchmark_group("frame");
    group.sample_size(30);
    for n in [100usize, 1000, 10_000] {
        let keymap = Keymap::build(&Default::default(), false).expect("default keymap");
        let mut state = State::new("qemu:///system", keymap, now);
        update(
            &mut state,
            Msg::Snapshot {
                host: 0,
                rtt_ms: None,
                vms: fleet(n, now),
                at: now,
            },
        );
        update(&mut state, Msg::Resize(160, 45));
        let mut terminal = Terminal::new(TestBackend::new(160, 45)).expect("test backend");
        group.bench_with_input(BenchmarkId::new("view_160x45", n), &n, |b, _| {
            b.iter(|| {
                terminal.draw(|f| view(&state, f)).expect("draw");
                black_box(terminal.backend().buffer().area);
            })
        });
        // What a new snapshot costs the UI task: store it, sort and filter the rows.
        let vms = fleet(n, now);
        group.bench_with_input(BenchmarkId::new("snapshot_update", n), &n, |b, _| {
            b.iter(|| {
                update(
                    &mut state,
                    Msg::Snapshot {
                        host: 0,
                        rtt_ms: None,
                        vms: vms.clone(),
                        at: now,
                    },
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_frame);
criterion_main!(benches);
