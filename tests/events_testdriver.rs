//! Domain events through the libvirt adapter against libvirt's in-process test driver
//! (no daemon): the adapter's own actions on `tests/fixtures/node.xml` must come back as
//! events on the subscribed tokio channels, within a deadline.
//!
//! Every open of a node file has its own private state, so tests running in parallel do
//! not see each other's domains or events.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};
use vmlife::hypervisor::libvirt::LibvirtHypervisor;
use vmlife::hypervisor::{DomainEvent, EventDetail as d, Hypervisor, LifecycleEvent};
use vmlife::lifecycle::restart::StopCause;

const WEB1: &str = "3f2a1c9e-0000-4000-8000-000000000001";
const DB1: &str = "3f2a1c9e-0000-4000-8000-000000000002";
const IDLE1: &str = "3f2a1c9e-0000-4000-8000-000000000003";
const SAVED1: &str = "3f2a1c9e-0000-4000-8000-000000000004";
const NS: &str = "urn:vmlife:lifecycle:1";

/// How long an in-process event may take (it is dispatched by a timer on the event
/// thread: milliseconds).
const DEADLINE: Duration = Duration::from_secs(5);

fn node_uri() -> String {
    format!(
        "test://{}/tests/fixtures/node.xml",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn open_node(readonly: bool) -> LibvirtHypervisor {
    LibvirtHypervisor::open(&node_uri(), readonly).expect("open node file")
}

fn subscribe(hv: &LibvirtHypervisor) -> UnboundedReceiver<DomainEvent> {
    let (tx, rx) = unbounded_channel();
    hv.subscribe(tx).expect("subscribe");
    rx
}

/// The next event within [`DEADLINE`], or a panic naming what was expected.
fn next(rx: &mut UnboundedReceiver<DomainEvent>, what: &str) -> DomainEvent {
    let until = Instant::now() + DEADLINE;
    loop {
        if let Ok(ev) = rx.try_recv() {
            return ev;
        }
        assert!(
            Instant::now() < until,
            "no event within {DEADLINE:?}; expected {what}"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn lifecycle(uuid: &str, name: &str, event: LifecycleEvent, detail: d) -> DomainEvent {
    DomainEvent::Lifecycle {
        uuid: uuid.into(),
        name: name.into(),
        event,
        detail,
    }
}

/// Nothing more arrives for a short while.
fn quiet(rx: &mut UnboundedReceiver<DomainEvent>) {
    std::thread::sleep(Duration::from_millis(100));
    if let Ok(ev) = rx.try_recv() {
        panic!("unexpected event {ev:?}");
    }
}

#[test]
fn adapter_actions_come_back_as_events() {
    use LifecycleEvent as E;
    let hv = open_node(false);
    let mut rx = subscribe(&hv);
    quiet(&mut rx);

    let t = Instant::now();
    hv.start(IDLE1).expect("start");
    let ev = next(&mut rx, "Started");
    eprintln!("start → event in {:.2?}", t.elapsed());
    assert_eq!(ev, lifecycle(IDLE1, "idle-1", E::Started, d::Booted));

    hv.suspend(IDLE1).expect("suspend");
    assert_eq!(
        next(&mut rx, "Suspended"),
        lifecycle(IDLE1, "idle-1", E::Suspended, d::Paused)
    );
    hv.resume(IDLE1).expect("resume");
    assert_eq!(
        next(&mut rx, "Resumed"),
        lifecycle(IDLE1, "idle-1", E::Resumed, d::Unpaused)
    );

    hv.destroy(IDLE1).expect("destroy");
    let ev = next(&mut rx, "Stopped/Destroyed");
    assert_eq!(ev, lifecycle(IDLE1, "idle-1", E::Stopped, d::Destroyed));
    assert_eq!(ev.stop_cause(false), Some(StopCause::Destroyed));

    hv.managed_save(WEB1).expect("managed save");
    let ev = next(&mut rx, "Stopped/Saved");
    assert_eq!(ev, lifecycle(WEB1, "web-1", E::Stopped, d::Saved));
    assert_eq!(ev.stop_cause(false), Some(StopCause::Saved));
    hv.start(WEB1).expect("start from managed save");
    // The test driver says BOOTED here; QEMU says RESTORED (events_libvirtd.rs).
    assert!(matches!(
        next(&mut rx, "Started"),
        DomainEvent::Lifecycle { uuid, event: E::Started, .. } if uuid == WEB1
    ));

    hv.set_metadata(
        SAVED1,
        Some(r#"<vmlife:lifecycle xmlns:vmlife="urn:vmlife:lifecycle:1"><vmlife:state restart_count="1"/></vmlife:lifecycle>"#),
    )
    .expect("set metadata");
    assert_eq!(
        next(&mut rx, "MetadataChange"),
        DomainEvent::MetadataChange {
            uuid: SAVED1.into(),
            name: "saved-1".into(),
            namespace: Some(NS.into()),
        }
    );
    hv.set_metadata(SAVED1, None).expect("remove metadata");
    assert!(matches!(
        next(&mut rx, "MetadataChange (removed)"),
        DomainEvent::MetadataChange { uuid, namespace: Some(ns), .. } if uuid == SAVED1 && ns == NS
    ));

    hv.reboot(DB1).ok(); // paused in the fixture: whatever the driver says
    hv.undefine(IDLE1).expect("undefine");
    let mut rest = Vec::new();
    while let Ok(ev) = rx.try_recv() {
        rest.push(ev);
    }
    if !rest.iter().any(|e| {
        matches!(
            e,
            DomainEvent::Lifecycle {
                event: E::Undefined,
                ..
            }
        )
    }) {
        rest.push(next(&mut rx, "Undefined"));
    }
    assert!(
        rest.contains(&lifecycle(IDLE1, "idle-1", E::Undefined, d::Removed)),
        "{rest:?}"
    );
}

#[test]
fn every_subscriber_gets_every_event_and_a_closed_one_is_forgotten() {
    let hv = open_node(false);
    let mut a = subscribe(&hv);
    let mut b = subscribe(&hv);
    let c = subscribe(&hv);
    drop(c);
    hv.start(IDLE1).expect("start");
    let want = lifecycle(IDLE1, "idle-1", LifecycleEvent::Started, d::Booted);
    assert_eq!(next(&mut a, "Started on a"), want);
    assert_eq!(next(&mut b, "Started on b"), want);
    quiet(&mut a);
    quiet(&mut b);
}

#[test]
fn read_only_connections_get_events_too() {
    // A person's read-only dashboard beside a read-write engine: only the engine acts
    // here (a second read-write open of a node file would be another private state, so
    // the read-only one watches its own state and sees nothing; this checks the
    // registration works read-only).
    let ro = open_node(true);
    let mut rx = subscribe(&ro);
    quiet(&mut rx);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_in_tokio() {
    let hv = std::sync::Arc::new(open_node(false));
    let (tx, mut rx) = unbounded_channel();
    let h = hv.clone();
    tokio::task::spawn_blocking(move || h.subscribe(tx))
        .await
        .expect("join")
        .expect("subscribe");
    let h = hv.clone();
    tokio::task::spawn_blocking(move || h.start(IDLE1))
        .await
        .expect("join")
        .expect("start");
    let ev = tokio::time::timeout(DEADLINE, rx.recv())
        .await
        .expect("an event within the deadline")
        .expect("channel open");
    assert_eq!(
        ev,
        lifecycle(IDLE1, "idle-1", LifecycleEvent::Started, d::Booted)
    );
}

#[test]
fn dropping_the_adapter_releases_every_sink() {
    // The sinks live in boxes that libvirt owns and frees through `freecb` when the
    // callbacks are deregistered: once the adapter is gone the channel must close.
    let hv = open_node(false);
    let mut rx = subscribe(&hv);
    hv.start(IDLE1).expect("start");
    next(&mut rx, "Started");
    drop(hv);
    let until = Instant::now() + DEADLINE;
    loop {
        match rx.try_recv() {
            Err(tokio::sync::mpsc::error::TryRecvError::Disconnected) => break,
            Ok(ev) => panic!("event after drop: {ev:?}"),
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(
                    Instant::now() < until,
                    "the sink is still held {DEADLINE:?} after the adapter was dropped"
                );
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

#[test]
fn test_driver_cannot_lose_its_connection() {
    let hv = open_node(false);
    assert!(hv.is_connected());
    let _rx = subscribe(&hv);
    hv.poll(vmlife::hypervisor::StatsGroups::STATE)
        .expect("poll");
    assert!(hv.is_connected());
}

/// The poll's name→UUID cache (`PollStats::uuid_reads`) and its reuse of the inactive
/// domains (`PollStats::inactive_reused`): both off without events, on with them, and a
/// name handed to another domain behind the adapter's back (through the raw connection,
/// as another tool would) is read again once its events are delivered.
#[test]
fn poll_reads_uuids_again_when_a_name_passes_to_another_domain() {
    use vmlife::hypervisor::StatsGroups;
    const NEW_IDLE: &str = "3f2a1c9e-0000-4000-8000-0000000000aa";
    let hv = open_node(false);
    let records = hv.poll(StatsGroups::ALL).expect("poll").len();
    hv.poll(StatsGroups::ALL).expect("poll");
    assert_eq!(
        hv.last_poll_stats().uuid_reads,
        records,
        "without events every UUID is read"
    );

    assert!(!hv.last_poll_stats().inactive_reused);

    let mut rx = subscribe(&hv);
    hv.poll(StatsGroups::ALL).expect("poll");
    assert_eq!(hv.last_poll_stats().uuid_reads, records, "learning");
    let steady = hv.poll(StatsGroups::ALL).expect("poll");
    assert_eq!(hv.last_poll_stats().uuid_reads, 0, "served from the cache");
    // With no lifecycle event the inactive domains of the last call stand.
    assert!(hv.last_poll_stats().inactive_reused);
    assert_eq!(hv.last_poll_stats().bulk_calls, 1);
    assert_eq!(steady.len(), records);

    // Another tool replaces idle-1 with a new domain of the same name.
    let conn = hv.connection();
    let old = conn.lookup_domain_by_uuid_string(IDLE1).expect("lookup");
    let xml = old.xml_desc(0).expect("xml").replace(IDLE1, NEW_IDLE);
    old.undefine().expect("undefine");
    drop(old);
    conn.define_domain_xml(&xml).expect("define");
    for what in ["undefined", "defined"] {
        assert!(matches!(
            next(&mut rx, what),
            DomainEvent::Lifecycle { name, .. } if name == "idle-1"
        ));
    }

    let doms = hv.poll(StatsGroups::ALL).expect("poll");
    let idle: Vec<_> = doms.iter().filter(|d| d.name == "idle-1").collect();
    assert_eq!(idle.len(), 1);
    assert_eq!(
        idle[0].uuid, NEW_IDLE,
        "the name's new domain, not the old UUID"
    );
    assert_eq!(
        hv.last_poll_stats().uuid_reads,
        records,
        "the event emptied the cache"
    );
    hv.poll(StatsGroups::ALL).expect("poll");
    assert_eq!(hv.last_poll_stats().uuid_reads, 0);

    // A state change reads that one domain again, even before its event is seen.
    conn.lookup_domain_by_uuid_string(NEW_IDLE)
        .expect("lookup")
        .create()
        .expect("start");
    let doms = hv.poll(StatsGroups::ALL).expect("poll");
    let idle: Vec<_> = doms.iter().filter(|d| d.name == "idle-1").collect();
    assert_eq!(
        idle.len(),
        1,
        "reported once, running, though the inactive list had it"
    );
    assert_eq!(idle[0].uuid, NEW_IDLE);
    assert_eq!(idle[0].state, Some(vmlife::hypervisor::RunState::Running));
    assert!(hv.last_poll_stats().uuid_reads >= 1);
}
