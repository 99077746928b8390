//! `vmlife daemon`: the headless lifecycle engine (restart policy, cleanup rounds).
//!
//! Takes the engine lock of the state directory first, or exits 1 with "another engine
//! holds DIR/engine.lock (pid N)". Logs to stderr (journald keeps it under systemd).
//! SIGTERM and SIGINT stop it cleanly: no new work, running commands get
//! `[engine] stop_timeout_seconds`, and what is still unfinished is retried at the next
//! start. Never opens the dashboard.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::signal::unix::{signal, SignalKind};

use crate::engine::runner::{self, RunnerOptions};
use crate::engine::{EngineCore, EngineLock, EngineSettings, EngineStore, Role};
use crate::session::{Error, Options, Session};

/// Run the daemon until SIGTERM/SIGINT.
pub fn run(opts: &Options, state_dir: &Path) -> Result<(), Error> {
    let lock =
        EngineLock::acquire(state_dir, Role::Daemon).map_err(|e| Error::new(e.to_string()))?;
    init_logging();
    let session = Session::open_one(opts, Utc::now().timestamp(), "`vmlife daemon`")?;
    let journal = Arc::new(
        session
            .journal(state_dir)
            .map_err(|e| Error::new(format!("state dir {}: {e}", state_dir.display())))?,
    );
    let settings = EngineSettings::from_config(&session.config);
    let core = EngineCore::new(
        EngineStore::new(state_dir),
        journal.clone(),
        settings,
        &session.uri,
    )
    .map_err(|e| Error::new(format!("state store: {e}")))?;
    let opts = RunnerOptions::from_config(&session.config);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(format!("cannot start the runtime: {e}")))?;
    tracing::info!(
        "vmlife daemon started: pid {}, {}, state dir {}, polling every {}s",
        std::process::id(),
        session.uri,
        state_dir.display(),
        opts.poll_interval.as_secs()
    );
    // Domain events, when the connection offers them: a stop is then classified with
    // what the event said (a guest shutdown) and seen at once. Polls alone otherwise.
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let events = match session.hv.subscribe(events_tx) {
        Ok(()) => {
            tracing::info!("domain events: subscribed");
            Some(events_rx)
        }
        Err(e) => {
            tracing::info!("no domain events ({e}); polling only");
            None
        }
    };
    let result = rt.block_on(async {
        let mut term = signal(SignalKind::terminate())
            .map_err(|e| Error::new(format!("cannot watch signals: {e}")))?;
        let mut int = signal(SignalKind::interrupt())
            .map_err(|e| Error::new(format!("cannot watch signals: {e}")))?;
        let shutdown = async move {
            let name = tokio::select! {
                _ = term.recv() => "SIGTERM",
                _ = int.recv() => "SIGINT",
            };
            tracing::info!("{name}: stopping");
        };
        runner::run(core, session.hv.clone(), journal, opts, events, shutdown)
            .await
            .map_err(Error::new)
    });
    // A blocking libvirt call or alert command must not hold the exit.
    rt.shutdown_timeout(Duration::from_secs(1));
    if result.is_ok() {
        tracing::info!("vmlife daemon stopped");
    }
    drop(lock);
    result
}

/// Log lines to stderr, INFO and above, without colours.
fn init_logging() {
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false)
        .try_init();
}
