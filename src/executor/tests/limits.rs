//! `Op::SetLimit`: the call, its journal line with old and new values, dry run, and the
//! identity re-check.

use super::*;
use crate::hypervisor::fake::FakeTunables;
use crate::lifecycle::limits::LimitValue;

fn env(dry_run: bool) -> (Arc<FakeHypervisor>, Executor, Arc<Journal>) {
    let hv = Arc::new(FakeHypervisor::new());
    hv.put(running("u-1", "web-1"));
    let journal = Arc::new(Journal::in_memory());
    let (tx, _rx) = unbounded_channel();
    let options = ExecOptions {
        dry_run,
        ..Default::default()
    };
    let ex = Executor::with_options(hv.clone(), journal.clone(), tx, options);
    (hv, ex, journal)
}

fn set_memory(name: &str) -> Command {
    let op = Op::SetLimit {
        value: LimitValue::Memory {
            hard_limit_kib: 2048,
        },
        old: None,
    };
    Command::new("u-1", name, op, "hard limit unlimited; want 2 MiB")
}

#[test]
fn sets_the_limit_and_journals_old_and_new() {
    let (hv, ex, journal) = env(false);
    let r = ex.run_now(set_memory("web-1"), Actor::Engine);
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    assert_eq!(hv.tunables("u-1").hard_limit_kib, Some(2048));
    let entries = journal.read_all().unwrap().entries;
    assert_eq!(entries.len(), 2, "starting line, then the result");
    assert!(entries[0]
        .result
        .starts_with("starting: set memory hard limit 2 MiB"));
    let last = &entries[1];
    assert_eq!(
        (last.action.as_str(), last.result.as_str()),
        ("set_limit", "ok")
    );
    let d = last.detail.as_ref().unwrap();
    assert_eq!(d["limit"], "memory");
    assert_eq!(d["old"], serde_json::Value::Null);
    assert_eq!(d["new"], 2048);
}

#[test]
fn dry_run_calls_nothing() {
    let (hv, ex, journal) = env(true);
    let r = ex.run_now(set_memory("web-1"), Actor::Engine);
    assert!(matches!(r.outcome, Outcome::DryRun(_)), "{:?}", r.outcome);
    assert!(
        !hv.calls().iter().any(|c| c.starts_with("set_")),
        "{:?}",
        hv.calls()
    );
    let last = journal.read_all().unwrap().entries.pop().unwrap();
    assert!(
        last.result
            .starts_with("dry run: would set memory hard limit"),
        "{}",
        last.result
    );
}

#[test]
fn a_renamed_vm_is_refused_and_a_driver_refusal_fails() {
    let (hv, ex, _) = env(false);
    let r = ex.run_now(set_memory("other-name"), Actor::Engine);
    assert!(matches!(r.outcome, Outcome::Refused(_)), "{:?}", r.outcome);
    assert!(!hv.calls().iter().any(|c| c.starts_with("set_")));
    let mut t = FakeTunables::default();
    t.refuse_set.insert("memory");
    hv.set_tunables("u-1", t);
    let r = ex.run_now(set_memory("web-1"), Actor::Engine);
    match r.outcome {
        Outcome::Failed(e) => assert!(e.contains("not supported"), "{e}"),
        o => panic!("{o:?}"),
    }
}
