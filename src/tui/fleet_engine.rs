//! The engine of a host other than the first whose `[[connections]]` entry says
//! `engine = "dashboard"`: the daemon's loop ([`crate::engine::runner`]) in this
//! process, on the host's own connection, with a state directory and engine lock of its
//! own ([`engine_dir`]) and journal lines that name the host. It ends when the
//! dashboard quits. Any other host's engine is its daemon's (the dashboard runs none).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::update::Msg;
use crate::config::{Config, EngineHome, HostSpec};
use crate::engine::runner::{self, RunnerOptions};
use crate::engine::{EngineCore, EngineLock, EngineSettings, EngineStore, Role};
use crate::hypervisor::Hypervisor;

/// The longest directory name [`engine_dir`] makes before it shortens one.
const NAME_MAX: usize = 96;

/// The state directory of the engine of host `uri` run by a dashboard whose own is
/// `state_dir`: `STATE_DIR/hosts/URI` with every character other than an ASCII letter,
/// digit, `.` or `-` made `_` (and `_` before a leading `.`), and a long one cut with a hash of the whole URI after
/// it (its lock, restart counts and cleanup records; the journal stays the
/// dashboard's). One URI, one directory: two dashboards never run one host's engine
/// twice.
pub fn engine_dir(state_dir: &Path, uri: &str) -> PathBuf {
    let mut name: String = uri
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    // Never `.` or `..`, nor hidden.
    if name.starts_with('.') {
        name.insert(0, '_');
    }
    if name.len() > NAME_MAX {
        // FNV-1a: stable across builds, unlike std's hasher.
        let hash = uri.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        name.truncate(NAME_MAX - 17);
        name = format!("{name}-{hash:016x}");
    }
    state_dir.join("hosts").join(name)
}

/// True when the dashboard runs this host's engine (a host other than the first).
pub fn runs_here(spec: &HostSpec, readonly: bool) -> bool {
    spec.engine == Some(EngineHome::Dashboard) && !readonly
}

/// The strip's engine text of a host other than the first before its engine started.
pub fn label(spec: &HostSpec, readonly: bool, first: &str) -> String {
    if runs_here(spec, readonly) {
        "engine: this dashboard (connecting)".into()
    } else if spec.engine == Some(EngineHome::Dashboard) {
        "engine: none (read-only)".into()
    } else if spec.engine.is_none() && crate::config::is_local_uri(&spec.uri) {
        format!("engine: none (this dashboard runs {first}'s)")
    } else {
        "engine: daemon on host".into()
    }
}

/// Start host `index`'s engine on `hv` (connected): take its lock, open its store,
/// subscribe to its events and run until `stop` says so. What happens is told to the
/// strip as `Msg::HostEngine`; `None` when it could not start.
pub fn spawn(
    index: u16,
    spec: &HostSpec,
    hv: Arc<dyn Hypervisor>,
    config: &Config,
    state_dir: &Path,
    tx: &UnboundedSender<Msg>,
    mut stop: watch::Receiver<bool>,
) -> Option<JoinHandle<()>> {
    let say = |text: String| {
        let _ = tx.send(Msg::HostEngine { host: index, text });
    };
    let dir = engine_dir(state_dir, &spec.uri);
    let lock = match EngineLock::acquire(&dir, Role::Dashboard) {
        Ok(l) => l,
        Err(e) => {
            say(format!("engine: not run here: {e}"));
            return None;
        }
    };
    let journal = match crate::session::open_journal(state_dir, config, &spec.name) {
        Ok(j) => Arc::new(j),
        Err(e) => {
            say(format!(
                "engine: not run: journal in {}: {e}",
                state_dir.display()
            ));
            return None;
        }
    };
    let core = match EngineCore::new(
        EngineStore::new(&dir),
        journal.clone(),
        EngineSettings::from_config(config),
        &spec.uri,
    ) {
        Ok(c) => c.for_host_lines(&spec.name),
        Err(e) => {
            say(format!("engine: not run: state in {}: {e}", dir.display()));
            return None;
        }
    };
    let (events_tx, events_rx) = tokio::sync::mpsc::unbounded_channel();
    let events = hv.subscribe(events_tx).ok().map(|()| events_rx);
    let opts = RunnerOptions::from_config(config);
    let tx = tx.clone();
    let name = spec.name.clone();
    say("engine: this dashboard".into());
    tracing::info!(
        "engine of {name} started in this dashboard, state {}",
        dir.display()
    );
    Some(tokio::spawn(async move {
        let _lock = lock;
        let shutdown = async move {
            while !*stop.borrow_and_update() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        let result = runner::run(core, hv, journal, opts, events, shutdown).await;
        if let Err(e) = result {
            tracing::warn!("engine of {name} stopped: {e}");
            let _ = tx.send(Msg::HostEngine {
                host: index,
                text: format!("engine: STOPPED: {e}"),
            });
        }
    }))
}

#[cfg(test)]
#[path = "fleet_engine_tests.rs"]
mod tests;
