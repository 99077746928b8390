//! Host lifecycle hooks and the ordered start: the IO around
//! [`crate::lifecycle::autostart`] (docs/ARCHITECTURE.md §1).
//!
//! - [`autostart`]: `vmlife autostart`: select, plan, and run the ordered start with
//!   progress callbacks ([`autostart::run_sequence`]).
//! - [`shutdown`]: `vmlife host-shutdown`: each VM's `on_host_shutdown` in reverse start
//!   order, with a recovery record per VM ([`recovery_file`]).
//! - [`boot`]: `vmlife host-boot`: each VM's `on_host_reboot` with its recovery record,
//!   then the ordered start; once per boot.
//! - [`recover`]: `vmlife recover`: bring VMs back to their recorded state.
//! - [`probe`]: the SSH readiness probe; [`config`]: the `[host]` and `[autostart]`
//!   config sections.
//!
//! Every start, stop, save and discard goes through the [`Executor`], so it is
//! re-checked and journaled like any other action. Host shutdown and host boot act on
//! permanent VMs too: they carry out the host's explicit lifecycle event (a person or
//! the system shutting the host down), they do not decide on their own to stop a VM.
//! The ordered start never stops anything.
//!
//! Every runner takes a [`RunControl`] (to cancel: nothing new is started) and a
//! progress callback that receives plain data, so the dashboard can run them on a
//! blocking thread and forward the progress into its own channel.

pub mod autostart;
pub mod boot;
pub mod config;
pub mod probe;
pub mod recover;
pub mod recovery_file;
pub mod shutdown;

#[cfg(test)]
mod tests;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::executor::{Clock, ExecOptions, ExecResult, Executor, SystemClock};
use crate::hypervisor::{HvResult, Hypervisor, StatsGroups};
use crate::lifecycle::{Actor, Command, Op};
use crate::poll::{Poller, PollerOptions, Vm};
use crate::store::Journal;

pub use config::{AfterTimeout, HostAutostartConfig, HostConfig, HostSettings};
pub use probe::{NoProbe, ProbeResult, SshProbe, TcpProbe};

/// What the host hooks and the ordered start work with.
#[derive(Clone)]
pub struct HostCtx {
    /// The connection.
    pub hv: Arc<dyn Hypervisor>,
    /// The connection's URI (for the managed-save directory and the warnings).
    pub uri: String,
    /// Runs (and journals) every start, stop, save and discard.
    pub executor: Executor,
    /// The executor's journal, for the few entries that are not commands (`define` in
    /// `recover`).
    pub journal: Arc<Journal>,
    /// Who acts, for the journal.
    pub actor: Actor,
    /// The `[host]`, `[autostart]` and `[policy]` settings.
    pub settings: HostSettings,
    /// Where `recovery.json` and the `boot-id` marker live.
    pub state_dir: PathBuf,
    /// How `wait_for_ssh` probes.
    pub probe: Arc<dyn SshProbe>,
    /// Time and waiting (a manual clock in tests).
    pub clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for HostCtx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostCtx")
            .field("uri", &self.uri)
            .field("actor", &self.actor)
            .field("state_dir", &self.state_dir)
            .finish_non_exhaustive()
    }
}

impl HostCtx {
    /// A context with the system clock and the TCP probe of `settings.autostart`.
    /// Results also go to the executor's results channel, which this context does not
    /// read (every command here is run with `run_now`).
    pub fn new(
        hv: Arc<dyn Hypervisor>,
        uri: impl Into<String>,
        journal: Arc<Journal>,
        actor: Actor,
        settings: HostSettings,
        state_dir: impl Into<PathBuf>,
    ) -> HostCtx {
        let clock: Arc<dyn Clock> = Arc::new(SystemClock::new());
        let probe: Arc<dyn SshProbe> = Arc::new(TcpProbe::new(hv.clone(), &settings.autostart));
        HostCtx {
            executor: executor(&hv, &journal, &clock),
            hv,
            uri: uri.into(),
            journal,
            actor,
            settings,
            state_dir: state_dir.into(),
            probe,
            clock,
        }
    }

    /// The same context with another SSH probe ([`NoProbe`] for the demo).
    pub fn with_probe(mut self, probe: Arc<dyn SshProbe>) -> HostCtx {
        self.probe = probe;
        self
    }

    /// The same context running its commands on `executor` (the dashboard's own, so one
    /// VM's commands stay serialized with the person's). `journal` should be the one
    /// that executor writes to.
    pub fn with_executor(mut self, executor: Executor, journal: Arc<Journal>) -> HostCtx {
        self.executor = executor;
        self.journal = journal;
        self
    }

