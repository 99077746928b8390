//! Effects are handed over, not run on the UI task: a state store that does not answer
//! leaves the dashboard handling keys, and the engine's answer comes later through the
//! message channel. No sleeps: the store's file is a FIFO, whose read waits until the
//! test writes to it.

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio::sync::Notify;

use super::*;
use crate::config::Config;
use crate::engine::state_files::CLEANUPS_FILE;
use crate::engine::{EngineLock, Role};
use crate::host::{HostCtx, HostSettings};
use crate::hypervisor::fake::{running, FakeHypervisor};
use crate::hypervisor::Hypervisor;
use crate::lifecycle::Actor;
use crate::poll::{Poller, PollerOptions};
use crate::store::Journal;
use crate::tui::engine_link::EngineLink;
use crate::tui::keymap::Keymap;
use crate::tui::state::State;
use crate::tui::update::update;

#[test]
fn a_state_store_that_does_not_answer_does_not_hold_the_keys() {
    let dir = tempfile::tempdir().unwrap();
    let fake = Arc::new(FakeHypervisor::new());
    fake.put(running("u-1", "vm-1"));
    fake.put(running("u-2", "vm-2"));
    let hv: Arc<dyn Hypervisor> = fake;
    // Beside a daemon, the dashboard reads the store after every snapshot.
    let daemon = EngineLock::acquire(dir.path(), Role::Daemon).unwrap();
    let config = Config::default();
    let journal = Arc::new(Journal::open(dir.path()).unwrap());
    let actor = Actor::Dashboard("t".into());
    let (results, _results) = tokio::sync::mpsc::unbounded_channel();
    let link = EngineLink::open(
        dir.path(),
        &config,
        hv.clone(),
        journal.clone(),
        results,
        actor.clone(),
        true,
    )
    .unwrap();
    assert!(!link.is_engine());
    let ctx = HostCtx::new(
        hv.clone(),
        "fake:///",
        journal,
        actor,
        HostSettings::from_config(&config),
        dir.path(),
    );
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut services = Services {
        engine: EngineWorker::spawn(link, tx.clone()).unwrap(),
        host: HostLink::new(ctx, dir.path()),
        poll_now: Arc::new(Notify::new()),
        tx,
        remotes: Vec::new(),
    };

    // The store's file becomes a FIFO: reading it waits for a writer.
    let file = dir.path().join(CLEANUPS_FILE);
    let _ = std::fs::remove_file(&file);
    let made = std::process::Command::new("mkfifo")
        .arg(&file)
        .status()
        .unwrap();
    assert!(made.success());

    let now = Utc::now();
    let keymap = Keymap::build(&Default::default(), false).unwrap();
    let mut state = State::new("fake:///", keymap, now);
    let vms = Poller::new(hv, PollerOptions::default()).poll(now).unwrap();
    let step = update(&mut state, crate::tui::tests::snap(vms, now));
    assert!(matches!(step.effects[..], [Effect::EngineSnapshot]));
    for effect in step.effects {
        assert!(services.run(effect, &state.vms, now).is_none());
    }

    // Opening the FIFO's other end returns once the engine thread is in the read. (The
    // timeout only turns a broken test into a failure instead of a hang.)
    let (opened, writer) = std::sync::mpsc::channel();
    let fifo = file.clone();
    std::thread::spawn(move || {
        let _ = opened.send(std::fs::OpenOptions::new().write(true).open(fifo));
    });
    let mut writer = writer
        .recv_timeout(Duration::from_secs(60))
        .expect("the engine thread reads the store")
        .unwrap();

    // The store has not answered; a key is handled all the same.
    let first = state.selected_vm().map(|v| v.uuid.clone());
    let step = update(
        &mut state,
        Msg::Key(KeyEvent::new(KeyCode::Char('j'), KeyModifiers::NONE)),
    );
    assert!(step.redraw);
    assert_ne!(
        state.selected_vm().map(|v| v.uuid.clone()),
        first,
        "the selection moved"
    );
    assert!(rx.try_recv().is_err(), "the engine has not answered yet");

    // The store answers (later reads find a plain file); the engine's answer comes
    // through the message channel.
    std::fs::remove_file(&file).unwrap();
    std::fs::write(&file, "{}").unwrap();
    writer.write_all(b"{}").unwrap();
    drop(writer);
    let status = format!("engine: daemon pid {}", std::process::id());
    match rx.blocking_recv() {
        Some(Msg::Engine { status: s, .. }) => assert_eq!(s, status),
        _ => panic!("expected the engine's status first"),
    }
    assert!(matches!(rx.blocking_recv(), Some(Msg::Cleanup(_))));
    services.finish();
    drop(daemon);
}
