use super::*;
use crate::metadata::LifecycleMeta;

use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::hypervisor::RunningReason;
use chrono::TimeZone;

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

fn poller(fake: &Arc<FakeHypervisor>) -> Poller {
    Poller::new(fake.clone(), PollerOptions::default())
}

#[test]
fn uptime_unknown_when_first_seen_running_then_tracked_from_an_observed_start() {
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u1", "vm"));
    let mut p = poller(&fake);
    let v = p.poll(at(1000)).unwrap();
    assert_eq!(
        v[0].snapshot.uptime_seconds, None,
        "a VM already running has unknown uptime"
    );
    fake.destroy("u1").unwrap();
    let v = p.poll(at(1010)).unwrap();
    assert_eq!(v[0].snapshot.uptime_seconds, Some(0));
    assert_eq!(v[0].snapshot.vm_state, VmState::Stopped);
    fake.start("u1").unwrap();
    p.poll(at(1020)).unwrap();
    let v = p.poll(at(1085)).unwrap();
    assert_eq!(v[0].snapshot.uptime_seconds, Some(65));
}

#[test]
fn uptime_from_last_state_change_in_metadata() {
    let fake = Arc::new(FakeHypervisor::new());
    let mut d = running("u1", "vm");
    let mut meta = LifecycleMeta::default();
    meta.persistence.last_state_change = Some(400);
    d.metadata = Some(metadata::to_xml(&meta));
    fake.put(d);
    let v = poller(&fake).poll(at(1000)).unwrap();
    assert_eq!(v[0].snapshot.uptime_seconds, Some(600));
}

#[test]
fn cpu_percent_from_deltas_and_unknown_on_first_poll() {
    let fake = Arc::new(FakeHypervisor::new());
    let mut d = running("u1", "vm");
    d.raw.vcpus = Some(2);
    fake.put(d);
    let mut p = poller(&fake);
    assert_eq!(
        p.poll(at(1000)).unwrap()[0].snapshot.cpu_usage_percent,
        None
    );
    fake.update("u1", |d| d.raw.cpu_time_ns = Some(1_000_000_000));
    // One CPU-second over two wall seconds on two vCPUs: 25 %.
    let v = p.poll(at(1002)).unwrap();
    assert_eq!(v[0].snapshot.cpu_usage_percent, Some(25.0));
    assert_eq!(v[0].snapshot.memory_usage_mb, Some(1024));
}

#[test]
fn details_read_once_then_on_state_change_or_invalidate() {
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u1", "vm"));
    let mut p = poller(&fake);
    p.poll(at(1000)).unwrap();
    p.poll(at(1001)).unwrap();
    let details = |f: &FakeHypervisor| {
        f.calls()
            .iter()
            .filter(|c| c.starts_with("details"))
            .count()
    };
    assert_eq!(details(&fake), 1, "steady state reads no XML");
    fake.suspend("u1").unwrap();
    p.poll(at(1002)).unwrap();
    assert_eq!(details(&fake), 2, "a state change re-reads the XML");
    p.invalidate("u1");
    p.poll(at(1003)).unwrap();
    assert_eq!(details(&fake), 3, "invalidate re-reads the XML");
    p.poll(at(1003 + 61)).unwrap();
    assert_eq!(details(&fake), 4, "aged details are re-read");
}

#[test]
fn aged_refreshes_are_bounded_per_poll() {
    let fake = Arc::new(FakeHypervisor::new());
    for i in 0..100 {
        fake.put(running(&format!("u{i}"), &format!("vm{i}")));
    }
    let mut p = poller(&fake);
    p.poll(at(1000)).unwrap();
    fake.clear_calls();
    p.poll(at(2000)).unwrap();
    let calls = fake.calls();
    let details = calls.iter().filter(|c| c.starts_with("details")).count();
    let addrs = calls.iter().filter(|c| c.starts_with("addresses")).count();
    assert_eq!(details, PollerOptions::default().details_budget);
    assert_eq!(addrs, PollerOptions::default().addresses_budget);
}

#[test]
fn element_declared_on_metadata_is_read_with_metadata_call() {
    let fake = Arc::new(FakeHypervisor::new());
    let mut d = running("u1", "vm");
    let mut meta = LifecycleMeta::default();
    meta.persistence.mode = crate::model::PersistenceMode::Temporary;
    d.metadata = Some(metadata::to_xml(&meta));
    d.details.lifecycle_present = true;
    fake.put(d);
    fake.hide_lifecycle_xml(true);
    let v = poller(&fake).poll(at(1000)).unwrap();
    assert_eq!(
        v[0].persistence().map(|p| p.mode),
        Some(crate::model::PersistenceMode::Temporary)
    );
    assert!(fake.calls().iter().any(|c| c.starts_with("metadata")));
}

