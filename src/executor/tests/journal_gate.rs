//! A destructive step never starts without its journal line: tests with journals that
//! cannot be written (issue 9, point 8).

use std::sync::Arc;

use chrono::Utc;
use tokio::sync::mpsc::unbounded_channel;

use super::super::*;
use crate::hypervisor::fake::{running, FakeHypervisor, OnShutdown};
use crate::metadata::{self, LifecycleMeta};
use crate::model::PersistenceMode;

const MUTATING: &[&str] = &[
    "start",
    "shutdown",
    "reboot",
    "destroy",
    "suspend",
    "resume",
    "managed_save",
    "managed_save_remove",
    "undefine",
    "delete_volume",
];

fn mutating(hv: &FakeHypervisor) -> Vec<String> {
    hv.calls()
        .into_iter()
        .filter(|c| MUTATING.iter().any(|m| c.split(' ').next() == Some(m)))
        .collect()
}

/// `web-1` (u-1) running, temporary and expired an hour ago.
fn expired_vm() -> Arc<FakeHypervisor> {
    let hv = Arc::new(FakeHypervisor::new());
    let mut d = running("u-1", "web-1");
    let mut m = LifecycleMeta::default();
    m.persistence.mode = PersistenceMode::Temporary;
    m.persistence.ttl_hours = 1.0;
    m.persistence.created_at_unix = Some(Utc::now().timestamp() - 7200);
    d.metadata = Some(metadata::to_xml(&m));
    hv.put(d);
    hv
}

fn executor(hv: Arc<FakeHypervisor>, journal: Journal) -> (Executor, Arc<Journal>) {
    let journal = Arc::new(journal);
    let (tx, _rx) = unbounded_channel();
    let ex = Executor::with_clock(
        hv,
        Arc::clone(&journal),
        tx,
        ExecOptions::default(),
        Arc::new(ManualClock::at_now()),
    );
    (ex, journal)
}

fn run(ex: &Executor, op: Op) -> ExecResult {
    ex.run_now(Command::new("u-1", "web-1", op, "test"), Actor::Engine)
}

fn force_cleanup() -> Op {
    Op::Cleanup {
        force: true,
        grace_seconds: 30,
        remove_storage: false,
    }
}

#[test]
fn an_unwritable_journal_stops_every_destructive_op_before_its_call() {
    for op in [
        Op::Destroy,
        Op::Undefine,
        Op::Shutdown,
        Op::Reboot,
        Op::ManagedSave,
        Op::DiscardManagedSave,
        force_cleanup(),
    ] {
        let hv = expired_vm();
        let (ex, _journal) = executor(hv.clone(), Journal::broken());
        let r = run(&ex, op.clone());
        assert!(
            matches!(&r.outcome, Outcome::Failed(e)
                if e.starts_with("not started: the journal cannot be written")),
            "{op:?}: {:?}",
            r.outcome
        );
        assert_eq!(mutating(&hv), Vec::<String>::new(), "{op:?}");
        assert!(hv.lookup("u-1").is_ok());
    }
}

#[test]
fn a_journal_that_fills_up_mid_cleanup_stops_before_the_destroy() {
    let hv = expired_vm();
    hv.on_shutdown("u-1", OnShutdown::Ignore);
    // Room for the shutdown's "starting" line only.
    let (ex, journal) = executor(hv.clone(), Journal::failing_after(1));
    let r = run(&ex, force_cleanup());
    assert_eq!(mutating(&hv), vec!["shutdown u-1"]);
    match &r.outcome {
        Outcome::Failed(e) => {
            assert!(
                e.starts_with("not started: the journal cannot be written"),
                "{e}"
            );
            assert!(e.contains("already done: still running after the 30s grace period"));
        }
        o => panic!("{o:?}"),
    }
    assert!(r.journal_error.is_some());
    let lines: Vec<String> = journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(lines, vec!["starting: shut down (grace 30s)"]);
    assert!(hv.lookup("u-1").is_ok());
}

#[test]
fn each_destructive_step_is_journaled_before_it_and_the_result_after() {
    let hv = expired_vm();
    hv.on_shutdown("u-1", OnShutdown::Ignore);
    let (ex, journal) = executor(hv.clone(), Journal::in_memory());
    let r = run(&ex, force_cleanup());
    assert!(r.outcome.is_ok(), "{:?}", r.outcome);
    let lines: Vec<String> = journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.result))
        .collect();
    assert_eq!(
        lines,
        vec![
            "cleanup starting: shut down (grace 30s)",
            "cleanup starting: destroy",
            "cleanup starting: undefine",
            "cleanup ok",
        ]
    );

    let hv = expired_vm();
    let (ex, journal) = executor(hv, Journal::in_memory());
    assert!(run(&ex, Op::Destroy).outcome.is_ok());
    let lines: Vec<String> = journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(lines, vec!["starting: destroy (hard power-off)", "ok"]);
}

#[test]
fn non_destructive_ops_have_no_starting_line() {
    let hv = expired_vm();
    let (ex, journal) = executor(hv, Journal::in_memory());
    assert!(run(&ex, Op::Suspend).outcome.is_ok());
    assert_eq!(journal.read_all().unwrap().entries.len(), 1);
}

#[test]
fn a_metadata_edit_is_not_written_without_its_journal_line() {
    // The dashboard's `p`, `+` and TTL edits: a permanent VM made temporary (or an
    // expiry moved) must never be invisible in the journal.
    for op in [
        Op::SetMode {
            mode: PersistenceMode::Permanent,
        },
        Op::ExtendTtl { hours: 2.0 },
        Op::SetExpiry { at: 0 },
    ] {
        let hv = expired_vm();
        let (ex, _journal) = executor(hv.clone(), Journal::broken());
        let r = run(&ex, op.clone());
        assert!(
            matches!(&r.outcome, Outcome::Failed(e)
                if e.starts_with("not started: the journal cannot be written")),
            "{op:?}: {:?}",
            r.outcome
        );
        assert!(
            !hv.calls().iter().any(|c| c.starts_with("set_metadata")),
            "{op:?}: {:?}",
            hv.calls()
        );
    }
    let hv = expired_vm();
    let (ex, journal) = executor(hv, Journal::in_memory());
    assert!(run(&ex, Op::ExtendTtl { hours: 2.0 }).outcome.is_ok());
    let lines: Vec<String> = journal
        .read_all()
        .unwrap()
        .entries
        .into_iter()
        .map(|e| e.result)
        .collect();
    assert_eq!(lines, vec!["starting: write metadata", "ok"]);
}