    /// The same context reading time from (and waiting with) `clock`; its executor
    /// uses it too.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> HostCtx {
        self.executor = executor(&self.hv, &self.journal, &clock);
        self.clock = clock;
        self
    }

    /// Runs one command now through the executor, as this context's actor.
    pub fn run(&self, uuid: &str, name: &str, op: Op, reason: impl Into<String>) -> ExecResult {
        self.executor
            .run_now(Command::new(uuid, name, op, reason), self.actor.clone())
    }

    /// One state-only poll of every VM (restricted to `only`, names or UUIDs, when
    /// given), sorted by name, with each VM's metadata.
    pub fn inventory(
        &self,
        only: Option<&BTreeSet<String>>,
        now: DateTime<Utc>,
    ) -> HvResult<Vec<Vm>> {
        inventory(&self.hv, only, now)
    }

    /// The recovery file's path.
    pub fn recovery_path(&self) -> PathBuf {
        recovery_file::RecoveryFile::path(&self.state_dir)
    }
}

fn executor(hv: &Arc<dyn Hypervisor>, journal: &Arc<Journal>, clock: &Arc<dyn Clock>) -> Executor {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    Executor::with_clock(
        hv.clone(),
        journal.clone(),
        tx,
        ExecOptions::default(),
        clock.clone(),
    )
}

/// One state-only poll of every VM (restricted to `only`, names or UUIDs), by name.
pub fn inventory(
    hv: &Arc<dyn Hypervisor>,
    only: Option<&BTreeSet<String>>,
    now: DateTime<Utc>,
) -> HvResult<Vec<Vm>> {
    let options = PollerOptions {
        groups: StatsGroups::STATE,
        addresses_budget: 0,
        ..PollerOptions::default()
    };
    let mut views = Poller::new(hv.clone(), options).poll(now)?;
    if let Some(only) = only {
        views.retain(|v| only.contains(v.uuid.as_str()) || only.contains(&v.snapshot.vm_name));
    }
    views.sort_by(|a, b| a.snapshot.vm_name.cmp(&b.snapshot.vm_name));
    Ok(views)
}

/// Cancels a running sequence from another thread: nothing new is started; what is
/// in flight finishes. Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct RunControl {
    cancel: Arc<AtomicBool>,
}

impl RunControl {
    /// A control that has not been cancelled.
    pub fn new() -> RunControl {
        RunControl::default()
    }

    /// Ask the run to stop starting (or stopping) anything new.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::SeqCst);
    }

    /// True once [`RunControl::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancel.load(Ordering::SeqCst)
    }
}

/// Warnings about VMs that libvirt's own autostart flag also starts at boot.
pub fn libvirt_autostart_warnings<'a>(views: impl IntoIterator<Item = &'a Vm>) -> Vec<String> {
    views
        .into_iter()
        .filter(|v| v.libvirt_autostart)
        .map(|v| {
            let name = &v.snapshot.vm_name;
            format!(
                "{name}: libvirt's own autostart flag is on too: libvirtd starts it at boot \
                 regardless of vmlife's order and policy (virsh autostart --disable {name})"
            )
        })
        .collect()
}

/// Where libvirt-guests keeps its settings (Debian, then Red Hat).
const LIBVIRT_GUESTS_FILES: [&str; 2] = [
    "/etc/default/libvirt-guests",
    "/etc/sysconfig/libvirt-guests",
];

/// A warning when libvirt-guests would act on the same VMs at boot and shutdown: its
/// unit is enabled. Only for a system connection on this host.
pub fn libvirt_guests_warning(uri: &str) -> Option<String> {
    let system = crate::engine::pressure::is_local_uri(uri) && uri.contains("/system");
    if !system {
        return None;
    }
    let enabled = std::fs::read_dir("/etc/systemd/system")
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter(|e| e.file_name().to_string_lossy().ends_with(".wants"))
                .any(|e| e.path().join("libvirt-guests.service").exists())
        })
        .unwrap_or(false);
    let text = LIBVIRT_GUESTS_FILES
        .iter()
        .find_map(|p| std::fs::read_to_string(Path::new(p)).ok());
    libvirt_guests_note(text.as_deref(), enabled)
}

/// The libvirt-guests warning for its settings file's text and whether its unit is
/// enabled; `None` when it is not enabled.
pub fn libvirt_guests_note(settings: Option<&str>, enabled: bool) -> Option<String> {
    if !enabled {
        return None;
    }
    // libvirt-guests' own defaults.
    let mut on_boot = "start".to_string();
    let mut on_shutdown = "suspend".to_string();
    for line in settings.unwrap_or_default().lines() {
        let line = line.trim();
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value
            .split('#')
            .next()
            .unwrap_or_default()
            .trim()
            .trim_matches(['"', '\''])
            .to_string();
        match key.trim() {
            "ON_BOOT" => on_boot = value,
            "ON_SHUTDOWN" => on_shutdown = value,
            _ => {}
        }
    }
    Some(format!(
        "libvirt-guests.service is enabled (ON_BOOT={on_boot}, ON_SHUTDOWN={on_shutdown}): it \
         also acts on these VMs at boot and shutdown; disable it (systemctl disable \
         libvirt-guests.service) when vmlife-host.service handles them"
    ))
}
