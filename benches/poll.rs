//! One poll (bulk stats + snapshot build) next to the raw bulk-stats call alone, at 100
//! and 1000 domains on libvirt's test driver (node files generated here).
//!
//! `cargo bench --bench poll`; figures and the ratio go to docs/PERFORMANCE.md.
//! Target: `poll_and_build` (the dashboard's and the daemon's poll, events subscribed)
//! at most 1.5× `raw_bulk_stats`. `poll_and_build_no_events` is the same poll before the
//! subscription, as a one-shot command makes it.

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::hypervisor::{Hypervisor, StatsGroups};
use vmlife::poll::{Poller, PollerOptions};

/// libvirt's `VIR_DOMAIN_STATS_*` bits for state, cpu, balloon, vcpu and block: what a
/// full poll asks for.
const ALL_GROUPS: u32 = 1 | 2 | 4 | 8 | 32;
/// `VIR_DOMAIN_STATS_STATE`.
const STATE: u32 = 1;
/// `VIR_CONNECT_GET_ALL_DOMAINS_STATS_{ACTIVE,INACTIVE,NOWAIT}`.
const ACTIVE: u32 = 1;
const INACTIVE: u32 = 2;
const NOWAIT: u32 = 1 << 29;

/// A node file with `n` running test domains, a third of them temporary.
fn write_node(dir: &Path, n: usize) -> String {
    let mut xml = String::from("<node>\n");
    for i in 0..n {
        let meta = if i % 3 == 0 {
            format!(
                "<metadata><vmlife:lifecycle xmlns:vmlife='urn:vmlife:lifecycle:1'><vmlife:persistence mode='temporary' ttl_hours='{}' created_at_unix='1764201600'/></vmlife:lifecycle></metadata>",
                1 + i % 48
            )
        } else {
            String::new()
        };
        xml.push_str(&format!(
            "<domain type='test'><name>vm-{i:05}</name><memory unit='MiB'>512</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices><interface type='user'><mac address='52:54:00:{:02x}:{:02x}:{:02x}'/></interface></devices>{meta}</domain>\n",
            (i >> 16) & 0xff,
            (i >> 8) & 0xff,
            i & 0xff
        ));
    }
    xml.push_str("</node>\n");
    let path = dir.join(format!("node-{n}.xml"));
    std::fs::write(&path, xml).expect("write node file");
    format!("test://{}", path.display())
}

fn bench_poll(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut group = c.benchmark_group("poll");
    group.sample_size(30);
    for n in [100usize, 1000] {
        let uri = write_node(dir.path(), n);
        let hv = Arc::new(LibvirtHypervisor::open(&uri, false).expect("open test driver"));
        assert_eq!(hv.raw_bulk_stats(ALL_GROUPS, 0).expect("raw call"), n);

        group.bench_with_input(BenchmarkId::new("raw_bulk_stats", n), &n, |b, _| {
            b.iter(|| black_box(hv.raw_bulk_stats(ALL_GROUPS, 0).expect("raw call")))
        });

        let dyn_hv: Arc<dyn Hypervisor> = hv.clone();
        let mut poller = Poller::new(dyn_hv, PollerOptions::default());
        let now = chrono::Utc::now();
        // Warm: the first poll reads every domain's XML and addresses once.
        assert_eq!(poller.poll(now).expect("first poll").len(), n);
        let mut tick = 0i64;

        // A one-shot command (`vmlife ls`) polls without events: every record's UUID
        // is read from libvirt.
        group.bench_with_input(
            BenchmarkId::new("poll_and_build_no_events", n),
            &n,
            |b, _| {
                b.iter(|| {
                    // Advance a millisecond per poll: steady state, nothing ages out.
                    tick += 1;
                    let at = now + chrono::Duration::milliseconds(tick);
                    black_box(poller.poll(at).expect("poll"))
                })
            },
        );
        assert_eq!(poller.poll(now).expect("poll").len(), n);
        assert_eq!(hv.last_poll_stats().uuid_reads, n, "no events, no cache");

        // The dashboard and the daemon subscribe to events, which lets the adapter keep
        // its name→UUID cache: this is the poll they run every refresh.
        let (events, _keep) = tokio::sync::mpsc::unbounded_channel();
        hv.subscribe(events).expect("subscribe");
        for expected_reads in [n, 0] {
            assert_eq!(poller.poll(now).expect("poll").len(), n);
            assert_eq!(hv.last_poll_stats().uuid_reads, expected_reads);
        }
        group.bench_with_input(BenchmarkId::new("poll_and_build", n), &n, |b, _| {
            b.iter(|| {
                tick += 1;
                let at = now + chrono::Duration::milliseconds(tick);
                black_box(poller.poll(at).expect("poll"))
            })
        });

        group.bench_with_input(BenchmarkId::new("adapter_poll_only", n), &n, |b, _| {
            b.iter(|| black_box(hv.poll(StatsGroups::ALL).expect("poll")))
        });

        // The same two raw calls the adapter makes (active domains with the groups,
        // inactive ones with state), undecoded: the like-for-like baseline.
        group.bench_with_input(BenchmarkId::new("raw_same_two_calls", n), &n, |b, _| {
            b.iter(|| {
                black_box(
                    hv.raw_bulk_stats(ALL_GROUPS, ACTIVE | NOWAIT)
                        .expect("raw call"),
                );
                black_box(
                    hv.raw_bulk_stats(STATE, INACTIVE | NOWAIT)
                        .expect("raw call"),
                )
            })
        });

        // The snapshot build alone, from records already fetched.
        let raws = hv.poll(StatsGroups::ALL).expect("poll");
        group.bench_with_input(BenchmarkId::new("build_only", n), &n, |b, _| {
            b.iter(|| {
                tick += 1;
                let at = now + chrono::Duration::milliseconds(tick);
                black_box(poller.build(raws.clone(), at))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench_poll);
criterion_main!(benches);