#[test]
fn invalid_metadata_is_kept_as_policy_error() {
    let fake = Arc::new(FakeHypervisor::new());
    let mut d = running("u1", "vm");
    d.metadata = Some(
            "<vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\"><vmlife:persistence restart_policy=\"sometimes\"/></vmlife:lifecycle>".into(),
        );
    fake.put(d);
    let v = poller(&fake).poll(at(1000)).unwrap();
    let err = v[0].policy_error().unwrap();
    assert!(
        err.contains("restart_policy") && err.contains("sometimes"),
        "{err}"
    );
    assert!(v[0].ttl(1000).is_none());
}

#[test]
fn unparseable_domain_xml_is_invalid_policy_not_defaults() {
    // A temporary, expired VM renamed with ESC in its name: its XML no longer parses.
    let fake = Arc::new(FakeHypervisor::new());
    let mut d = running("u1", "vm\x1b[2J");
    d.metadata = Some(
            "<vmlife:lifecycle xmlns:vmlife=\"urn:vmlife:lifecycle:1\"><vmlife:persistence mode=\"temporary\" ttl_hours=\"1\" created_at_unix=\"0\"/></vmlife:lifecycle>".into(),
        );
    fake.put(d);
    let v = poller(&fake).poll(at(100_000)).unwrap();
    let err = v[0].policy_error().expect("invalid policy");
    assert!(err.contains("domain XML cannot be read"), "{err}");
    assert!(v[0].ttl(100_000).is_none());
}

#[test]
fn vanished_domains_are_forgotten_and_poll_errors_pass_through() {
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u1", "vm"));
    fake.put(running("u2", "vm2"));
    let mut p = poller(&fake);
    p.poll(at(1000)).unwrap();
    fake.undefine("u1").unwrap();
    let v = p.poll(at(1001)).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!(p.tracked.keys().collect::<Vec<_>>(), ["u2"]);
    assert_eq!(
        v[0].first_seen_unix, 1000,
        "the one left keeps what was known"
    );
    fake.undefine("u2").unwrap();
    assert!(p.poll(at(1002)).unwrap().is_empty());
    assert!(p.tracked.is_empty());
    fake.fail_polls(Some(crate::hypervisor::HvError::new(
        crate::hypervisor::HvErrorKind::Connection,
        "gone",
    )));
    assert!(p.poll(at(1002)).is_err());
}

#[test]
fn state_mapping_table() {
    use ShutoffReason::*;
    use StateReason::{Other, Shutoff};
    let cases = [
        (
            Some(RunState::Running),
            StateReason::Running(RunningReason::Booted),
            VmState::Running,
        ),
        (Some(RunState::Blocked), Other, VmState::Running),
        (
            Some(RunState::Paused),
            StateReason::Paused(PausedReason::User),
            VmState::Paused,
        ),
        (
            Some(RunState::Paused),
            StateReason::Paused(PausedReason::StartingUp),
            VmState::Starting,
        ),
        (Some(RunState::PmSuspended), Other, VmState::Paused),
        (Some(RunState::ShuttingDown), Other, VmState::Stopping),
        (Some(RunState::Shutoff), Shutoff(Shutdown), VmState::Stopped),
        (
            Some(RunState::Shutoff),
            Shutoff(Destroyed),
            VmState::Stopped,
        ),
        (Some(RunState::Shutoff), Shutoff(Saved), VmState::Stopped),
        (Some(RunState::Shutoff), Shutoff(Crashed), VmState::Error),
        (Some(RunState::Shutoff), Shutoff(Failed), VmState::Error),
        (Some(RunState::Crashed), Other, VmState::Error),
        (Some(RunState::NoState), Other, VmState::Error),
        (Some(RunState::Unknown(42)), Other, VmState::Error),
        (None, Other, VmState::Error),
    ];
    for (state, reason, want) in cases {
        assert_eq!(vm_state(state, reason), want, "{state:?}/{reason:?}");
    }
}

#[test]
fn cpu_percent_table() {
    // One second of wall time, half a second of CPU on one vCPU: 50 %.
    assert_eq!(cpu_percent(0, 0, 1000, 500_000_000, 1), Some(50.0));
    // The same on two vCPUs is a quarter of the VM.
    assert_eq!(cpu_percent(0, 0, 1000, 500_000_000, 2), Some(25.0));
    // Counter went back (restart): unknown, not negative.
    assert_eq!(cpu_percent(0, 10, 1000, 5, 1), None);
    // No wall time passed: unknown, not infinite.
    assert_eq!(cpu_percent(1000, 0, 1000, 5, 1), None);
    // Rounding noise above 100 % is clamped.
    assert_eq!(cpu_percent(0, 0, 1000, 1_100_000_000, 1), Some(100.0));
}
